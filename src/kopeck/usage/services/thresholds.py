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
from typing import Any, NoReturn

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

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


# The refusals, as message templates (English; the back office shows them translated).
AMOUNT_NOT_DECIMAL = gettext_noop('Give a decimal number, e.g. "1000" or "0.5".')
AMOUNT_NOT_POSITIVE = gettext_noop("Must be greater than zero.")
AMOUNT_TOO_PRECISE = gettext_noop("At most 18 digits before the point and 12 after.")
NO_SUCH_COMPONENT = gettext_noop("The subscription's plan has no metered component %(metric)s (it has: %(known)s).")
ALREADY_THERE = gettext_noop("The subscription already has the threshold %(amount)s on %(metric)s.")
TOO_MANY = gettext_noop("At most %(count)s thresholds per component.")

Problem = tuple[str, str, dict[str, Any]]  # (field, message template, its parameters)


def _amount(value: object) -> Decimal | Problem:
    try:
        amount = Decimal(str(value).strip()) if isinstance(value, str | int | Decimal) and not isinstance(
            value, bool) else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite():
        return ("amount", AMOUNT_NOT_DECIMAL, {})
    if amount <= 0:
        return ("amount", AMOUNT_NOT_POSITIVE, {})
    if amount.adjusted() >= 18 or -int(amount.as_tuple().exponent) > 12:
        return ("amount", AMOUNT_TOO_PRECISE, {})
    return amount


def threshold_problems(subscription: Subscription, metric: object, amount: object,
                       threshold: UsageThreshold | None = None) -> tuple[Decimal | None, list[Problem]]:
    """The amount read, and what is wrong with a threshold of ``subscription`` on ``metric`` at
    ``amount`` (``threshold``: the one being changed) — each refusal once, in its field. The
    services check it again under the subscription's lock."""
    problems: list[Problem] = []
    value = _amount(amount)
    if isinstance(value, tuple):
        problems.append(value)
    spec = version_plan_spec(subscription.plan_version)
    comp = spec.component(metric) if isinstance(metric, str) else None
    if comp is None or comp.kind != ComponentKind.METERED:
        known = ", ".join(sorted(c.code for c in spec.components if c.kind == ComponentKind.METERED))
        problems.append(("metric", NO_SUCH_COMPONENT, {"metric": repr(metric), "known": known or "none"}))
    if problems or not isinstance(value, Decimal):
        return None, problems
    existing = UsageThreshold.objects.filter(subscription=subscription, metric=metric)
    if threshold is not None:
        existing = existing.exclude(pk=threshold.pk)
    if existing.filter(amount=value).exists():
        problems.append(("amount", ALREADY_THERE, {"amount": f"{value.normalize():f}", "metric": repr(metric)}))
    elif existing.count() >= MAX_THRESHOLDS:
        problems.append(("amount", TOO_MANY, {"count": MAX_THRESHOLDS}))
    return value, problems


def _refuse(problems: list[Problem]) -> NoReturn:
    field, template, params = problems[0]
    if template == ALREADY_THERE:
        raise Conflict(_(template) % params)
    raise ValidationFailed.field(field, _(template) % params)


def threshold_state(threshold: UsageThreshold) -> dict[str, Any]:
    return {"subscription": threshold.subscription_id, "metric": threshold.metric,
            "amount": f"{threshold.amount.normalize():f}"}


def usage_threshold_create(*, actor: Actor, subscription: Subscription, metric: str, amount: object) -> UsageThreshold:
    """A threshold on ``subscription``'s usage of the metered component ``metric`` of its plan."""
    with transaction.atomic():
        list(Subscription.objects.select_for_update(no_key=True).filter(pk=subscription.pk).values_list("id"))
        value, problems = threshold_problems(subscription, metric, amount)
        if problems or value is None:
            _refuse(problems)
        threshold = UsageThreshold.objects.create(subscription=subscription, metric=metric, amount=value,
                                                  created_at=clock.now())
        audit_record(actor=actor, action="usage_threshold.create", object_type="usage_threshold",
                     object_id=threshold.pk, after=threshold_state(threshold))
    return threshold


def usage_threshold_update(*, actor: Actor, threshold: UsageThreshold, metric: str, amount: object) -> UsageThreshold:
    """Change a threshold's component or quantity (its subscription stays). A period in which the
    old threshold was crossed keeps its event; the changed one is checked from the next intake."""
    with transaction.atomic():
        list(Subscription.objects.select_for_update(no_key=True).filter(pk=threshold.subscription_id)
             .values_list("id"))
        obj = UsageThreshold.objects.select_related("subscription__plan_version").get(pk=threshold.pk)
        value, problems = threshold_problems(obj.subscription, metric, amount, threshold=obj)
        if problems or value is None:
            _refuse(problems)
        before = threshold_state(obj)
        obj.metric, obj.amount = metric, value
        if threshold_state(obj) != before:
            obj.save(update_fields=["metric", "amount"])
            audit_record(actor=actor, action="usage_threshold.update", object_type="usage_threshold",
                         object_id=obj.pk, before=before, after=threshold_state(obj))
    return obj


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
