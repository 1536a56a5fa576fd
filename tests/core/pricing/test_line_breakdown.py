"""Every priced line states the breakdown of its amount — ``amount = round(units × unit_price +
flat_fee)`` (``ChargeLine``'s contract) — with the flat fee of the tier it prices: the line's fields
(and its JSON form, which the price preview shows) must add up to the amount charged. A volume line
that charged a tier's flat fee but stated 0 as its flat fee survived the mutation run."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from kopeck.core.pricing import ComponentSpec, LineKind, Usage, evaluate

TIERS = [
    {"from": "0", "up_to": "100", "unit_price": "1.00"},
    {"from": "100", "up_to": "1000", "unit_price": "0.80", "flat_fee": "10.00"},
    {"from": "1000", "up_to": None, "unit_price": "0.50", "flat_fee": "0.005"},
]


def spec(model: str, **params: Any) -> ComponentSpec:
    return ComponentSpec.from_dict({"code": "c", "model": model, **params})


# (model, parameters, quantity): each line as (kind, tier, units, unit price, flat fee, amount)
CASES: list[tuple[str, dict[str, Any], Any, list[tuple[LineKind, int | None, str, str, str, str]]]] = [
    # 101 × 0.80 + 10.00 = 90.80: all units priced at tier 2, its flat fee once
    ("volume", {"tiers": TIERS}, 101, [(LineKind.VOLUME, 1, "101", "0.80", "10.00", "90.80")]),
    # 1001 × 0.50 + 0.005 = 500.505 → 500.51 (half-up)
    ("volume", {"tiers": TIERS}, 1001, [(LineKind.VOLUME, 2, "1001", "0.50", "0.005", "500.51")]),
    ("volume", {"tiers": TIERS}, 50, [(LineKind.VOLUME, 0, "50", "1.00", "0", "50.00")]),
    # 100 × 1.00; 900 × 0.80 + 10.00 = 730.00; 1 × 0.50 + 0.005 = 0.505 → 0.51
    ("graduated", {"tiers": TIERS}, 1001, [(LineKind.TIER, 0, "100", "1.00", "0", "100.00"),
                                           (LineKind.TIER, 1, "900", "0.80", "10.00", "730.00"),
                                           (LineKind.TIER, 2, "1", "0.50", "0.005", "0.51")]),
    # 1000 units → 10 packages × 10.00; 250 → ⌈2.5⌉ = 3 packages × 8.00 + 1.00 = 25.00
    ("tiered_package", {"package_size": "100", "tiers": [
        {"from": "0", "up_to": "1000", "package_price": "10.00"},
        {"from": "1000", "up_to": None, "package_price": "8.00", "flat_fee": "1.00"}]}, 1250,
     [(LineKind.TIER, 0, "10", "10.00", "0", "100.00"), (LineKind.TIER, 1, "3", "8.00", "1.00", "25.00")]),
    # 10000 × 2 % = 200.00; 5000.00 × 1 % + 50.00 = 100.00 (the unit price is the rate as a fraction)
    ("graduated_percentage", {"tiers": [
        {"from": "0", "up_to": "10000", "rate": "2"},
        {"from": "10000", "up_to": None, "rate": "1", "flat_fee": "50.00"}]},
     Usage.of_transactions(["9000.00", "6000.00"]),
     [(LineKind.TIER, 0, "10000", "0.02", "0", "200.00"), (LineKind.TIER, 1, "5000.00", "0.01", "50.00", "100.00")]),
    # a range's fixed price: one unit at that price, no flat fee
    ("stairstep", {"tiers": [{"from": "0", "up_to": "10", "price": "100.00"},
                             {"from": "10", "up_to": None, "price": "300.00"}]}, 11,
     [(LineKind.STAIRSTEP, 1, "1", "300.00", "0", "300.00")]),
    ("standard", {"unit_price": "2.505"}, 3, [(LineKind.UNITS, None, "3", "2.505", "0", "7.52")]),
    ("package", {"package_size": "100", "package_price": "5.00"}, 1250,
     [(LineKind.PACKAGE, None, "13", "5.00", "0", "65.00")]),
]


@pytest.mark.parametrize(("model", "params", "quantity", "expected"), CASES)
def test_a_priced_line_states_the_parts_of_its_amount(model: str, params: dict[str, Any], quantity: Any,
                                                      expected: list[tuple[Any, ...]]) -> None:
    charge = evaluate(spec(model, **params), quantity, "RUB")
    got = [(line.kind, line.tier, line.units, line.unit_price, line.flat_fee, line.amount.to_str())
           for line in charge.lines]
    assert got == [(kind, tier, Decimal(units), Decimal(price), Decimal(fee), amount)
                   for kind, tier, units, price, fee, amount in expected]
    for line in charge.lines:  # the contract: the stated parts give the amount, rounded once half-up
        exact = line.units * line.unit_price + line.flat_fee
        assert line.amount.amount == exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def test_the_json_form_of_a_volume_line_carries_its_flat_fee() -> None:
    (line,) = evaluate(spec("volume", tiers=TIERS), 101, "RUB").as_dict()["lines"]
    assert {k: line[k] for k in ("kind", "tier", "units", "unit_price", "flat_fee", "amount")} == {
        "kind": "volume", "tier": 1, "units": "101", "unit_price": "0.80", "flat_fee": "10.00", "amount": "90.80"}
