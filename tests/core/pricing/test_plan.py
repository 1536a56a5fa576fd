from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kopeck.core.money import Money
from kopeck.core.periods import Period
from kopeck.core.pricing import SpecError, Usage, UsageError
from kopeck.core.pricing.plan import ComponentKind, PlanSpec, Timing, price_plan


def plan_json(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "code": "vps", "name": "VPS", "billing_period": {"unit": "month", "count": 1},
        "currencies": ["RUB", "USD"],
        "setup_fee": {"RUB": "1000.00"},
        "minimum_commitment": {"RUB": "1500.00"},
        "components": [
            {"code": "base", "kind": "fixed",
             "prices": {"RUB": {"model": "standard", "unit_price": "990.00"},
                        "USD": {"model": "standard", "unit_price": "12.00"}}},
            {"code": "seats", "kind": "per_unit",
             "prices": {"RUB": {"model": "standard", "unit_price": "100.00"},
                        "USD": {"model": "standard", "unit_price": "1.50"}}},
            {"code": "traffic", "kind": "metered",
             "prices": {cur: {"model": "graduated", "tiers": [
                 {"from": "0", "up_to": "100", "unit_price": "0"},
                 {"from": "100", "up_to": None, "unit_price": "2.00"}]} for cur in ("RUB", "USD")}},
        ],
    }
    base.update(overrides)
    return base


NOV = Period(dt.date(2026, 11, 1), dt.date(2026, 12, 1))


def test_parse_defaults_and_round_trip() -> None:
    plan = PlanSpec.from_dict(plan_json())
    assert plan.currencies == ("RUB", "USD")
    assert [(c.code, c.kind, c.timing) for c in plan.components] == [
        ("base", ComponentKind.FIXED, Timing.IN_ADVANCE), ("seats", ComponentKind.PER_UNIT, Timing.IN_ADVANCE),
        ("traffic", ComponentKind.METERED, Timing.IN_ARREARS)]
    assert PlanSpec.from_dict(plan.to_dict()) == plan


def test_full_period_with_usage() -> None:
    plan = PlanSpec.from_dict(plan_json())
    # 990 + 3 × 100 + (150 − 100) × 2 = 1390 < 1500 → top-up 110; no setup fee asked
    charge = price_plan(plan, "RUB", quantity=3, usage={"traffic": Usage.of_quantity(150)}, period=NOV)
    assert [c.amount for c in charge.components] == [Money("990.00", "RUB"), Money("300.00", "RUB"),
                                                     Money("100.00", "RUB")]
    assert [(e.kind, e.amount) for e in charge.extras] == [("minimum_commitment", Money("110.00", "RUB"))]
    assert charge.total == Money("1500.00", "RUB")


def test_partial_period_prorates_fixed_and_per_unit_only() -> None:
    plan = PlanSpec.from_dict(plan_json())
    used = Period(dt.date(2026, 11, 16), dt.date(2026, 12, 1))  # 15 of 30 days
    charge = price_plan(plan, "RUB", quantity=3, usage={"traffic": Usage.of_quantity(150)}, period=NOV, used=used,
                        setup_fee=True)
    # 495 + 150 + 100 = 745; top-up to 1500 = 755; setup fee 1000 → 2500
    assert [c.amount.amount for c in charge.components] == [Decimal("495.00"), Decimal("150.00"), Decimal("100.00")]
    assert [(e.kind, e.amount.amount) for e in charge.extras] == [("minimum_commitment", Decimal("755.00")),
                                                                  ("setup_fee", Decimal("1000.00"))]
    assert charge.total == Money("2500.00", "RUB")
    assert "15/30" in charge.components[0].explanation.en


def test_usd_has_no_minimum_or_setup_fee() -> None:
    plan = PlanSpec.from_dict(plan_json())
    charge = price_plan(plan, "USD", quantity=2, setup_fee=True)
    assert charge.total == Money("15.00", "USD")  # 12 + 2 × 1.50, traffic 0
    assert charge.extras == ()


@pytest.mark.parametrize(("mutate", "field"), [
    (lambda p: p.update(currencies=[]), "currencies"),
    (lambda p: p.update(currencies=["RUB", "RUB"]), "currencies[1]"),
    (lambda p: p.update(currencies=["RUB", "XYZ"]), "currencies[1]"),
    (lambda p: p["components"][0]["prices"].pop("USD"), "components[0].prices.USD"),
    (lambda p: p["components"][0]["prices"].update(EUR={"model": "standard", "unit_price": "1"}),
     "components[0].prices.EUR"),
    (lambda p: p["components"][2]["prices"]["RUB"]["tiers"][1].update({"from": "101"}),
     "components[2].prices.RUB.tiers[1].from"),
    (lambda p: p["components"][0]["prices"]["RUB"].update(unit_price="-1"), "components[0].prices.RUB.unit_price"),
    (lambda p: p["components"][1].update(code="base"), "components[1].code"),
    (lambda p: p["components"][1].update(kind="weekly"), "components[1].kind"),
    (lambda p: p.update(trial={"days": 0}), "trial.days"),
    (lambda p: p.update(trial={"days": 1, "periods": 1}), "trial"),
    (lambda p: p.update(setup_fee={"RUB": "1.001"}), "setup_fee.RUB"),
    (lambda p: p.update(billing_period={"unit": "fortnight"}), "billing_period"),
    (lambda p: p.update(colour="red"), "colour"),
])
def test_invalid_plans_name_the_field(mutate: Any, field: str) -> None:
    data = plan_json()
    mutate(data)
    with pytest.raises(SpecError) as err:
        PlanSpec.from_dict(data)
    assert err.value.field == field


def test_pricing_refusals() -> None:
    plan = PlanSpec.from_dict(plan_json())
    with pytest.raises(SpecError) as err:
        price_plan(plan, "EUR")
    assert err.value.field == "currency"
    with pytest.raises(UsageError) as uerr:
        price_plan(plan, "RUB", quantity=0)
    assert uerr.value.field == "quantity"
    with pytest.raises(UsageError) as uerr:
        price_plan(plan, "RUB", usage={"base": Usage.of_quantity(1)})
    assert uerr.value.field == "usage.base"
    with pytest.raises(UsageError) as uerr:
        price_plan(plan, "RUB", period=NOV, used=Period(dt.date(2026, 10, 20), dt.date(2026, 11, 5)))
    assert uerr.value.field == "used"


@given(st.integers(min_value=1, max_value=29))
def test_prorated_halves_add_up_to_at_most_a_minor_unit_off(split: int) -> None:
    plan = PlanSpec.from_dict(plan_json(minimum_commitment={}))
    cut = dt.date(2026, 11, 1) + dt.timedelta(days=split)
    first = price_plan(plan, "RUB", period=NOV, used=Period(NOV.start, cut))
    second = price_plan(plan, "RUB", period=NOV, used=Period(cut, NOV.end))
    full = price_plan(plan, "RUB", period=NOV)
    # each piece is rounded once per line; two pieces differ from the whole by at most 1 kopeck per line
    assert abs((first.total + second.total - full.total).amount) <= Decimal("0.02")
