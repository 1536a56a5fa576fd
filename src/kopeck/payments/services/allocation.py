"""Allocation of payments to invoices: the invoice named in the purpose first, then the oldest open
ones; by hand to a chosen invoice; release and re-allocation. The only writer of allocations and —
through ``kopeck.documents.services.invoice_paid_sync`` — of an invoice's paid amount and status.

Concurrency: the payment's row is locked first, then the invoices' rows in the order of their ids
(``SELECT … FOR UPDATE``), and an invoice's rest is computed from its active allocations under that
lock — so two payments allocated to one invoice at once queue on it and never over-allocate it."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import transaction
from django.utils.translation import gettext as _

from kopeck.audit.services import audit_record
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, NotFound, ValidationFailed
from kopeck.documents.models import Document, DocumentType
from kopeck.documents.services import invoice_paid_sync
from kopeck.payments.matching import first_named
from kopeck.payments.models import Allocation, Payment
from kopeck.payments.selectors import (
    HOLDING_STATES,
    OPEN_INVOICE_STATES,
    invoice_allocated_minor,
    open_invoices,
)
from kopeck.payments.services.common import lock_payment, money, parse_amount, payment_state, status_of


def _lock_documents(ids: Iterable[int]) -> dict[int, Document]:
    return {d.pk: d for d in Document.objects.select_for_update().filter(pk__in=sorted(set(ids))).order_by("id")}


def _allocate_locked(actor: Actor, pay: Payment, docs: Sequence[Document], *, limits: dict[int, int] | None = None,
                     automatic: bool) -> list[Allocation]:
    """Allocate what is left of the locked payment to the locked invoices, in their order."""
    left = pay.unallocated_minor
    now = clock.now()
    made: list[Allocation] = []
    for doc in docs:
        if left <= 0:
            break
        already = invoice_allocated_minor(doc)
        want = min(doc.amount_minor - already, left, (limits or {}).get(doc.pk, left))
        if want <= 0:
            continue
        made.append(Allocation.objects.create(payment=pay, document=doc, amount_minor=want, currency=pay.currency,
                                              automatic=automatic, created_by=actor.label, created_at=now))
        invoice_paid_sync(actor=actor, document=doc, paid_minor=already + want)
        left -= want
    if made:
        before = payment_state(pay)
        pay.allocated_minor += sum(a.amount_minor for a in made)
        pay.save(update_fields=["allocated_minor"])
        audit_record(actor=actor, action="payment.allocate", object_type="payment", object_id=pay.pk, before=before,
                     after={**payment_state(pay), "allocations": [
                         {"document": a.document_id, "amount": money(a.amount_minor, a.currency).to_str()}
                         for a in made]})
    return made


def auto_allocate_locked(actor: Actor, pay: Payment) -> list[Allocation]:
    """The automatic allocation of a locked, credited payment: the open invoices of its client named
    in its purpose first (in the purpose's order), then the oldest open ones."""
    if pay.client_id is None or pay.unallocated_minor <= 0:
        return []
    candidates = list(open_invoices(pay.client_id, currency=pay.currency).values_list("id", "number"))
    if not candidates:
        return []
    locked = _lock_documents(i for i, _n in candidates)
    by_number = {n: i for i, n in candidates if n}
    named = [by_number[n] for n in first_named(pay.purpose, by_number)]
    order = named + [i for i, _n in candidates if i not in named]
    docs = [locked[i] for i in order if i in locked and locked[i].status in OPEN_INVOICE_STATES]
    return _allocate_locked(actor, pay, docs, automatic=True)


def payment_allocate(*, actor: Actor, payment: Payment, document: Document | None = None,
                     amount: object = None) -> list[Allocation]:
    """Allocate what is left of a credited payment: to ``document`` (``amount`` or as much as both
    allow), or automatically (the invoice named in the purpose, then the oldest open ones)."""
    with transaction.atomic():
        pay = lock_payment(payment)
        if pay.status not in HOLDING_STATES:
            raise Conflict(_("A %(status)s payment cannot be allocated.") % status_of(pay),
                           errors={"status": [_("Is %(status)s.") % status_of(pay)]})
        if document is None:
            if amount not in (None, ""):
                raise ValidationFailed.field("amount", _("An amount needs the invoice it pays."))
            return auto_allocate_locked(actor, pay)
        limit = parse_amount("amount", amount, pay.currency) if amount not in (None, "") else None
        doc = _lock_documents([document.pk]).get(document.pk)
        if doc is None:
            raise NotFound(_("Document %(id)s does not exist.") % {"id": document.pk})
        if doc.type != DocumentType.INVOICE or doc.client_id != pay.client_id or doc.currency != pay.currency:
            raise ValidationFailed.field("document", _("An invoice of the payment's client, in its currency."))
        if doc.status not in OPEN_INVOICE_STATES:
            doc_status = {"status": doc.status, "label": doc.get_status_display()}
            raise Conflict(_("A %(status)s invoice takes no payment.") % doc_status,
                           errors={"document": [_("Is %(status)s.") % doc_status]})
        rest = doc.amount_minor - invoice_allocated_minor(doc)
        if limit is not None and limit > min(rest, pay.unallocated_minor):
            raise ValidationFailed.field("amount", _("At most what is left of the payment and unpaid on the invoice, "
                                                     "%(amount)s.")
                                         % {"amount": money(min(rest, pay.unallocated_minor), pay.currency).to_str()})
        if pay.unallocated_minor <= 0:
            raise Conflict(_("Nothing of the payment is left to allocate."), errors={"amount": [_("Nothing left.")]})
        return _allocate_locked(actor, pay, [doc], limits={doc.pk: limit} if limit else None, automatic=False)


def release_locked(actor: Actor, pay: Payment, allocations: Sequence[Allocation], reason: str) -> int:
    """Release the given active allocations of the locked payment; the invoices' paid amounts follow.
    Returns the minor units released."""
    if not allocations:
        return 0
    docs = _lock_documents(a.document_id for a in allocations)
    now = clock.now()
    released = 0
    for a in allocations:
        a.released_at, a.release_reason = now, reason[:500]
        a.save(update_fields=["released_at", "release_reason"])
        released += a.amount_minor
    for doc in docs.values():
        invoice_paid_sync(actor=actor, document=doc, paid_minor=invoice_allocated_minor(doc))
    before = payment_state(pay)
    pay.allocated_minor -= released
    pay.save(update_fields=["allocated_minor"])
    audit_record(actor=actor, action="payment.release", object_type="payment", object_id=pay.pk, before=before,
                 after={**payment_state(pay), "released": [a.pk for a in allocations], "reason": reason})
    return released


def allocation_release(*, actor: Actor, allocation: Allocation, reason: str) -> Allocation:
    """Take a part of a payment off an invoice (the invoice is unpaid by that much again); the money
    stays on the client's account as an advance until allocated again."""
    if not str(reason or "").strip():
        raise ValidationFailed.field("reason", _("A reason is required."))
    with transaction.atomic():
        pay = lock_payment(allocation.payment_id)
        a = Allocation.objects.filter(pk=allocation.pk, released_at__isnull=True).first()
        if a is None:
            raise Conflict(_("The allocation is released already."), errors={"allocation": [_("Released.")]})
        release_locked(actor, pay, [a], reason.strip())
    return a


def payment_reallocate(*, actor: Actor, payment: Payment, reason: str,
                       document: Document | None = None) -> list[Allocation]:
    """Re-allocate a payment: release all its allocations, then allocate it again — to ``document``,
    or automatically. One transaction."""
    if not str(reason or "").strip():
        raise ValidationFailed.field("reason", _("A reason is required."))
    with transaction.atomic():
        pay = lock_payment(payment)
        if pay.status not in HOLDING_STATES:
            raise Conflict(_("A %(status)s payment cannot be allocated.") % status_of(pay),
                           errors={"status": [_("Is %(status)s.") % status_of(pay)]})
        release_locked(actor, pay, list(pay.allocations.filter(released_at__isnull=True).order_by("id")),
                       reason.strip())
        return payment_allocate(actor=actor, payment=pay, document=document)
