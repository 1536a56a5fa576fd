import json
from typing import Any

import pytest

from kopeck.core.pricing import MODELS, AggregationType, ComponentSpec, SpecError, evaluate

# One example per model, in the exact JSON form the REST API will use.
EXAMPLES: dict[str, dict[str, Any]] = {
    "standard": {"code": "api_calls", "model": "standard", "unit_price": "0.0025"},
    "graduated": {"code": "storage", "name": "Storage, GB", "model": "graduated",
                  "aggregation": {"type": "max", "property": "gb", "max_value": None},
                  "included_units": "10", "minimum": "100.00", "tiers": [
                      {"from": "0", "up_to": "100", "unit_price": "5.00", "flat_fee": "0"},
                      {"from": "100", "up_to": None, "unit_price": "4.00", "flat_fee": "50.00"}]},
    "volume": {"code": "seats", "model": "volume",
               "aggregation": {"type": "unique_count", "property": "user_id", "max_value": None},
               "tiers": [{"from": "0", "up_to": "10", "unit_price": "500.00", "flat_fee": "0"},
                         {"from": "10", "up_to": None, "unit_price": "400.00", "flat_fee": "0"}]},
    "package": {"code": "sms", "model": "package", "included_units": "100",
                "package_size": "1000", "package_price": "900.00"},
    "tiered_package": {"code": "emails", "model": "tiered_package", "package_size": "1000", "tiers": [
        {"from": "0", "up_to": "10000", "package_price": "100.00", "flat_fee": "0"},
        {"from": "10000", "up_to": None, "package_price": "80.00", "flat_fee": "0"}]},
    "percentage": {"code": "acquiring", "model": "percentage",
                   "aggregation": {"type": "sum", "property": "amount", "max_value": None},
                   "rate": "2.9", "fixed_fee": "0.30", "free_amount": "0", "free_transactions": 0,
                   "min_per_transaction": "0.50", "max_per_transaction": "100.00"},
    "graduated_percentage": {"code": "payouts", "model": "graduated_percentage", "tiers": [
        {"from": "0", "up_to": "100000", "rate": "2", "flat_fee": "0"},
        {"from": "100000", "up_to": None, "rate": "1.5", "flat_fee": "500.00"}]},
    "stairstep": {"code": "users", "model": "stairstep", "tiers": [
        {"from": "0", "up_to": "10", "price": "1000.00"},
        {"from": "10", "up_to": "50", "price": "3000.00"},
        {"from": "50", "up_to": None, "price": "5000.00"}]},
}


def test_every_model_has_an_example() -> None:
    assert set(EXAMPLES) == set(MODELS)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_round_trip_through_json(name: str) -> None:
    spec = ComponentSpec.from_dict(EXAMPLES[name])
    data = spec.to_dict()
    assert json.loads(json.dumps(data)) == data  # JSON-compatible
    assert ComponentSpec.from_dict(data) == spec
    assert ComponentSpec.from_dict(data).to_dict() == data
    for key, value in EXAMPLES[name].items():
        assert data[key] == value  # the canonical form keeps what was written


def test_defaults_are_filled_in() -> None:
    data = ComponentSpec.from_dict(EXAMPLES["standard"]).to_dict()
    assert data == {"code": "api_calls", "name": "", "model": "standard", "aggregation": None,
                    "included_units": "0", "minimum": None, "unit_price": "0.0025"}


@pytest.mark.parametrize("patch,field", [
    ({"model": "tiered"}, "model"),
    ({"code": ""}, "code"),
    ({"unit_price": 0.5}, "unit_price"),
    ({"unit_price": "-1"}, "unit_price"),
    ({"included_units": "-1"}, "included_units"),
    ({"minimum": "x"}, "minimum"),
    ({"tiers": []}, "tiers"),  # a field of another model
    ({"aggregation": {"type": "median", "property": "x"}}, "aggregation.type"),
    ({"aggregation": {"type": "sum"}}, "aggregation.property"),
    ({"aggregation": {"type": "sum", "property": "x", "extra": 1}}, "aggregation.extra"),
    ({"aggregation": {"type": "meter_reading", "max_value": "0"}}, "aggregation.max_value"),
    ({"aggregation": {"type": "count", "max_value": "10"}}, "aggregation.max_value"),
])
def test_spec_errors_name_the_field(patch: dict[str, Any], field: str) -> None:
    with pytest.raises(SpecError) as info:
        ComponentSpec.from_dict({**EXAMPLES["standard"], **patch})
    assert info.value.field == field


@pytest.mark.parametrize("patch,field", [
    ({"package_size": "0"}, "package_size"),
    ({"package_price": None}, "package_price"),
])
def test_package_errors(patch: dict[str, Any], field: str) -> None:
    with pytest.raises(SpecError) as info:
        ComponentSpec.from_dict({**EXAMPLES["package"], **patch})
    assert info.value.field == field


@pytest.mark.parametrize("patch,field", [
    ({"rate": "150"}, "rate"),
    ({"free_transactions": -1}, "free_transactions"),
    ({"free_transactions": "3"}, "free_transactions"),
    ({"min_per_transaction": "200"}, "min_per_transaction"),
    ({"included_units": "5"}, "included_units"),
    ({"aggregation": {"type": "max", "property": "amount"}}, "aggregation.type"),
])
def test_percentage_errors(patch: dict[str, Any], field: str) -> None:
    with pytest.raises(SpecError) as info:
        ComponentSpec.from_dict({**EXAMPLES["percentage"], **patch})
    assert info.value.field == field


def test_not_an_object() -> None:
    with pytest.raises(SpecError):
        ComponentSpec.from_dict([])
    with pytest.raises(SpecError) as info:
        ComponentSpec.from_dict({**EXAMPLES["graduated"], "tiers": ["x"]})
    assert info.value.field == "tiers[0]"


def test_examples_evaluate() -> None:
    spec = ComponentSpec.from_dict(EXAMPLES["volume"])
    assert spec.aggregation is not None and spec.aggregation.type is AggregationType.UNIQUE_COUNT
    assert evaluate(spec, 12, "RUB").amount.to_str() == "4800.00"  # 12 × 400.00
    charge = evaluate(ComponentSpec.from_dict(EXAMPLES["graduated"]), 150, "RUB")
    # 150 − 10 included = 140: 100 × 5.00 + (40 × 4.00 + 50.00) = 500.00 + 210.00
    assert charge.as_dict()["amount"] == "710.00"
    assert json.loads(json.dumps(charge.as_dict()))["lines"][1]["explanation"]["formula"]


@pytest.mark.parametrize("value", ["1234567890123456789", "0.0000000000001"])
def test_numbers_out_of_range_are_refused(value: str) -> None:
    # bounded so that rating stays exact in its 60-digit context
    with pytest.raises(SpecError) as info:
        ComponentSpec.from_dict({**EXAMPLES["standard"], "unit_price": value})
    assert info.value.field == "unit_price" and "out of range" in info.value.message


@pytest.mark.parametrize("value", ["1e18", "1e2", "+5", ".5", "5.", "1_000", "٥", "𝟓", " 5", "5 ", "0x10", "Infinity",
                                   "1" * 41])
def test_prices_follow_the_plain_decimal_grammar(value: str) -> None:
    with pytest.raises(SpecError) as info:
        ComponentSpec.from_dict({**EXAMPLES["standard"], "unit_price": value})
    assert info.value.field == "unit_price"
    assert "plain decimal" in info.value.message or "at most 40 characters" in info.value.message


def test_model_must_be_a_known_name() -> None:
    with pytest.raises(SpecError) as info:
        ComponentSpec.from_dict({**EXAMPLES["standard"], "model": ["standard"]})
    assert info.value.field == "model"


def test_specs_are_hashable_values() -> None:
    a = ComponentSpec.from_dict(EXAMPLES["graduated"])
    evaluate(a, 500, "RUB")  # fills the memo of fully used tiers, which takes no part in equality
    b = ComponentSpec.from_dict(EXAMPLES["graduated"])
    assert a == b and hash(a) == hash(b)
