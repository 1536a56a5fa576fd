"""A plan (тариф) version as priced data, and the price of one billing period of it.

JSON form (the REST API and the price calculator use exactly this; amounts are decimal strings)::

    {
      "code": "vps-s", "name": "VPS S",
      "billing_period": {"unit": "month", "count": 1},
      "currencies": ["RUB", "USD"],
      "trial": {"days": 14},                      # or {"periods": 1}, or null
      "setup_fee": {"RUB": "1000.00"},            # one-time, per currency (optional)
      "minimum_commitment": {"RUB": "3000.00"},   # per period for the whole plan (optional)
      "components": [
        {"code": "base", "name": "Base fee", "kind": "fixed", "billing": "in_advance",
         "prices": {"RUB": {"model": "standard", "unit_price": "990.00"},
                    "USD": {"model": "standard", "unit_price": "12.00"}}},
        {"code": "seats", "kind": "per_unit", "billing": "in_advance",
         "prices": {"RUB": {"model": "standard", "unit_price": "300.00"}, "USD": {...}}},
        {"code": "traffic", "kind": "metered", "billing": "in_arrears",
         "prices": {"RUB": {"model": "graduated", "aggregation": {"type": "sum", "property": "gb"},
                            "tiers": [...]}, "USD": {...}}}
      ]
    }

Component kinds: ``fixed`` (quantity 1), ``per_unit`` (quantity = the subscription's quantity),
``metered`` (quantity from usage). Each price is a component spec (see
:mod:`kopeck.core.pricing.component`) without its ``code``, one per plan currency: there is no
currency conversion. Errors name the field, e.g. ``components[2].prices.USD.tiers[1].from``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from kopeck.core.explain import Explanation
from kopeck.core.money import Currency, Money, MoneyError
from kopeck.core.periods import BillingInterval, Period, PeriodError, PeriodUnit
from kopeck.core.pricing._values import ZERO, check_keys, dec, join, non_negative, req
from kopeck.core.pricing.component import ComponentSpec, evaluate
from kopeck.core.pricing.errors import SpecError, UsageError
from kopeck.core.pricing.lines import Charge, line_money, show
from kopeck.core.pricing.usage import Usage
from kopeck.core.proration import prorate


class ComponentKind(StrEnum):
    FIXED = "fixed"
    PER_UNIT = "per_unit"
    METERED = "metered"


class Timing(StrEnum):
    IN_ADVANCE = "in_advance"
    IN_ARREARS = "in_arrears"


def _prefixed(exc: SpecError, path: str) -> SpecError:
    return SpecError(exc.code, join(path, exc.field) if exc.field else path, **exc.params)


def _currency(value: object, field: str) -> str:
    try:
        return Currency.of(value).code  # type: ignore[arg-type]  # anything else is refused here
    except MoneyError:
        if isinstance(value, str):
            raise SpecError("unknown_currency", field, currency=value) from None
        raise SpecError("currency_type", field, type=type(value).__name__) from None


def _interval(raw: Mapping[str, Any]) -> BillingInterval:
    try:
        return BillingInterval.from_dict(dict(raw))
    except PeriodError:
        if "unit" not in raw:
            raise SpecError("interval_unit", "billing_period") from None
        if raw["unit"] not in tuple(PeriodUnit):
            raise SpecError("interval_unknown_unit", "billing_period", unit=raw["unit"]) from None
        raise SpecError("interval_count", "billing_period", count=raw.get("count", 1)) from None


def _money_map(raw: object, path: str, currencies: tuple[str, ...]) -> dict[str, Decimal]:
    if raw is None:
        return {}
    data = check_keys(raw, currencies, path)
    result: dict[str, Decimal] = {}
    for code, value in data.items():
        amount = dec(value, f"{path}.{code}")
        non_negative(amount, f"{path}.{code}")
        if not Money(amount, code).is_rounded():
            raise SpecError("more_places", f"{path}.{code}", currency=code)
        result[code] = amount
    return result


@dataclass(frozen=True, slots=True)
class PlanComponent:
    code: str
    kind: ComponentKind
    timing: Timing
    prices: Mapping[str, ComponentSpec]
    name: str = ""

    def to_dict(self) -> dict[str, Any]:
        prices = {}
        for cur, spec in self.prices.items():
            body = spec.to_dict()
            body.pop("code")
            if body.get("name") == self.name:
                body.pop("name")
            prices[cur] = body
        return {"code": self.code, "name": self.name, "kind": self.kind.value, "billing": self.timing.value,
                "prices": prices}

    @classmethod
    def from_dict(cls, data: object, path: str, currencies: tuple[str, ...]) -> PlanComponent:
        raw = check_keys(data, ("code", "name", "kind", "billing", "prices"), path)
        code = req(raw, "code", join(path, "code"))
        if not isinstance(code, str) or not code.strip():
            raise SpecError("non_empty_string", join(path, "code"))
        name = raw.get("name", "")
        if not isinstance(name, str):
            raise SpecError("string", join(path, "name"))
        try:
            kind = ComponentKind(req(raw, "kind", join(path, "kind")))
        except ValueError:
            raise SpecError("use_one_of", join(path, "kind"), choices=", ".join(ComponentKind)) from None
        try:
            timing = Timing(raw.get("billing", Timing.IN_ADVANCE if kind != ComponentKind.METERED
                                    else Timing.IN_ARREARS))
        except ValueError:
            raise SpecError("use_one_of", join(path, "billing"), choices=", ".join(Timing)) from None
        prices_raw = check_keys(req(raw, "prices", join(path, "prices")), currencies, join(path, "prices"))
        prices: dict[str, ComponentSpec] = {}
        for cur in currencies:
            where = f"{path}.prices.{cur}"
            spec_raw = req(prices_raw, cur, where)
            if isinstance(spec_raw, Mapping) and "code" in spec_raw:
                raise SpecError("code_outside_prices", f"{where}.code")
            try:
                body = {"code": code, "name": name, **spec_raw} if isinstance(spec_raw, Mapping) else spec_raw
                prices[cur] = ComponentSpec.from_dict(body)
            except SpecError as exc:
                raise _prefixed(exc, where) from None
        return cls(code=code, kind=kind, timing=timing, prices=prices, name=name)


@dataclass(frozen=True, slots=True)
class PlanSpec:
    code: str
    interval: BillingInterval
    currencies: tuple[str, ...]
    components: tuple[PlanComponent, ...]
    name: str = ""
    trial_days: int | None = None
    trial_periods: int | None = None
    setup_fee: Mapping[str, Decimal] = field(default_factory=dict)
    minimum_commitment: Mapping[str, Decimal] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        trial: dict[str, int] | None = None
        if self.trial_days is not None:
            trial = {"days": self.trial_days}
        elif self.trial_periods is not None:
            trial = {"periods": self.trial_periods}
        return {
            "code": self.code, "name": self.name, "billing_period": self.interval.to_dict(),
            "currencies": list(self.currencies), "trial": trial,
            "setup_fee": {k: str(v) for k, v in self.setup_fee.items()},
            "minimum_commitment": {k: str(v) for k, v in self.minimum_commitment.items()},
            "components": [c.to_dict() for c in self.components],
        }

    @classmethod
    def from_dict(cls, data: object) -> PlanSpec:
        raw = check_keys(data, ("code", "name", "billing_period", "currencies", "trial", "setup_fee",
                                "minimum_commitment", "components"))
        code = req(raw, "code", "code")
        if not isinstance(code, str) or not code.strip():
            raise SpecError("non_empty_string", "code")
        name = raw.get("name", "")
        if not isinstance(name, str):
            raise SpecError("string", "name")
        period_raw = req(raw, "billing_period", "billing_period")
        interval = _interval(check_keys(period_raw, ("unit", "count"), "billing_period"))
        cur_raw = req(raw, "currencies", "currencies")
        if not isinstance(cur_raw, list) or not cur_raw:
            raise SpecError("currencies_list", "currencies")
        currencies: list[str] = []
        for i, c in enumerate(cur_raw):
            cur = _currency(c, f"currencies[{i}]")
            if cur in currencies:
                raise SpecError("currency_twice", f"currencies[{i}]", currency=cur)
            currencies.append(cur)
        curs = tuple(currencies)
        trial_days, trial_periods = cls._trial(raw.get("trial"))
        comps_raw = req(raw, "components", "components")
        if not isinstance(comps_raw, list) or not comps_raw:
            raise SpecError("no_components", "components")
        components = tuple(PlanComponent.from_dict(c, f"components[{i}]", curs) for i, c in enumerate(comps_raw))
        seen: set[str] = set()
        for i, comp in enumerate(components):
            if comp.code in seen:
                raise SpecError("component_twice", f"components[{i}].code", code=comp.code)
            seen.add(comp.code)
        return cls(
            code=code, name=name, interval=interval, currencies=curs, components=components,
            trial_days=trial_days, trial_periods=trial_periods,
            setup_fee=_money_map(raw.get("setup_fee"), "setup_fee", curs),
            minimum_commitment=_money_map(raw.get("minimum_commitment"), "minimum_commitment", curs),
        )

    @staticmethod
    def _trial(raw: object) -> tuple[int | None, int | None]:
        if raw is None:
            return None, None
        data = check_keys(raw, ("days", "periods"), "trial")
        if len(data) != 1:
            raise SpecError("trial_one_of", "trial")
        key, value = next(iter(data.items()))
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SpecError("positive_whole", f"trial.{key}")
        return (value, None) if key == "days" else (None, value)

    def component(self, code: str) -> PlanComponent | None:
        return next((c for c in self.components if c.code == code), None)

    def require_currency(self, currency: str) -> str:
        cur = _currency(currency, "currency")
        if cur not in self.currencies:
            raise SpecError("no_price_in", "currency", currency=cur, currencies=", ".join(self.currencies))
        return cur


@dataclass(frozen=True, slots=True)
class ComponentCharge:
    component: PlanComponent
    charge: Charge
    amount: Money  # after proration of fixed and per-unit components
    explanation: Explanation

    def as_dict(self) -> dict[str, Any]:
        return {"component": self.component.code, "kind": self.component.kind.value,
                "billing": self.component.timing.value, "amount": self.amount.to_str(),
                "explanation": self.explanation.as_dict(), "charge": self.charge.as_dict()}


@dataclass(frozen=True, slots=True)
class ExtraLine:
    kind: str  # "setup_fee" | "minimum_commitment"
    amount: Money
    explanation: Explanation

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "amount": self.amount.to_str(), "explanation": self.explanation.as_dict()}


@dataclass(frozen=True, slots=True)
class PlanCharge:
    plan: str
    currency: str
    components: tuple[ComponentCharge, ...]
    extras: tuple[ExtraLine, ...]
    total: Money

    def as_dict(self) -> dict[str, Any]:
        return {"plan": self.plan, "currency": self.currency, "amount": self.total.to_str(),
                "components": [c.as_dict() for c in self.components], "extras": [e.as_dict() for e in self.extras]}


def price_plan(
    plan: PlanSpec, currency: str, *, quantity: Decimal | int | str = 1,
    usage: Mapping[str, Usage] | None = None, period: Period | None = None, used: Period | None = None,
    setup_fee: bool = False,
) -> PlanCharge:
    """The charges of one billing ``period`` of ``plan`` in ``currency``.

    ``quantity`` prices ``per_unit`` components; ``usage`` (by component code) the ``metered`` ones
    (a metered component without usage has zero usage). When ``used`` is a part of ``period``, fixed and
    per-unit components are prorated by days (metered usage is what it is). ``setup_fee`` adds the
    one-time fee; the plan's minimum commitment tops the period up with its own line."""
    cur = plan.require_currency(currency)
    qty = dec(quantity, "quantity", UsageError)
    if qty < 1:
        raise UsageError("subscription_quantity", "quantity")
    usage = usage or {}
    for code in usage:
        comp = plan.component(code)
        if comp is None:
            raise UsageError("no_such_component", f"usage.{code}", code=code)
        if comp.kind != ComponentKind.METERED:
            raise UsageError("not_metered", f"usage.{code}", code=code, kind=comp.kind.value)
    if used is not None and (period is None or not period.covers(used)):
        raise UsageError("used_outside_period", "used")
    charges: list[ComponentCharge] = []
    for comp in plan.components:
        spec = comp.prices[cur]
        if comp.kind == ComponentKind.METERED:
            charge = evaluate(spec, usage.get(comp.code, Usage.of_quantity(0)), cur)
        else:
            charge = evaluate(spec, Usage.of_quantity(qty if comp.kind == ComponentKind.PER_UNIT else 1), cur)
        amount, expl = charge.amount, charge.explanation
        if used is not None and period is not None and comp.kind != ComponentKind.METERED and used != period:
            pro = prorate(charge.amount, period, used)
            amount, expl = pro.amount, pro.explanation
        charges.append(ComponentCharge(comp, charge, amount, expl))
    extras: list[ExtraLine] = []
    subtotal = Money.zero(cur)
    for c in charges:
        subtotal = subtotal + c.amount
    minimum = plan.minimum_commitment.get(cur)
    if minimum is not None:
        floor = line_money(minimum, Currency.of(cur))
        if subtotal < floor:
            top_up = floor - subtotal
            extras.append(ExtraLine("minimum_commitment", top_up, Explanation(
                ru=f"Минимальный платёж по тарифу {show(floor)}: начислено {show(subtotal)}, доплата {show(top_up)}",
                en=f"Plan minimum commitment {show(floor)}: charges {show(subtotal)}, top-up {show(top_up)}",
                formula=f"top-up = {floor.amount} − {subtotal.amount} = {top_up.amount}")))
    fee = plan.setup_fee.get(cur, ZERO)
    if setup_fee and fee:
        fee_money = line_money(fee, Currency.of(cur))
        extras.append(ExtraLine("setup_fee", fee_money, Explanation(
            ru=f"Разовая плата за подключение: {show(fee_money)}", en=f"One-time setup fee: {show(fee_money)}",
            formula=f"setup fee = {fee_money.amount}")))
    total = subtotal
    for e in extras:
        total = total + e.amount
    return PlanCharge(plan.code, cur, tuple(charges), tuple(extras), total)
