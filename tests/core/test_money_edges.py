"""Edges of kopeck.core.money that a mutation probe found untested: comparisons of equal amounts,
zero and sub-unit signs, the text form of rounded and unrounded amounts, ``to_str`` on a tie, the
length limit of decimal text, and the exact message of every refusal (the API and the CLI show them)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from kopeck.core.money import (
    DECIMAL_TEXT_MAX,
    Currency,
    CurrencyMismatch,
    Money,
    MoneyError,
    allocate,
    to_decimal,
)


def rub(x: str) -> Money:
    return Money(x, "RUB")


def refused(call: Callable[[], object], message: str, exc: type[Exception] = MoneyError) -> None:
    with pytest.raises(exc) as info:
        call()
    assert str(info.value) == message


def test_comparisons_of_equal_amounts() -> None:
    a, b = rub("10.00"), rub("10")
    assert a >= b and a <= b and not a > b and not a < b
    assert rub("10.01") > a and a < rub("10.01")


def test_signs_of_zero_and_of_amounts_under_one() -> None:
    zero, half = Money.zero("RUB"), rub("0.50")
    assert (zero.is_negative(), zero.is_zero(), zero.is_positive()) == (False, True, False)
    assert (half.is_negative(), half.is_positive()) == (False, True)
    assert rub("-0.01").is_negative() and not rub("-0.01").is_positive()


def test_absolute_value_and_ratio() -> None:
    assert abs(rub("-12.34")) == rub("12.34") and abs(rub("12.34")) == rub("12.34")
    assert rub("50.00").ratio(rub("200.00")) == Decimal("0.25")
    refused(lambda: rub("1").ratio(rub("0")), "division by zero")
    refused(lambda: rub("1").ratio(Money("1", "USD")), "RUB and USD cannot be mixed", CurrencyMismatch)


def test_text_forms() -> None:
    assert str(rub("10")) == "10.00 RUB"
    assert str(rub("1.005")) == "1.005 RUB"  # unrounded: shown whole, never rounded silently
    assert rub("0.125").to_str() == "0.13" and rub("-0.125").to_str() == "-0.13"  # half-up, not half-even
    assert Money("2.5", "JPY").to_str() == "3"


def test_decimal_text_is_at_most_its_limit() -> None:
    longest = "1" * DECIMAL_TEXT_MAX
    assert to_decimal(longest) == Decimal(longest)
    refused(lambda: to_decimal(longest + "1"), f"at most {DECIMAL_TEXT_MAX} characters")
    refused(lambda: to_decimal("1e5"), "not a plain decimal such as \"1500.00\": '1e5'")


def test_currency_of_what_is_not_a_code() -> None:
    assert Currency.of(" rub ") is Currency.of("RUB")
    refused(lambda: Currency.of(["RUB"]), "currency must be an ISO 4217 code, got list")  # type: ignore[arg-type]
    refused(lambda: Currency.of(643), "currency must be an ISO 4217 code, got int")  # type: ignore[arg-type]


def test_the_message_of_every_refusal() -> None:
    refused(lambda: Money(1.5, "RUB"), "floats are not accepted for money; pass a Decimal, int or string")
    refused(lambda: Money([1], "RUB"), "cannot use list as an amount")
    refused(lambda: Money(Decimal("NaN"), "RUB"), "amount must be finite")
    refused(lambda: rub("1") * rub("2"), "cannot multiply money by money")
    refused(lambda: rub("1") / rub("2"), "divide money by a number; use ratio() for money / money")
    refused(lambda: rub("1") / 0, "division by zero")
    refused(lambda: rub("1") + 1, "cannot combine Money with int")  # type: ignore[operator]
    refused(lambda: rub("1") + Money("1", "EUR"), "RUB and EUR cannot be mixed", CurrencyMismatch)
    refused(lambda: rub("1.005").require_rounded(), "1.005 has more than 2 decimal places for RUB")
    refused(lambda: allocate(rub("1"), []), "allocate needs at least one ratio")
    refused(lambda: allocate(rub("1"), [1, -1]), "ratios must not be negative")
    refused(lambda: allocate(rub("1"), [0, 0]), "ratios must not all be zero")
