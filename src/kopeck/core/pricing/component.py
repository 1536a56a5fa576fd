"""A priced component (spec) and the main entry :func:`evaluate`.

JSON form of a component spec (the REST API uses exactly this; Decimals are strings, unknown
fields are rejected, errors name the field)::

    {
      "code": "storage",                 # required, non-empty
      "name": "Storage, GB",             # optional label
      "model": "graduated",              # standard | graduated | volume | package | tiered_package
                                         # | percentage | graduated_percentage | stairstep
      "aggregation": {"type": "max", "property": "gb", "max_value": null},   # optional
      "included_units": "0",             # free units each period (not for percentage)
      "minimum": null,                   # per-period minimum of the component, or null
      "tiers": [{"from": "0", "up_to": "100", "unit_price": "0.50", "flat_fee": "0"},
                {"from": "100", "up_to": null, "unit_price": "0.40", "flat_fee": "0"}]
    }

The model's own parameters sit at the top level (see :mod:`kopeck.core.pricing.models`).

Evaluation: quantity → billable = max(0, quantity − included units) → the model's lines → a
``minimum`` line tops the sum up to the minimum if it is below. Lines are rounded once each,
half-up; the charge amount is their sum. Arithmetic runs in a 60-digit decimal context.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    localcontext,
)
from typing import Any

from kopeck.core.explain import Explanation
from kopeck.core.money import Currency, Money
from kopeck.core.pricing import rating
from kopeck.core.pricing._values import ZERO, check_keys, dec, fmt, non_negative
from kopeck.core.pricing.aggregation import AggregationSpec, AggregationType, aggregate, transactions_of
from kopeck.core.pricing.errors import SpecError, UsageError
from kopeck.core.pricing.lines import Charge, ChargeLine, LineKind, line_money, show
from kopeck.core.pricing.meter import meter_consumption
from kopeck.core.pricing.models import MODELS, ChargeModel, GraduatedPercentage, Percentage
from kopeck.core.pricing.percentage import rate_percentage
from kopeck.core.pricing.usage import Usage
from kopeck.core.words import plural_en

_CONTEXT = Context(prec=60, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow])
_COMMON = ("code", "name", "model", "aggregation", "included_units", "minimum")


@dataclass(frozen=True, slots=True)
class ComponentSpec:
    code: str
    model: ChargeModel
    name: str = ""
    included_units: Decimal = ZERO
    minimum: Decimal | None = None
    aggregation: AggregationSpec | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code.strip():
            raise SpecError("non_empty_string", "code")
        if not isinstance(self.name, str):
            raise SpecError("string", "name")
        if not isinstance(self.model, tuple(MODELS.values())):
            raise SpecError("charge_model", "model")
        object.__setattr__(self, "included_units", dec(self.included_units, "included_units"))
        non_negative(self.included_units, "included_units")
        if self.included_units and isinstance(self.model, Percentage):
            raise SpecError("percentage_included_units", "included_units")
        if self.minimum is not None:
            object.__setattr__(self, "minimum", dec(self.minimum, "minimum"))
            non_negative(self.minimum, "minimum")
        agg = self.aggregation
        if agg is not None and not isinstance(agg, AggregationSpec):
            raise SpecError("aggregation_spec", "aggregation")
        if isinstance(self.model, Percentage) and agg is not None and agg.type is not AggregationType.SUM:
            raise SpecError("percentage_sum", "aggregation.type")

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code, "name": self.name, "model": self.model.MODEL,
            "aggregation": None if self.aggregation is None else self.aggregation.to_dict(),
            "included_units": str(self.included_units),
            "minimum": None if self.minimum is None else str(self.minimum),
            **self.model.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: object) -> ComponentSpec:
        raw = check_keys(data, (*_COMMON, *{p for m in MODELS.values() for p in m.PARAMS}))
        name = raw.get("model")
        if not isinstance(name, str) or name not in MODELS:
            raise SpecError("unknown_model", "model", model=name, models=", ".join(MODELS))
        model_cls = MODELS[name]
        check_keys(raw, (*_COMMON, *model_cls.PARAMS))
        agg = raw.get("aggregation")
        minimum = raw.get("minimum")
        return cls(
            code=raw.get("code", ""),
            model=model_cls.from_dict(raw),
            name=raw.get("name", ""),
            included_units=dec(raw.get("included_units", 0), "included_units"),
            minimum=None if minimum is None else dec(minimum, "minimum"),
            aggregation=None if agg is None else AggregationSpec.from_dict(agg),
        )


_RATERS: dict[type[Any], Callable[[Any, Decimal, Currency], list[ChargeLine]]] = {
    MODELS["standard"]: rating.rate_standard,
    MODELS["graduated"]: rating.rate_graduated,
    MODELS["volume"]: rating.rate_volume,
    MODELS["package"]: rating.rate_package,
    MODELS["tiered_package"]: rating.rate_tiered_package,
    MODELS["graduated_percentage"]: rating.rate_graduated_percentage,
    MODELS["stairstep"]: rating.rate_stairstep,
}


def _quantity(spec: ComponentSpec, usage: Usage) -> tuple[Decimal, Explanation | None]:
    if usage.quantity is not None:
        return usage.quantity, None
    if usage.transactions is not None and isinstance(spec.model, GraduatedPercentage):
        return sum(usage.transactions, ZERO), None
    agg = spec.aggregation
    if usage.readings:
        if agg is not None and agg.type is not AggregationType.METER_READING:
            raise UsageError("readings_not_meter", "readings", type=agg.type.value)
        result = meter_consumption(usage.readings, None if agg is None else agg.max_value)
        return result.consumption, result.explanation
    if agg is None:
        raise UsageError("no_aggregation", "quantity")
    res = aggregate(agg, usage.events, start=usage.start, end=usage.end,
                    initial_level=usage.initial_level, initial_values=usage.initial_values)
    return res.quantity, res.explanation


def _included_line(included: Decimal, quantity: Decimal, cur: Currency) -> ChargeLine:
    used = min(included, quantity)
    u, n = fmt(used), fmt(included)
    return ChargeLine(LineKind.INCLUDED, "included units", used, ZERO, line_money(ZERO, cur), Explanation(
        ru=f"Включено в тариф: {u} из {n} бесплатных ед.", en=f"Included: {u} of {n} free {plural_en(included, 'unit', 'units')} used",
        formula=f"free units used = min(included {n}, quantity {fmt(quantity)}) = {u}",
    ))


def _minimum_line(minimum: Decimal, total: Money) -> ChargeLine | None:
    floor = line_money(minimum, total.currency)
    if total >= floor:
        return None
    top_up = floor - total
    return ChargeLine(LineKind.MINIMUM, "minimum", Decimal(1), top_up.amount, top_up, Explanation(
        ru=f"Минимальная сумма {show(floor)}: начислено {show(total)}, доплата {show(top_up)}",
        en=f"Minimum {show(floor)}: charges {show(total)}, top-up {show(top_up)}",
        formula=f"top-up = minimum − charges = {floor.amount} − {total.amount} = {top_up.amount}",
    ))


_CURRENCIES: dict[str, Currency] = {}


def _currency(code: str) -> Currency:
    cur = _CURRENCIES.get(code)
    if cur is None:
        cur = Currency.of(code)
        if len(_CURRENCIES) < 256:
            _CURRENCIES[code] = cur
    return cur


def evaluate(spec: ComponentSpec, usage: Usage | Decimal | int | str, currency: Currency | str) -> Charge:
    """Rate ``usage`` of one period under ``spec`` in ``currency``. A bare number is a quantity."""
    cur = currency if isinstance(currency, Currency) else _currency(currency)
    if not isinstance(usage, Usage):
        usage = Usage.of_quantity(usage)
    with localcontext(_CONTEXT):
        model = spec.model
        usage_expl: Explanation | None = None
        if isinstance(model, Percentage):
            txs = usage.transactions
            if txs is None:
                if usage.quantity is not None:
                    raise UsageError("percentage_needs_transactions", "quantity")
                txs = tuple(transactions_of(spec.aggregation, usage.events, start=usage.start, end=usage.end))
            quantity = billable = sum(txs, ZERO)
            lines = rate_percentage(model, txs, cur)
        else:
            quantity, usage_expl = _quantity(spec, usage)
            if quantity < 0:
                raise UsageError("quantity_negative", "quantity", quantity=fmt(quantity))
            included = spec.included_units
            billable = quantity - included if quantity > included else ZERO
            lines = [_included_line(included, quantity, cur)] if included else []
            lines += _RATERS[type(model)](model, billable, cur)
        exact = ZERO
        for line in lines:
            exact += line.amount.amount
        total = line_money(exact, cur)
        if spec.minimum is not None:
            top_up = _minimum_line(spec.minimum, total)
            if top_up is not None:
                lines.append(top_up)
                total = total + top_up.amount
    q, title, a = fmt(quantity), spec.name or spec.code, show(total)
    if spec.included_units:
        inc, b = fmt(spec.included_units), fmt(billable)
        q_ru, q_en = f"{q} (включено {inc}, к оплате {b})", f"{q} ({inc} included, {b} billable)"
    else:
        q_ru = q_en = q
    explanation = Explanation(
        ru=f"{title}: модель {model.MODEL}, количество {q_ru}, итого {a}",
        en=f"{title}: {model.MODEL} model, quantity {q_en}, total {a}",
        formula=" + ".join([str(line.amount.amount) for line in lines]) + f" = {total.amount}" if lines
        else f"no charge = {total.amount}",
    )
    return Charge(spec.code, model.MODEL, quantity, billable, total, tuple(lines), explanation, usage_expl)


def parse_component(data: Mapping[str, Any]) -> ComponentSpec:
    """Alias of :meth:`ComponentSpec.from_dict`."""
    return ComponentSpec.from_dict(data)
