"""A plan's edges: the default quantity of one, a metered component without usage costing nothing,
a minimum commitment met exactly, a trial in the JSON form, a component named like its price, and
refusals naming their field; a meter's dial of any positive size; a tiered package's flat fee."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from kopeck.core.pricing import AggregationSpec, ComponentSpec, SpecError, evaluate
from kopeck.core.pricing.plan import PlanSpec, price_plan

D = dt.date


def plan(**overrides: Any) -> PlanSpec:
    data: dict[str, Any] = {
        "code": "p", "billing_period": {"unit": "month", "count": 1}, "currencies": ["RUB", "USD"],
        "components": [
            {"code": "base", "name": "Base", "kind": "fixed",
             "prices": {c: {"model": "standard", "unit_price": "100.00"} for c in ("RUB", "USD")}},
            {"code": "seats", "kind": "per_unit",
             "prices": {c: {"model": "standard", "unit_price": "30.00"} for c in ("RUB", "USD")}},
            {"code": "calls", "kind": "metered",
             "prices": {c: {"model": "standard", "unit_price": "0.50"} for c in ("RUB", "USD")}}],
    }
    data.update(overrides)
    return PlanSpec.from_dict(data)


def test_one_unit_and_no_usage_by_default() -> None:
    charge = price_plan(plan(), "RUB")
    # 100.00 + 1 × 30.00 + calls without usage: 0 × 0.50
    assert [(c.component.code, c.amount.to_str()) for c in charge.components] == [
        ("base", "100.00"), ("seats", "30.00"), ("calls", "0.00")]
    assert charge.total.to_str() == "130.00"


def test_a_minimum_commitment_met_exactly_adds_nothing() -> None:
    met = price_plan(plan(minimum_commitment={"RUB": "160.00"}), "RUB", quantity=2)  # 100 + 60 = 160
    assert (met.extras, met.total.to_str()) == ((), "160.00")
    short = price_plan(plan(minimum_commitment={"RUB": "160.01"}), "RUB", quantity=2)
    assert [(e.kind, e.amount.to_str()) for e in short.extras] == [("minimum_commitment", "0.01")]


def test_no_setup_fee_in_a_currency_without_one() -> None:
    charge = price_plan(plan(setup_fee={"RUB": "500.00"}), "USD", setup_fee=True)
    assert (charge.extras, charge.total.to_str()) == ((), "130.00")


@pytest.mark.parametrize(("trial", "expected"), [({"days": 14}, {"days": 14}), ({"periods": 2}, {"periods": 2}),
                                                 (None, None)])
def test_a_trial_in_the_json_form(trial: dict[str, int] | None, expected: dict[str, int] | None) -> None:
    spec = plan(trial=trial)
    assert spec.to_dict()["trial"] == expected
    assert PlanSpec.from_dict(spec.to_dict()) == spec


def test_a_price_named_like_its_component_is_written_without_its_name() -> None:
    base = plan().to_dict()["components"][0]
    assert base["name"] == "Base" and "name" not in base["prices"]["RUB"]
    renamed = plan(components=[{"code": "base", "name": "Base", "kind": "fixed",
                                "prices": {c: {"model": "standard", "unit_price": "1", "name": "Other"}
                                           for c in ("RUB", "USD")}}])
    assert renamed.to_dict()["components"][0]["prices"]["RUB"]["name"] == "Other"


@pytest.mark.parametrize(("make", "text"), [
    (lambda: plan(components=[{"code": "base", "prices": {}}]), "components[0].kind: use one of fixed, per_unit, metered"),
    (lambda: plan(setup_fee={"RUB": 1.5}),
     'setup_fee.RUB: must be a decimal string such as "0.50", not a JSON float or boolean'),
    (lambda: plan().require_currency("EUR"), "currency: the plan has no price in EUR; it is priced in RUB, USD"),
    (lambda: AggregationSpec("meter_reading", None, 10.5),  # type: ignore[arg-type]
     'aggregation.max_value: must be a decimal string such as "0.50", not a JSON float or boolean'),
])
def test_refusals_name_their_field(make: Any, text: str) -> None:
    with pytest.raises(SpecError) as info:
        make()
    assert str(info.value) == text


def test_a_meter_dial_of_any_positive_size() -> None:
    assert AggregationSpec("meter_reading", None, Decimal(1)).max_value == Decimal(1)
    assert AggregationSpec("meter_reading", None, "0.5").max_value == Decimal("0.5")  # type: ignore[arg-type]


def test_a_tiered_package_line_carries_its_flat_fee() -> None:
    spec = ComponentSpec.from_dict({"code": "mail", "model": "tiered_package", "package_size": "100", "tiers": [
        {"from": "0", "up_to": "100", "package_price": "5.00", "flat_fee": "1.00"},
        {"from": "100", "up_to": None, "package_price": "4.00", "flat_fee": "2.00"}]})
    charge = evaluate(spec, 150, "RUB")
    # 1 × 5.00 + 1.00 = 6.00; ⌈50 / 100⌉ = 1 × 4.00 + 2.00 = 6.00
    assert [(ln.tier, str(ln.units), str(ln.flat_fee), ln.amount.to_str()) for ln in charge.lines] == [
        (0, "1", "1.00", "6.00"), (1, "1", "2.00", "6.00")]
