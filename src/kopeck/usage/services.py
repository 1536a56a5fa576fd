"""The only writers of usage: batches of usage events and of meter readings.

Both take the decoded JSON list of a request body and answer one result per item, in order:
``{"id", "status": "accepted" | "duplicate" | "refused", "reason", "errors": [{"field", "detail"}]}``
(``reason`` and ``errors`` for refused items only). Nothing is ever silently dropped: every item is
either stored, reported as a duplicate of a stored one, or refused with its reason.

Events are the hot path (see docs/usage.md): items are validated in plain Python, the batch's
subscriptions are resolved in one query, already billed periods are looked up in one query, and on
PostgreSQL the whole batch — the events and the batch's audit entry — is one ``INSERT … SELECT FROM
unnest(…) ON CONFLICT DO NOTHING RETURNING`` statement (atomic on its own; the unique constraint makes
a repeated id a duplicate under concurrent requests too). Elsewhere (SQLite) the ORM does the same in
one write transaction (``BEGIN IMMEDIATE`` serialises writers, so "look up, then insert" is safe).
"""

from __future__ import annotations

import datetime as dt
import json
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection, transaction
from django.db.models import Q

from kopeck.audit.services import audit_record
from kopeck.catalog.models import PlanVersion
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.configuration.selectors import provider_zone
from kopeck.core.calendar import start_of_local_day
from kopeck.core.pricing import AggregationSpec, AggregationType, PricingError
from kopeck.core.pricing._values import dec
from kopeck.core.pricing.plan import ComponentKind
from kopeck.subscriptions.models import BilledPeriod, Subscription
from kopeck.usage.models import CODE_MAX, EVENT_ID_MAX, MeterReading, ReadingKind, UsageEvent

MAX_BATCH = 1000
MAX_PROPERTIES_CHARS = 8000
FUTURE_TOLERANCE = dt.timedelta(hours=1)
LATE_REASON = "period already billed"

ACCEPTED, DUPLICATE, REFUSED = "accepted", "duplicate", "refused"
_EVENT_KEYS = frozenset({"id", "subscription", "external_id", "metric", "timestamp", "properties"})
_READING_KEYS = frozenset({"id", "subscription", "external_id", "meter", "value", "timestamp", "kind", "old_final"})

Result = dict[str, Any]
Errors = list[tuple[str, str]]


def refused(item_id: object, errors: Errors) -> Result:
    return {"id": item_id if isinstance(item_id, str) else None, "status": REFUSED,
            "reason": "; ".join(f"{f}: {d}" if f else d for f, d in errors),
            "errors": [{"field": f, "detail": d} for f, d in errors]}


# -- what a subscription's plan accepts -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanUsage:
    """The metered components of a plan version in one currency: ``events`` (code → aggregation) are
    fed by usage events, ``meters`` (code → aggregation) by meter readings."""

    events: Mapping[str, AggregationSpec]
    meters: Mapping[str, AggregationSpec]
    untracked: frozenset[str]  # metered components without an aggregation (quantity given at billing)


_plan_usage: dict[tuple[int, str], PlanUsage] = {}


def forget_plan_usage() -> None:
    """Drop the memoised plan versions (tests call it after emptying the database)."""
    _plan_usage.clear()


def plan_usage(version_id: int, currency: str) -> PlanUsage:
    """What a plan version accepts (memoised per process: a published version's spec never changes)."""
    key = (version_id, currency)
    found = _plan_usage.get(key)
    if found is not None:
        return found
    from kopeck.catalog.selectors import version_plan_spec

    spec = version_plan_spec(PlanVersion.objects.get(pk=version_id))
    events: dict[str, AggregationSpec] = {}
    meters: dict[str, AggregationSpec] = {}
    untracked: set[str] = set()
    for comp in spec.components:
        if comp.kind != ComponentKind.METERED or currency not in comp.prices:
            continue
        agg = comp.prices[currency].aggregation
        if agg is None:
            untracked.add(comp.code)
        elif agg.type is AggregationType.METER_READING:
            meters[comp.code] = agg
        else:
            events[comp.code] = agg
    found = PlanUsage(events, meters, frozenset(untracked))
    if len(_plan_usage) > 1000:
        _plan_usage.clear()
    _plan_usage[key] = found
    return found


@dataclass(slots=True)
class _Sub:
    id: int
    currency: str
    version_id: int
    starts: dt.datetime  # first instant of the start date, provider-local, in UTC
    billed: dict[str, list[tuple[dt.date, dt.date]]] = field(default_factory=dict)


def _resolve(ids: set[int], external: set[str], zone: str) -> tuple[dict[int, _Sub], dict[str, _Sub]]:
    """The batch's subscriptions, in one query."""
    by_id: dict[int, _Sub] = {}
    by_ext: dict[str, _Sub] = {}
    if not ids and not external:
        return by_id, by_ext
    cond = Q(pk__in=ids) if ids else Q()
    if external:
        cond = (cond | Q(external_id__in=external)) if ids else Q(external_id__in=external)
    starts: dict[dt.date, dt.datetime] = {}
    for pk, ext, currency, version_id, start in Subscription.objects.filter(cond).values_list(
            "id", "external_id", "currency", "plan_version_id", "start_date"):
        if start not in starts:
            starts[start] = start_of_local_day(start, zone)
        sub = _Sub(pk, currency, version_id, starts[start])
        by_id[pk] = sub
        if ext is not None:
            by_ext[ext] = sub
    return by_id, by_ext


def _load_billed(subs: Iterable[_Sub], codes: set[str], since: dt.date | None) -> None:
    """Billed periods of these components that end after ``since`` (the earliest local date in the
    batch): one query, usually returning nothing for current usage."""
    by_id = {s.id: s for s in subs}
    if not by_id or not codes or since is None:
        return
    for sub_id, code, start, end in BilledPeriod.objects.filter(
            subscription_id__in=by_id, component__in=codes, period_end__gt=since).values_list(
            "subscription_id", "component", "period_start", "period_end"):
        by_id[sub_id].billed.setdefault(code, []).append((start, end))


def _is_billed(sub: _Sub, code: str, ts: dt.datetime, tz: ZoneInfo) -> bool:
    periods = sub.billed.get(code)
    if not periods:
        return False
    day = ts.astimezone(tz).date()
    return any(start <= day < end for start, end in periods)


# -- shape checks shared by events and readings ----------------------------------------------------


def _text_ok(value: str) -> bool:
    """Storable in PostgreSQL text: no NUL, valid UTF-8 (no lone surrogates)."""
    if "\x00" in value:
        return False
    if value.isascii():
        return True
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _check_id(item: Mapping[str, Any], errors: Errors) -> str | None:
    value = item.get("id")
    if type(value) is not str or not value or len(value) > EVENT_ID_MAX or not _text_ok(value):
        errors.append(("id", f"must be a non-empty string of at most {EVENT_ID_MAX} characters"))
        return None
    return value


def _check_subscription(item: Mapping[str, Any], errors: Errors) -> int | str | None:
    """The subscription reference: an int id, or an external id string."""
    sub = item.get("subscription")
    ext = item.get("external_id")
    if sub is not None and ext is not None:
        errors.append(("subscription", "give either subscription or external_id, not both"))
    elif sub is not None:
        if type(sub) is int and sub > 0:
            return sub
        errors.append(("subscription", "must be a subscription id (a positive integer)"))
    elif ext is not None:
        if type(ext) is str and ext and len(ext) <= 100 and _text_ok(ext):
            return ext
        errors.append(("external_id", "must be a non-empty string of at most 100 characters"))
    else:
        errors.append(("subscription", "give subscription (id) or external_id"))
    return None


def _check_timestamp(item: Mapping[str, Any], errors: Errors) -> dt.datetime | None:
    raw = item.get("timestamp")
    if type(raw) is not str:
        errors.append(("timestamp", "required: an ISO 8601 date and time with a UTC offset"))
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        errors.append(("timestamp", f"not an ISO 8601 date and time: {raw[:50]!r}"))
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        errors.append(("timestamp", "needs a UTC offset, e.g. 2026-03-01T12:00:00+03:00 or …Z"))
        return None
    return value.astimezone(dt.UTC)


def _check_code(item: Mapping[str, Any], key: str, errors: Errors) -> str | None:
    value = item.get(key)
    if type(value) is not str or not value or len(value) > CODE_MAX:
        errors.append((key, f"required: a component code of at most {CODE_MAX} characters"))
        return None
    return value


def _unknown_keys(item: Mapping[str, Any], allowed: frozenset[str], errors: Errors) -> None:
    for key in item.keys() - allowed:
        errors.append((str(key), f"unknown field; expected {', '.join(sorted(allowed))}"))


def _sub_of(ref: int | str, by_id: Mapping[int, _Sub], by_ext: Mapping[str, _Sub], errors: Errors) -> _Sub | None:
    sub = by_id.get(ref) if type(ref) is int else by_ext.get(ref)  # type: ignore[arg-type]
    if sub is None:
        if type(ref) is int:
            errors.append(("subscription", f"no subscription {ref}"))
        else:
            errors.append(("external_id", f"no subscription with external id {ref!r}"))
    return sub


def _when_errors(sub: _Sub, ts: dt.datetime, limit: dt.datetime) -> Errors:
    if ts < sub.starts:
        return [("timestamp", f"before the subscription starts ({sub.starts.isoformat()})")]
    if ts > limit:
        return [("timestamp", "in the future")]
    return []


# -- events ------------------------------------------------------------------------------------------


def _property_errors(agg: AggregationSpec, props: Mapping[str, Any]) -> Errors:
    """What would make the billing run fail on this event, caught at intake."""
    prop = agg.property
    if prop is None:
        return []
    if prop not in props:
        return [(f"properties.{prop}", f"required by the component's {agg.type.value} aggregation")]
    if agg.type is not AggregationType.UNIQUE_COUNT:  # a number: sum, max, latest, weighted sum, amounts
        try:
            dec(props[prop], prop)
        except PricingError as exc:
            return [(f"properties.{prop}", exc.message)]
    elif props.get("operation", "add") not in ("add", "remove"):
        return [("properties.operation", "must be 'add' or 'remove'")]
    return []


_INSERT_EVENTS_PG = """
WITH ins AS (
    INSERT INTO usage_usageevent (subscription_id, event_id, metric, "timestamp", properties, received_at)
    SELECT x.s, x.e, x.m, x.t, x.p::jsonb, %s
    FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[], %s::text[]) AS x(s, e, m, t, p)
    ON CONFLICT (subscription_id, event_id) DO NOTHING
    RETURNING id, subscription_id, event_id
), audit AS (
    INSERT INTO audit_auditentry (at, actor_kind, actor_id, actor_label, action, object_type, object_id,
                                  before, after)
    SELECT %s, %s, %s, %s, 'usage.events_received', 'usage_batch', min(id)::text, NULL,
           jsonb_build_object('sent', %s::int, 'accepted', count(*), 'duplicates', %s::int - count(*),
                              'refused', %s::int, 'first_row', min(id), 'last_row', max(id))
    FROM ins HAVING count(*) > 0
)
SELECT subscription_id, event_id FROM ins
"""


@dataclass(slots=True)
class _Rows:
    subs: list[int] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    codes: list[str] = field(default_factory=list)
    stamps: list[dt.datetime] = field(default_factory=list)
    props: list[str] = field(default_factory=list)


def _insert_events(rows: _Rows, now: dt.datetime, actor: Actor, sent: int, refused_count: int) -> set[tuple[int, str]]:
    """Insert the rows, skipping stored (subscription, event id) pairs; the pairs actually inserted."""
    valid = len(rows.ids)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_EVENTS_PG, [
                now, rows.subs, rows.ids, rows.codes, rows.stamps, rows.props,
                now, str(actor.kind), actor.id, actor.label, sent, sent - refused_count, refused_count,
            ])
            return {(int(s), str(e)) for s, e in cursor.fetchall()}
    with transaction.atomic():
        stored = set(UsageEvent.objects.filter(subscription_id__in=set(rows.subs), event_id__in=set(rows.ids))
                     .values_list("subscription_id", "event_id"))
        new = [UsageEvent(subscription_id=s, event_id=e, metric=m, timestamp=t, properties=json.loads(p),
                          received_at=now)
               for s, e, m, t, p in zip(rows.subs, rows.ids, rows.codes, rows.stamps, rows.props, strict=True)
               if (s, e) not in stored]
        created = UsageEvent.objects.bulk_create(new, batch_size=500)
        if created:
            pks = [e.pk for e in created if e.pk is not None]
            audit_record(actor=actor, action="usage.events_received", object_type="usage_batch",
                         object_id=min(pks) if pks else "", after={
                             "sent": sent, "accepted": len(created), "duplicates": valid - len(created) + (
                                 sent - refused_count - valid), "refused": refused_count,
                             "first_row": min(pks) if pks else None, "last_row": max(pks) if pks else None})
        return {(e.subscription_id, e.event_id) for e in new}


def usage_events_ingest(*, actor: Actor, items: Sequence[Any]) -> list[Result]:
    """Store a batch of usage events (at most :data:`MAX_BATCH`); one result per item, in order."""
    now = clock.now()
    limit = now + FUTURE_TOLERANCE
    zone = provider_zone()
    tz = ZoneInfo(zone)
    results: list[Result | None] = [None] * len(items)
    parsed: list[tuple[int, str, int | str, str, dt.datetime, dict[str, Any]]] = []
    ids: set[int] = set()
    external: set[str] = set()
    for i, item in enumerate(items):
        if type(item) is not dict:
            results[i] = refused(None, [("", "each event must be a JSON object")])
            continue
        errors: Errors = []
        if len(item) > 6 or not item.keys() <= _EVENT_KEYS:
            _unknown_keys(item, _EVENT_KEYS, errors)
        event_id = _check_id(item, errors)
        ref = _check_subscription(item, errors)
        metric = _check_code(item, "metric", errors)
        ts = _check_timestamp(item, errors)
        props = item.get("properties")
        if props is None:
            props = {}
        elif type(props) is not dict:
            errors.append(("properties", "must be a JSON object"))
        if errors:
            results[i] = refused(item.get("id"), errors)
            continue
        assert event_id is not None and ref is not None and metric is not None and ts is not None
        if type(ref) is int:
            ids.add(ref)
        else:
            external.add(ref)  # type: ignore[arg-type]
        parsed.append((i, event_id, ref, metric, ts, props))
    by_id, by_ext = _resolve(ids, external, zone)
    subs = {**{s.id: s for s in by_ext.values()}, **by_id}
    earliest = min((p[4] for p in parsed), default=None)
    _load_billed(subs.values(), {p[3] for p in parsed}, None if earliest is None else earliest.astimezone(tz).date())
    rows = _Rows()
    keys: list[tuple[int, tuple[int, str]]] = []  # (item index, key) of the rows, in order
    seen: set[tuple[int, str]] = set()
    refused_count = 0
    for i, event_id, ref, metric, ts, props in parsed:
        errors = []
        sub = _sub_of(ref, by_id, by_ext, errors)
        if sub is None:
            results[i] = refused(event_id, errors)
            continue
        usage = plan_usage(sub.version_id, sub.currency)
        agg = usage.events.get(metric)
        if agg is None:
            if metric in usage.meters:
                errors.append(("metric", f"{metric!r} is a meter: send its readings to /api/v1/usage/readings/"))
            elif metric in usage.untracked:
                errors.append(("metric", f"component {metric!r} has no aggregation: it takes no events"))
            else:
                known = ", ".join(sorted(usage.events)) or "none"
                errors.append(("metric", f"the subscription's plan has no metered component {metric!r} "
                                         f"fed by events (it has: {known})"))
        else:
            errors += _property_errors(agg, props)
        errors += _when_errors(sub, ts, limit)
        text = json.dumps(props, ensure_ascii=False, separators=(",", ":"))
        if len(text) > MAX_PROPERTIES_CHARS:
            errors.append(("properties", f"at most {MAX_PROPERTIES_CHARS} characters of JSON"))
        elif "\\u0000" in text or not _text_ok(text):
            errors.append(("properties", "contains a NUL character or invalid Unicode"))
        if not errors and _is_billed(sub, metric, ts, tz):
            errors.append(("timestamp", LATE_REASON))
        if errors:
            results[i] = refused(event_id, errors)
            continue
        key = (sub.id, event_id)
        if key in seen:
            results[i] = {"id": event_id, "status": DUPLICATE}
            continue
        seen.add(key)
        keys.append((i, key))
        rows.subs.append(sub.id)
        rows.ids.append(event_id)
        rows.codes.append(metric)
        rows.stamps.append(ts)
        rows.props.append(text)
    refused_count = sum(1 for r in results if r is not None and r["status"] == REFUSED)
    inserted = _insert_events(rows, now, actor, len(items), refused_count) if rows.ids else set()
    for i, key in keys:
        results[i] = {"id": key[1], "status": ACCEPTED if key in inserted else DUPLICATE}
    return [r for r in results if r is not None]


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
            errors.append((key, 'required: a decimal string such as "12345.6"'))
        return None
    try:
        value = dec(raw, key)
    except PricingError as exc:
        errors.append((key, exc.message))
        return None
    if value < 0:
        errors.append((key, "must not be negative"))
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
            errors.append((name, f"not below the meter's max_value {_show(max_value)} (the dial shows 0 there)"))
    if new.kind == ReadingKind.ROLLOVER and max_value is None:
        errors.append(("kind", "the meter declares no max_value, so it cannot roll over"))
    for other in (prev, nxt):
        if other is not None and other.ts == new.ts:
            errors.append(("timestamp", f"reading {other.reading_id} of this meter has the same timestamp"))
    if errors:
        return errors
    if prev is not None:
        if new.kind == ReadingKind.NORMAL and new.value < prev.value:
            errors.append(("value", f"below the previous reading {prev.reading_id} ({_show(prev.value)}); mark it "
                                    "rollover or replacement if the counter wrapped or the meter was replaced"))
        elif new.kind == ReadingKind.REPLACEMENT and new.old_final is not None and new.old_final < prev.value:
            errors.append(("old_final", f"below the previous reading {prev.reading_id} ({_show(prev.value)})"))
    elif new.kind == ReadingKind.ROLLOVER:
        errors.append(("kind", "the first reading of a meter cannot be a rollover"))
    if nxt is not None:
        if nxt.kind == ReadingKind.NORMAL and nxt.value < new.value:
            errors.append(("value", f"above the next reading {nxt.reading_id} ({_show(nxt.value)})"))
        elif nxt.kind == ReadingKind.REPLACEMENT and nxt.old_final is not None and nxt.old_final < new.value:
            errors.append(("value", f"above the old meter's final reading of replacement {nxt.reading_id} "
                                    f"({_show(nxt.old_final)})"))
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
            results[i] = refused(None, [("", "each reading must be a JSON object")])
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
            errors.append(("kind", f"one of {', '.join(ReadingKind.values)}"))
        old_final = _check_decimal(item, "old_final", errors, required=kind == ReadingKind.REPLACEMENT)
        if kind != ReadingKind.REPLACEMENT and item.get("old_final") is not None:
            errors.append(("old_final", "given for replacement readings only"))
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
            hint = (f"{meter!r} aggregates events: send them to /api/v1/usage/events/" if meter in usage.events
                    else f"the subscription's plan has no meter {meter!r} (it has: "
                         f"{', '.join(sorted(usage.meters)) or 'none'})")
            errors.append(("meter", hint))
        errors += _when_errors(sub, reading.ts, limit)
        if not errors and _is_billed(sub, meter, reading.ts, tz):
            errors.append(("timestamp", LATE_REASON))
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
        refused_count = sum(1 for r in results if r is not None and r["status"] == REFUSED)
        audit_record(actor=actor, action="usage.readings_received", object_type="usage_batch",
                     object_id=new[0].pk or "", after={
                         "sent": sent, "accepted": len(new), "duplicates": sent - len(new) - refused_count,
                         "refused": refused_count})
