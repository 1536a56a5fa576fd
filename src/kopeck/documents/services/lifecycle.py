"""After issuing: cancel, payments of invoices, e-mail (re)sending, the PDF and its cache; the
template preview."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from kopeck.audit.services import audit_record, audit_record_many
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.bulk import update_rows
from kopeck.common.decimals import decimal_text_refusal
from kopeck.common.errors import Conflict, NotFound, ValidationFailed
from kopeck.core.money import Money, MoneyError, from_minor, to_minor
from kopeck.documents.data import sample_data
from kopeck.documents.events import document_event_data, record_document_event
from kopeck.documents.models import (
    DeliveryStatus,
    Document,
    DocumentDelivery,
    DocumentPdf,
    DocumentStatus,
    DocumentType,
)
from kopeck.documents.ports import invoice_payer, shipment_cancel_listener
from kopeck.documents.rendering import TemplateRefused
from kopeck.documents.selectors import (
    document_html,
)
from kopeck.documents.services.common import ISSUED_STATES, TOPIC_EMAIL, document_state, status_of
from kopeck.documents.services.issuing import _queue_emails, _recipients
from kopeck.documents.services.setup import template_check

# ---------------------------------------------------------------------------------------------
# lifecycle after issuing


def document_cancel(*, actor: Actor, document: Document, reason: str) -> Document:
    """Cancel a draft or an issued (unpaid) document. An issued document keeps its number: the
    number is never given again."""
    if not str(reason or "").strip():
        raise ValidationFailed.field("reason", _("A reason is required."))
    with transaction.atomic():
        doc = Document.objects.select_for_update().filter(pk=document.pk).first()
        if doc is None:
            raise NotFound(_("Document %(id)s does not exist.") % {"id": document.pk})
        if doc.status not in (DocumentStatus.DRAFT, DocumentStatus.ISSUED):
            raise Conflict(_("A %(status)s document cannot be cancelled.") % status_of(doc),
                           errors={"status": [_("Is %(status)s.") % status_of(doc)]})
        before = document_state(doc)
        doc.status, doc.cancelled_at, doc.cancel_reason = DocumentStatus.CANCELLED, clock.now(), reason.strip()[:500]
        doc.save(update_fields=["status", "cancelled_at", "cancel_reason"])
        audit_record(actor=actor, action="document.cancel", object_type="document", object_id=doc.pk,
                     before=before, after={**document_state(doc), "reason": doc.cancel_reason})
        if before["status"] != DocumentStatus.DRAFT:  # a draft was never issued: nobody outside knows it
            record_document_event(actor, "document.cancelled", doc)
            listener = shipment_cancel_listener()
            if listener is not None:
                listener(actor=actor, documents=[doc])
    return doc


def document_mark_paid(*, actor: Actor, document: Document, amount: Any = None) -> Document:
    """Pay an issued invoice by hand: the whole rest (no ``amount``) or a part of it. This records a
    real payment of the client (method ``manual``) allocated to the invoice — the payments app does
    it through :mod:`kopeck.documents.ports` — so the invoice's paid amount and status follow from
    its allocations like any other payment's."""
    payer = invoice_payer()
    if payer is None:
        raise Conflict(_("Payments are not installed: an invoice cannot take a payment."))
    with transaction.atomic():
        doc = Document.objects.select_for_update().filter(pk=document.pk).first()
        if doc is None:
            raise NotFound(_("Document %(id)s does not exist.") % {"id": document.pk})
        if doc.type != DocumentType.INVOICE:
            raise Conflict(_("Only an invoice (счёт на оплату) is paid."), errors={"type": [_("Not an invoice.")]})
        if doc.status not in (DocumentStatus.ISSUED, DocumentStatus.PARTLY_PAID):
            raise Conflict(_("A %(status)s invoice cannot take a payment.") % status_of(doc),
                           errors={"status": [_("Is %(status)s.") % status_of(doc)]})
        rest = doc.amount_minor - doc.paid_minor
        if amount in (None, ""):
            paid = rest
        else:
            try:
                money = Money(amount, doc.currency)
            except MoneyError as exc:
                raise ValidationFailed.field("amount", decimal_text_refusal(amount)
                                             or _("Give the amount as a decimal number.")) from exc
            if not money.is_positive() or not money.is_rounded():
                raise ValidationFailed.field("amount", _("A positive amount in whole minor units."))
            paid = to_minor(money)
            if paid > rest:
                raise ValidationFailed.field("amount", _("At most the unpaid rest, %(amount)s.")
                                             % {"amount": from_minor(rest, doc.currency).to_str()})
        payer(actor=actor, document=doc, amount_minor=paid)
        doc.refresh_from_db()
    return doc


def invoice_paid_sync(*, actor: Actor, document: Document, paid_minor: int) -> Document:
    """Set an issued invoice's paid amount to ``paid_minor`` — the sum of its allocations, which the
    payments app computed with the invoice locked (``select_for_update``) — and its status from it:
    ``paid`` when nothing is left, ``partly_paid`` when something is, ``issued`` when nothing is
    paid. The one writer of ``paid_minor``; ``document.paid`` is recorded when it becomes paid."""
    doc = document
    if doc.type != DocumentType.INVOICE or doc.status not in ISSUED_STATES:
        raise Conflict(_("A %(status)s %(type)s cannot be paid.") % status_of(doc),
                       errors={"document": [_("Not an issued invoice.")]})
    if not 0 <= paid_minor <= doc.amount_minor:
        raise Conflict(_("An invoice is never paid beyond its total."), errors={"amount": [_("More than the invoice.")]})
    status = (DocumentStatus.PAID if paid_minor >= doc.amount_minor
              else DocumentStatus.PARTLY_PAID if paid_minor > 0 else DocumentStatus.ISSUED)
    if (doc.paid_minor, doc.status) == (paid_minor, status):
        return doc
    before = document_state(doc)
    doc.paid_minor, doc.status = paid_minor, status
    doc.save(update_fields=["paid_minor", "status"])
    audit_record(actor=actor, action="document.paid_sync", object_type="document", object_id=doc.pk,
                 before=before, after=document_state(doc))
    if status == DocumentStatus.PAID and before["status"] != DocumentStatus.PAID:
        record_document_event(actor, "document.paid", doc)
    return doc


def invoices_paid_sync_bulk(*, actor: Actor, paid: dict[int, int]) -> None:
    """:func:`invoice_paid_sync` for many invoices at once (a bank statement's allocations):
    ``paid`` maps invoice ids — locked by the caller — to their new paid amounts. A few bulk
    statements: the update, the audit entries, the ``document.paid`` events of those now paid
    (once per invoice, as the single writer records it)."""
    if not paid:
        return
    docs = list(Document.objects.filter(pk__any_of=list(paid)).order_by("id").only(
        "id", "type", "status", "number", "issue_date", "due_date", "client_id", "legal_entity_id", "amount_minor",
        "vat_minor", "paid_minor", "currency", "correction_number", "run_id"))
    changed: list[Document] = []
    audit: list[tuple[str, str, object, Any, Any]] = []
    newly_paid: list[Document] = []
    for doc in docs:
        units = paid[doc.pk]
        if doc.type != DocumentType.INVOICE or doc.status not in ISSUED_STATES or not 0 <= units <= doc.amount_minor:
            raise Conflict(_("Invoice %(id)s cannot be paid %(units)s.") % {"id": doc.pk, "units": units},
                           errors={"document": [_("Not payable.")]})
        status = (DocumentStatus.PAID if units >= doc.amount_minor
                  else DocumentStatus.PARTLY_PAID if units > 0 else DocumentStatus.ISSUED)
        if (doc.paid_minor, doc.status) == (units, status):
            continue
        before = _plain_state(doc)
        if status == DocumentStatus.PAID and doc.status != DocumentStatus.PAID:
            newly_paid.append(doc)
        doc.paid_minor, doc.status = units, status
        changed.append(doc)
        audit.append(("document.paid_sync", "document", doc.pk, before, _plain_state(doc)))
    update_rows(Document, ("paid_minor", "status"), [(d.pk, d.paid_minor, d.status) for d in changed])
    audit_record_many(actor=actor, entries=audit, json_safe=True)
    if newly_paid:
        from kopeck.events.models import Event
        from kopeck.events.services import NewEvent, event_record_many

        keys = {f"document.paid:{d.pk}": d for d in newly_paid}
        seen = set(Event.objects.filter(dedupe_key__in=list(keys)).values_list("dedupe_key", flat=True))
        event_record_many([NewEvent("document.paid", {"document": document_event_data(d)}, client_id=d.client_id,
                                    subject_id=d.pk, dedupe_key=k) for k, d in keys.items() if k not in seen],
                          actor=actor)


def _plain_state(doc: Document) -> dict[str, Any]:
    """:func:`document_state` as plain JSON values (the date as text), for bulk audit entries."""
    state = document_state(doc)
    state["issue_date"] = doc.issue_date.isoformat() if doc.issue_date else None
    state["status"] = str(doc.status)
    return state


def document_resend(*, actor: Actor, document: Document, recipients: Sequence[str] | None = None) -> list[DocumentDelivery]:
    """E-mail an issued document again: to ``recipients``, or to the client's document recipients."""
    doc = Document.objects.filter(pk=document.pk).first()
    if doc is None:
        raise NotFound(_("Document %(id)s does not exist.") % {"id": document.pk})
    if doc.status in (DocumentStatus.DRAFT, DocumentStatus.CANCELLED):
        raise Conflict(_("A %(status)s document is not sent.") % status_of(doc),
                       errors={"status": [_("Is %(status)s.") % status_of(doc)]})
    if recipients is None:
        to = _recipients([doc.client_id]).get(doc.client_id, [])
    else:
        to = []
        for i, address in enumerate(recipients):
            try:
                validate_email(str(address))
            except DjangoValidationError as exc:
                raise ValidationFailed.field(f"recipients.{i}", _("Enter a valid e-mail address.")) from exc
            to.append(str(address))
    if not to:
        raise ValidationFailed.field("recipients", _("The client has no e-mail address that receives documents."))
    with transaction.atomic():
        deliveries = _queue_emails([doc], {doc.pk: to})
        audit_record(actor=actor, action="document.resend", object_type="document", object_id=doc.pk,
                     after={"recipients": to})
    return deliveries


def documents_deliveries_resume(*, limit: int = 1000) -> int:
    """Queue again the e-mails that wait for the mail settings ("mail not configured"), once mail is
    configured; how many were queued. Run by ``kopeck.documents.deliveries_resume`` every few minutes."""
    from kopeck.notifications.email import mail_configured
    from kopeck.outbox.services import outbox_enqueue_many

    if not mail_configured():
        return 0
    with transaction.atomic():
        waiting = list(DocumentDelivery.objects.select_for_update().filter(status=DeliveryStatus.NO_MAIL)
                       .order_by("id")[:limit])
        if not waiting:
            return 0
        stamp = clock.now().strftime("%Y%m%d%H%M%S%f")
        ids = outbox_enqueue_many(messages=[(TOPIC_EMAIL, {"delivery": d.pk}, f"documents.email:{d.pk}:{stamp}")
                                            for d in waiting])
        for delivery in waiting:
            delivery.status = DeliveryStatus.QUEUED
            delivery.error = ""
            delivery.outbox_message_id = ids[f"documents.email:{delivery.pk}:{stamp}"]
        DocumentDelivery.objects.bulk_update(waiting, ["status", "error", "outbox_message_id"])
    return len(waiting)


def document_pdf(document: Document) -> bytes:
    """The PDF of a document: the cached one, or rendered now (and cached when issued)."""
    cached = DocumentPdf.objects.filter(document_id=document.pk).values_list("content", flat=True).first()
    if cached is not None:
        return bytes(cached)
    from kopeck.documents.pdf import html_to_pdf  # WeasyPrint is loaded only where PDFs are made

    pdf = html_to_pdf(document_html(document))
    if document.status != DocumentStatus.DRAFT:
        with transaction.atomic():
            DocumentPdf.objects.get_or_create(document_id=document.pk, defaults={
                "content": pdf, "sha256": hashlib.sha256(pdf).hexdigest(), "rendered_at": clock.now()})
        cached = DocumentPdf.objects.filter(document_id=document.pk).values_list("content", flat=True).first()
        return bytes(cached) if cached is not None else pdf
    return pdf


def template_preview(form: str, language: str, html: str) -> tuple[str, list[str]]:
    """The HTML of ``html`` rendered with sample data, or the problems that refuse it."""
    from kopeck.documents.rendering import render_source

    problems = template_check(form, language, html)
    if problems:
        return "", problems
    try:
        return render_source(html, sample_data(form, language)), []
    except TemplateRefused as exc:
        return "", exc.problems

