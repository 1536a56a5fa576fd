"""Billing what is due: one subscription (:func:`subscription_bill_due`, the one-by-one writer),
or every running subscription one after the other."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.configuration.selectors import provider_today
from kopeck.core.money import MoneyError
from kopeck.core.pricing.errors import PricingError
from kopeck.core.subscriptions import UsageSource, quote_bill_due
from kopeck.subscriptions.models import Subscription, SubscriptionStatus
from kopeck.subscriptions.ports import stored_usage
from kopeck.subscriptions.selectors import subscription_billed, subscription_terms
from kopeck.subscriptions.services.common import (
    audit,
    fresh,
    lock,
    status_on,
    subscription_state,
    timeline_add,
    today_or,
)
from kopeck.subscriptions.services.posting import post_quote


@dataclass(slots=True)
class BillResult:
    subscription_id: int
    on: dt.date
    items: list[dict[str, Any]]
    transaction_ids: list[int]
    status: str


def _refresh_status(actor: Actor, sub: Subscription, on: dt.date) -> None:
    status = status_on(sub, on)
    if status != sub.status:
        before = subscription_state(sub)
        old, sub.status, sub.updated_at = sub.status, status, clock.now()
        sub.save(update_fields=["status", "updated_at"])
        timeline_add(sub, "status", on, f"Статус: {old} → {status}", f"Status: {old} → {status}",
                  {"from": old, "to": status})
        audit(actor, "status", sub, before, subscription_state(sub))


def subscription_bill_due(*, actor: Actor, subscription: Subscription, on: dt.date | None = None,
                          usage: UsageSource | None = None, preview: bool = False) -> BillResult:
    """Post everything due up to ``on`` (default today, provider-local) that was not billed yet.
    Running it again on the same date posts nothing. ``usage(component, period)`` gives metered
    usage (default: the stored usage events and meter readings, kopeck.usage). ``preview`` returns the
    same items without posting anything."""
    today = provider_today()
    day = today_or(on)
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise ValidationFailed.field("on", "Must be a date.")
    if day > today:
        raise ValidationFailed.field("on", f"Cannot bill ahead of today ({today.isoformat()}).")
    if preview:  # exactly what would be posted now, nothing written, no lock taken
        sub = fresh(subscription)
        status = status_on(sub, day)
        if status in (SubscriptionStatus.PENDING, SubscriptionStatus.ENDED) or sub.billing_paused:
            return BillResult(sub.pk, day, [], [], status)
        quote = quote_bill_due(subscription_terms(sub), day, subscription_billed(sub),
                               usage=stored_usage(sub) if usage is None else usage)
        return BillResult(sub.pk, day, quote.as_list(), [], status)
    with transaction.atomic():
        sub = lock(subscription)
        _refresh_status(actor, sub, day)
        if sub.status in (SubscriptionStatus.PENDING, SubscriptionStatus.ENDED) or sub.billing_paused:
            return BillResult(sub.pk, day, [], [], sub.status)
        quote = quote_bill_due(subscription_terms(sub), day, subscription_billed(sub),
                               usage=stored_usage(sub) if usage is None else usage)
        ids = post_quote(actor, sub, quote) if quote.items else []
        if ids:
            audit(actor, "bill", sub, None, {"on": day, "transactions": ids, "total": quote.total.to_str()})
    return BillResult(sub.pk, day, quote.as_list(), ids, sub.status)


def subscriptions_bill_due_all(*, actor: Actor, on: dt.date | None = None,
                               usage: UsageSource | None = None) -> dict[str, Any]:
    """Bill every running subscription up to ``on``; one transaction per subscription, a failure
    of one is reported and does not stop the others."""
    day = today_or(on)
    summary: dict[str, Any] = {"on": day.isoformat(), "subscriptions": 0, "transactions": 0, "errors": {}}
    running = (Subscription.objects.exclude(status=SubscriptionStatus.ENDED).filter(start_date__lte=day,
                                                                                   billing_paused=False)
               .order_by("id"))
    for sub in running.iterator():
        try:
            result = subscription_bill_due(actor=actor, subscription=sub, on=day, usage=usage)
        except (ValidationFailed, Conflict, MoneyError, PricingError, ValueError) as exc:
            summary["errors"][str(sub.pk)] = str(exc)
            continue
        summary["subscriptions"] += 1
        summary["transactions"] += len(result.transaction_ids)
    return summary

