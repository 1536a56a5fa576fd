"""Amounts in words: gender and plural forms, zero, kopecks in digits; a round trip through the parser."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kopeck.core.money import Money
from kopeck.core.words import (
    amount_in_words,
    number_in_words_en,
    number_in_words_ru,
    parse_number_ru,
    plural_ru,
)


@pytest.mark.parametrize(("amount", "currency", "words"), [
    ("1234.56", "RUB", "Одна тысяча двести тридцать четыре рубля 56 копеек"),
    ("2", "RUB", "Два рубля 00 копеек"),
    ("1000000.01", "RUB", "Один миллион рублей 01 копейка"),
    ("0", "RUB", "Ноль рублей 00 копеек"),
    ("21.21", "RUB", "Двадцать один рубль 21 копейка"),
    ("11.11", "RUB", "Одиннадцать рублей 11 копеек"),
    ("112.02", "RUB", "Сто двенадцать рублей 02 копейки"),
    ("2000", "RUB", "Две тысячи рублей 00 копеек"),
    ("5001", "RUB", "Пять тысяч один рубль 00 копеек"),
    ("21000", "RUB", "Двадцать одна тысяча рублей 00 копеек"),
    ("2000000000", "RUB", "Два миллиарда рублей 00 копеек"),
    ("999999999.99", "RUB", "Девятьсот девяносто девять миллионов девятьсот девяносто девять тысяч девятьсот "
                            "девяносто девять рублей 99 копеек"),
    ("0.005", "RUB", "Ноль рублей 01 копейка"),  # half-up to the kopeck
    ("-5", "RUB", "Минус пять рублей 00 копеек"),
    ("1234.56", "USD", "Одна тысяча двести тридцать четыре доллара США 56 центов"),
    ("1234.56", "GBP", "Одна тысяча двести тридцать четыре GBP 56/100"),
    ("2001", "JPY", "Две тысячи один JPY"),
])
def test_amounts_in_russian(amount: str, currency: str, words: str) -> None:
    assert amount_in_words(Money(amount, currency)) == words


@pytest.mark.parametrize(("amount", "currency", "words"), [
    ("1234.56", "RUB", "One thousand two hundred thirty-four roubles 56 kopecks"),
    ("1.01", "RUB", "One rouble 01 kopeck"),
    ("0", "USD", "Zero US dollars 00 cents"),
    ("15.5", "CHF", "Fifteen CHF 50/100"),
])
def test_amounts_in_english(amount: str, currency: str, words: str) -> None:
    assert amount_in_words(Money(amount, currency), "en") == words


def test_plural_forms() -> None:
    forms = ("рубль", "рубля", "рублей")
    assert [plural_ru(n, forms) for n in (1, 2, 4, 5, 11, 12, 14, 21, 22, 25, 101, 111, 112)] == [
        "рубль", "рубля", "рубля", "рублей", "рублей", "рублей", "рублей", "рубль", "рубля", "рублей", "рубль",
        "рублей", "рублей"]


def test_limits() -> None:
    with pytest.raises(ValueError):
        number_in_words_ru(10**15)
    with pytest.raises(TypeError):
        number_in_words_ru(True)
    with pytest.raises(ValueError):
        parse_number_ru("один и два")


@given(st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1), st.sampled_from(["m", "f", "n"]))
def test_russian_words_read_back_to_the_number(n: int, gender: str) -> None:
    assert parse_number_ru(number_in_words_ru(n, gender)) == n  # type: ignore[arg-type]


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=99))
def test_rouble_amounts_have_whole_words_and_two_digit_kopecks(rubles: int, kopecks: int) -> None:
    text = amount_in_words(Money(Decimal(rubles) + Decimal(kopecks) / 100, "RUB"))
    words, minor, kop_word = text.rsplit(" ", 2)
    assert minor == f"{kopecks:02d}"
    assert kop_word == plural_ru(kopecks, ("копейка", "копейки", "копеек"))
    assert text[0].isupper()
    number, rub_word = words.rsplit(" ", 1)
    assert rub_word == plural_ru(rubles, ("рубль", "рубля", "рублей"))
    assert parse_number_ru(number) == rubles


@given(st.integers(min_value=0, max_value=10**15 - 1))
def test_english_words_have_no_empty_parts(n: int) -> None:
    text = number_in_words_en(n)
    assert "  " not in text and text == text.strip() and text
