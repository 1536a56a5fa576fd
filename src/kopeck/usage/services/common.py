"""What the writers of usage share: the results, what a subscription's plan accepts, the
subscriptions of a batch and their billed periods, the shape checks of an item."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kopeck.catalog.models import PlanVersion
from kopeck.common.decimals import decimal_text_refusal
from kopeck.common.limits import date_out_of_bounds
from kopeck.core.calendar import start_of_local_day
from kopeck.core.pricing import AggregationSpec, AggregationType, PricingError
from kopeck.core.pricing._values import MAX_INTEGER_DIGITS, MAX_PLACES
from kopeck.core.pricing.plan import ComponentKind
from kopeck.subscriptions.models import BilledPeriod, Subscription
from kopeck.usage.models import CODE_MAX, EVENT_ID_MAX

MAX_BATCH = settings.KOPECK_USAGE_BATCH_MAX
MAX_PROPERTIES_CHARS = 8000
FUTURE_TOLERANCE = dt.timedelta(hours=1)
LATE_REASON = "period already billed"  # the English; late() gives it in the active language

ACCEPTED, DUPLICATE, REFUSED = "accepted", "duplicate", "refused"
_EVENT_KEYS = frozenset({"id", "subscription", "external_id", "metric", "timestamp", "properties"})
_READING_KEYS = frozenset({"id", "subscription", "external_id", "meter", "value", "timestamp", "kind", "old_final"})

Result = dict[str, Any]
Errors = list[tuple[str, str]]


def late() -> str:
    """The refusal of usage in a period billed already, in the active language."""
    return _("period already billed")


def decimal_problem(value: object, exc: PricingError) -> str:
    """Why ``value`` is not a usage number (``exc``: the core's refusal, in English), in the active language."""
    if isinstance(value, bool | float):
        return _('must be a decimal string such as "0.50", not a JSON float or boolean')
    refusal = decimal_text_refusal(value)
    if refusal is not None:
        return refusal
    if not isinstance(value, str | int | Decimal):
        return _("must be a decimal string, got %(type)s") % {"type": type(value).__name__}
    if exc.message.startswith("out of range"):
        return _("out of range: at most %(digits)d digits before the point and %(places)d after it") % {
            "digits": MAX_INTEGER_DIGITS, "places": MAX_PLACES}
    if exc.message == "must be a finite number":
        return _("must be a finite number")
    return exc.message


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
        errors.append(("id", ngettext("must be a non-empty string of at most %(count)d character",
                                       "must be a non-empty string of at most %(count)d characters", EVENT_ID_MAX)
                       % {"count": EVENT_ID_MAX}))
        return None
    return value


def _check_subscription(item: Mapping[str, Any], errors: Errors) -> int | str | None:
    """The subscription reference: an int id, or an external id string."""
    sub = item.get("subscription")
    ext = item.get("external_id")
    if sub is not None and ext is not None:
        errors.append(("subscription", _("give either subscription or external_id, not both")))
    elif sub is not None:
        if type(sub) is int and sub > 0:
            return sub
        errors.append(("subscription", _("must be a subscription id (a positive integer)")))
    elif ext is not None:
        if type(ext) is str and ext and len(ext) <= 100 and _text_ok(ext):
            return ext
        errors.append(("external_id", _("must be a non-empty string of at most 100 characters")))
    else:
        errors.append(("subscription", _("give subscription (id) or external_id")))
    return None


def _check_timestamp(item: Mapping[str, Any], errors: Errors) -> dt.datetime | None:
    raw = item.get("timestamp")
    if type(raw) is not str:
        errors.append(("timestamp", _("required: an ISO 8601 date and time with a UTC offset")))
        return None
    try:
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        errors.append(("timestamp", _("not an ISO 8601 date and time: %(text)r") % {"text": raw[:50]}))
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        errors.append(("timestamp", _("needs a UTC offset, e.g. 2026-03-01T12:00:00+03:00 or …Z")))
        return None
    problem = date_out_of_bounds(value.date())
    if problem:
        errors.append(("timestamp", problem))
        return None
    return value.astimezone(dt.UTC)


def _check_code(item: Mapping[str, Any], key: str, errors: Errors) -> str | None:
    value = item.get(key)
    if type(value) is not str or not value or len(value) > CODE_MAX:
        errors.append((key, ngettext("required: a component code of at most %(count)d character",
                                      "required: a component code of at most %(count)d characters", CODE_MAX)
                       % {"count": CODE_MAX}))
        return None
    return value


def _unknown_keys(item: Mapping[str, Any], allowed: frozenset[str], errors: Errors) -> None:
    for key in item.keys() - allowed:
        errors.append((str(key), _("unknown field; expected %(fields)s") % {"fields": ", ".join(sorted(allowed))}))


def _sub_of(ref: int | str, by_id: Mapping[int, _Sub], by_ext: Mapping[str, _Sub], errors: Errors) -> _Sub | None:
    sub = by_id.get(ref) if type(ref) is int else by_ext.get(ref)  # type: ignore[arg-type]
    if sub is None:
        if type(ref) is int:
            errors.append(("subscription", _("no subscription %(id)s") % {"id": ref}))
        else:
            errors.append(("external_id", _("no subscription with external id %(external_id)r") % {"external_id": ref}))
    return sub


def _when_errors(sub: _Sub, ts: dt.datetime, limit: dt.datetime) -> Errors:
    if ts < sub.starts:
        return [("timestamp", _("before the subscription starts (%(start)s)") % {"start": sub.starts.isoformat()})]
    if ts > limit:
        return [("timestamp", _("in the future"))]
    return []


