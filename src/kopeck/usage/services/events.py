"""Batches of usage events (the hot path, see docs/usage.md)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kopeck.audit.services import audit_insert_sql, audit_record
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.configuration.selectors import provider_zone
from kopeck.core.pricing import AggregationSpec, AggregationType, PricingError
from kopeck.core.pricing._values import dec
from kopeck.usage.models import UsageEvent
from kopeck.usage.services.common import (
    _EVENT_KEYS,
    ACCEPTED,
    DUPLICATE,
    FUTURE_TOLERANCE,
    MAX_PROPERTIES_CHARS,
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
    _sub_of,
    _text_ok,
    _unknown_keys,
    _when_errors,
    decimal_problem,
    late,
    plan_usage,
    refused,
)
from kopeck.usage.services.thresholds import usage_thresholds_check

# -- events ------------------------------------------------------------------------------------------


def _value_errors(where: str, value: Decimal) -> Errors:
    """Sign, magnitude and precision of a usage value: never negative (usage is not taken back by a
    negative event; a correction is an operation on the account), at most
    ``KOPECK_USAGE_VALUE_DIGITS`` digits before the point and ``KOPECK_USAGE_VALUE_PLACES`` after,
    so that any sum of a period's events stays in the range prices are computed in."""
    digits, places = int(settings.KOPECK_USAGE_VALUE_DIGITS), int(settings.KOPECK_USAGE_VALUE_PLACES)
    if value < 0:
        return [(where, _("must not be negative"))]
    if value and value.adjusted() >= digits:
        return [(where, ngettext("too large: at most %(count)d digit before the point",
                                 "too large: at most %(count)d digits before the point", digits) % {"count": digits})]
    if -int(value.as_tuple().exponent) > places:
        return [(where, ngettext("at most %(count)d digit after the point", "at most %(count)d digits after the point",
                                 places) % {"count": places})]
    return []


def _property_errors(agg: AggregationSpec, props: Mapping[str, Any]) -> Errors:
    """What would make the billing run fail on this event, caught at intake."""
    prop = agg.property
    if prop is None:
        return []
    if prop not in props:
        return [(f"properties.{prop}", _("required by the component's %(aggregation)s aggregation")
                 % {"aggregation": agg.type.value})]
    if agg.type is not AggregationType.UNIQUE_COUNT:  # a number: sum, max, latest, weighted sum, amounts
        try:
            value = dec(props[prop], prop)
        except PricingError as exc:
            return [(f"properties.{prop}", decimal_problem(props[prop], exc))]
        return _value_errors(f"properties.{prop}", value)
    elif props.get("operation", "add") not in ("add", "remove"):
        return [("properties.operation", _("must be 'add' or 'remove'"))]
    return []


# the events and the batch's audit entry in one statement (the audit part is the audit app's SQL)
_INSERT_EVENTS_PG = """
WITH ins AS (
    INSERT INTO usage_usageevent (subscription_id, event_id, metric, "timestamp", properties, received_at)
    SELECT x.s, x.e, x.m, x.t, x.p::jsonb, %s
    FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[], %s::text[]) AS x(s, e, m, t, p)
    ON CONFLICT (subscription_id, event_id) DO NOTHING
    RETURNING id, subscription_id, event_id
), audit AS ({audit})
SELECT subscription_id, event_id FROM ins
"""
_BATCH_AUDIT_AFTER = ("jsonb_build_object('sent', %s::int, 'accepted', count(*), 'duplicates', %s::int - count(*), "
                      "'refused', %s::int, 'first_row', min(id), 'last_row', max(id))")


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
        audit_sql, audit_params = audit_insert_sql(actor=actor, at=now, action="usage.events_received",
                                                   object_type="usage_batch", object_id="min(id)::text",
                                                   after=_BATCH_AUDIT_AFTER, rows="ins HAVING count(*) > 0")
        with connection.cursor() as cursor:
            cursor.execute(_INSERT_EVENTS_PG.format(audit=audit_sql), [
                now, rows.subs, rows.ids, rows.codes, rows.stamps, rows.props,
                *audit_params, sent, sent - refused_count, refused_count,
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
            results[i] = refused(None, [("", _("each event must be a JSON object"))])
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
            errors.append(("properties", _("must be a JSON object")))
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
                errors.append(("metric", _("%(metric)r is a meter: send its readings to /api/v1/usage/readings/")
                               % {"metric": metric}))
            elif metric in usage.untracked:
                errors.append(("metric", _("component %(metric)r has no aggregation: it takes no events") % {"metric": metric}))
            else:
                known = ", ".join(sorted(usage.events)) or _("none")
                errors.append(("metric", _("the subscription's plan has no metered component %(metric)r fed by events "
                                           "(it has: %(known)s)") % {"metric": metric, "known": known}))
        else:
            errors += _property_errors(agg, props)
        errors += _when_errors(sub, ts, limit)
        text = json.dumps(props, ensure_ascii=False, separators=(",", ":"))
        if len(text) > MAX_PROPERTIES_CHARS:
            errors.append(("properties", ngettext("at most %(count)d character of JSON", "at most %(count)d characters of JSON",
                                                   MAX_PROPERTIES_CHARS) % {"count": MAX_PROPERTIES_CHARS}))
        elif "\\u0000" in text or not _text_ok(text):
            errors.append(("properties", _("contains a NUL character or invalid Unicode")))
        if not errors and _is_billed(sub, metric, ts, tz):
            errors.append(("timestamp", late()))
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
    inserted: set[tuple[int, str]] = set()
    if rows.ids:
        with transaction.atomic():  # the events, and the thresholds they take usage above (their events)
            inserted = _insert_events(rows, now, actor, len(items), refused_count)
            usage_thresholds_check({(s, m) for s, e, m in zip(rows.subs, rows.ids, rows.codes, strict=True)
                                    if (s, e) in inserted})
    for i, key in keys:
        results[i] = {"id": key[1], "status": ACCEPTED if key in inserted else DUPLICATE}
    return [r for r in results if r is not None]


