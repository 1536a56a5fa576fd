"""The percentage model at its edges, where a wrong comparison or a lost sum charges the wrong fee:
several transactions raised to the minimum and several capped at the maximum (the adjustments add
up), a fee exactly at a limit (no adjustment), only one limit set, a transaction exactly equal to
what is left of the free amount, several free transactions, zero and fractional amounts. Every
amount is hand-computed in a comment."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kopeck.core.pricing import ComponentSpec, SpecError, Usage, evaluate
from kopeck.core.pricing.aggregation import AggregationSpec
from kopeck.core.pricing.component import parse_component


def pct(**params: object) -> ComponentSpec:
    return ComponentSpec.from_dict({"code": "acq", "model": "percentage", "rate": "10", **params})


def lines(spec: ComponentSpec, *amounts: str) -> tuple[str, list[tuple[str, str, str]]]:
    charge = evaluate(spec, Usage.of_transactions(amounts), "RUB")
    return charge.amount.to_str(), [(ln.kind.value, str(ln.units), ln.amount.to_str()) for ln in charge.lines]


def test_raises_and_cuts_of_several_transactions_add_up() -> None:
    # 10 % each: 0.50 → raised by 0.50 to 1.00; 0.80 → by 0.20; 10.00 → cut by 5.00 to 5.00; 7.00 → by 2.00.
    # rate line 10 % of 183 = 18.30; total round(18.30 + 0.70 − 7.00) = 12.00: limits −6.30 over 4 transactions
    spec = pct(min_per_transaction="1.00", max_per_transaction="5.00")
    assert lines(spec, "5", "8", "100", "70") == ("12.00", [("percentage", "183", "18.30"), ("limits", "4", "-6.30")])
    limits = evaluate(spec, Usage.of_transactions(["5", "8", "100", "70"]), "RUB").lines[-1]
    assert limits.explanation.en == ("Per-transaction limits: 2 raised to the minimum 1.00 (+0.7), 2 capped at the "
                                     "maximum 5.00 (−7); adjustment -6.30 RUB")
    assert limits.explanation.formula == ("adjustment = round(rate part + fees + raises − cuts) − rate line − fee line "
                                          "= round(18.3 + 0 + 0.7 − 7) − 18.30 − 0.00 = -6.30")


def test_a_fee_exactly_at_a_limit_is_not_adjusted() -> None:
    # 10 % of 10 = 1.00 = the minimum; 10 % of 50 = 5.00 = the maximum: no limits line
    spec = pct(min_per_transaction="1.00", max_per_transaction="5.00")
    assert lines(spec, "10", "50") == ("6.00", [("percentage", "60", "6.00")])


def test_only_a_minimum_or_only_a_maximum() -> None:
    # a minimum alone: 10 % of 5 = 0.50 is raised to 1.00; a maximum alone: 10 % of 100 = 10.00 is cut to 5.00
    assert lines(pct(min_per_transaction="1.00"), "5") == ("1.00", [("percentage", "5", "0.50"), ("limits", "1", "0.50")])
    assert lines(pct(max_per_transaction="5.00"), "100") == ("5.00", [("percentage", "100", "10.00"),
                                                                     ("limits", "1", "-5.00")])


def test_fixed_fees_count_in_the_limits() -> None:
    # each 10 % + 0.30: 2 → 0.50 raised by 0.50 to 1.00; 100 → 10.30 cut by 5.30 to 5.00
    spec = pct(fixed_fee="0.30", min_per_transaction="1.00", max_per_transaction="5.00")
    assert lines(spec, "2", "100") == ("6.00", [("percentage", "102", "10.20"), ("transaction_fee", "2", "0.60"),
                                                ("limits", "2", "-4.80")])


def test_a_transaction_equal_to_the_free_amount_left_is_free() -> None:
    # 10.00 free: the first 10 uses it up entirely (free), the second pays 10 % + 0.30 = 1.30
    spec = pct(fixed_fee="0.30", free_amount="10")
    assert lines(spec, "10", "10") == ("1.30", [("free", "1", "0.00"), ("percentage", "10", "1.00"),
                                                ("transaction_fee", "1", "0.30")])
    # a part of the free amount used: the formula says how much
    free = evaluate(pct(free_amount="10"), Usage.of_transactions(["3"]), "RUB").lines[0]
    assert (free.kind.value, free.explanation.formula) == ("free", "free transactions = 1; free amount used = 3")


def test_several_free_transactions() -> None:
    # the first two are free whatever their amount; the third pays 10 % of 40 = 4.00
    assert lines(pct(free_transactions=2), "1000", "1", "40") == ("4.00", [("free", "2", "0.00"),
                                                                          ("percentage", "40", "4.00")])


def test_zero_and_fractional_transactions_are_charged() -> None:
    # 0 and 0.5 are valid amounts: 10 % of 0.5 = 0.05, and each pays the 0.30 fixed fee
    assert lines(pct(fixed_fee="0.30"), "0", "0.5") == ("0.65", [("percentage", "0.5", "0.05"),
                                                                 ("transaction_fee", "2", "0.60")])


@pytest.mark.parametrize(("params", "text"), [
    ({"rate": None}, "rate: is required"),
    ({"rate": 2.5}, 'rate: must be a decimal string such as "0.50", not a JSON float or boolean'),
    ({"fixed_fee": 0.3}, 'fixed_fee: must be a decimal string such as "0.50", not a JSON float or boolean'),
    ({"free_amount": 1.0}, 'free_amount: must be a decimal string such as "0.50", not a JSON float or boolean'),
    ({"min_per_transaction": 0.5},
     'min_per_transaction: must be a decimal string such as "0.50", not a JSON float or boolean'),
    ({"max_per_transaction": 9.5},
     'max_per_transaction: must be a decimal string such as "0.50", not a JSON float or boolean'),
    ({"free_transactions": False}, "free_transactions: must be a non-negative integer, got False"),
    ({"free_transactions": 1.0}, "free_transactions: must be a non-negative integer, got 1.0"),
    # the count is checked first: with another field wrong too, the refusal still names the count
    ({"rate": None, "free_transactions": "2"}, "free_transactions: must be a non-negative integer, got '2'"),
    ({"rate": "150", "free_transactions": True}, "free_transactions: must be a non-negative integer, got True"),
])
def test_a_percentage_spec_names_the_refused_field(params: dict[str, object], text: str) -> None:
    data: dict[str, object] = {"code": "acq", "model": "percentage", "rate": "2.9", **params}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(SpecError) as info:
        ComponentSpec.from_dict(data)
    assert str(info.value) == text


@pytest.mark.parametrize(("params", "text"), [
    ({}, "package_size: is required"),
    ({"package_size": 10.0}, 'package_size: must be a decimal string such as "0.50", not a JSON float or boolean'),
])
def test_a_tiered_package_spec_names_the_refused_size(params: dict[str, object], text: str) -> None:
    with pytest.raises(SpecError) as info:
        ComponentSpec.from_dict({"code": "c", "model": "tiered_package", **params,
                                 "tiers": [{"from": "0", "up_to": None, "package_price": "1"}]})
    assert str(info.value) == text


def test_a_meter_aggregation_in_its_json_form_and_parse_component() -> None:
    assert AggregationSpec("meter_reading", None, Decimal("100000")).to_dict() == {
        "type": "meter_reading", "property": None, "max_value": "100000"}
    data = {"code": "c", "model": "standard", "unit_price": "1.50"}
    assert parse_component(data) == ComponentSpec.from_dict(data)
    assert parse_component(data).to_dict()["unit_price"] == "1.50"
