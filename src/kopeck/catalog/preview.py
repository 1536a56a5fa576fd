"""The price calculator: price a component or a plan for some usage, with VAT, explaining every amount.

Used by ``POST /api/v1/price-preview/`` and ``kopeck price``; the format is documented in
docs/pricing.md. Nothing is written: the only read is the billing settings (default VAT rate,
whether prices include VAT, the provider's time zone for ``period``), and only for what the input
leaves out. Every error is a :class:`~kopeck.common.errors.ValidationFailed` naming the field by its
path in the input (``component.tiers[1].from``, ``plan.components[0].prices.RUB.unit_price``,
``readings[3]``, ``usage.traffic.events[2].timestamp``, ``currency``, ``period.end``) and saying what is
wrong in the active language (the pricing core's errors through :func:`pricing_message`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from kopeck.catalog.pricing_errors import pricing_message
from kopeck.common.errors import ValidationFailed
from kopeck.core.calendar import CalendarError, start_of_local_day
from kopeck.core.money import Currency, Money, MoneyError
from kopeck.core.periods import Period, PeriodError
from kopeck.core.pricing import (
    ComponentSpec,
    MeterReading,
    PricingError,
    SpecError,
    Usage,
    UsageError,
    UsageEvent,
    evaluate,
)
from kopeck.core.pricing.plan import ComponentKind, PlanSpec, price_plan
from kopeck.core.vat import VatRate, vat_line

TOP_LEVEL = ("component", "plan", "currency", "quantity", "events", "readings", "transactions", "usage",
             "period", "used", "setup_fee", "vat_rate", "prices_include_vat")
USAGE_FORMS = ("quantity", "events", "readings", "transactions")
PLAN_ONLY = ("usage", "used", "setup_fee")


@dataclass(frozen=True, slots=True)
class PreviewDefaults:
    """What the input may leave out: normally the billing settings (see :func:`settings_defaults`)."""

    vat_rate: str
    prices_include_vat: bool
    time_zone: str


def settings_defaults() -> PreviewDefaults:
    from kopeck.configuration.selectors import billing_settings

    s = billing_settings()
    return PreviewDefaults(s.default_vat_rate, s.prices_include_vat, s.time_zone)


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed.field(field, message) if field else ValidationFailed(message, errors={"": [message]})


def _join(prefix: str, field: str | None) -> str:
    if not field:
        return prefix
    if not prefix:
        return field
    return f"{prefix}{field}" if field.startswith("[") else f"{prefix}.{field}"


def _keys(data: object, allowed: Sequence[str], path: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise _fail(path, _("must be an object, got %(kind)s") % {"kind": _kind(data)})
    for key in data:
        if key not in allowed:
            raise _fail(_join(path, str(key)), _("unknown field; expected one of %(expected)s")
                        % {"expected": ", ".join(allowed)})
    return data


def _kind(value: object) -> str:
    """What a JSON value is, in the active language ("a list", "null")."""
    kinds = {dict: pgettext("JSON value", "an object"), list: pgettext("JSON value", "a list"),
             str: pgettext("JSON value", "a string"), bool: pgettext("JSON value", "a boolean"),
             int: pgettext("JSON value", "a number"), float: pgettext("JSON value", "a number"),
             type(None): "null"}
    return kinds.get(type(value), type(value).__name__)


class _Lazy:
    """The defaults, read from the billing settings on first use only (an input that names
    everything needs no database)."""

    def __init__(self, given: PreviewDefaults | Callable[[], PreviewDefaults] | None) -> None:
        self._value: PreviewDefaults | None = None
        self._load: Callable[[], PreviewDefaults] = settings_defaults
        if isinstance(given, PreviewDefaults):
            self._value = given
        elif given is not None:
            self._load = given
        self.used: list[str] = []

    def get(self, name: str) -> Any:
        if self._value is None:
            self._value = self._load()
        self.used.append(name)
        return getattr(self._value, name)


# --- usage ----------------------------------------------------------------------------------------

def _instant(value: object, where: str) -> dt.datetime:
    if not isinstance(value, str):
        raise _fail(where, _("must be an ISO 8601 timestamp string, got %(kind)s") % {"kind": _kind(value)})
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise _fail(where, _("not an ISO 8601 timestamp: %(value)r") % {"value": value}) from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise _fail(where, _("needs a UTC offset, e.g. %(value)s+03:00 or %(value)sZ") % {"value": value})
    return parsed


def _list(raw: object, where: str) -> list[Any]:
    if not isinstance(raw, list):
        raise _fail(where, _("must be a list, got %(kind)s") % {"kind": _kind(raw)})
    return raw


def _id(item: Mapping[str, Any], where: str) -> str:
    value = item.get("id")
    if not isinstance(value, str) or not value:
        raise _fail(f"{where}.id", _("is required: a non-empty string chosen by the sender"))
    return value


def _events(raw: object, where: str) -> tuple[UsageEvent, ...]:
    events = []
    for i, item in enumerate(_list(raw, where)):
        here = f"{where}[{i}]"
        data = _keys(item, ("id", "timestamp", "properties"), here)
        props = data.get("properties", {})
        if not isinstance(props, Mapping):
            raise _fail(f"{here}.properties", _("must be an object, got %(kind)s") % {"kind": _kind(props)})
        events.append(UsageEvent(_id(data, here), _instant(data.get("timestamp"), f"{here}.timestamp"), props))
    return tuple(events)


def _readings(raw: object, where: str) -> tuple[MeterReading, ...]:
    readings = []
    for i, item in enumerate(_list(raw, where)):
        here = f"{where}[{i}]"
        data = _keys(item, ("id", "timestamp", "value", "kind", "old_final"), here)
        rid = _id(data, here)
        if "value" not in data:
            raise _fail(f"{here}.value", _("is required"))
        try:
            readings.append(MeterReading(rid, _instant(data.get("timestamp"), f"{here}.timestamp"),
                                         data["value"], data.get("kind", "normal"), data.get("old_final")))
        except UsageError as exc:  # the core names a reading by its id: name it by its place here
            field = exc.field or ""
            rest = field[len(f"readings[{rid}]"):] if field.startswith(f"readings[{rid}]") else ""
            raise _fail(here + rest, pricing_message(exc)) from None
    return tuple(readings)


def _usage(data: Mapping[str, Any], where: str,
           bounds: tuple[dt.datetime, dt.datetime] | None) -> tuple[Usage, str]:
    """The usage given in ``data`` (one of quantity, events, readings, transactions) and its form."""
    forms = [f for f in USAGE_FORMS if f in data]
    if len(forms) > 1:
        raise _fail(_join(where, forms[1]), _("give the usage in one form only, not %(first)s and %(second)s")
                    % {"first": forms[0], "second": forms[1]})
    if not forms:
        raise _fail(_join(where, "quantity"), _("give the usage: one of quantity, events, readings or transactions"))
    form = forms[0]
    raw = data[form]
    path = _join(where, form)
    try:
        if form == "quantity":
            usage = Usage.of_quantity(raw)
        elif form == "events":
            start, end = bounds if bounds else (None, None)
            usage = Usage.of_events(_events(raw, path), start, end)
        elif form == "readings":
            readings = _readings(raw, path)
            if not readings:
                raise _fail(path, _("at least the opening reading is required"))
            usage = Usage.of_readings(readings)
        else:
            usage = Usage.of_transactions(_list(raw, path))
    except UsageError as exc:
        raise _fail(_usage_field(exc.field, where, form, data), pricing_message(exc)) from None
    return usage, form


def _usage_field(field: str | None, where: str, form: str, data: Mapping[str, Any]) -> str:
    """The input path of a usage error reported by the core (which names events by their id)."""
    if not field:
        return _join(where, form)
    if field in ("start", "end"):
        return "period"  # a weighted sum needs the period
    if field == "quantity" and form != "quantity":
        return _join(where, form)
    if field.startswith("events[") and form == "events" and isinstance(data.get("events"), list):
        ids = [e.get("id") if isinstance(e, Mapping) else None for e in data["events"]]
        best = max((i for i in ids if isinstance(i, str) and field.startswith(f"events[{i}]")), key=len, default=None)
        if best is not None:
            field = f"events[{ids.index(best)}]" + field[len(f"events[{best}]"):]
    return _join(where, field)


def _usage_echo(usage: Usage, form: str) -> dict[str, Any]:
    if form == "quantity":
        return {"quantity": str(usage.quantity)}
    items = {"events": usage.events, "readings": usage.readings, "transactions": usage.transactions or ()}[form]
    return {form: len(items)}


# --- period, VAT ----------------------------------------------------------------------------------

def _date(value: object, where: str) -> dt.date:
    if not isinstance(value, str):
        raise _fail(where, _("must be a date string YYYY-MM-DD, got %(kind)s") % {"kind": _kind(value)})
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise _fail(where, _("not a date YYYY-MM-DD: %(value)r") % {"value": value}) from None


def _period(raw: object, where: str) -> Period:
    data = _keys(raw, ("start", "end"), where)
    for key in ("start", "end"):
        if key not in data:
            raise _fail(f"{where}.{key}", _("is required"))
    start, end = _date(data["start"], f"{where}.start"), _date(data["end"], f"{where}.end")
    try:
        return Period(start, end)
    except PeriodError:
        raise _fail(f"{where}.end", _("must be after start (%(start)s); the end date is exclusive")
                    % {"start": start}) from None


def _bounds(period: Period | None, defaults: _Lazy) -> tuple[dt.datetime, dt.datetime] | None:
    if period is None:
        return None
    tz = defaults.get("time_zone")
    try:
        return start_of_local_day(period.start, tz), start_of_local_day(period.end, tz)
    except CalendarError:
        raise _fail("period", _("billing settings: unknown time zone %(zone)r") % {"zone": tz}) from None


def _vat_options(data: Mapping[str, Any], defaults: _Lazy) -> tuple[VatRate, bool]:
    raw = data["vat_rate"] if "vat_rate" in data else defaults.get("vat_rate")
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise _fail("vat_rate", _("must be one of %(rates)s, got %(kind)s") % {"rates": _rates(), "kind": _kind(raw)})
    try:
        rate = VatRate.parse(str(raw))
    except ValueError:
        raise _fail("vat_rate", _("unknown VAT rate %(rate)r; use one of %(rates)s")
                    % {"rate": str(raw), "rates": _rates()}) from None
    inclusive = data["prices_include_vat"] if "prices_include_vat" in data else defaults.get("prices_include_vat")
    if not isinstance(inclusive, bool):
        raise _fail("prices_include_vat", _("must be true or false, got %(kind)s") % {"kind": _kind(inclusive)})
    return rate, inclusive


def _rates() -> str:
    return ", ".join(r.value for r in VatRate)


def _vat(groups: Sequence[tuple[str, str, Money]], rate: VatRate, inclusive: bool, cur: str) -> dict[str, Any]:
    """VAT computed on every charge group (component or extra line) and summed: totals are sums of lines."""
    net = vat = gross = Money.zero(cur)
    lines = []
    for kind, ref, amount in groups:
        line = vat_line(amount, rate, prices_include_vat=inclusive)
        net, vat, gross = net + line.net, vat + line.vat, gross + line.gross
        lines.append({"kind": kind, "ref": ref, "amount": amount.to_str(), "net": line.net.to_str(),
                      "vat": line.vat.to_str(), "gross": line.gross.to_str(),
                      "explanation": line.explanation.as_dict()})
    return {"rate": rate.value, "label": {"ru": rate.label_ru, "en": rate.label_en}, "inclusive": inclusive,
            "net": net.to_str(), "vat": vat.to_str(), "gross": gross.to_str(), "lines": lines}


# --- component and plan ---------------------------------------------------------------------------

def _currency(raw: object) -> str:
    if not isinstance(raw, str):
        raise _fail("currency", _('must be an ISO 4217 code such as "RUB", got %(kind)s') % {"kind": _kind(raw)})
    try:
        return Currency.of(raw).code
    except MoneyError:
        raise _fail("currency", _("unknown currency %(currency)r") % {"currency": raw}) from None


def _preview_component(data: Mapping[str, Any], defaults: _Lazy) -> dict[str, Any]:
    for key in PLAN_ONLY:
        if key in data:
            raise _fail(key, _("applies to a plan only"))
    try:
        spec = ComponentSpec.from_dict(data["component"])
    except SpecError as exc:
        raise _fail(_join("component", exc.field), pricing_message(exc)) from None
    if "currency" not in data:
        raise _fail("currency", _("is required when previewing a component"))
    cur = _currency(data["currency"])
    period = _period(data["period"], "period") if "period" in data else None
    usage, form = _usage(data, "", _bounds(period, defaults) if "events" in data else None)
    rate, inclusive = _vat_options(data, defaults)
    try:
        charge = evaluate(spec, usage, cur)
    except SpecError as exc:
        raise _fail(_join("component", exc.field), pricing_message(exc)) from None
    except UsageError as exc:
        raise _fail(_usage_field(exc.field, "", form, data), pricing_message(exc)) from None
    c = charge.as_dict()
    return {
        "kind": "component", "currency": cur, "amount": c["amount"],
        "vat": _vat([("component", spec.code, charge.amount)], rate, inclusive, cur),
        "component": c["component"], "model": c["model"], "quantity": c["quantity"],
        "billable_quantity": c["billable_quantity"], "explanation": c["explanation"],
        "usage_explanation": c["usage_explanation"], "lines": c["lines"],
        "input_echo": {"kind": "component", "code": spec.code, "currency": cur, "usage": _usage_echo(usage, form),
                       "period": None if period is None else period.to_dict(), "vat_rate": rate.value,
                       "prices_include_vat": inclusive, "from_settings": defaults.used},
    }


def _preview_plan(data: Mapping[str, Any], defaults: _Lazy) -> dict[str, Any]:
    for key in ("events", "readings", "transactions"):
        if key in data:
            raise _fail(key, _("for a plan, give metered usage per component: usage.<component code>.%(key)s")
                        % {"key": key})
    try:
        plan = PlanSpec.from_dict(data["plan"])
    except SpecError as exc:
        raise _fail(_join("plan", exc.field), pricing_message(exc)) from None
    try:
        cur = plan.require_currency(_currency(data["currency"])) if "currency" in data else plan.currencies[0]
    except SpecError as exc:
        raise _fail("currency", pricing_message(exc)) from None
    quantity = data.get("quantity", 1)
    period = _period(data["period"], "period") if "period" in data else None
    used = _period(data["used"], "used") if "used" in data else None
    if used is not None:
        if period is None:
            raise _fail("used", _("prorating needs the billing period: give period too"))
        if not period.covers(used):
            raise _fail("used", _("the used part %(used)s must lie within the period %(period)s")
                        % {"used": used, "period": period})
    setup_fee = data.get("setup_fee", False)
    if not isinstance(setup_fee, bool):
        raise _fail("setup_fee", _("must be true or false, got %(kind)s") % {"kind": _kind(setup_fee)})
    raw_usage = data.get("usage", {})
    if not isinstance(raw_usage, Mapping):
        raise _fail("usage", _("must be an object of usage by component code, got %(kind)s")
                    % {"kind": _kind(raw_usage)})
    usage: dict[str, Usage] = {}
    echo: dict[str, Any] = {}
    bounds: tuple[dt.datetime, dt.datetime] | None = None
    for code, body in raw_usage.items():
        where = f"usage.{code}"
        comp = plan.component(str(code))
        if comp is None:
            raise _fail(where, _("the plan has no component %(code)r; its components are %(codes)s")
                        % {"code": code, "codes": ", ".join(c.code for c in plan.components)})
        if comp.kind != ComponentKind.METERED:
            raise _fail(where, _("component %(code)r is %(kind)s: only metered components take usage "
                                 "(per_unit components are priced by quantity)")
                        % {"code": code, "kind": comp.kind.value})
        body = _keys(body, USAGE_FORMS, where)
        if "events" in body and bounds is None:
            bounds = _bounds(period, defaults)
        u, form = _usage(body, where, bounds)
        index = plan.components.index(comp)
        try:  # rate it alone first, so that an error names the component
            evaluate(comp.prices[cur], u, cur)
        except SpecError as exc:
            raise _fail(_join(f"plan.components[{index}].prices.{cur}", exc.field), pricing_message(exc)) from None
        except UsageError as exc:
            raise _fail(_usage_field(exc.field, where, form, body), pricing_message(exc)) from None
        usage[comp.code] = u
        echo[comp.code] = _usage_echo(u, form)
    rate, inclusive = _vat_options(data, defaults)
    try:
        charge = price_plan(plan, cur, quantity=quantity, usage=usage, period=period, used=used,
                            setup_fee=setup_fee)
    except PricingError as exc:
        raise _fail(exc.field or "", pricing_message(exc)) from None
    groups = [("component", c.component.code, c.amount) for c in charge.components]
    groups += [(e.kind, e.kind, e.amount) for e in charge.extras]
    p = charge.as_dict()
    return {
        "kind": "plan", "currency": cur, "amount": p["amount"], "vat": _vat(groups, rate, inclusive, cur),
        "plan": p["plan"], "components": p["components"], "extras": p["extras"],
        "input_echo": {"kind": "plan", "code": plan.code, "currency": cur, "quantity": str(quantity),
                       "usage": echo, "period": None if period is None else period.to_dict(),
                       "used": None if used is None else used.to_dict(), "setup_fee": setup_fee,
                       "vat_rate": rate.value, "prices_include_vat": inclusive, "from_settings": defaults.used},
    }


def price_preview(data: Mapping[str, Any],
                  defaults: PreviewDefaults | Callable[[], PreviewDefaults] | None = None) -> dict[str, Any]:
    """Price ``data`` (see docs/pricing.md) and explain it; writes nothing.

    ``defaults`` supplies what the input leaves out (VAT rate, prices-include-VAT, the time zone of
    ``period``); by default the billing settings, read only when needed."""
    data = _keys(data, TOP_LEVEL, "")
    if ("component" in data) == ("plan" in data):
        raise _fail("plan" if "component" in data else "component",
                    _("give exactly one of component or plan"))
    lazy = _Lazy(defaults)
    try:
        if "component" in data:
            return _preview_component(data, lazy)
        return _preview_plan(data, lazy)
    except (UsageError, SpecError) as exc:  # a path not mapped above: report it as the core named it
        raise _fail(exc.field or "", pricing_message(exc)) from None
