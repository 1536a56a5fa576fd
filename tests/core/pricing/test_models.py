"""Hand-computed examples for every charge model (the arithmetic is in the comments)."""

from decimal import Decimal
from typing import Any

import pytest

from kopeck.core.money import Money
from kopeck.core.pricing import (
    Charge,
    ComponentSpec,
    LineKind,
    Percentage,
    Usage,
    UsageError,
    evaluate,
)


def spec(model: str, **params: Any) -> ComponentSpec:
    return ComponentSpec.from_dict({"code": "c", "model": model, **params})


def rub(x: str) -> Money:
    return Money(x, "RUB")


def amounts(charge: Charge) -> list[str]:
    return [line.amount.to_str() for line in charge.lines]


TIERS = [
    {"from": "0", "up_to": "100", "unit_price": "1.00"},
    {"from": "100", "up_to": "1000", "unit_price": "0.80", "flat_fee": "10.00"},
    {"from": "1000", "up_to": None, "unit_price": "0.50"},
]


# --- standard -----------------------------------------------------------------------------------


def test_standard_rounds_once_half_up() -> None:
    charge = evaluate(spec("standard", unit_price="2.505"), 3, "RUB")
    # 3 × 2.505 = 7.515 → 7.52 (half-up)
    assert charge.amount == rub("7.52")
    (line,) = charge.lines
    assert line.kind is LineKind.UNITS and line.units == 3 and line.unit_price == Decimal("2.505")
    assert line.explanation.en == "3 units × 2.505 = 7.52 RUB"
    assert line.explanation.ru == "3 ед. × 2.505 = 7.52 RUB"
    assert line.explanation.formula == "units × unit price = 3 × 2.505 = 7.52"


def test_zero_quantity_costs_nothing() -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("standard", {"unit_price": "1"}), ("graduated", {"tiers": TIERS}), ("volume", {"tiers": TIERS}),
        ("package", {"package_size": "10", "package_price": "1"})]
    for model, params in cases:
        charge = evaluate(spec(model, **params), 0, "RUB")
        assert charge.amount == rub("0.00") and charge.lines == ()


# --- graduated ----------------------------------------------------------------------------------


def test_graduated_tier_boundary_convention() -> None:
    g = spec("graduated", tiers=TIERS)
    # 100 units all fall in [0, 100): 100 × 1.00 = 100.00 — tier 2 is not entered, no flat fee
    assert amounts(evaluate(g, 100, "RUB")) == ["100.00"]
    # 101 units: 100 × 1.00 = 100.00; 1 × 0.80 + 10.00 = 10.80
    assert amounts(evaluate(g, 101, "RUB")) == ["100.00", "10.80"]


def test_graduated_all_tiers() -> None:
    charge = evaluate(spec("graduated", tiers=TIERS), 1001, "RUB")
    # [0,100): 100 × 1.00 = 100.00; [100,1000): 900 × 0.80 + 10.00 = 730.00; [1000,∞): 1 × 0.50 = 0.50
    assert amounts(charge) == ["100.00", "730.00", "0.50"]
    assert charge.amount == rub("830.50")
    assert [line.tier for line in charge.lines] == [0, 1, 2]
    assert [line.units for line in charge.lines] == [100, 900, 1]
    second = charge.lines[1]
    assert second.label == "tier 2 [100, 1000)" and second.flat_fee == Decimal("10.00")
    assert second.explanation.en == "Tier 2 [100, 1000): 900 units × 0.80 + flat fee 10.00 = 730.00 RUB"
    assert second.explanation.ru == "Ступень 2 [100, 1000): 900 ед. × 0.80 + фикс. плата 10.00 = 730.00 RUB"
    assert second.explanation.formula == \
        "tier 2: units in tier × unit price + flat fee = 900 × 0.80 + 10.00 = 730.00"
    assert charge.explanation.formula == "100.00 + 730.00 + 0.50 = 830.50"


def test_graduated_rounds_each_line_once() -> None:
    tiers = [{"from": "0", "up_to": "1", "unit_price": "0.005"}, {"from": "1", "up_to": None, "unit_price": "0.005"}]
    charge = evaluate(spec("graduated", tiers=tiers), 2, "RUB")
    # each tier: 1 × 0.005 = 0.005 → 0.01; the charge is the sum of the rounded lines = 0.02
    assert amounts(charge) == ["0.01", "0.01"] and charge.amount == rub("0.02")


def test_graduated_fractional_quantity_and_other_currencies() -> None:
    charge = evaluate(spec("graduated", tiers=TIERS), "150.5", "JPY")
    # 100 × 1.00 = 100; 50.5 × 0.80 + 10.00 = 50.40 → 50 (JPY has no minor unit)
    assert amounts(charge) == ["100", "50"]
    assert charge.amount == Money("150", "JPY")
    # the memo of full tiers is per currency
    assert evaluate(spec("graduated", tiers=TIERS), 1001, "USD").amount == Money("830.50", "USD")


# --- volume -------------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity,amount,tier", [
    ("1", "1.00", 0),  # 1 × 1.00
    ("100", "100.00", 0),  # the 100th unit is still in [0, 100): 100 × 1.00
    ("101", "90.80", 1),  # 101 × 0.80 + 10.00 = 90.80 (cheaper than 100 units: a "cliff")
    ("1000", "810.00", 1),  # 1000 × 0.80 + 10.00
    ("1001", "500.50", 2),  # 1001 × 0.50
    ("0.5", "0.50", 0),  # 0.5 × 1.00
])
def test_volume(quantity: str, amount: str, tier: int) -> None:
    charge = evaluate(spec("volume", tiers=TIERS), quantity, "RUB")
    assert charge.amount == rub(amount)
    (line,) = charge.lines
    assert line.kind is LineKind.VOLUME and line.tier == tier and line.units == Decimal(quantity)


def test_volume_explanation_and_cliffs() -> None:
    v = spec("volume", tiers=TIERS)
    (line,) = evaluate(v, 101, "RUB").lines
    assert line.explanation.en == \
        "Volume of 101 units falls in tier 2 [100, 1000), priced for all units: 101 × 0.80 + flat fee 10.00 = 90.80 RUB"
    assert line.explanation.formula == "all units × tier 2 unit price + flat fee = 101 × 0.80 + 10.00 = 90.80"
    # 100 × 1.00 = 100 > 100 × 0.80 + 10 = 90; 1000 × 0.80 + 10 = 810 > 1000 × 0.50 = 500
    assert v.model.cliffs() == (Decimal(100), Decimal(1000))  # type: ignore[union-attr]


# --- package ------------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity,packages,amount", [
    (1250, 12, "60.00"),  # 1250 − 50 free = 1200 → ⌈1200/100⌉ = 12 × 5.00
    (1251, 13, "65.00"),  # 1201 → 13 packages
    (51, 1, "5.00"),  # 1 paid unit → 1 package
])
def test_package_with_free_units(quantity: int, packages: int, amount: str) -> None:
    charge = evaluate(spec("package", package_size="100", package_price="5.00", included_units="50"),
                      quantity, "RUB")
    assert charge.amount == rub(amount)
    included, line = charge.lines
    assert included.kind is LineKind.INCLUDED and included.units == 50 and included.amount == rub("0.00")
    assert line.kind is LineKind.PACKAGE and line.units == packages
    assert charge.billable_quantity == quantity - 50


def test_package_within_free_units() -> None:
    charge = evaluate(spec("package", package_size="100", package_price="5.00", included_units="50"), 30, "RUB")
    # 30 ≤ 50 free units: no packages
    assert charge.amount == rub("0.00")
    assert [line.kind for line in charge.lines] == [LineKind.INCLUDED]
    assert charge.lines[0].explanation.en == "Included: 30 of 50 free units used"


def test_package_explanation() -> None:
    (line,) = evaluate(spec("package", package_size="100", package_price="5.00"), 1250, "RUB").lines
    assert line.explanation.en == "Packages of 100: ⌈1250 / 100⌉ = 13 packages × 5.00 = 65.00 RUB"
    assert line.explanation.formula == "ceil(units / package size) × package price = ceil(1250 / 100) × 5.00 = 65.00"


# --- tiered package -----------------------------------------------------------------------------


def test_tiered_package() -> None:
    s = spec("tiered_package", package_size="100", tiers=[
        {"from": "0", "up_to": "1000", "package_price": "10.00"},
        {"from": "1000", "up_to": None, "package_price": "8.00", "flat_fee": "1.00"},
    ])
    charge = evaluate(s, 1250, "RUB")
    # [0,1000): 1000 units → 10 packages × 10.00 = 100.00; [1000,∞): 250 → ⌈2.5⌉ = 3 × 8.00 + 1.00 = 25.00
    assert amounts(charge) == ["100.00", "25.00"] and charge.amount == rub("125.00")
    assert [line.units for line in charge.lines] == [10, 3]
    assert evaluate(s, 1, "RUB").amount == rub("10.00")  # 1 unit → one package of tier 1


# --- percentage ---------------------------------------------------------------------------------


def test_percentage_basic() -> None:
    s = spec("percentage", rate="2.9", fixed_fee="0.30")
    charge = evaluate(s, Usage.of_transactions(["100.00", "50.00", "10.00"]), "RUB")
    # 2.9 % × 160.00 = 4.64; 3 × 0.30 = 0.90; total 5.54
    assert amounts(charge) == ["4.64", "0.90"] and charge.amount == rub("5.54")
    assert charge.quantity == Decimal("160.00")
    assert charge.lines[0].explanation.en == "2.9% of 160.00 over 3 transactions = 4.64 RUB"


def test_percentage_free_transactions_and_free_amount() -> None:
    s = spec("percentage", rate="2.9", fixed_fee="0.30", free_transactions=1, free_amount="70")
    charge = evaluate(s, Usage.of_transactions(["100.00", "50.00", "30.00", "10.00"]), "RUB")
    # tx1 100.00: free transaction; tx2 50.00: covered by the free amount (70 → 20 left), free;
    # tx3 30.00: 20 free, 10.00 charged; tx4 10.00 charged → rated 20.00
    # 2.9 % × 20.00 = 0.58; 2 × 0.30 = 0.60; total 1.18
    assert [line.kind for line in charge.lines] == [LineKind.FREE, LineKind.PERCENTAGE, LineKind.TRANSACTION_FEE]
    assert charge.lines[0].units == 2
    assert amounts(charge) == ["0.00", "0.58", "0.60"] and charge.amount == rub("1.18")


def test_percentage_min_and_max_per_transaction() -> None:
    s = spec("percentage", rate="2.9", fixed_fee="0.30", min_per_transaction="0.50", max_per_transaction="2.00")
    charge = evaluate(s, Usage.of_transactions(["1.00", "100.00", "20.00"]), "RUB")
    # per transaction: 1.00 → 0.029 + 0.30 = 0.329 → raised to 0.50 (+0.171)
    #                  100.00 → 2.90 + 0.30 = 3.20 → capped at 2.00 (−1.20)
    #                  20.00 → 0.58 + 0.30 = 0.88
    # exact total 0.50 + 2.00 + 0.88 = 3.38
    # lines: rate 2.9 % × 121.00 = 3.509 → 3.51; fees 0.90; limits 3.38 − 3.51 − 0.90 = −1.03
    assert amounts(charge) == ["3.51", "0.90", "-1.03"] and charge.amount == rub("3.38")
    limits = charge.lines[-1]
    assert limits.kind is LineKind.LIMITS and limits.units == 2
    assert "1 raised to the minimum 0.50 (+0.171)" in limits.explanation.en


def test_percentage_cap_at_zero_never_goes_negative() -> None:
    s = spec("percentage", rate="0.4", fixed_fee="0.004", max_per_transaction="0")
    charge = evaluate(s, Usage.of_transactions(["1.00"]), "RUB")
    # 0.004 → 0.00; fee 0.004 → 0.00; capped to 0: limits = round(0) − 0 − 0 = 0
    assert charge.amount == rub("0.00")


def test_percentage_needs_transactions() -> None:
    s = spec("percentage", rate="1")
    with pytest.raises(UsageError):
        evaluate(s, 100, "RUB")
    with pytest.raises(UsageError) as info:
        evaluate(s, Usage.of_transactions(["-1"]), "RUB")
    assert info.value.field == "transactions[0]"
    assert evaluate(s, Usage.of_transactions([]), "RUB").amount == rub("0.00")
    assert isinstance(s.model, Percentage)


# --- graduated percentage -----------------------------------------------------------------------


def test_graduated_percentage() -> None:
    s = spec("graduated_percentage", tiers=[
        {"from": "0", "up_to": "10000", "rate": "2"},
        {"from": "10000", "up_to": None, "rate": "1", "flat_fee": "50.00"},
    ])
    charge = evaluate(s, Usage.of_transactions(["9000.00", "6000.00"]), "RUB")
    # volume 15000.00: 10000 × 2 % = 200.00; 5000.00 × 1 % + 50.00 = 100.00
    assert amounts(charge) == ["200.00", "100.00"] and charge.amount == rub("300.00")
    assert charge.lines[1].explanation.en == "Tier 2 [10000, ∞): 1% of 5000.00 + flat fee 50.00 = 100.00 RUB"
    assert evaluate(s, "15000", "RUB").amount == rub("300.00")  # a volume given as a quantity


# --- stairstep ----------------------------------------------------------------------------------


@pytest.mark.parametrize("quantity,amount", [
    (0, "0.00"),  # no units, no range
    (1, "100.00"), (10, "100.00"),  # units 0–9 are in [0, 10)
    (11, "300.00"), (50, "300.00"),
    (51, "500.00"), (10_000, "500.00"),
])
def test_stairstep(quantity: int, amount: str) -> None:
    s = spec("stairstep", tiers=[
        {"from": "0", "up_to": "10", "price": "100.00"},
        {"from": "10", "up_to": "50", "price": "300.00"},
        {"from": "50", "up_to": None, "price": "500.00"},
    ])
    assert evaluate(s, quantity, "RUB").amount == rub(amount)


# --- included units and minimum -----------------------------------------------------------------


def test_included_units_apply_before_any_model() -> None:
    charge = evaluate(spec("graduated", tiers=TIERS, included_units="100"), 250, "RUB")
    # 250 − 100 included = 150 billable: 100 × 1.00 = 100.00; 50 × 0.80 + 10.00 = 50.00
    assert amounts(charge) == ["0.00", "100.00", "50.00"] and charge.amount == rub("150.00")
    assert charge.quantity == 250 and charge.billable_quantity == 150


def test_minimum_top_up_is_its_own_line() -> None:
    s = spec("standard", unit_price="1.00", minimum="10.005")
    charge = evaluate(s, 3, "RUB")
    # 3 × 1.00 = 3.00; minimum 10.005 → 10.01; top-up 10.01 − 3.00 = 7.01
    assert amounts(charge) == ["3.00", "7.01"] and charge.amount == rub("10.01")
    top_up = charge.lines[-1]
    assert top_up.kind is LineKind.MINIMUM
    assert top_up.explanation.en == "Minimum 10.01 RUB: charges 3.00 RUB, top-up 7.01 RUB"
    assert evaluate(s, 0, "RUB").amount == rub("10.01")  # the minimum applies even without usage
    assert [line.kind for line in evaluate(s, 20, "RUB").lines] == [LineKind.UNITS]  # above the minimum


def test_negative_quantity_is_refused() -> None:
    with pytest.raises(UsageError) as info:
        evaluate(spec("standard", unit_price="1"), -1, "RUB")
    assert info.value.field == "quantity"


def test_floats_are_refused_as_usage() -> None:
    with pytest.raises(UsageError):
        evaluate(spec("standard", unit_price="1"), 1.5, "RUB")  # type: ignore[arg-type]
