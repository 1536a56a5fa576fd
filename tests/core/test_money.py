from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kopeck.core.money import CurrencyMismatch, Money, MoneyError, allocate, from_minor, money_sum, to_minor


def test_amounts_are_exact_decimals() -> None:
    assert Money("0.10", "RUB") + Money("0.20", "RUB") == Money("0.30", "RUB")
    assert Money(3, "rub").currency.code == "RUB"


@pytest.mark.parametrize("bad", [0.1, 1.0, float("nan"), True, None, [1]])
def test_floats_and_non_numbers_are_refused(bad: object) -> None:
    with pytest.raises(MoneyError):
        Money(bad, "RUB")


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "abc", ""])
def test_non_finite_or_malformed_strings_are_refused(bad: str) -> None:
    with pytest.raises(MoneyError):
        Money(bad, "RUB")


def test_unknown_currency_is_refused() -> None:
    with pytest.raises(MoneyError, match="unknown currency"):
        Money("1", "XXX")


def test_mixed_currencies_are_refused() -> None:
    with pytest.raises(CurrencyMismatch):
        Money("1", "RUB") + Money("1", "USD")
    with pytest.raises(CurrencyMismatch):
        _ = Money("1", "RUB") < Money("1", "EUR")


def test_multiplying_by_a_float_is_refused() -> None:
    with pytest.raises(MoneyError):
        Money("1", "RUB") * 1.5


@pytest.mark.parametrize(
    ("amount", "currency", "expected"),
    [("10.005", "RUB", "10.01"), ("10.004", "RUB", "10.00"), ("-10.005", "RUB", "-10.01"),
     ("2.5", "JPY", "3"), ("1.0005", "KWD", "1.001"), ("0.125", "USD", "0.13")],
)
def test_round_line_is_half_up_to_the_minor_unit(amount: str, currency: str, expected: str) -> None:
    assert Money(amount, currency).round_line() == Money(expected, currency)


def test_allocate_splits_exactly() -> None:
    assert allocate(Money("100.00", "RUB"), [1, 1, 1]) == [
        Money("33.34", "RUB"), Money("33.33", "RUB"), Money("33.33", "RUB")]
    assert allocate(Money("-0.05", "RUB"), [1, 1]) == [Money("-0.03", "RUB"), Money("-0.02", "RUB")]
    assert allocate(Money("10", "JPY"), [Decimal("0.5"), Decimal("0.25"), Decimal("0.25")]) == [
        Money("5", "JPY"), Money("3", "JPY"), Money("2", "JPY")]


def test_allocate_refuses_bad_ratios_and_unrounded_totals() -> None:
    with pytest.raises(MoneyError):
        allocate(Money("1.00", "RUB"), [])
    with pytest.raises(MoneyError):
        allocate(Money("1.00", "RUB"), [0, 0])
    with pytest.raises(MoneyError):
        allocate(Money("1.00", "RUB"), [1, -1])
    with pytest.raises(MoneyError):
        allocate(Money("1.001", "RUB"), [1, 1])


amounts = st.decimals(min_value=Decimal("-1000000"), max_value=Decimal("1000000"), places=2)
ratios = st.lists(st.integers(min_value=0, max_value=1000), min_size=1, max_size=12).filter(any)


@given(amounts, ratios)
def test_allocated_parts_add_up_and_differ_by_at_most_one_minor_unit(amount: Decimal, weights: list[int]) -> None:
    total = Money(amount, "RUB")
    parts = allocate(total, weights)
    assert money_sum(parts, "RUB") == total
    exact = [total.amount * w / sum(weights) for w in weights]
    assert all(abs(p.amount - e) < Decimal("0.01") for p, e in zip(parts, exact, strict=True))


def test_one_conversion_to_minor_units_refuses_what_is_not_rounded() -> None:
    # the ledger, billed periods, run items and documents store minor units through this one function:
    # an amount with more decimals is refused (never rounded here, never cut)
    assert [to_minor(Money(a, c)) for a, c in (("1220.00", "RUB"), ("-0.05", "RUB"), ("1500", "JPY"),
                                                  ("1.234", "KWD"))] == [122000, -5, 1500, 1234]
    for amount, currency in (("0.005", "RUB"), ("1.999", "RUB"), ("0.5", "JPY")):
        with pytest.raises(MoneyError):
            to_minor(Money(amount, currency))
    assert [from_minor(u, c) for u, c in ((122000, "RUB"), (-5, "RUB"), (1234, "KWD"))] == [
        Money("1220.00", "RUB"), Money("-0.05", "RUB"), Money("1.234", "KWD")]
