"""Autopayments: a client (or the operator) turns autopay on with a saved method; Kopeck charges it for
each open invoice and/or when the balance falls below a threshold. A declined charge is retried on a
schedule (``KOPECK_AUTOPAY_RETRY_HOURS``, default 24, 72, 120 hours after each failure) and the client
is told of every failure by e-mail (through the outbox); after the last retry the charge is given up.

The charge itself is an online payment like any other: Kopeck's record first, then the provider's
charge of the saved method, settled from the provider's answer (an API result, never a browser)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from kopeck.audit.services import audit_record
from kopeck.common import secrets
from kopeck.common.actor import Actor
from kopeck.common.clock import now
from kopeck.common.errors import ValidationFailed
from kopeck.core.money import Money, MoneyError, from_minor, to_minor
from kopeck.gateways import messages as m
from kopeck.gateways.models import (
    AttemptStatus,
    Autopay,
    AutopayCharge,
    GatewayPayment,
    PaymentStatus,
    SavedMethod,
)
from kopeck.gateways.providers import provider
from kopeck.gateways.providers.base import Declined, ProviderError, Refused

SYSTEM = Actor.system("autopay")
DEFAULT_RETRY_HOURS = (24, 72, 120)


def retry_schedule() -> tuple[dt.timedelta, ...]:
    hours = getattr(settings, "KOPECK_AUTOPAY_RETRY_HOURS", DEFAULT_RETRY_HOURS)
    return tuple(dt.timedelta(hours=float(h)) for h in hours)


def autopay_enable(*, actor: Actor, client: Any, method: SavedMethod, on_invoice: bool = True,
                   threshold: object = None, top_up: object = None) -> Autopay:
    """Turn autopay on (or change it) for a client with one of the client's active saved methods."""
    if method.client_id != client.pk or not method.is_active:
        raise ValidationFailed.field("method", _("Choose an active saved method of this client."))
    try:
        threshold_minor = to_minor(Money(threshold, client.currency)) if threshold not in (None, "") else None
    except MoneyError as exc:
        raise ValidationFailed.field("threshold", _("Give the amount as a decimal number.")) from exc
    try:
        top_up_minor = to_minor(Money(top_up, client.currency)) if top_up not in (None, "") else None
    except MoneyError as exc:
        raise ValidationFailed.field("top_up", _("Give the amount as a decimal number.")) from exc
    if (threshold_minor is None) != (top_up_minor is None):
        raise ValidationFailed.field("top_up", _("A balance threshold needs a top-up amount, and the other way "
                                                 "round."))
    if top_up_minor is not None and top_up_minor <= 0:
        raise ValidationFailed.field("top_up", _("The top-up must be greater than zero."))
    if not on_invoice and threshold_minor is None:
        raise ValidationFailed.field("on_invoice", _("Pay invoices, or set a balance threshold, or both."))
    at = now()
    with transaction.atomic():
        autopay, _created = Autopay.objects.update_or_create(
            client=client, defaults={"method": method, "is_enabled": True, "on_invoice": on_invoice,
                                     "threshold_minor": threshold_minor, "top_up_minor": top_up_minor,
                                     "updated_at": at}, create_defaults={
                "method": method, "is_enabled": True, "on_invoice": on_invoice, "threshold_minor": threshold_minor,
                "top_up_minor": top_up_minor, "created_at": at, "updated_at": at})
        audit_record(actor=actor, action="autopay.enable", object_type="autopay", object_id=autopay.pk,
                     after={"method": method.pk, "on_invoice": on_invoice, "threshold_minor": threshold_minor,
                            "top_up_minor": top_up_minor})
    return autopay


def autopay_disable(*, actor: Actor, autopay: Autopay) -> Autopay:
    with transaction.atomic():
        autopay.is_enabled = False
        autopay.updated_at = now()
        autopay.save(update_fields=["is_enabled", "updated_at"])
        audit_record(actor=actor, action="autopay.disable", object_type="autopay", object_id=autopay.pk)
    return autopay


def _open_invoices(client_id: int) -> Any:
    from kopeck.documents.models import Document

    return Document.objects.filter(client_id=client_id, type="invoice", status__in=["issued", "partly_paid"])


def autopay_schedule() -> int:
    """Create the charges that are due: one per open invoice of a client with autopay on invoices, one
    top-up where the balance is below the threshold (and no top-up is under way)."""
    from kopeck.ledger.selectors import client_balance

    created = 0
    at = now()
    for autopay in Autopay.objects.filter(is_enabled=True, method__is_active=True).select_related("client"):
        if autopay.on_invoice:
            for invoice in _open_invoices(autopay.client_id).filter(autopay_charges__isnull=True):
                left = invoice.amount_minor - invoice.paid_minor
                if left <= 0:
                    continue
                try:
                    with transaction.atomic():
                        AutopayCharge.objects.create(autopay=autopay, invoice=invoice, amount_minor=left,
                                                     currency=invoice.currency, next_attempt_at=at, created_at=at)
                    created += 1
                except IntegrityError:  # another scheduler took it
                    continue
        if autopay.threshold_minor is not None and autopay.top_up_minor:
            busy = autopay.charges.filter(invoice__isnull=True, status=AttemptStatus.SCHEDULED).exists()
            balance = client_balance(autopay.client)
            if not busy and to_minor(balance) < autopay.threshold_minor:
                AutopayCharge.objects.create(autopay=autopay, amount_minor=autopay.top_up_minor,
                                             currency=autopay.client.currency, next_attempt_at=at, created_at=at)
                created += 1
    return created


def _notify_failure(charge: AutopayCharge, error: str, final: bool) -> None:
    from kopeck.gateways.services import client_contact
    from kopeck.notifications.services import email_enqueue

    email, _phone = client_contact(charge.autopay.client)
    if not email:
        return
    money = from_minor(charge.amount_minor, charge.currency)
    what = f"счёта № {charge.invoice.number}" if charge.invoice is not None and charge.invoice.number else "баланса"
    when = ("Автоплатёж отключён для этого счёта: оплатите его вручную или обновите карту."
            if final else f"Мы повторим попытку {charge.next_attempt_at:%d.%m.%Y %H:%M} (UTC).")
    with translation.override("ru"):  # the letter is Russian: so is the provider's reason in it
        why = m.told(error).rstrip(".")
    email_enqueue(to=[email], subject=f"Не удалось списать {money.to_str()} {money.currency.code} — автоплатёж",
                  body=(f"Здравствуйте!\n\nАвтоплатёж для оплаты {what} на сумму {money.to_str()} "
                        f"{money.currency.code} с карты {charge.autopay.method.title} не прошёл: {why}.\n{when}\n"),
                  key=f"autopay-failure:{charge.pk}:{charge.attempts}")


def _failed(charge: AutopayCharge, error: str) -> None:
    """A declined attempt: schedule the next retry or give up; the client is told either way."""
    schedule = retry_schedule()
    charge.last_error = error[:500]
    if charge.attempts <= len(schedule):
        charge.status = AttemptStatus.SCHEDULED
        charge.next_attempt_at = now() + schedule[charge.attempts - 1]
        final = False
    else:
        charge.status = AttemptStatus.GAVE_UP
        charge.next_attempt_at = None
        final = True
    charge.save(update_fields=["status", "next_attempt_at", "last_error"])
    _notify_failure(charge, error, final)


def on_payment_settled(payment: GatewayPayment) -> None:
    """Called by settlement (inside its transaction) when a payment became paid or failed."""
    for charge in AutopayCharge.objects.select_for_update().filter(payment=payment, status=AttemptStatus.SCHEDULED,
                                                                     next_attempt_at__isnull=True):
        if payment.status == PaymentStatus.SUCCEEDED:
            charge.status = AttemptStatus.SUCCEEDED
            charge.save(update_fields=["status"])
        elif payment.status == PaymentStatus.FAILED:
            _failed(charge, payment.failure_reason or m.CHARGE_DECLINED)


def _attempt(charge: AutopayCharge) -> str:
    from kopeck.gateways.services import _order, config_of, receipt_for, settle_remote

    with transaction.atomic():
        locked = AutopayCharge.objects.select_for_update(skip_locked=True).filter(
            pk=charge.pk, status=AttemptStatus.SCHEDULED, next_attempt_at__lte=now()).first()
        if locked is None:
            return "skipped"
        charge = locked
        autopay = charge.autopay
        method = autopay.method
        if not autopay.is_enabled or not method.is_active:
            charge.status, charge.next_attempt_at, charge.last_error = AttemptStatus.GAVE_UP, None, m.AUTOPAY_OFF
            charge.save(update_fields=["status", "next_attempt_at", "last_error"])
            return "gave_up"
        at = now()
        money = from_minor(charge.amount_minor, charge.currency)
        setting = method.setting
        receipt = receipt_for(setting, autopay.client, charge.invoice, money)
        text = f"Автоплатёж: счёт № {charge.invoice.number}" if charge.invoice is not None else "Автоплатёж: пополнение"
        payment = GatewayPayment.objects.create(
            setting=setting, client=autopay.client, invoice=charge.invoice, order_id=uuid.uuid4().hex,
            amount_minor=charge.amount_minor, currency=charge.currency, description=text[:250],
            status=PaymentStatus.PENDING, is_test=not setting.is_live, saved_method=method,
            created_by=str(SYSTEM), created_at=at, updated_at=at)
        charge.attempts += 1
        charge.payment = payment
        charge.next_attempt_at = None  # under way: settlement decides
        charge.save(update_fields=["attempts", "payment", "next_attempt_at"])
    try:
        remote = provider(setting.provider).charge_saved(
            config_of(setting), _order(payment, receipt=receipt), secrets.decrypt(method.token_encrypted))
    except Declined as exc:
        with transaction.atomic():
            GatewayPayment.objects.filter(pk=payment.pk).update(
                status=PaymentStatus.FAILED, failure_reason=exc.detail[:500],
                provider_payment_id=exc.provider_payment_id, updated_at=now())
            payment.refresh_from_db()
            on_payment_settled(payment)
        return "declined"
    except (ProviderError, Refused, NotImplementedError) as exc:
        # not reached or not understood: the payment stays pending for the reconciliation job; the
        # charge is retried on the schedule, never twice at once (the provider keys on the order id)
        with transaction.atomic():
            GatewayPayment.objects.filter(pk=payment.pk).update(failure_reason=str(exc)[:500], updated_at=now())
            charge.refresh_from_db()
            _failed(charge, str(exc))
        return "error"
    outcome = settle_remote(payment=payment, remote=remote)
    return outcome.reason or outcome.verdict


def autopay_run(*, limit: int = 200) -> dict[str, int]:
    """The scheduled job: create what is due, then attempt the due charges."""
    counts: dict[str, int] = {"scheduled": autopay_schedule()}
    due = AutopayCharge.objects.filter(status=AttemptStatus.SCHEDULED, next_attempt_at__lte=now()).order_by(
        "next_attempt_at", "id")[:limit]
    for charge in list(due):
        result = _attempt(charge)
        counts[result] = counts.get(result, 0) + 1
    return counts
