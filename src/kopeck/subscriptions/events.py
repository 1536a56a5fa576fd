"""The events of subscriptions (docs/events.md), derived from what a write changed: the writers call
:func:`record_subscription_events` with the state before (``subscription_state``) and the saved
subscription, inside their transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kopeck.catalog.models import PlanVersion
from kopeck.common.actor import Actor
from kopeck.events.services import event_record
from kopeck.subscriptions.models import Subscription, SubscriptionStatus

RUNNING = (SubscriptionStatus.TRIAL, SubscriptionStatus.ACTIVE)
PLAN_FAMILIES = ("change_plan", "scheduled_change_plan")


def subscription_event_data(sub: Subscription) -> dict[str, Any]:
    """The ``subscription`` object of the events' payloads."""

    def day(value: dt.date | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {"id": sub.pk, "client_id": sub.client_id, "plan": sub.plan.code, "plan_version": sub.plan_version.number,
            "status": sub.status, "quantity": sub.quantity, "currency": sub.currency,
            "start_date": day(sub.start_date), "end_date": day(sub.end_date), "trial_end": day(sub.trial_end),
            "external_id": sub.external_id}


def record_subscription_events(actor: Actor, family: str, sub: Subscription, before: dict[str, Any] | None,
                               on: dt.date) -> None:
    """Record what changed between ``before`` (None: the subscription was just created) and ``sub``:
    created, activated, plan or quantity changed, cancelled, suspended, resumed, ended."""
    data = subscription_event_data(sub)

    def record(name: str, **extra: Any) -> None:
        event_record(name, actor=actor, client_id=sub.client_id, subject_id=sub.pk,
                     data={"subscription": data, **extra})

    if before is None:
        record("subscription.created")
        if sub.status == SubscriptionStatus.ACTIVE:
            record("subscription.activated", previous_status=None)
        return
    old, new = before["status"], sub.status
    if before["plan_version"] != sub.plan_version_id and (family in PLAN_FAMILIES or before["plan"] != sub.plan_id):
        previous = PlanVersion.objects.select_related("plan").get(pk=before["plan_version"])
        record("subscription.plan_changed", from_plan=previous.plan.code, from_version=previous.number,
               to_plan=data["plan"], to_version=data["plan_version"], effective_date=on.isoformat())
    if before["quantity"] != sub.quantity:
        record("subscription.quantity_changed", from_quantity=before["quantity"], to_quantity=sub.quantity,
               effective_date=on.isoformat())
    if new == SubscriptionStatus.ACTIVE and old in (SubscriptionStatus.PENDING, SubscriptionStatus.TRIAL):
        record("subscription.activated", previous_status=old)
    if family == "cancel":
        record("subscription.cancelled", effective_date=on.isoformat(),
               at_period_end=new == SubscriptionStatus.CANCELLING)
    if new == SubscriptionStatus.SUSPENDED and old != SubscriptionStatus.SUSPENDED:
        record("subscription.suspended", effective_date=on.isoformat(), billing_continues=not sub.billing_paused)
    if old == SubscriptionStatus.SUSPENDED and new in RUNNING:
        record("subscription.resumed", effective_date=on.isoformat())
    if new == SubscriptionStatus.ENDED and old != SubscriptionStatus.ENDED:
        record("subscription.ended", end_date=(sub.end_date or on).isoformat())


def trial_ending_days() -> int:
    from django.conf import settings

    return max(int(getattr(settings, "KOPECK_TRIAL_ENDING_DAYS", 3)), 0)


def subscriptions_trials_ending(*, actor: Actor, on: dt.date) -> int:
    """Record ``subscription.trial_ending`` for every subscription in trial whose trial ends within
    KOPECK_TRIAL_ENDING_DAYS days of ``on`` — once per subscription and trial end (a dedupe key), so
    the periodic job may run as often as it likes. Returns how many were recorded now."""
    from django.db import transaction

    from kopeck.events.models import Event

    horizon = on + dt.timedelta(days=trial_ending_days())
    due = (Subscription.objects.filter(status=SubscriptionStatus.TRIAL, trial_end__gt=on, trial_end__lte=horizon)
           .select_related("plan", "plan_version").order_by("id"))
    recorded = 0
    for sub in due.iterator():
        assert sub.trial_end is not None
        key = f"subscription.trial_ending:{sub.pk}:{sub.trial_end.isoformat()}"
        if Event.objects.filter(dedupe_key=key).exists():
            continue
        with transaction.atomic():
            event_record("subscription.trial_ending", actor=actor, client_id=sub.client_id, subject_id=sub.pk,
                         dedupe_key=key, data={"subscription": subscription_event_data(sub),
                                               "trial_end": sub.trial_end.isoformat(),
                                               "days_left": (sub.trial_end - on).days})
        recorded += 1
    return recorded
