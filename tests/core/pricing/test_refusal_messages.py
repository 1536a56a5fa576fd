"""Every refusal of the pricing core, with its exact field and message: what an API user reads
(``field: message``) when a component, a plan or a usage is refused. One row per refusal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from kopeck.core.money import Money
from kopeck.core.periods import Period
from kopeck.core.pricing import (
    AggregationSpec,
    ComponentSpec,
    MeterReading,
    PricingError,
    SpecError,
    Standard,
    Usage,
    UsageError,
    UsageEvent,
    aggregate,
    evaluate,
    meter_consumption,
    split_in_advance,
)
from kopeck.core.pricing.aggregation import transactions_of
from kopeck.core.pricing.models import Graduated, Percentage, PriceTier
from kopeck.core.pricing.plan import PlanSpec, price_plan
from kopeck.core.pricing.tiers import validate_tiers

T0 = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
T1 = dt.datetime(2027, 1, 2, tzinfo=dt.UTC)
T2 = dt.datetime(2027, 1, 3, tzinfo=dt.UTC)
NAIVE = dt.datetime(2027, 1, 1)  # refused: no time zone


def comp(**fields: Any) -> ComponentSpec:
    return ComponentSpec.from_dict({"code": "c", "model": "standard", "unit_price": "1", **fields})


def tiers(*rows: tuple[object, object]) -> list[dict[str, object]]:
    return [{"from": a, "up_to": b, "unit_price": "1"} for a, b in rows]


def graduated(rows: list[dict[str, object]], **fields: Any) -> ComponentSpec:
    return ComponentSpec.from_dict({"code": "c", "model": "graduated", "tiers": rows, **fields})


def plan(**overrides: Any) -> PlanSpec:
    data: dict[str, Any] = {
        "code": "p", "billing_period": {"unit": "month", "count": 1}, "currencies": ["RUB"],
        "components": [{"code": "base", "kind": "fixed", "prices": {"RUB": {"model": "standard", "unit_price": "10"}}},
                       {"code": "gb", "kind": "metered", "prices": {"RUB": {"model": "standard", "unit_price": "1"}}}],
    }
    data.update(overrides)
    return PlanSpec.from_dict(data)


def component(**overrides: Any) -> dict[str, Any]:
    return {"code": "base", "kind": "fixed", "prices": {"RUB": {"model": "standard", "unit_price": "10"}}, **overrides}


def reading(rid: str, at: dt.datetime, value: object, kind: str = "normal", old_final: object = None) -> MeterReading:
    return MeterReading(rid, at, value, kind, old_final)  # type: ignore[arg-type]


SUM_GB = AggregationSpec("sum", "gb")

CASES: list[tuple[str, Callable[[], object], type[PricingError], str]] = [
    # values (_values.py)
    ("float", lambda: comp(unit_price=0.5), SpecError,
     'unit_price: must be a decimal string such as "0.50", not a JSON float or boolean'),
    ("boolean", lambda: comp(unit_price=True), SpecError,
     'unit_price: must be a decimal string such as "0.50", not a JSON float or boolean'),
    ("not a number", lambda: comp(unit_price=[1]), SpecError, "unit_price: must be a decimal string, got list"),
    ("infinite", lambda: comp(unit_price=Decimal("Infinity")), SpecError, "unit_price: must be a finite number"),
    ("too many digits", lambda: comp(unit_price="1" + "0" * 18), SpecError,
     "unit_price: out of range: at most 18 digits before the point and 12 after it"),
    ("too many places", lambda: comp(unit_price="0." + "0" * 12 + "1"), SpecError,
     "unit_price: out of range: at most 18 digits before the point and 12 after it"),
    ("negative", lambda: comp(unit_price="-1"), SpecError, "unit_price: must not be negative, got -1"),
    ("not an object", lambda: ComponentSpec.from_dict([]), SpecError, "must be an object, got list"),
    ("unknown key", lambda: comp(colour="red"), SpecError,
     "colour: unknown field; expected one of aggregation, code, fixed_fee, free_amount, free_transactions, "
     "included_units, max_per_transaction, min_per_transaction, minimum, model, name, package_price, "
     "package_size, rate, tiers, unit_price"),
    ("key of another model", lambda: comp(rate="1"), SpecError,
     "rate: unknown field; expected one of aggregation, code, included_units, minimum, model, name, unit_price"),
    ("required", lambda: ComponentSpec.from_dict({"code": "c", "model": "standard"}), SpecError,
     "unit_price: is required"),
    # the component (component.py)
    ("empty code", lambda: comp(code=" "), SpecError, "code: must be a non-empty string"),
    ("name not a string", lambda: comp(name=5), SpecError, "name: must be a string"),
    ("not a model", lambda: ComponentSpec("c", "standard"), SpecError,  # type: ignore[arg-type]
     "model: must be a charge model"),
    ("negative included units", lambda: comp(included_units="-2"), SpecError,
     "included_units: must not be negative, got -2"),
    ("included units with a percentage", lambda: ComponentSpec("c", Percentage(Decimal(1)), included_units=Decimal(1)),
     SpecError, "included_units: the percentage model uses free_transactions / free_amount, not included units"),
    ("negative minimum", lambda: comp(minimum="-0.01"), SpecError, "minimum: must not be negative, got -0.01"),
    ("aggregation not a spec", lambda: ComponentSpec("c", Standard(Decimal(1)), aggregation={"type": "sum"}),  # type: ignore[arg-type]
     SpecError, "aggregation: must be an AggregationSpec"),
    ("percentage counting", lambda: ComponentSpec("c", Percentage(Decimal(1)), aggregation=AggregationSpec("count")),
     SpecError, "aggregation.type: a percentage model aggregates transaction amounts: use type sum"),
    ("unknown model", lambda: ComponentSpec.from_dict({"code": "c", "model": "linear"}), SpecError,
     "model: unknown model 'linear'; use one of standard, graduated, volume, package, tiered_package, percentage, "
     "graduated_percentage, stairstep"),
    ("readings for another aggregation", lambda: evaluate(comp(aggregation={"type": "max", "property": "gb"}),
                                                          Usage.of_readings([reading("r", T0, 1)]), "RUB"),
     UsageError, "readings: meter readings given but the component aggregates max"),
    ("no aggregation", lambda: evaluate(comp(), Usage(), "RUB"), UsageError,
     "quantity: the component has no aggregation: pass a quantity"),
    ("percentage with a total", lambda: evaluate(ComponentSpec("c", Percentage(Decimal(1))), 100, "RUB"),
     UsageError, "quantity: the percentage model needs the transactions, not a total"),
    ("negative quantity", lambda: evaluate(comp(), -3, "RUB"), UsageError,
     "quantity: quantity must not be negative, got -3"),
    # aggregation (aggregation.py)
    ("unknown aggregation", lambda: AggregationSpec("avg"), SpecError,  # type: ignore[arg-type]
     "aggregation.type: unknown aggregation 'avg'; use one of count, sum, max, latest, unique_count, "
     "weighted_sum, meter_reading"),
    ("empty property", lambda: AggregationSpec("count", ""), SpecError,
     "aggregation.property: must be a non-empty string"),
    ("property needed", lambda: AggregationSpec("max"), SpecError,
     "aggregation.property: max needs the property to aggregate"),
    ("max value of a sum", lambda: AggregationSpec("sum", "gb", Decimal(10)), SpecError,
     "aggregation.max_value: max_value applies to meter_reading only"),
    ("max value zero", lambda: AggregationSpec("meter_reading", None, Decimal(0)), SpecError,
     "aggregation.max_value: must be positive"),
    ("type required", lambda: AggregationSpec.from_dict({"property": "gb"}), SpecError,
     "aggregation.type: is required"),
    ("type required, own path", lambda: AggregationSpec.from_dict({}, "prices.RUB.aggregation"), SpecError,
     "prices.RUB.aggregation.type: is required"),
    ("max value text", lambda: AggregationSpec.from_dict({"type": "meter_reading", "max_value": 1.5}), SpecError,
     'aggregation.max_value: must be a decimal string such as "0.50", not a JSON float or boolean'),
    ("event before the period", lambda: aggregate(SUM_GB, [UsageEvent("e1", T0, {"gb": 1})], start=T1, end=T2),
     UsageError, "events[e1].timestamp: event e1 at 2027-01-01T00:00:00+00:00 is outside the period "
                 "[2027-01-02T00:00:00+00:00, 2027-01-03T00:00:00+00:00)"),
    ("event at the end", lambda: aggregate(SUM_GB, [UsageEvent("e1", T2, {"gb": 1})], end=T2), UsageError,
     "events[e1].timestamp: event e1 at 2027-01-03T00:00:00+00:00 is outside the period "
     "[…, 2027-01-03T00:00:00+00:00)"),
    ("event after an open end", lambda: aggregate(SUM_GB, [UsageEvent("e1", T0, {"gb": 1})], start=T1), UsageError,
     "events[e1].timestamp: event e1 at 2027-01-01T00:00:00+00:00 is outside the period "
     "[2027-01-02T00:00:00+00:00, …)"),
    ("event without the property", lambda: aggregate(SUM_GB, [UsageEvent("e1", T0, {"mb": 1})]), UsageError,
     "events[e1].properties.gb: event e1 has no property 'gb'"),
    ("event property not a number", lambda: aggregate(SUM_GB, [UsageEvent("e1", T0, {"gb": "x"})]), UsageError,
     'events[e1].properties.gb: not a plain decimal such as "1500.00": \'x\''),
    ("weighted sum without start", lambda: aggregate(AggregationSpec("weighted_sum", "n"), [], end=T1), UsageError,
     "start: a weighted sum needs the period start and end"),
    ("weighted sum without end", lambda: aggregate(AggregationSpec("weighted_sum", "n"), [], start=T1), UsageError,
     "end: a weighted sum needs the period start and end"),
    ("unique without the property", lambda: aggregate(AggregationSpec("unique_count", "user"),
                                                      [UsageEvent("e1", T0, {})]),
     UsageError, "events[e1].properties.user: event e1 has no property 'user'"),
    ("unique operation", lambda: aggregate(AggregationSpec("unique_count", "user"),
                                           [UsageEvent("e1", T0, {"user": "u", "operation": "delete"})]),
     UsageError, "events[e1].properties.operation: operation must be 'add' or 'remove', got 'delete'"),
    ("aggregating readings", lambda: aggregate(AggregationSpec("meter_reading"), []), UsageError,
     "events: meter_reading aggregates meter readings, not events; use meter_consumption"),
    ("aggregate an empty period", lambda: aggregate(SUM_GB, [], start=T1, end=T1), UsageError,
     "end: the period must end after it starts"),
    ("transactions without a property", lambda: transactions_of(AggregationSpec("count"), []),
     SpecError, "aggregation.property: a percentage model needs aggregation.property naming the transaction amount"),
    ("transactions without a spec", lambda: transactions_of(None, []), SpecError,
     "aggregation.property: a percentage model needs aggregation.property naming the transaction amount"),
    # meter readings (meter.py)
    ("reading repeated with other data", lambda: meter_consumption([reading("r", T0, 1), reading("r", T1, 2)]),
     UsageError, "readings[1]: reading id 'r' is repeated with different data"),
    ("negative reading", lambda: meter_consumption([reading("r", T0, -1)]), UsageError,
     "readings[0].value: reading r: value -1 is negative"),
    ("negative old final", lambda: meter_consumption([reading("a", T0, 1), reading("b", T1, 0, "replacement", -2)]),
     UsageError, "readings[1].old_final: reading b: old_final -2 is negative"),
    ("reading at max value", lambda: meter_consumption([reading("r", T0, 100)], Decimal(100)), UsageError,
     "readings[0].value: reading r: value 100 is not below the meter's max_value 100 (the dial shows 0 at max_value)"),
    ("reading going back", lambda: meter_consumption([reading("a", T0, 5), reading("b", T1, 4)]), UsageError,
     "readings[1]: reading b (4 at 2027-01-02T00:00:00+00:00) is below the previous reading a (5) and is not "
     "marked rollover or replacement"),
    ("rollover without max value", lambda: meter_consumption([reading("a", T0, 5), reading("b", T1, 4, "rollover")]),
     UsageError, "readings[1]: reading b is marked rollover but the meter declares no max_value"),
    ("replacement below", lambda: meter_consumption([reading("a", T0, 5), reading("b", T1, 0, "replacement", 3)]),
     UsageError, "readings[1].old_final: replacement b: the old meter's final reading 3 is below the previous "
                 "reading a (5)"),
    ("meter max value zero", lambda: meter_consumption([reading("a", T0, 5)], Decimal(0)), UsageError,
     "max_value: max_value must be positive"),
    ("no readings", lambda: meter_consumption([]), UsageError, "readings: at least the opening reading is required"),
    # usage (usage.py)
    ("naive start", lambda: Usage(start=NAIVE), UsageError, "start: must be a timezone-aware datetime"),
    ("naive end", lambda: Usage(end=NAIVE), UsageError, "end: must be a timezone-aware datetime"),
    ("event without id", lambda: UsageEvent("", T0), UsageError, "events[].id: an event needs a non-empty string id"),
    ("naive event", lambda: UsageEvent("e9", NAIVE), UsageError,
     "events[e9].timestamp: must be a timezone-aware datetime"),
    ("reading without id", lambda: reading("", T0, 1), UsageError,
     "readings[].id: a reading needs a non-empty string id"),
    ("naive reading", lambda: reading("r7", NAIVE, 1), UsageError,
     "readings[r7].timestamp: must be a timezone-aware datetime"),
    ("reading value float", lambda: reading("r7", T0, 1.5), UsageError,
     'readings[r7].value: must be a decimal string such as "0.50", not a JSON float or boolean'),
    ("reading kind", lambda: reading("r7", T0, 1, "reset"), UsageError, "readings[r7].kind: unknown reading kind 'reset'"),
    ("old final of a normal reading", lambda: reading("r7", T0, 1, "normal", 5), UsageError,
     "readings[r7].old_final: old_final is given exactly for replacement readings"),
    ("replacement without old final", lambda: reading("r7", T0, 1, "replacement"), UsageError,
     "readings[r7].old_final: old_final is given exactly for replacement readings"),
    ("old final float", lambda: reading("r7", T0, 1, "replacement", 2.5), UsageError,
     'readings[r7].old_final: must be a decimal string such as "0.50", not a JSON float or boolean'),
    ("two forms", lambda: Usage(quantity=Decimal(1), events=(UsageEvent("e", T0),)), UsageError,
     "events: give the usage in one form only, not quantity and events"),
    ("readings and transactions", lambda: Usage(readings=(reading("r", T0, 1),), transactions=(Decimal(1),)),
     UsageError, "transactions: give the usage in one form only, not readings and transactions"),
    ("usage period backwards", lambda: Usage(start=T1, end=T0), UsageError, "end: the period must end after it starts"),
    ("usage quantity float", lambda: Usage(quantity=1.5), UsageError,  # type: ignore[arg-type]
     'quantity: must be a decimal string such as "0.50", not a JSON float or boolean'),
    ("usage transaction float", lambda: Usage(transactions=(Decimal(1), 2.5)), UsageError,  # type: ignore[arg-type]
     'transactions[1]: must be a decimal string such as "0.50", not a JSON float or boolean'),
    ("of_transactions float", lambda: Usage.of_transactions(["1", 2.5]), UsageError,
     'transactions[1]: must be a decimal string such as "0.50", not a JSON float or boolean'),
    ("of_quantity float", lambda: Usage.of_quantity(2.5), UsageError,
     'quantity: must be a decimal string such as "0.50", not a JSON float or boolean'),
    # in advance (advance.py)
    ("increments boolean", lambda: split_in_advance(Money("10", "RUB"), True), PricingError,
     "increments: increments must be a count or a list of step sizes"),
    ("increments zero", lambda: split_in_advance(Money("10", "RUB"), 0), PricingError,
     "increments: at least one increment is needed, got 0"),
    ("increments empty", lambda: split_in_advance(Money("10", "RUB"), []), PricingError,
     "increments: at least one increment is needed"),
    # tiers (tiers.py, models.py)
    ("no tiers", lambda: graduated([]), SpecError, "tiers: at least one tier is required"),
    ("tiers not a list", lambda: graduated({"from": "0"}), SpecError, "tiers: must be a list of tiers"),  # type: ignore[arg-type]
    ("tier not an object", lambda: graduated(["0-10"]), SpecError, "tiers[0]: must be an object"),  # type: ignore[list-item]
    ("tier unknown key", lambda: graduated([{"from": "0", "up_to": None, "unit_price": "1", "price": "1"}]),
     SpecError, "tiers[0].price: unknown field; expected one of flat_fee, from, unit_price, up_to"),
    ("tier from required", lambda: graduated([{"up_to": None, "unit_price": "1"}]), SpecError,
     "tiers[0].from: is required"),
    ("first tier from 1", lambda: graduated(tiers(("1", None))), SpecError,
     "tiers[0].from: the first tier must start at 0, not 1"),
    ("gap", lambda: graduated(tiers(("0", "10"), ("11", None))), SpecError,
     "tiers[1].from: gap: this tier starts at 11 but tiers[0].up_to is 10; tiers are [from, up_to), so it must "
     "start at 10"),
    ("overlap", lambda: graduated(tiers(("0", "10"), ("9", None))), SpecError,
     "tiers[1].from: overlap: this tier starts at 9, before tiers[0].up_to = 10; tiers must ascend and start where "
     "the previous one ends"),
    ("open tier before the last", lambda: graduated(tiers(("0", None), ("10", None))), SpecError,
     "tiers[0].up_to: only the last tier may be open (up_to null)"),
    ("closed last tier", lambda: graduated(tiers(("0", "10"))), SpecError,
     "tiers[0].up_to: the last tier must be open (up_to null) so that every quantity is priced, got 10"),
    ("empty tier", lambda: graduated(tiers(("0", "10"), ("10", "10"), ("10", None))), SpecError,
     "tiers[1].up_to: empty tier: up_to equals from (10)"),
    ("descending tier", lambda: graduated(tiers(("0", "10"), ("10", "5"), ("5", None))), SpecError,
     "tiers[1].up_to: tiers must ascend: up_to 5 is below from 10"),
    ("tier start not a Decimal", lambda: validate_tiers([type("T", (), {"start": 0, "up_to": None})()]), SpecError,
     "tiers[0].from: must be a Decimal"),
    ("tier end not a Decimal", lambda: validate_tiers([type("T", (), {"start": Decimal(0), "up_to": 5})()]),
     SpecError, "tiers[0].up_to: must be a Decimal or null"),
    ("validate under another name", lambda: validate_tiers([], "ranges"), SpecError,
     "ranges: at least one tier is required"),
    ("negative tier price", lambda: graduated([{"from": "0", "up_to": None, "unit_price": "-1"}]), SpecError,
     "tiers[0].unit_price: must not be negative, got -1"),
    ("negative tier fee", lambda: graduated([{"from": "0", "up_to": None, "unit_price": "1", "flat_fee": "-5"}]),
     SpecError, "tiers[0].flat_fee: must not be negative, got -5"),
    ("tier rate over 100", lambda: ComponentSpec.from_dict({"code": "c", "model": "graduated_percentage", "tiers": [
        {"from": "0", "up_to": None, "rate": "100.5"}]}), SpecError, "tiers[0].rate: a rate is a percentage 0..100, got 100.5"),
    ("tier of another class", lambda: Graduated((PriceTier(Decimal(0), None, Decimal(1)), "x")),  # type: ignore[arg-type]
     SpecError, "tiers[1]: must be a PriceTier"),
    ("package size zero", lambda: ComponentSpec.from_dict({"code": "c", "model": "package", "package_size": "0",
                                                           "package_price": "1"}),
     SpecError, "package_size: must be positive, got 0"),
    ("tiered package size zero", lambda: ComponentSpec.from_dict(
        {"code": "c", "model": "tiered_package", "package_size": "0", "tiers": []}),
     SpecError, "package_size: must be positive, got 0"),
    ("tier edge inside a package", lambda: ComponentSpec.from_dict({
        "code": "c", "model": "tiered_package", "package_size": "10", "tiers": [
            {"from": "0", "up_to": "25", "package_price": "1"}, {"from": "25", "up_to": None, "package_price": "1"}]}),
     SpecError, "tiers[0].up_to: 25 is not a multiple of package_size 10; a package may not straddle two tiers"),
    # the percentage model (models.py, percentage.py)
    ("rate over 100", lambda: Percentage(Decimal("100.01")), SpecError,
     "rate: a rate is a percentage 0..100, got 100.01"),
    ("negative rate", lambda: Percentage(Decimal(-1)), SpecError, "rate: must not be negative, got -1"),
    ("negative free amount", lambda: Percentage(Decimal(1), free_amount=Decimal(-1)), SpecError,
     "free_amount: must not be negative, got -1"),
    ("free transactions negative", lambda: Percentage(Decimal(1), free_transactions=-1), SpecError,
     "free_transactions: must be a non-negative integer, got -1"),
    ("free transactions boolean", lambda: Percentage(Decimal(1), free_transactions=True), SpecError,
     "free_transactions: must be a non-negative integer, got True"),
    ("free transactions text", lambda: ComponentSpec.from_dict({"code": "c", "model": "percentage", "rate": "1",
                                                                "free_transactions": "3"}),
     SpecError, "free_transactions: must be a non-negative integer, got '3'"),
    ("negative minimum per transaction", lambda: Percentage(Decimal(1), min_per_transaction=Decimal(-1)), SpecError,
     "min_per_transaction: must not be negative, got -1"),
    ("negative maximum per transaction", lambda: Percentage(Decimal(1), max_per_transaction=Decimal(-1)), SpecError,
     "max_per_transaction: must not be negative, got -1"),
    ("minimum above maximum", lambda: Percentage(Decimal(1), min_per_transaction=Decimal(5),
                                                 max_per_transaction=Decimal(4)),
     SpecError, "min_per_transaction: must not exceed max_per_transaction 4, got 5"),
    ("negative transaction", lambda: evaluate(ComponentSpec("c", Percentage(Decimal(1))),
                                              Usage.of_transactions(["1", "-2"]), "RUB"),
     UsageError, "transactions[1]: a transaction amount must not be negative, got -2"),
    # plans (plan.py)
    ("plan minimum with too many places", lambda: plan(minimum_commitment={"RUB": "1.001"}), SpecError,
     "minimum_commitment.RUB: more decimal places than RUB has"),
    ("plan setup fee negative", lambda: plan(setup_fee={"RUB": "-1"}), SpecError,
     "setup_fee.RUB: must not be negative, got -1"),
    ("plan setup fee in another currency", lambda: plan(setup_fee={"USD": "1"}), SpecError,
     "setup_fee.USD: unknown field; expected one of RUB"),
    ("component code empty", lambda: plan(components=[component(code="")]), SpecError,
     "components[0].code: must be a non-empty string"),
    ("component code missing", lambda: plan(components=[{"kind": "fixed", "prices": {}}]), SpecError,
     "components[0].code: is required"),
    ("component name not a string", lambda: plan(components=[component(name=1)]), SpecError,
     "components[0].name: must be a string"),
    ("component kind", lambda: plan(components=[component(kind="usage")]), SpecError,
     "components[0].kind: use one of fixed, per_unit, metered"),
    ("component billing", lambda: plan(components=[component(billing="monthly")]), SpecError,
     "components[0].billing: use one of in_advance, in_arrears"),
    ("component code inside a price", lambda: plan(components=[component(
        prices={"RUB": {"code": "x", "model": "standard", "unit_price": "1"}})]), SpecError,
     "components[0].prices.RUB.code: the component's code is given once, outside its prices"),
    ("component price refused", lambda: plan(components=[component(
        prices={"RUB": {"model": "standard", "unit_price": "-1"}})]), SpecError,
     "components[0].prices.RUB.unit_price: must not be negative, got -1"),
    ("component price not an object", lambda: plan(components=[component(prices={"RUB": "10"})]), SpecError,
     "components[0].prices.RUB: must be an object, got str"),
    ("component price missing", lambda: plan(components=[component(prices={})]), SpecError,
     "components[0].prices.RUB: is required"),
    ("component unknown key", lambda: plan(components=[component(price="1")]), SpecError,
     "components[0].price: unknown field; expected one of billing, code, kind, name, prices"),
    ("plan code empty", lambda: plan(code=""), SpecError, "code: must be a non-empty string"),
    ("plan name not a string", lambda: plan(name=["x"]), SpecError, "name: must be a string"),
    ("plan billing period", lambda: plan(billing_period={"unit": "month", "count": 0}), SpecError,
     "billing_period: interval count must be a positive integer, got 0"),
    ("plan billing period key", lambda: plan(billing_period={"unit": "month", "every": 1}), SpecError,
     "billing_period.every: unknown field; expected one of count, unit"),
    ("plan currencies empty", lambda: plan(currencies=[]), SpecError,
     "currencies: must be a non-empty list of ISO 4217 codes"),
    ("plan currency unknown", lambda: plan(currencies=["RUB", "XYZ"]), SpecError,
     "currencies[1]: unknown currency 'XYZ'"),
    ("plan currency twice", lambda: plan(currencies=["RUB", "rub"]), SpecError, "currencies[1]: RUB is listed twice"),
    ("plan without components", lambda: plan(components=[]), SpecError,
     "components: a plan needs at least one component"),
    ("component code twice", lambda: plan(components=[component(), component()]), SpecError,
     "components[1].code: component code 'base' is used twice"),
    ("trial both", lambda: plan(trial={"days": 1, "periods": 1}), SpecError, "trial: give either days or periods"),
    ("trial zero days", lambda: plan(trial={"days": 0}), SpecError, "trial.days: must be a positive whole number"),
    ("trial periods boolean", lambda: plan(trial={"periods": True}), SpecError,
     "trial.periods: must be a positive whole number"),
    ("plan currency not priced", lambda: plan().require_currency("USD"), SpecError,
     "currency: the plan has no price in USD; it is priced in RUB"),
    ("plan currency unknown on pricing", lambda: plan().require_currency("XYZ"), SpecError,
     "currency: unknown currency 'XYZ'"),
    ("plan quantity zero", lambda: price_plan(plan(), "RUB", quantity=0), UsageError,
     "quantity: the subscription quantity must be at least 1"),
    ("plan quantity float", lambda: price_plan(plan(), "RUB", quantity=1.5), UsageError,  # type: ignore[arg-type]
     'quantity: must be a decimal string such as "0.50", not a JSON float or boolean'),
    ("usage of an unknown component", lambda: price_plan(plan(), "RUB", usage={"cpu": Usage.of_quantity(1)}),
     UsageError, "usage.cpu: the plan has no component 'cpu'"),
    ("usage of a fixed component", lambda: price_plan(plan(), "RUB", usage={"base": Usage.of_quantity(1)}),
     UsageError, "usage.base: component 'base' is fixed, not metered"),
    ("used without a period", lambda: price_plan(plan(), "RUB", used=Period(dt.date(2027, 1, 1),
                                                                            dt.date(2027, 1, 2))),
     UsageError, "used: the used part must lie within the period"),
    ("used outside the period", lambda: price_plan(plan(), "RUB",
                                                   period=Period(dt.date(2027, 1, 1), dt.date(2027, 2, 1)),
                                                   used=Period(dt.date(2027, 1, 20), dt.date(2027, 2, 2))),
     UsageError, "used: the used part must lie within the period"),
]


@pytest.mark.parametrize(("make", "error", "text"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refusal(make: Callable[[], object], error: type[PricingError], text: str) -> None:
    with pytest.raises(PricingError) as info:
        make()
    assert type(info.value) is error
    assert str(info.value) == text
    exc = info.value
    assert exc.as_dict() == {"field": exc.field, "message": exc.message}
    assert (f"{exc.field}: {exc.message}" if exc.field else exc.message) == text
