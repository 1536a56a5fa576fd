"""Rating runs in a 60-digit decimal context: a product of an 18-digit quantity and a price is exact
before its one rounding (in the default 28-digit context 12345678901234567.124999999999 would become
…567.125 and round up a kopeck). A quantity below the included units bills nothing; readings rate a
component without an aggregation; no transactions cost nothing; a meter with only its opening
reading explains that."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kopeck.core.pricing import ComponentSpec, MeterReading, SpecError, Usage, evaluate, meter_consumption
from kopeck.core.pricing.plan import PlanSpec

T = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def test_a_long_product_is_exact_before_its_rounding() -> None:
    spec = ComponentSpec.from_dict({"code": "c", "model": "standard", "unit_price": "1"})
    assert evaluate(spec, "12345678901234567.124999999999", "RUB").amount.to_str() == "12345678901234567.12"


def test_a_quantity_below_the_included_units_bills_nothing() -> None:
    spec = ComponentSpec.from_dict({"code": "c", "model": "standard", "unit_price": "2.00", "included_units": "10"})
    charge = evaluate(spec, "4", "RUB")
    assert (charge.billable_quantity, charge.amount.to_str()) == (Decimal(0), "0.00")
    assert charge.explanation.en == "c: standard model, quantity 4 (10 included, 0 billable), total 0.00 RUB"


def test_readings_rate_a_component_without_an_aggregation() -> None:
    spec = ComponentSpec.from_dict({"code": "c", "model": "standard", "unit_price": "2.00"})
    usage = Usage.of_readings([MeterReading("a", T, Decimal(10)), MeterReading("b", T + dt.timedelta(days=1),
                                                                                Decimal(13))])
    assert evaluate(spec, usage, "RUB").amount.to_str() == "6.00"  # 3 × 2.00


def test_no_transactions_cost_nothing() -> None:
    for spec in (ComponentSpec.from_dict({"code": "p", "model": "percentage", "rate": "2"}),
                 ComponentSpec.from_dict({"code": "g", "model": "graduated_percentage", "tiers": [
                     {"from": "0", "up_to": None, "rate": "2"}]})):
        charge = evaluate(spec, Usage.of_transactions([]), "RUB")
        assert (str(charge.quantity), charge.amount.to_str()) == ("0", "0.00")


def test_a_meter_with_only_its_opening_reading() -> None:
    result = meter_consumption([MeterReading("a", T, Decimal(10))])
    assert result.explanation.formula == "consumption = Σ segments = 0 (no readings after the opening one)"


@pytest.mark.parametrize(("data", "text"), [
    ({"code": "c", "model": "standard", "unit_price": "1", "included_units": 1.0},
     'included_units: must be a decimal string such as "0.50", not a JSON float or boolean'),
])
def test_included_units_refused_by_name(data: dict[str, object], text: str) -> None:
    with pytest.raises(SpecError) as info:
        ComponentSpec.from_dict(data)
    assert str(info.value) == text


@pytest.mark.parametrize(("missing", "text"), [("currencies", "currencies: is required"),
                                               ("components", "components: is required")])
def test_a_plan_names_what_is_missing(missing: str, text: str) -> None:
    data = {"code": "p", "billing_period": {"unit": "month", "count": 1}, "currencies": ["RUB"],
            "components": [{"code": "b", "kind": "fixed", "prices": {"RUB": {"model": "standard", "unit_price": "1"}}}]}
    del data[missing]
    with pytest.raises(SpecError) as info:
        PlanSpec.from_dict(data)
    assert str(info.value) == text


def test_a_currency_and_a_rounding_quantum_not_seen_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """The caches of currencies and rounding quanta start empty in a new process: the first charge in
    a currency fills them (a cache that returned nothing on a miss would break the first charge)."""
    from kopeck.core.pricing import component, lines

    monkeypatch.setattr(component, "_CURRENCIES", {})
    monkeypatch.setattr(lines, "_QUANTA", {})
    spec = ComponentSpec.from_dict({"code": "c", "model": "standard", "unit_price": "0.125"})
    # 3 × 0.125 = 0.375 → 0.38 (RUB, 2 places); in JPY (0 places) 0.375 → 0
    assert evaluate(spec, 3, "RUB").amount.to_str() == "0.38"
    assert evaluate(spec, 3, "RUB").amount.to_str() == "0.38"  # from the caches
    assert evaluate(spec, 3, "JPY").amount.to_str() == "0"
    assert set(component._CURRENCIES) == {"RUB", "JPY"} and set(lines._QUANTA) == {2, 0}
