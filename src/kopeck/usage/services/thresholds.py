"""Usage thresholds: alert levels of a subscription's usage of a metered component in a billing period.

Intake checks them (:func:`usage_thresholds_check`, called by the writers of usage events and meter
readings in the transaction that stores them): for every (subscription, component) the batch stored
something for and that has thresholds, the current period's quantity is computed as the usage API and
the billing run compute it; each threshold it is now above gets the event ``usage.threshold_exceeded``
— once per threshold and period (the event's deduplication key), so later batches of the same period
record nothing more, and the next period starts afresh. The thresholds' rows are locked while they are
checked, so two concurrent batches for one subscription cannot both miss the crossing (the second
waits, then counts the first one's usage too).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from kopeck.audit.services import audit_record
from kopeck.catalog.selectors import version_plan_spec
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.configuration.selectors import provider_zone
from kopeck.core.calendar import start_of_local_day
from kopeck.core.pricing import PricingError, evaluate
from kopeck.core.pricing.plan import ComponentKind
from kopeck.events.models import Event
from kopeck.events.services import event_record
from kopeck.subscriptions.events import subscription_event_data
from kopeck.subscriptions.models import Subscription
from kopeck.usage.models import UsageThreshold

MAX_THRESHOLDS = 20  # per subscription and component
ACTOR = Actor.system("usage")


def _amount(value: object) -> Decimal:
    try:
        amount = Decimal(str(value).strip()) if isinstance(value, str | int | Decimal) and not isinstance(
            value, bool) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        raise ValidationFailed.field("amount", "Give a decimal number, e.g. \"1000\" or \"0.5\".")
    if amount <= 0:
        raise ValidationFailed.field("amount", "Must be greater than zero.")
    if amount.adjusted() >= 18 or -int(amount.as_tuple().exponent) > 12:
        raise ValidationFailed.field("amount", "At most 18 digits before the point and 12 after.")
    return amount


def threshold_state(threshold: UsageThreshold) -> dict[str, Any]:
    return {"subscription": threshold.subscription_id, "metric": threshold.metric,
            "amount": f"{threshold.amount.normalize():f}"}


def usage_threshold_create(*, actor: Actor, subscription: Subscription, metric: str, amount: object) -> UsageThreshold:
    """A threshold on ``subscription``'s usage of the metered component ``metric`` of its plan."""
    value = _amount(amount)
    spec = version_plan_spec(subscription.plan_version)
    comp = spec.component(metric) if isinstance(metric, str) else None
    if comp is None or comp.kind != ComponentKind.METERED:
        known = ", ".join(sorted(c.code for c in spec.components if c.kind == ComponentKind.METERED)) or "none"
        raise ValidationFailed.field("metric", f"The subscription's plan has no metered component {metric!r} "
                                               f"(it has: {known}).")
    with transaction.atomic():
        list(Subscription.objects.select_for_update(no_key=True).filter(pk=subscription.pk).values_list("id"))
        existing = UsageThreshold.objects.filter(subscription=subscription, metric=metric)
        if existing.filter(amount=value).exists():
            raise Conflict(f"The subscription already has the threshold {value.normalize():f} on {metric!r}.")
        if existing.count() >= MAX_THRESHOLDS:
            raise ValidationFailed.field("amount", f"At most {MAX_THRESHOLDS} thresholds per component.")
        threshold = UsageThreshold.objects.create(subscription=subscription, metric=metric, amount=value,
                                                  created_at=clock.now())
        audit_record(actor=actor, action="usage_threshold.create", object_type="usage_threshold",
                     object_id=threshold.pk, after=threshold_state(threshold))
    return threshold


def usage_threshold_delete(*, actor: Actor, threshold: UsageThreshold) -> None:
    with transaction.atomic():
        audit_record(actor=actor, action="usage_threshold.delete", object_type="usage_threshold",
                     object_id=threshold.pk, before=threshold_state(threshold), after=None)
        threshold.delete()


def usage_thresholds_check(pairs: Iterable[tuple[int, str]]) -> int:
    """Record ``usage.threshold_exceeded`` for the thresholds of the (subscription id, component code)
    ``pairs`` that the current period's usage is now above (each once per period). In the caller's
    transaction, after the usage is stored. Returns how many events were recorded."""
    wanted = set(pairs)
    if not wanted:
        return 0
    thresholds = [t for t in UsageThreshold.objects.select_for_update().filter(
        subscription_id__in={s for s, _m in wanted}).order_by("id") if (t.subscription_id, t.metric) in wanted]
    if not thresholds:
        return 0
    from kopeck.usage.selectors import _component_usage, current_period

    zone = provider_zone()
    subs = Subscription.objects.select_related("plan", "plan_version").in_bulk({t.subscription_id for t in thresholds})
    recorded = 0
    for sub_id in sorted(subs):
        sub = subs[sub_id]
        spec = version_plan_spec(sub.plan_version)
        period = current_period(sub, spec)
        start, end = start_of_local_day(period.start, zone), start_of_local_day(period.end, zone)
        mine = [t for t in thresholds if t.subscription_id == sub_id]
        for metric in sorted({t.metric for t in mine}):
            comp = spec.component(metric)
            if comp is None or comp.kind != ComponentKind.METERED or sub.currency not in comp.prices:
                continue  # the plan changed since the threshold was set: nothing to compare with
            price = comp.prices[sub.currency]
            usage, _events, _readings = _component_usage(sub, metric, price, start, end)
            try:
                quantity = evaluate(price, usage, sub.currency).quantity
            except PricingError:
                continue  # the usage API and the billing run report this; intake stays open
            for threshold in mine:
                if threshold.metric != metric or quantity <= threshold.amount:
                    continue
                key = f"usage-threshold:{threshold.pk}:{period.start.isoformat()}"
                if Event.objects.filter(dedupe_key=key).exists():
                    continue  # crossed earlier in this period: recorded then
                event_record("usage.threshold_exceeded", actor=ACTOR, client_id=sub.client_id, subject_id=sub.pk,
                             dedupe_key=key,
                             data={"subscription": subscription_event_data(sub), "component": metric,
                                   "threshold": f"{threshold.amount.normalize():f}",
                                   "quantity": f"{Decimal(quantity).normalize():f}",
                                   "period_start": period.start.isoformat(), "period_end": period.end.isoformat()})
                recorded += 1
    return recorded
