from decimal import Decimal
from typing import Any

import pytest

from kopeck.core.pricing import (
    ComponentSpec,
    Graduated,
    PriceTier,
    SpecError,
    StairTier,
    Volume,
    validate_tiers,
)


def tier(start: str, up_to: str | None, price: str = "1", fee: str = "0") -> dict[str, Any]:
    return {"from": start, "up_to": up_to, "unit_price": price, "flat_fee": fee}


def error_of(tiers: list[dict[str, Any]], model: str = "graduated") -> SpecError:
    with pytest.raises(SpecError) as info:
        ComponentSpec.from_dict({"code": "c", "model": model, "tiers": tiers})
    return info.value


def test_valid_tiers_pass() -> None:
    spec = ComponentSpec.from_dict({"code": "c", "model": "graduated",
                                    "tiers": [tier("0", "100"), tier("100", "1000.5"), tier("1000.5", None)]})
    assert isinstance(spec.model, Graduated)
    assert [t.up_to for t in spec.model.tiers] == [Decimal(100), Decimal("1000.5"), None]


@pytest.mark.parametrize("tiers,field,words", [
    # Lago's "0–100, 101–200": a gap of one unit
    ([tier("0", "100"), tier("101", None)], "tiers[1].from", "gap"),
    ([tier("0", "100"), tier("99", None)], "tiers[1].from", "overlap"),
    ([tier("0", "100"), tier("100", "50"), tier("50", None)], "tiers[1].up_to", "ascend"),
    ([tier("0", "100"), tier("100", "100"), tier("100", None)], "tiers[1].up_to", "empty"),
    ([tier("1", "100"), tier("100", None)], "tiers[0].from", "start at 0"),
    ([tier("0", None), tier("100", None)], "tiers[0].up_to", "only the last"),
    ([tier("0", "100"), tier("100", "200")], "tiers[1].up_to", "must be open"),
    ([], "tiers", "at least one"),
    ([tier("0", "100", price="-1"), tier("100", None)], "tiers[0].unit_price", "negative"),
    ([tier("0", "100"), tier("100", None, fee="-0.01")], "tiers[1].flat_fee", "negative"),
])
def test_invalid_tiers_name_the_field(tiers: list[dict[str, Any]], field: str, words: str) -> None:
    for model in ("graduated", "volume"):
        err = error_of(tiers, model)
        assert err.field == field
        assert words in err.message
        assert err.as_dict() == {"field": field, "message": err.message}
        assert str(err).startswith(field)


def test_json_floats_and_garbage_are_refused_with_the_path() -> None:
    err = error_of([{"from": 0, "up_to": 100.0, "unit_price": "1"}, tier("100", None)])
    assert err.field == "tiers[0].up_to" and "float" in err.message
    err = error_of([tier("0", "abc"), tier("100", None)])
    assert err.field == "tiers[0].up_to"
    err = error_of([tier("0", "100"), {"from": "100", "up_to": None}])
    assert err.field == "tiers[1].unit_price" and err.message == "is required"
    err = error_of([tier("0", "100"), {**tier("100", None), "upto": "5"}])
    assert err.field == "tiers[1].upto" and "unknown field" in err.message


def test_validate_tiers_directly_and_python_construction() -> None:
    tiers = (PriceTier(Decimal(0), Decimal(10), Decimal(1)), PriceTier(Decimal(11), None, Decimal(1)))
    with pytest.raises(SpecError) as info:
        validate_tiers(tiers)
    assert info.value.field == "tiers[1].from"
    with pytest.raises(SpecError) as info:
        Volume(tiers)
    assert info.value.field == "tiers[1].from"
    # ints are converted exactly; floats refused
    assert PriceTier(0, 10, 1).up_to == Decimal(10)  # type: ignore[arg-type]
    with pytest.raises(SpecError):
        StairTier(0, None, 0.5)  # type: ignore[arg-type]


def test_tiered_package_edges_must_be_multiples_of_the_package_size() -> None:
    with pytest.raises(SpecError) as info:
        ComponentSpec.from_dict({"code": "c", "model": "tiered_package", "package_size": "100", "tiers": [
            {"from": "0", "up_to": "150", "package_price": "10"},
            {"from": "150", "up_to": None, "package_price": "8"},
        ]})
    assert info.value.field == "tiers[0].up_to"
    assert "multiple of package_size" in info.value.message


def test_rates_are_percentages() -> None:
    with pytest.raises(SpecError) as info:
        ComponentSpec.from_dict({"code": "c", "model": "graduated_percentage",
                                 "tiers": [{"from": "0", "up_to": None, "rate": "101"}]})
    assert info.value.field == "tiers[0].rate"
