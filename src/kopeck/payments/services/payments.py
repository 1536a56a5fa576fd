"""Payments: record (identified → the client's account; unknown payer → the suspense account),
assign an unidentified payment to its client, refund (partial, several, never beyond what is left),
reverse a payment posted by mistake. Each is one database transaction with its ledger postings,
allocations, audit entry and events."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kopeck.audit.services import audit_record
from kopeck.clients.models import Client
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.configuration.selectors import billing_settings, provider_today
from kopeck.core.ledger import Operation
from kopeck.documents.models import Document
from kopeck.ledger.services import ledger_operation_post, ledger_suspense_post, ledger_transaction_reverse
from kopeck.payments.methods import method_get, methods
from kopeck.payments.models import MatchRule, Payment, PaymentStatus, Refund
from kopeck.payments.selectors import HOLDING_STATES, payment_settings
from kopeck.payments.services.advances import advance_offset_refund, advance_release_for_reversal
from kopeck.payments.services.allocation import _allocate_locked, auto_allocate_locked, release_locked
from kopeck.payments.services.common import (
    lock_payment,
    money,
    parse_amount,
    payment_state,
    record_payment_event,
    refund_event_data,
    status_of,
)

PAYER_FIELDS = {"payer_name": 500, "payer_inn": 12, "payer_kpp": 9, "payer_account": 20, "payer_bik": 9,
                "payer_bank": 500, "purpose": 2000, "notes": 500}


def _clean_text(values: dict[str, Any], errors: dict[str, list[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, limit in PAYER_FIELDS.items():
        text = " ".join(str(values.get(name) or "").split())
        if len(text) > limit:
            errors[name] = [ngettext("At most %(count)d character.", "At most %(count)d characters.", limit)
                            % {"count": limit}]
        out[name] = text
    for name, digits in (("payer_inn", (10, 12)), ("payer_account", (20,)), ("payer_bik", (9,))):
        if out[name] and (not out[name].isdigit() or len(out[name]) not in digits):
            errors[name] = [_("%(one)d or %(other)d digits.") % {"one": digits[0], "other": digits[1]} if len(digits) > 1
                            else ngettext("%(count)d digit.", "%(count)d digits.", digits[0]) % {"count": digits[0]}]
    return out


def payment_record(
    *, actor: Actor, amount: object, client: Client | None = None, currency: str | None = None,
    date: dt.date | None = None, method: str = "manual", external_id: str = "", match_rule: str = "",
    allocate: bool | None = None, invoice: Document | None = None, new: bool = False, **payer: Any,
) -> Payment:
    """Record a payment received. With a ``client`` it is credited to the client's account (ledger
    ``payment``: Dr cash or gateway clearing / Cr client) and allocated to invoices (``invoice`` if
    given, else automatically when the payments setting says so, or ``allocate``); without one it is
    *unidentified*: Dr cash / Cr suspense, waiting for :func:`payment_assign`.

    Idempotent by ``(method, external_id)``: the same external id again returns the first payment
    (its amount, currency and client must be the same, else 409). ``new``: the caller holds the lock
    that makes this external id unused (a gateway's order, locked and not yet credited) and is in a
    transaction — no lookup and no savepoint; the unique constraint still refuses a second payment
    (``IntegrityError``, which aborts the caller's transaction)."""
    errors: dict[str, list[str]] = {}
    code = str(currency or (client.currency if client else billing_settings().default_currency)).upper()
    units = 0
    try:
        units = parse_amount("amount", amount, code)
    except ValidationFailed as exc:
        errors.update(exc.errors or {})
    if client is not None and code != client.currency:
        errors["currency"] = [_("The client's account is in %(currency)s.") % {"currency": client.currency}]
    pm = method_get(str(method or ""))
    if pm is None:
        errors["method"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(m.code for m in methods())}]
    external_id = str(external_id or "").strip()
    if len(external_id) > 200:
        errors["external_id"] = [_("At most 200 characters.")]
    if match_rule not in MatchRule.values:
        errors["match_rule"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(v for v in MatchRule.values if v)}]
    text = _clean_text(payer, errors)
    unknown = set(payer) - set(PAYER_FIELDS)
    if unknown:
        raise TypeError(f"payment_record() got unexpected arguments: {sorted(unknown)}")
    day = date or provider_today()
    if invoice is not None and client is None:
        errors["invoice"] = [_("An invoice needs the payment's client.")]
    if errors:
        raise ValidationFailed(_("The payment is invalid."), errors=errors)
    assert pm is not None
    if new:
        if not external_id or not transaction.get_connection().in_atomic_block:
            raise RuntimeError("payment_record(new=True) needs an external id and the caller's transaction")
        return _record(actor, client=client, units=units, currency=code, day=day, method=pm.code, gateway=pm.gateway,
                       external_id=external_id, match_rule=match_rule or (MatchRule.GIVEN if client else ""),
                       text=text, allocate=allocate, invoice=invoice)
    if external_id:
        existing = Payment.objects.filter(method=pm.code, external_id=external_id).first()
        if existing is not None:
            return _same_or_conflict(existing, units, code, client)
    try:
        with transaction.atomic():
            return _record(actor, client=client, units=units, currency=code, day=day, method=pm.code,
                           gateway=pm.gateway, external_id=external_id,
                           match_rule=match_rule or (MatchRule.GIVEN if client else ""), text=text,
                           allocate=allocate, invoice=invoice)
    except IntegrityError:
        if not external_id:
            raise
        existing = Payment.objects.filter(method=pm.code, external_id=external_id).first()
        if existing is None:
            raise
        return _same_or_conflict(existing, units, code, client)


def _same_or_conflict(existing: Payment, units: int, currency: str, client: Client | None) -> Payment:
    if (existing.amount_minor, existing.currency) != (units, currency) or (
            client is not None and existing.client_id not in (None, client.pk)):
        raise Conflict(_("External id %(external_id)r is payment %(id)s with other data.")
                       % {"external_id": existing.external_id, "id": existing.pk},
                       errors={"external_id": [_("Used by payment %(id)s.") % {"id": existing.pk}]})
    return existing


def _record(actor: Actor, *, client: Client | None, units: int, currency: str, day: dt.date, method: str,
            gateway: bool, external_id: str, match_rule: str, text: dict[str, str], allocate: bool | None,
            invoice: Document | None) -> Payment:
    pay = Payment.objects.create(
        client=client, amount_minor=units, currency=currency, date=day, method=method,
        status=PaymentStatus.CREDITED if client else PaymentStatus.UNIDENTIFIED, match_rule=match_rule,
        external_id=external_id, created_by=actor.label, created_at=clock.now(), **text)
    amount = money(units, currency)
    reason = f"Платёж № {pay.pk} от {day:%d.%m.%Y}"
    if client is None:
        pay.transaction = ledger_suspense_post(actor=actor, operation=Operation.SUSPENSE_RECEIPT, amount=amount,
                                               reason=reason, source_ref=f"payment:{pay.pk}", via_gateway=gateway)
    else:
        pay.transaction = ledger_operation_post(actor=actor, client=client, operation=Operation.PAYMENT,
                                                amount=amount.amount, currency=currency, reason=reason,
                                                source_ref=f"payment:{pay.pk}", via_gateway=gateway)
    pay.save(update_fields=["transaction"])
    audit_record(actor=actor, action="payment.record", object_type="payment", object_id=pay.pk,
                 after=payment_state(pay))
    if client is None:
        record_payment_event(actor, "payment.unidentified", pay)
        return pay
    _allocate_new(actor, pay, allocate=allocate, invoice=invoice)
    record_payment_event(actor, "payment.received", pay)
    return pay


def _allocate_new(actor: Actor, pay: Payment, *, allocate: bool | None, invoice: Document | None) -> None:
    if invoice is not None:
        from kopeck.payments.services.allocation import payment_allocate

        payment_allocate(actor=actor, payment=pay, document=invoice)
        pay.refresh_from_db()
        return
    if allocate if allocate is not None else payment_settings().auto_allocate:
        auto_allocate_locked(actor, pay)


def payment_assign(*, actor: Actor, payment: Payment, client: Client, reason: str = "") -> Payment:
    """Assign an unidentified payment to its client: the money moves from the suspense account to
    the client's account (Dr suspense / Cr client), then it is allocated like any payment."""
    with transaction.atomic():
        pay = lock_payment(payment)
        if pay.status != PaymentStatus.UNIDENTIFIED:
            raise Conflict(_("Only an unidentified payment is assigned; this one is %(status)s.") % status_of(pay),
                           errors={"status": [_("Is %(status)s.") % status_of(pay)]})
        if pay.refunded_minor:
            raise Conflict(_("A partly returned payment is not assigned."), errors={"status": [_("Partly returned.")]})
        if client.currency != pay.currency:
            raise ValidationFailed.field("client", _("The client's account is in %(account)s, the payment in %(currency)s.")
                                         % {"account": client.currency, "currency": pay.currency})
        before = payment_state(pay)
        pay.assign_transaction = ledger_operation_post(
            actor=actor, client=client, operation=Operation.SUSPENSE_ASSIGN,
            amount=money(pay.amount_minor, pay.currency).amount, currency=pay.currency,
            reason=(reason or "").strip() or f"Невыясненный платёж № {pay.pk} отнесён клиенту",
            source_ref=f"payment:{pay.pk}", internal=True)
        pay.client, pay.status, pay.match_rule = client, PaymentStatus.CREDITED, MatchRule.ASSIGNED
        pay.save(update_fields=["assign_transaction", "client", "status", "match_rule"])
        audit_record(actor=actor, action="payment.assign", object_type="payment", object_id=pay.pk, before=before,
                     after=payment_state(pay))
        _allocate_new(actor, pay, allocate=None, invoice=None)
        record_payment_event(actor, "payment.received", pay)
    return pay


def payment_refund(*, actor: Actor, payment: Payment, reason: str, amount: object = None,
                   date: dt.date | None = None, external_id: str = "") -> Refund:
    """Return money of a payment to the payer: ``amount`` (default: all that is left). Several
    refunds per payment, never more in all than the payment. What is refunded beyond the part not
    allocated is taken off its invoices, the latest allocation first. An unidentified payment's
    refund leaves the suspense account (Dr suspense / Cr cash); a client's is Dr client / Cr cash.

    A payment whose method returns money through its provider (a payment gateway: the method's
    ``refund`` handler) is refunded through the provider first, and recorded here when the provider
    accepts — unless ``external_id`` names the provider's refund already made (in its dashboard):
    then only the books change."""
    if not str(reason or "").strip():
        raise ValidationFailed.field("reason", _("A reason is required."))
    pm_of_payment = method_get(payment.method)
    handler = pm_of_payment.refund if pm_of_payment is not None else None
    if handler is not None and not str(external_id or "").strip():
        return handler(actor=actor, payment=payment, amount=amount, reason=reason.strip(), date=date)
    with transaction.atomic():
        pay = lock_payment(payment)
        if pay.status not in (*HOLDING_STATES, PaymentStatus.UNIDENTIFIED):
            raise Conflict(_("A %(status)s payment cannot be refunded.") % status_of(pay),
                           errors={"status": [_("Is %(status)s.") % status_of(pay)]})
        left = pay.amount_minor - pay.refunded_minor
        units = left if amount in (None, "") else parse_amount("amount", amount, pay.currency)
        if units > left:
            raise ValidationFailed.field("amount", _("At most what is left of the payment, %(amount)s.")
                                         % {"amount": money(left, pay.currency).to_str()})
        shortfall = units - pay.unallocated_minor
        if shortfall > 0:
            taken: list[Any] = []
            for a in pay.allocations.filter(released_at__isnull=True).order_by("-id"):
                if shortfall <= 0:
                    break
                taken.append(a)
                shortfall -= a.amount_minor
            release_locked(actor, pay, taken, f"Возврат платежа: {reason.strip()}")
            if shortfall < 0:  # the last released allocation was larger than needed: keep the rest on it
                from kopeck.documents.models import Document as Doc

                doc = Doc.objects.select_for_update().get(pk=taken[-1].document_id)
                _allocate_locked(actor, pay, [doc], limits={doc.pk: -shortfall}, automatic=False)
        pm = method_get(pay.method)
        gateway = bool(pm and pm.gateway)
        amount_money = money(units, pay.currency)
        text = f"Возврат по платежу № {pay.pk}: {reason.strip()}"
        refund = Refund.objects.create(payment=pay, amount_minor=units, currency=pay.currency,
                                       date=date or provider_today(), reason=reason.strip()[:500],
                                       external_id=str(external_id or "")[:200], created_by=actor.label,
                                       created_at=clock.now())
        if pay.client_id is None:
            refund.transaction = ledger_suspense_post(actor=actor, operation=Operation.SUSPENSE_RETURN,
                                                      amount=amount_money, reason=text,
                                                      source_ref=f"refund:{refund.pk}", via_gateway=gateway)
        else:
            assert pay.client is not None
            refund.transaction = ledger_operation_post(actor=actor, client=pay.client, operation=Operation.REFUND,
                                                       amount=amount_money.amount, currency=pay.currency, reason=text,
                                                       source_ref=f"refund:{refund.pk}", via_gateway=gateway)
        refund.save(update_fields=["transaction"])
        advance_offset_refund(actor, pay, refund)
        before = payment_state(pay)
        pay.refunded_minor += units
        if pay.status != PaymentStatus.UNIDENTIFIED:
            pay.status = (PaymentStatus.REFUNDED if pay.refunded_minor >= pay.amount_minor
                          else PaymentStatus.PARTLY_REFUNDED)
        elif pay.refunded_minor >= pay.amount_minor:
            pay.status = PaymentStatus.REFUNDED
        pay.save(update_fields=["refunded_minor", "status"])
        audit_record(actor=actor, action="payment.refund", object_type="payment", object_id=pay.pk, before=before,
                     after={**payment_state(pay), "refund": refund.pk, "reason": refund.reason})
        if pay.client_id is not None:
            record_payment_event(actor, "payment.refunded", pay, refund=refund_event_data(refund))
    return refund


def payment_reverse(*, actor: Actor, payment: Payment, reason: str) -> Payment:
    """Undo a payment posted by mistake: its allocations are released and its ledger transactions
    reversed (сторно). A payment with refunds is not reversed (the money did leave)."""
    if not str(reason or "").strip():
        raise ValidationFailed.field("reason", _("A reason is required."))
    with transaction.atomic():
        pay = lock_payment(payment)
        if pay.status == PaymentStatus.REVERSED:
            raise Conflict(_("The payment is reversed already."), errors={"status": [_("Is %(status)s.") % status_of(pay)]})
        if pay.refunded_minor:
            raise Conflict(_("A refunded payment cannot be reversed."),
                           errors={"status": [_("Is %(status)s.") % status_of(pay)]})
        advance_release_for_reversal(actor, pay, reason.strip())
        release_locked(actor, pay, list(pay.allocations.filter(released_at__isnull=True).order_by("id")),
                       f"Сторно платежа: {reason.strip()}")
        before = payment_state(pay)
        for txn in (pay.assign_transaction, pay.transaction):
            if txn is not None:
                ledger_transaction_reverse(actor=actor, transaction_id=txn.pk, reason=reason.strip())
        pay.status, pay.reversed_at, pay.reverse_reason = PaymentStatus.REVERSED, clock.now(), reason.strip()[:500]
        pay.save(update_fields=["status", "reversed_at", "reverse_reason"])
        audit_record(actor=actor, action="payment.reverse", object_type="payment", object_id=pay.pk, before=before,
                     after={**payment_state(pay), "reason": pay.reverse_reason})
        if pay.client_id is not None:
            record_payment_event(actor, "payment.reversed", pay, reason=pay.reverse_reason)
    return pay


def invoice_pay_by_hand(*, actor: Actor, document: Document, amount_minor: int) -> None:
    """The documents' :class:`~kopeck.documents.ports.InvoicePayer`: a manual payment of the
    invoice's client allocated to this invoice (the invoice is locked by the caller)."""
    payment_record(actor=actor, client=document.client, amount=money(amount_minor, document.currency).amount,
                   currency=document.currency, method="manual", invoice=document,
                   purpose=f"Оплата по счёту № {document.number}")
