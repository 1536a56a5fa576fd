"""The last pricing survivors of the mutation run: values built directly (not from JSON) name the
field they refuse; a plan without a name or a billing period; a usage period that ends when it
starts; a graduated-percentage rate of exactly 100; the stairstep line's range after the first; the
explanation of a charge with no line, of an empty transaction list, of a quantity equal to the
included units; and the counted words of one event, two duplicates, one free unit, one transaction
with a fixed fee."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from kopeck.core.pricing import (
    AggregationSpec,
    ComponentSpec,
    GraduatedPercentage,
    PriceTier,
    SpecError,
    Standard,
    Usage,
    UsageError,
    UsageEvent,
    aggregate,
    evaluate,
)
from kopeck.core.pricing.plan import PlanSpec
from kopeck.core.pricing.tiers import tier_texts
from tests.core.pricing.test_spec_json import EXAMPLES

FLOAT = 'must be a decimal string such as "0.50", not a JSON float or boolean'
START = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(("build", "field"), [
    (lambda: PriceTier(0.5, None, Decimal(1)), "from"),  # type: ignore[arg-type]
    (lambda: PriceTier(Decimal(0), 1.5, Decimal(1)), "up_to"),  # type: ignore[arg-type]
    (lambda: PriceTier(Decimal(0), None, 1.5), "unit_price"),  # type: ignore[arg-type]
    (lambda: ComponentSpec("c", Standard(Decimal(1)), included_units=1.5), "included_units"),  # type: ignore[arg-type]
    (lambda: ComponentSpec("c", Standard(Decimal(1)), minimum=1.5), "minimum"),  # type: ignore[arg-type]
])
def test_a_value_built_directly_names_the_field_it_refuses(build: Any, field: str) -> None:
    with pytest.raises(SpecError) as info:
        build()
    assert (info.value.field, info.value.message) == (field, FLOAT)


def test_tier_texts_call_a_tier_a_tier_by_default() -> None:
    tiers = (PriceTier(Decimal(0), Decimal(100), Decimal(5)), PriceTier(Decimal(100), None, Decimal(4)))
    assert [t.label for t in tier_texts(tiers, "unit_price")] == ["tier 1 [0, 100)", "tier 2 [100, ∞)"]


def _plan(**changes: object) -> dict[str, Any]:
    data: dict[str, Any] = {"code": "p", "billing_period": {"unit": "month", "count": 1}, "currencies": ["RUB"],
                            "components": [{"code": "base", "kind": "fixed",
                                            "prices": {"RUB": {"model": "standard", "unit_price": "10"}}}]}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_a_plan_without_a_name_has_an_empty_one() -> None:
    assert PlanSpec.from_dict(_plan()).name == ""


def test_a_plan_without_a_billing_period_is_refused_by_name() -> None:
    with pytest.raises(SpecError) as info:
        PlanSpec.from_dict(_plan(billing_period=None))
    assert (info.value.field, info.value.message) == ("billing_period", "is required")


def test_a_usage_period_must_end_after_it_starts() -> None:
    with pytest.raises(UsageError) as info:
        Usage(start=START, end=START)
    assert (info.value.field, info.value.message) == ("end", "the period must end after it starts")


def test_a_graduated_percentage_rate_of_100_is_accepted() -> None:
    spec = ComponentSpec("payouts", GraduatedPercentage.from_dict({"tiers": [
        {"from": "0", "up_to": "1000", "rate": "100"}, {"from": "1000", "up_to": None, "rate": "0"}]}))
    # 100 % of the first 1000, 0 % of the 500 after: 1000.00
    assert evaluate(spec, "1500", "RUB").amount.to_str() == "1000.00"


def test_the_stairstep_line_names_the_range_after_the_first() -> None:
    # 12 users fall in the second range [10, 50): 3000.00
    line, = evaluate(ComponentSpec.from_dict(EXAMPLES["stairstep"]), "12", "RUB").lines
    assert (line.tier, line.as_dict()["tier"], line.label, line.amount.to_str()) == (1, 1, "range 2 [10, 50)",
                                                                                     "3000.00")


def test_a_charge_without_a_line_explains_itself_as_no_charge() -> None:
    spec = ComponentSpec.from_dict({"code": "storage", "model": "graduated", "tiers": [
        {"from": "0", "up_to": "100", "unit_price": "5.00"}, {"from": "100", "up_to": None, "unit_price": "4.00"}]})
    charge = evaluate(spec, "0", "RUB")
    assert (charge.lines, charge.amount.to_str()) == ((), "0.00")
    assert charge.explanation.formula == "no charge = 0.00"


@pytest.mark.parametrize("data", [{"code": "acq", "model": "percentage", "rate": "2.9"},
                                  EXAMPLES["graduated_percentage"]])
def test_no_transactions_are_a_quantity_of_zero(data: dict[str, Any]) -> None:
    spec = ComponentSpec.from_dict(data)
    charge = evaluate(spec, Usage.of_transactions([]), "RUB")
    assert isinstance(charge.quantity, Decimal)
    assert (charge.as_dict()["quantity"], charge.amount.to_str()) == ("0", "0.00")
    assert charge.explanation.en == f"{spec.code}: {spec.model.MODEL} model, quantity 0, total 0.00 RUB"


def test_a_quantity_equal_to_the_included_units_leaves_nothing_billable() -> None:
    spec = ComponentSpec.from_dict({**EXAMPLES["standard"], "included_units": "10"})
    charge = evaluate(spec, "10.000", "RUB")
    assert (str(charge.billable_quantity), charge.amount.to_str()) == ("0", "0.00")
    assert charge.explanation.en == "api_calls: standard model, quantity 10.000 (10 included, 0 billable), total 0.00 RUB"


def test_one_free_unit_is_singular() -> None:
    spec = ComponentSpec.from_dict({**EXAMPLES["standard"], "included_units": "1"})
    included = evaluate(spec, "5", "RUB").lines[0]
    assert included.explanation.en == "Included: 1 of 1 free unit used"


def test_one_event_and_two_duplicates_are_counted_in_words() -> None:
    events = [UsageEvent("a", START, {"gb": "3"}), UsageEvent("a", START + dt.timedelta(hours=1), {"gb": "5"}),
              UsageEvent("a", START + dt.timedelta(hours=2), {"gb": "7"})]
    result = aggregate(AggregationSpec("sum", "gb"), events)
    assert (result.quantity, result.events_counted, result.duplicates) == (Decimal(3), 1, ("a", "a"))
    assert (result.explanation.ru, result.explanation.en) == (
        "Агрегация «сумма» свойства «gb»: 3 по 1 событию, повторов отброшено: 2",
        "Aggregation sum of 'gb': 3 over 1 event, 2 duplicates ignored")


def test_a_fixed_fee_for_one_transaction_is_singular() -> None:
    spec = ComponentSpec.from_dict({"code": "acq", "model": "percentage", "rate": "2", "fixed_fee": "0.30"})
    fee = next(ln for ln in evaluate(spec, Usage.of_transactions(["10"]), "RUB").lines
               if ln.kind.value == "transaction_fee")
    assert fee.explanation.en == "Fixed fee: 1 transaction × 0.30 = 0.30 RUB"
