"""Batches of meter readings: each checked against its neighbours on the meter."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils.translation import gettext as _

from kopeck.audit.services import audit_record
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.configuration.selectors import provider_zone
from kopeck.core.pricing import AggregationSpec, PricingError
from kopeck.core.pricing._values import dec
from kopeck.subscriptions.models import Subscription
from kopeck.usage.models import MeterReading, ReadingKind
from kopeck.usage.services.common import (
    _READING_KEYS,
    ACCEPTED,
    DUPLICATE,
    FUTURE_TOLERANCE,
    REFUSED,
    Errors,
    Result,
    _check_code,
    _check_id,
    _check_subscription,
    _check_timestamp,
    _is_billed,
    _load_billed,
    _resolve,
    _Sub,
    _sub_of,
    _unknown_keys,
    _when_errors,
    decimal_problem,
    late,
    plan_usage,
    refused,
)
from kopeck.usage.services.thresholds import usage_thresholds_check

# -- meter readings ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Reading:
    ts: dt.datetime
    value: Decimal
    kind: str
    old_final: Decimal | None
    reading_id: str


def _check_decimal(item: Mapping[str, Any], key: str, errors: Errors, *, required: bool) -> Decimal | None:
    raw = item.get(key)
    if raw is None:
        if required:
            errors.append((key, _('required: a decimal string such as "12345.6"')))
        return None
    try:
        value = dec(raw, key)
    except PricingError as exc:
        errors.append((key, decimal_problem(raw, exc)))
        return None
    if value < 0:
        errors.append((key, _("must not be negative")))
        return None
    return value


def _show(value: Decimal) -> str:
    """Plain notation without trailing zeros (stored values have 12 places)."""
    return f"{value.normalize():f}" if value else "0"


def _neighbour_errors(new: _Reading, prev: _Reading | None, nxt: _Reading | None,
                      agg: AggregationSpec) -> Errors:
    """Whether ``new`` fits between its neighbours of the same meter (by timestamp)."""
    errors: Errors = []
    max_value = agg.max_value
    for name, value in (("value", new.value), ("old_final", new.old_final)):
        if value is not None and max_value is not None and value >= max_value:
            errors.append((name, _("not below the meter's max_value %(max)s (the dial shows 0 there)")
                           % {"max": _show(max_value)}))
    if new.kind == ReadingKind.ROLLOVER and max_value is None:
        errors.append(("kind", _("the meter declares no max_value, so it cannot roll over")))
    for other in (prev, nxt):
        if other is not None and other.ts == new.ts:
            errors.append(("timestamp", _("reading %(id)s of this meter has the same timestamp") % {"id": other.reading_id}))
    if errors:
        return errors
    if prev is not None:
        if new.kind == ReadingKind.NORMAL and new.value < prev.value:
            errors.append(("value", _("below the previous reading %(id)s (%(value)s); mark it rollover or replacement "
                                      "if the counter wrapped or the meter was replaced")
                           % {"id": prev.reading_id, "value": _show(prev.value)}))
        elif new.kind == ReadingKind.REPLACEMENT and new.old_final is not None and new.old_final < prev.value:
            errors.append(("old_final", _("below the previous reading %(id)s (%(value)s)")
                           % {"id": prev.reading_id, "value": _show(prev.value)}))
    elif new.kind == ReadingKind.ROLLOVER:
        errors.append(("kind", _("the first reading of a meter cannot be a rollover")))
    if nxt is not None:
        if nxt.kind == ReadingKind.NORMAL and nxt.value < new.value:
            errors.append(("value", _("above the next reading %(id)s (%(value)s)") % {"id": nxt.reading_id,
                                                                                  "value": _show(nxt.value)}))
        elif nxt.kind == ReadingKind.REPLACEMENT and nxt.old_final is not None and nxt.old_final < new.value:
            errors.append(("value", _("above the old meter's final reading of replacement %(id)s (%(value)s)")
                           % {"id": nxt.reading_id, "value": _show(nxt.old_final)}))
    return errors


def _meter_neighbours(pairs: set[tuple[int, str]], ranges: Mapping[tuple[int, str], tuple[dt.datetime, dt.datetime]]
                      ) -> dict[tuple[int, str], list[_Reading]]:
    """For each (subscription, meter): the stored readings within the batch's time range of it, plus
    the one just before and the one just after (the only ones a new reading is compared with)."""
    out: dict[tuple[int, str], list[_Reading]] = {}
    fields = ("timestamp", "value", "kind", "old_final", "reading_id")
    for pair in pairs:
        sub_id, meter = pair
        low, high = ranges[pair]
        qs = MeterReading.objects.filter(subscription_id=sub_id, meter=meter)
        rows = list(qs.filter(timestamp__gte=low, timestamp__lte=high).values_list(*fields))
        before = qs.filter(timestamp__lt=low).order_by("-timestamp").values_list(*fields).first()
        after = qs.filter(timestamp__gt=high).order_by("timestamp").values_list(*fields).first()
        rows += [r for r in (before, after) if r is not None]
        out[pair] = sorted((_Reading(*r) for r in rows), key=lambda r: r.ts)
    return out


def meter_readings_ingest(*, actor: Actor, items: Sequence[Any]) -> list[Result]:
    """Store a batch of meter readings (at most :data:`MAX_BATCH`); one result per item, in order.

    A reading must fit between its meter's neighbouring readings by timestamp: not below the previous
    one unless it is a rollover or a replacement, and not above the next one."""
    now = clock.now()
    limit = now + FUTURE_TOLERANCE
    zone = provider_zone()
    tz = ZoneInfo(zone)
    results: list[Result | None] = [None] * len(items)
    parsed: list[tuple[int, str, int | str, str, _Reading]] = []
    ids: set[int] = set()
    external: set[str] = set()
    for i, item in enumerate(items):
        if type(item) is not dict:
            results[i] = refused(None, [("", _("each reading must be a JSON object"))])
            continue
        errors: Errors = []
        _unknown_keys(item, _READING_KEYS, errors)
        reading_id = _check_id(item, errors)
        ref = _check_subscription(item, errors)
        meter = _check_code(item, "meter", errors)
        ts = _check_timestamp(item, errors)
        value = _check_decimal(item, "value", errors, required=True)
        kind = item.get("kind", ReadingKind.NORMAL)
        if kind not in ReadingKind.values:
            errors.append(("kind", _("one of %(choices)s") % {"choices": ", ".join(ReadingKind.values)}))
        old_final = _check_decimal(item, "old_final", errors, required=kind == ReadingKind.REPLACEMENT)
        if kind != ReadingKind.REPLACEMENT and item.get("old_final") is not None:
            errors.append(("old_final", _("given for replacement readings only")))
        if errors:
            results[i] = refused(item.get("id"), errors)
            continue
        assert reading_id is not None and ref is not None and meter is not None and ts is not None
        assert value is not None
        if type(ref) is int:
            ids.add(ref)
        else:
            external.add(ref)  # type: ignore[arg-type]
        parsed.append((i, reading_id, ref, meter, _Reading(ts, value, str(kind), old_final, reading_id)))
    by_id, by_ext = _resolve(ids, external, zone)
    subs = {**{s.id: s for s in by_ext.values()}, **by_id}
    earliest = min((p[4].ts for p in parsed), default=None)
    _load_billed(subs.values(), {p[3] for p in parsed}, None if earliest is None else earliest.astimezone(tz).date())
    checked: list[tuple[int, _Sub, str, _Reading, AggregationSpec]] = []
    for i, reading_id, ref, meter, reading in parsed:
        errors = []
        sub = _sub_of(ref, by_id, by_ext, errors)
        if sub is None:
            results[i] = refused(reading_id, errors)
            continue
        usage = plan_usage(sub.version_id, sub.currency)
        agg = usage.meters.get(meter)
        if agg is None:
            hint = (_("%(meter)r aggregates events: send them to /api/v1/usage/events/") % {"meter": meter}
                    if meter in usage.events
                    else _("the subscription's plan has no meter %(meter)r (it has: %(known)s)")
                    % {"meter": meter, "known": ", ".join(sorted(usage.meters)) or _("none")})
            errors.append(("meter", hint))
        errors += _when_errors(sub, reading.ts, limit)
        if not errors and _is_billed(sub, meter, reading.ts, tz):
            errors.append(("timestamp", late()))
        if errors:
            results[i] = refused(reading_id, errors)
            continue
        assert agg is not None
        checked.append((i, sub, meter, reading, agg))
    if checked:
        with transaction.atomic():
            _store_readings(checked, results, now, actor, len(items))
    return [r for r in results if r is not None]


def _store_readings(checked: list[tuple[int, _Sub, str, _Reading, AggregationSpec]], results: list[Result | None],
                    now: dt.datetime, actor: Actor, sent: int) -> None:
    sub_ids = sorted({c[1].id for c in checked})
    # Serialise writers of readings per subscription (NO KEY UPDATE does not block event inserts,
    # whose foreign-key checks take KEY SHARE locks); SQLite's write lock already serialises.
    list(Subscription.objects.select_for_update(no_key=True).filter(pk__in=sub_ids).values_list("id"))
    stored = set(MeterReading.objects.filter(subscription_id__in=sub_ids,
                                             reading_id__in={c[3].reading_id for c in checked})
                 .values_list("subscription_id", "reading_id"))
    ranges: dict[tuple[int, str], tuple[dt.datetime, dt.datetime]] = {}
    for _i, sub, meter, r, _agg in checked:
        low, high = ranges.get((sub.id, meter), (r.ts, r.ts))
        ranges[(sub.id, meter)] = (min(low, r.ts), max(high, r.ts))
    timelines = _meter_neighbours(set(ranges), ranges)
    new: list[MeterReading] = []
    for i, sub, meter, r, agg in checked:
        key = (sub.id, r.reading_id)
        if key in stored:
            results[i] = {"id": r.reading_id, "status": DUPLICATE}
            continue
        line = timelines[(sub.id, meter)]
        pos = bisect_left([x.ts for x in line], r.ts)
        prev = line[pos - 1] if pos > 0 else None
        nxt = line[pos] if pos < len(line) else None
        errors = _neighbour_errors(r, prev, nxt, agg)
        if errors:
            results[i] = refused(r.reading_id, errors)
            continue
        line.insert(pos, r)
        stored.add(key)
        new.append(MeterReading(subscription_id=sub.id, meter=meter, reading_id=r.reading_id, value=r.value,
                                timestamp=r.ts, kind=r.kind, old_final=r.old_final, received_at=now))
        results[i] = {"id": r.reading_id, "status": ACCEPTED}
    if new:
        MeterReading.objects.bulk_create(new)
        usage_thresholds_check({(r.subscription_id, r.meter) for r in new})
        refused_count = sum(1 for r in results if r is not None and r["status"] == REFUSED)
        audit_record(actor=actor, action="usage.readings_received", object_type="usage_batch",
                     object_id=new[0].pk or "", after={
                         "sent": sent, "accepted": len(new), "duplicates": sent - len(new) - refused_count,
                         "refused": refused_count})
