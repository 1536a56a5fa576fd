"""Usage aggregation: how a period's events (or meter readings) become a quantity.

* instants are compared and subtracted in UTC (events store their timestamp in UTC), so periods
  across a daylight-saving change have their real length;
* events are deduplicated by id (the first occurrence counts; repeats are listed in
  ``AggregationResult.duplicates``) and ordered by timestamp (ties keep their input order);
* when the period ``[start, end)`` is given, an event outside it is an error — late events are
  billed as a correction of a later run, never silently dropped or counted in the wrong period;
* ``count``: number of events; ``sum``: sum of a numeric property; ``max``: its largest value
  (0 without events); ``latest``: its value in the last event (0 without events);
* ``unique_count``: distinct values of a property that were active at any time in the period.
  Each event adds its value, or removes it when its ``operation`` property is ``"remove"``
  (``"add"`` is the default); values active at the start come from ``initial_values``, and the
  values still active at the end are returned as ``final_values`` for the next period. A value
  added and removed within the period is still counted once;
* ``weighted_sum``: events are deltas of a level that starts at ``initial_level``;
  quantity = Σ(level × time held) ÷ period length, computed exactly in microseconds (the exact
  quotient is ``exact``; ``quantity`` is it to 28 significant digits); ``final_level`` carries over;
* ``meter_reading``: consumption of a cumulative counter (see :mod:`kopeck.core.pricing.meter`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Context, Decimal
from enum import StrEnum
from fractions import Fraction
from typing import Any

from kopeck.core.explain import Explanation
from kopeck.core.pricing._values import ZERO, check_keys, dec, fmt, join
from kopeck.core.pricing.errors import SpecError, UsageError
from kopeck.core.pricing.usage import UsageEvent, utc
from kopeck.core.words import plural_en, plural_ru

_QUOTIENT = Context(prec=28)
_MICROSECOND = dt.timedelta(microseconds=1)


class AggregationType(StrEnum):
    COUNT = "count"
    SUM = "sum"
    MAX = "max"
    LATEST = "latest"
    UNIQUE_COUNT = "unique_count"
    WEIGHTED_SUM = "weighted_sum"
    METER_READING = "meter_reading"


_NEEDS_PROPERTY = {AggregationType.SUM, AggregationType.MAX, AggregationType.LATEST,
                   AggregationType.UNIQUE_COUNT, AggregationType.WEIGHTED_SUM}


@dataclass(frozen=True, slots=True)
class AggregationSpec:
    """JSON: ``{"type": "sum", "property": "gb"}``; ``{"type": "meter_reading", "max_value": "100000"}``.
    For percentage models ``property`` names the transaction amount of each event."""

    type: AggregationType
    property: str | None = None
    max_value: Decimal | None = None

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "type", AggregationType(self.type))
        except ValueError:
            allowed = ", ".join(t.value for t in AggregationType)
            raise SpecError("unknown_aggregation", "aggregation.type", type=self.type, types=allowed) from None
        if self.property is not None and (not isinstance(self.property, str) or not self.property):
            raise SpecError("non_empty_string", "aggregation.property")
        if self.type in _NEEDS_PROPERTY and self.property is None:
            raise SpecError("needs_property", "aggregation.property", type=self.type.value)
        if self.max_value is not None:
            if self.type is not AggregationType.METER_READING:
                raise SpecError("max_value_meter_only", "aggregation.max_value")
            object.__setattr__(self, "max_value", dec(self.max_value, "aggregation.max_value"))
            assert self.max_value is not None
            if self.max_value <= 0:
                raise SpecError("positive", "aggregation.max_value")

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type.value, "property": self.property,
                "max_value": None if self.max_value is None else str(self.max_value)}

    @classmethod
    def from_dict(cls, data: object, path: str = "aggregation") -> AggregationSpec:
        d = check_keys(data, ("type", "property", "max_value"), path)
        if "type" not in d:
            raise SpecError("required", join(path, "type"))
        max_value = d.get("max_value")
        return cls(d["type"], d.get("property"),
                   None if max_value is None else dec(max_value, join(path, "max_value")))


@dataclass(frozen=True, slots=True)
class AggregationResult:
    quantity: Decimal
    events_counted: int
    duplicates: tuple[str, ...]
    explanation: Explanation
    exact: Fraction | None = None
    final_level: Decimal | None = None
    final_values: frozenset[str] | None = None


def _prepare(events: Iterable[UsageEvent], start: dt.datetime | None,
             end: dt.datetime | None) -> tuple[list[UsageEvent], tuple[str, ...]]:
    seen: set[str] = set()
    kept: list[UsageEvent] = []
    dups: list[str] = []
    for e in events:
        if e.id in seen:
            dups.append(e.id)
            continue
        seen.add(e.id)
        if (start is not None and e.timestamp < start) or (end is not None and e.timestamp >= end):
            raise UsageError(
                "event_outside", f"events[{e.id}].timestamp", id=e.id, at=e.timestamp.isoformat(),
                start=start.isoformat() if start else "…", end=end.isoformat() if end else "…",
            )
        kept.append(e)
    kept.sort(key=lambda e: e.timestamp)
    return kept, tuple(dups)


def _number(e: UsageEvent, prop: str) -> Decimal:
    where = f"events[{e.id}].properties.{prop}"
    if prop not in e.properties:
        raise UsageError("event_no_property", where, id=e.id, property=prop)
    return dec(e.properties[prop], where, UsageError)


def _weighted(events: list[UsageEvent], prop: str, start: dt.datetime | None, end: dt.datetime | None,
              initial: Decimal) -> tuple[Decimal, Fraction, Decimal, str]:
    if start is None or end is None:
        raise UsageError("weighted_needs_period", "start" if start is None else "end")
    level, at, area = initial, start, ZERO
    for e in events:
        area += level * ((e.timestamp - at) // _MICROSECOND)
        level += _number(e, prop)
        at = e.timestamp
    area += level * ((end - at) // _MICROSECOND)
    length = (end - start) // _MICROSECOND
    exact = Fraction(area) / length
    quantity = _QUOTIENT.divide(area, Decimal(length))
    formula = f"Σ(level × µs held) / period µs = {fmt(area)} / {length} = {fmt(quantity)}"
    return quantity, exact, level, formula


def _unique(events: list[UsageEvent], prop: str, initial: frozenset[str]) -> tuple[int, frozenset[str]]:
    active, seen = set(initial), set(initial)
    for e in events:
        if prop not in e.properties:
            raise UsageError("event_no_property", f"events[{e.id}].properties.{prop}", id=e.id, property=prop)
        value = str(e.properties[prop])
        op = e.properties.get("operation", "add")
        if op == "add":
            active.add(value)
            seen.add(value)
        elif op == "remove":
            active.discard(value)
        else:
            raise UsageError("operation", f"events[{e.id}].properties.operation", operation=op)
    return len(seen), frozenset(active)


_RU = {"count": "количество событий", "sum": "сумма", "max": "максимум", "latest": "последнее значение",
       "unique_count": "число уникальных значений", "weighted_sum": "взвешенная по времени сумма"}


def aggregate(spec: AggregationSpec, events: Iterable[UsageEvent], *, start: dt.datetime | None = None,
              end: dt.datetime | None = None, initial_level: Decimal = ZERO,
              initial_values: Iterable[str] = ()) -> AggregationResult:
    """The quantity of a period's events under ``spec`` (see the module docstring)."""
    t = spec.type
    if t is AggregationType.METER_READING:
        raise UsageError("meter_not_events", "events")
    start = None if start is None else utc(start, "start")
    end = None if end is None else utc(end, "end")
    if start is not None and end is not None and end <= start:
        raise UsageError("period_order", "end")
    kept, dups = _prepare(events, start, end)
    prop = spec.property or ""
    exact: Fraction | None = None
    final_level: Decimal | None = None
    final_values: frozenset[str] | None = None
    formula = ""
    if t is AggregationType.COUNT:
        quantity = Decimal(len(kept))
    elif t is AggregationType.SUM:
        quantity = sum((_number(e, prop) for e in kept), ZERO)
    elif t is AggregationType.MAX:
        quantity = max((_number(e, prop) for e in kept), default=ZERO)
    elif t is AggregationType.LATEST:
        quantity = _number(kept[-1], prop) if kept else ZERO
    elif t is AggregationType.UNIQUE_COUNT:
        count, final_values = _unique(kept, prop, frozenset(initial_values))
        quantity = Decimal(count)
    else:
        quantity, exact, final_level, formula = _weighted(kept, prop, start, end, initial_level)
    of = f" of '{prop}'" if prop else ""
    explanation = Explanation(
        ru=f"Агрегация «{_RU[t.value]}»{f' свойства «{prop}»' if prop else ''}: {fmt(quantity)} "
           f"по {len(kept)} {plural_ru(len(kept), ('событию', 'событиям', 'событиям'))}"
           + (f", повторов отброшено: {len(dups)}" if dups else ""),
        en=f"Aggregation {t.value}{of}: {fmt(quantity)} over {len(kept)} {plural_en(len(kept), 'event', 'events')}"
           + (f", {len(dups)} {plural_en(len(dups), 'duplicate', 'duplicates')} ignored" if dups else ""),
        formula=formula or f"{t.value}({prop or 'events'}) = {fmt(quantity)}",
    )
    return AggregationResult(quantity, len(kept), dups, explanation, exact, final_level, final_values)


def transactions_of(spec: AggregationSpec | None, events: Iterable[UsageEvent], *,
                    start: dt.datetime | None = None, end: dt.datetime | None = None) -> list[Decimal]:
    """The transaction amounts of a period's events (deduplicated, by timestamp) for percentage models."""
    if spec is None or spec.property is None:
        raise SpecError("percentage_property", "aggregation.property")
    kept, _ = _prepare(events, None if start is None else utc(start, "start"),
                       None if end is None else utc(end, "end"))
    return [_number(e, spec.property) for e in kept]

