"""Shared pieces of the payment services: locking, amounts, the events' payloads."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kopeck.common.actor import Actor
from kopeck.common.errors import NotFound, ValidationFailed
from kopeck.core.money import Currency, Money, MoneyError
from kopeck.events.services import event_record
from kopeck.ledger.amounts import from_minor, to_minor
from kopeck.payments.models import Allocation, Payment, Refund


def lock_payment(payment: Payment | int) -> Payment:
    pk = payment if isinstance(payment, int) else payment.pk
    locked = Payment.objects.select_for_update().filter(pk=pk).first()
    if locked is None:
        raise NotFound(_("Payment %(id)s does not exist.") % {"id": pk})
    return locked


def parse_amount(field: str, amount: object, currency: str) -> int:
    """A positive amount in whole minor units of ``currency``, as minor units; 400 naming ``field``."""
    try:
        Currency.of(currency)
    except MoneyError as exc:
        raise ValidationFailed.field(field, _("unknown currency %(code)r") % {"code": currency}) from exc
    try:
        money = Money(amount, currency)
    except (MoneyError, TypeError, ValueError) as exc:
        raise ValidationFailed.field(field, _("Give the amount as a decimal number.")) from exc
    if not money.is_positive():
        raise ValidationFailed.field(field, _("The amount must be greater than zero."))
    if not money.is_rounded():
        raise ValidationFailed.field(field, ngettext("%(currency)s allows %(places)d decimal place.",
                                                     "%(currency)s allows %(places)d decimal places.",
                                                     money.currency.minor_units)
                                     % {"currency": currency, "places": money.currency.minor_units})
    if abs(money.amount) >= 10**15:
        raise ValidationFailed.field(field, _("The amount is too large."))
    return to_minor(money)


def status_of(pay: Payment) -> dict[str, str]:
    """The payment's status for a refusal: ``status`` (the code, in English) and ``label`` (its name, in Russian)."""
    return {"status": pay.status, "label": pay.get_status_display()}


def money(units: int, currency: str) -> Money:
    return from_minor(units, currency)


def payment_state(p: Payment) -> dict[str, Any]:
    return {"client": p.client_id, "amount": money(p.amount_minor, p.currency).to_str(), "currency": p.currency,
            "date": p.date.isoformat(), "method": p.method, "status": p.status, "match_rule": p.match_rule,
            "external_id": p.external_id, "refunded": money(p.refunded_minor, p.currency).to_str(),
            "allocated": money(p.allocated_minor, p.currency).to_str()}


def payment_event_data(p: Payment) -> dict[str, Any]:
    """The ``payment`` object of the events' payloads."""
    # allocated_minor is the sum of the active allocations (kept with them): none when it is zero
    invoice_ids = sorted(set(Allocation.objects.filter(payment=p, released_at__isnull=True)
                             .values_list("document_id", flat=True))) if p.pk and p.allocated_minor else []
    return {"id": p.pk, "amount": money(p.amount_minor, p.currency).to_str(), "currency": p.currency,
            "date": p.date.isoformat(), "method": p.method, "status": p.status, "client_id": p.client_id,
            "payer_name": p.payer_name, "payer_inn": p.payer_inn, "purpose": p.purpose,
            "external_id": p.external_id or None, "invoice_ids": invoice_ids}


def record_payment_event(actor: Actor, name: str, p: Payment, **extra: Any) -> None:
    event_record(name, actor=actor, client_id=p.client_id if name != "payment.unidentified" else None,
                 subject_id=p.pk, data={"payment": payment_event_data(p), **extra})


def refund_event_data(r: Refund) -> dict[str, Any]:
    return {"id": r.pk, "amount": money(r.amount_minor, r.currency).to_str(), "currency": r.currency,
            "date": r.date.isoformat()}
