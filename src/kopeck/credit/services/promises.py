"""Promised payments (обещанный платёж): temporary extra credit for a few days, within the limits of
the billing settings. Granting one re-checks the client at once, so an automatic block it covers is
lifted in the same transaction; the credit check ends it when its term is over (kept if the client
is out of debt, expired otherwise — and the blocks of the debt return)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kopeck.audit.services import audit_record
from kopeck.clients.models import Client, ClientStatus
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.configuration.selectors import billing_settings, provider_today
from kopeck.core.money import Currency
from kopeck.credit.models import Debt, DebtStatus, Promise, PromiseStatus
from kopeck.credit.selectors import FORECAST_DAYS, daily_costs_minor
from kopeck.credit.services.check import credit_check_clients, decimal_text
from kopeck.events.services import event_record


def monthly_charge_minor(client: Client, on: dt.date) -> int:
    """The client's monthly charge the promise's maximum is a share of: its running subscriptions'
    cost over the last 30 days (the daily-cost forecast × 30)."""
    return daily_costs_minor([client], on).get(client.pk, 0) * FORECAST_DAYS


def promise_limits(client: Client, on: dt.date) -> dict[str, Any]:
    """What may be promised now: ``max_minor``, ``max_days``, and ``refusal`` (why not, or None)."""
    s = billing_settings()
    cap = (Decimal(monthly_charge_minor(client, on)) * s.promise_max_share / 100).quantize(
        Decimal(1), rounding="ROUND_DOWN")
    refusal = None
    if client.status == ClientStatus.CLOSED:
        refusal = _("The client is closed.")
    elif Promise.objects.filter(client=client, status=PromiseStatus.ACTIVE, until__gte=on).exists():
        refusal = _("A promised payment is active already.")
    else:
        debt = Debt.objects.filter(client=client, status=DebtStatus.OPEN).first()
        if debt is not None and Promise.objects.filter(client=client, status=PromiseStatus.EXPIRED,
                                                       ended_on__gte=debt.opened_on).exists():
            refusal = _("An earlier promised payment expired unpaid; the debt must be paid first.")
        elif s.promise_interval_days and Promise.objects.filter(
                client=client, granted_on__gt=on - dt.timedelta(days=s.promise_interval_days)).exists():
            refusal = ngettext("At most one promised payment in %(days)d day.", "At most one promised payment in %(days)d days.",
                               s.promise_interval_days) % {"days": s.promise_interval_days}
        elif cap <= 0:
            refusal = _("The client has no monthly charge to measure a promised payment against.")
    return {"max_minor": int(cap), "max_days": int(s.promise_max_days), "refusal": refusal}


def promise_grant(*, actor: Actor, client: Client, amount: Any, days: Any, comment: str = "") -> Promise:
    """Grant a promised payment of ``amount`` for ``days`` days (today included: it holds until today
    + days − 1, and the check of the next day ends it): within the settings' maximum share of the monthly charge and
    number of days, at most once per interval, never while an earlier promise is overdue."""
    on = provider_today()
    errors: dict[str, list[str]] = {}
    cur = Currency.of(client.currency)
    try:
        value = Decimal(str(amount))
        if not value.is_finite() or value <= 0 or value != value.quantize(Decimal(1).scaleb(-cur.minor_units)):
            raise InvalidOperation
        minor = int(value.scaleb(cur.minor_units))
    except (InvalidOperation, ValueError):
        errors["amount"] = [ngettext("A positive amount in %(currency)s with at most %(places)d decimal place.",
                                      "A positive amount in %(currency)s with at most %(places)d decimal places.",
                                      cur.minor_units) % {"currency": cur.code, "places": cur.minor_units}]
        minor = 0
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        errors["days"] = [_("A whole number of days, at least 1.")]
    if len(comment or "") > 500:
        errors["comment"] = [_("At most 500 characters.")]
    limits = promise_limits(client, on)
    if not errors:
        if days > limits["max_days"]:
            errors["days"] = [ngettext("At most %(days)d day.", "At most %(days)d days.", limits["max_days"])
                              % {"days": limits["max_days"]}]
        if limits["refusal"] is None and minor > limits["max_minor"]:
            errors["amount"] = [_("At most %(amount)s (%(share)s%% of the monthly charge).")
                                % {"amount": decimal_text(limits["max_minor"], cur.code),
                                   "share": billing_settings().promise_max_share}]
    if errors:
        raise ValidationFailed(_("The promised payment is invalid."), errors=errors)
    if limits["refusal"] is not None:
        raise Conflict(limits["refusal"], errors={"client": [limits["refusal"]]})
    with transaction.atomic():
        Client.objects.select_for_update().get(pk=client.pk)
        if Promise.objects.filter(client=client, status=PromiseStatus.ACTIVE, until__gte=on).exists():
            raise Conflict(_("A promised payment is active already."),
                           errors={"client": [_("A promised payment is active already.")]})
        promise = Promise.objects.create(
            client=client, amount_minor=minor, currency=cur.code, granted_on=on, until=on + dt.timedelta(days=days - 1),
            comment=(comment or "").strip(), granted_by=actor.label[:200], created_at=clock.now())
        data = {"id": promise.pk, "amount": decimal_text(minor, cur.code), "currency": cur.code,
                "until": promise.until.isoformat(), "granted_by": promise.granted_by}
        event_record("promise.granted", actor=actor, client_id=client.pk, subject_id=promise.pk,
                     data={"promise": data})
        audit_record(actor=actor, action="promise.grant", object_type="client", object_id=client.pk, after=data)
        credit_check_clients(client_ids=[client.pk], on=on)  # lifts what the promise covers, now
    return promise
