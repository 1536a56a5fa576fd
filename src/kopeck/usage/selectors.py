"""Readers of usage: the current billing period of a subscription, and its usage so far with the
projected cost of each metered component."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet

from kopeck.catalog.pricing_errors import pricing_message
from kopeck.catalog.selectors import version_plan_spec
from kopeck.common.errors import ValidationFailed
from kopeck.configuration.selectors import provider_today, provider_zone
from kopeck.core.calendar import start_of_local_day
from kopeck.core.explain import Explanation
from kopeck.core.money import Money
from kopeck.core.periods import Period
from kopeck.core.pricing import (
    AggregationType,
    PricingError,
    ReadingKind,
    Usage,
    evaluate,
)
from kopeck.core.pricing import (
    MeterReading as CoreReading,
)
from kopeck.core.pricing import (
    UsageEvent as CoreEvent,
)
from kopeck.core.pricing.plan import ComponentKind, PlanSpec
from kopeck.core.subscriptions import period_containing
from kopeck.subscriptions.models import Subscription
from kopeck.subscriptions.selectors import subscription_terms
from kopeck.usage.models import MeterReading, UsageEvent


def current_period(sub: Subscription, spec: PlanSpec, on: dt.date | None = None) -> Period:
    """The billing period of ``sub`` containing the provider-local date ``on`` (default today), as
    billing cuts it (:func:`kopeck.core.subscriptions.period_containing`)."""
    return period_containing(subscription_terms(sub, spec), provider_today() if on is None else on)


def usage_events(sub: Subscription, metric: str | None = None) -> QuerySet[UsageEvent]:
    qs = UsageEvent.objects.filter(subscription=sub)
    return qs if metric is None else qs.filter(metric=metric)


def meter_readings(sub: Subscription, meter: str | None = None) -> QuerySet[MeterReading]:
    qs = MeterReading.objects.filter(subscription=sub)
    return qs if meter is None else qs.filter(meter=meter)


@dataclass(frozen=True, slots=True)
class ComponentUsage:
    code: str
    name: str
    aggregation: str | None
    quantity: Decimal
    events: int
    readings: int
    amount: Money
    charge: dict[str, Any]
    explanation: Explanation

    def as_dict(self) -> dict[str, Any]:
        return {"component": self.code, "name": self.name, "aggregation": self.aggregation,
                "quantity": str(self.quantity), "events": self.events, "readings": self.readings,
                "amount": self.amount.to_str(), "currency": self.amount.currency.code,
                "explanation": self.explanation.as_dict(), "charge": self.charge}


@dataclass(frozen=True, slots=True)
class SubscriptionUsage:
    subscription: Subscription
    period: Period
    currency: str
    components: Sequence[ComponentUsage]
    total: Money

    def as_dict(self) -> dict[str, Any]:
        return {"subscription": self.subscription.pk, "external_id": self.subscription.external_id,
                "period": self.period.to_dict(), "currency": self.currency, "amount": self.total.to_str(),
                "components": [c.as_dict() for c in self.components]}


def _events(rows: Any) -> list[CoreEvent]:
    return [CoreEvent(event_id, ts, props) for event_id, ts, props in rows]


def _plain(value: Decimal) -> Decimal:
    """A stored value (12 decimal places) without its trailing zeros: 118.000000000000 → 118."""
    n = value.normalize()
    return n if int(n.as_tuple().exponent) <= 0 else n.quantize(Decimal(1))


def _readings(rows: Any) -> list[CoreReading]:
    return [CoreReading(rid, ts, _plain(value), ReadingKind(kind), None if old_final is None else _plain(old_final))
            for rid, ts, value, kind, old_final in rows]


_READING_FIELDS = ("reading_id", "timestamp", "value", "kind", "old_final")


def _component_usage(sub: Subscription, code: str, spec: Any, start: dt.datetime, end: dt.datetime) -> tuple[
        Usage, int, int]:
    agg = spec.aggregation
    if agg is None:
        return Usage.of_quantity(0), 0, 0
    if agg.type is AggregationType.METER_READING:
        rqs = meter_readings(sub, code)
        opening = rqs.filter(timestamp__lte=start).order_by("-timestamp").values_list(*_READING_FIELDS).first()
        rows = list(rqs.filter(timestamp__gt=start, timestamp__lte=end).order_by("timestamp")
                    .values_list(*_READING_FIELDS))
        readings = _readings(([opening] if opening else []) + rows)
        if not readings:
            return Usage.of_quantity(0), 0, 0
        return Usage.of_readings(readings), 0, len(readings)
    eqs = usage_events(sub, code)
    events = _events(eqs.filter(timestamp__gte=start, timestamp__lt=end).order_by("timestamp", "id")
                     .values_list("event_id", "timestamp", "properties"))
    initial_level = Decimal(0)
    initial_values: frozenset[str] = frozenset()
    if agg.type in (AggregationType.WEIGHTED_SUM, AggregationType.UNIQUE_COUNT):
        # The level / the set of active values carries over from everything before the period.
        from kopeck.core.pricing import aggregate

        earlier = _events(eqs.filter(timestamp__lt=start).order_by("timestamp", "id")
                          .values_list("event_id", "timestamp", "properties"))
        if earlier:
            first = earlier[0].timestamp
            res = aggregate(agg, earlier, start=first, end=start) if agg.type is AggregationType.WEIGHTED_SUM \
                else aggregate(agg, earlier)
            initial_level = res.final_level or Decimal(0)
            initial_values = res.final_values or frozenset()
    return (Usage.of_events(events, start, end, initial_level=initial_level, initial_values=initial_values),
            len(events), 0)


def subscription_usage(sub: Subscription, period: Period | None = None) -> SubscriptionUsage:
    """The usage of each metered component of ``sub`` in ``period`` (default: the current one) from
    the stored events and readings, and its projected cost under the subscription's plan version in
    its currency. Fixed and per-unit components are not included: this is usage only."""
    spec = version_plan_spec(sub.plan_version)
    if period is None:
        period = current_period(sub, spec)
    zone = provider_zone()
    start, end = start_of_local_day(period.start, zone), start_of_local_day(period.end, zone)
    currency = sub.currency
    components: list[ComponentUsage] = []
    total = Money.zero(currency)
    for comp in spec.components:
        if comp.kind != ComponentKind.METERED or currency not in comp.prices:
            continue
        price = comp.prices[currency]
        usage, n_events, n_readings = _component_usage(sub, comp.code, price, start, end)
        try:
            charge = evaluate(price, usage, currency)
        except PricingError as exc:
            raise ValidationFailed.field(f"usage.{comp.code}", pricing_message(exc)) from exc
        total = total + charge.amount
        agg = price.aggregation
        components.append(ComponentUsage(
            code=comp.code, name=comp.name, aggregation=None if agg is None else agg.type.value,
            quantity=charge.quantity, events=n_events, readings=n_readings, amount=charge.amount,
            charge=charge.as_dict(), explanation=charge.explanation))
    return SubscriptionUsage(sub, period, currency, components, total)


def stored_usage(sub: Subscription, *, spec: PlanSpec | None = None,
                 zone_name: str | None = None) -> Callable[[str, Period], Usage]:
    """The metered usage of ``sub`` from the stored events and readings, as the billing engine asks
    for it: ``(component code, service period) → Usage`` (provider-local days). ``spec`` and
    ``zone_name`` (the plan version's spec, the provider's zone) may be given when already loaded."""
    if spec is None:
        spec = version_plan_spec(sub.plan_version)
    zone = provider_zone() if zone_name is None else zone_name

    def source(component: str, period: Period) -> Usage:
        comp = spec.component(component)
        if comp is None or comp.kind != ComponentKind.METERED or sub.currency not in comp.prices:
            return Usage.of_quantity(0)
        start, end = start_of_local_day(period.start, zone), start_of_local_day(period.end, zone)
        usage, _events, _readings = _component_usage(sub, component, comp.prices[sub.currency], start, end)
        return usage

    return source


_PREFETCHED = {AggregationType.COUNT, AggregationType.SUM, AggregationType.MAX, AggregationType.LATEST}


class UsagePrefetch:
    """The stored usage of many subscriptions, read with one query instead of one per subscription
    and component (billing runs). Use: ``expect(sub, spec, component, since, until)`` for each
    metered component of each subscription (the usage it will probably be asked for lies in
    ``[since, until)``, provider-local days), then
    ``load()``, then ``source(sub, spec)`` as the usage source of the billing. For count, sum, max
    and latest, a period inside the loaded window is answered from the loaded events — exactly what
    :func:`stored_usage` answers, since every event of the expected subscriptions in the window
    was read; any other period, and the other aggregations (which need the events before the
    period, or meter readings), are read by :func:`stored_usage` as before. The expected window
    therefore decides only how fast the answer comes, never what it is."""

    MAX_WINDOW_DAYS = 200
    """A longer expected window (a subscription long unbilled) is not prefetched: its periods are
    read one by one rather than loading months of every subscription's events."""

    def __init__(self, zone_name: str) -> None:
        self.zone = zone_name
        self.asked: set[tuple[int, str]] = set()
        self.start: dt.datetime | None = None
        self.end: dt.datetime | None = None
        self.events: dict[tuple[int, str], list[tuple[str, dt.datetime, dict[str, Any]]]] = {}
        self.loaded = False

    def _bounds(self, period: Period) -> tuple[dt.datetime, dt.datetime]:
        return start_of_local_day(period.start, self.zone), start_of_local_day(period.end, self.zone)

    @staticmethod
    def _prefetched(spec: PlanSpec, sub: Subscription, component: str) -> bool:
        comp = spec.component(component)
        if comp is None or comp.kind != ComponentKind.METERED or sub.currency not in comp.prices:
            return False
        agg = comp.prices[sub.currency].aggregation
        return agg is not None and agg.type in _PREFETCHED

    def expect(self, sub: Subscription, spec: PlanSpec, component: str, since: dt.date, until: dt.date) -> None:
        """Note that ``component`` of ``sub`` will probably be asked for periods in ``[since, until)``."""
        if self.loaded or until <= since or (until - since).days > self.MAX_WINDOW_DAYS \
                or not self._prefetched(spec, sub, component):
            return
        start, end = self._bounds(Period(since, until))
        self.asked.add((sub.pk, component))
        self.start = start if self.start is None else min(self.start, start)
        self.end = end if self.end is None else max(self.end, end)

    def load(self) -> None:
        self.loaded = True
        if not self.asked or self.start is None or self.end is None:
            return
        subs = sorted({s for s, _ in self.asked})
        metrics = sorted({m for _, m in self.asked})
        rows = UsageEvent.objects.filter(subscription_id__in=subs, metric__in=metrics, timestamp__gte=self.start,
                                         timestamp__lt=self.end).order_by("timestamp", "id") \
            .values_list("subscription_id", "metric", "event_id", "timestamp", "properties")
        for sub_id, metric, event_id, ts, props in rows.iterator(chunk_size=5000):
            if (sub_id, metric) in self.asked:
                self.events.setdefault((sub_id, metric), []).append((event_id, ts, props))

    def source(self, sub: Subscription, spec: PlanSpec) -> Callable[[str, Period], Usage]:
        fallback = stored_usage(sub, spec=spec, zone_name=self.zone)

        def source(component: str, period: Period) -> Usage:
            if not self.loaded or (sub.pk, component) not in self.asked or not self._prefetched(spec, sub, component):
                return fallback(component, period)
            start, end = self._bounds(period)
            assert self.start is not None and self.end is not None
            if start < self.start or end > self.end:
                return fallback(component, period)
            rows = [r for r in self.events.get((sub.pk, component), ()) if start <= r[1] < end]
            return Usage.of_events(_events(rows), start, end)

        return source


class StoredUsageReader:
    """This app's implementation of :class:`kopeck.subscriptions.ports.UsageReader`."""

    def stored(self, sub: Subscription, *, spec: PlanSpec | None = None,
               zone_name: str | None = None) -> Callable[[str, Period], Usage]:
        return stored_usage(sub, spec=spec, zone_name=zone_name)

    def batch(self, zone_name: str) -> UsagePrefetch:
        return UsagePrefetch(zone_name)
