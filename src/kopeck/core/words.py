"""Amounts in words ("сумма прописью") for documents.

Russian (the legal form of счёт, акт, УПД): the whole units in words with the right grammatical
gender and plural form, the minor units in digits with their plural form, the first letter capital:

* ``1234.56 RUB`` → "Одна тысяча двести тридцать четыре рубля 56 копеек"
* ``2.00 RUB`` → "Два рубля 00 копеек"
* ``1000000.01 RUB`` → "Один миллион рублей 01 копейка"
* ``0 RUB`` → "Ноль рублей 00 копеек"

Other currencies without Russian names here fall back to the number in words (masculine) and the
ISO code, the minor units as a fraction: ``1234.56 USD`` → "Одна тысяча двести тридцать четыре
USD 56/100". English: "One thousand two hundred thirty-four roubles 56 kopecks".

Plural forms (Russian): the last two digits 11–14 → "many" (рублей); otherwise the last digit 1 →
"one" (рубль), 2–4 → "few" (рубля), 0 and 5–9 → "many" (рублей).

:func:`parse_number_ru` reads the words back (used by the property tests).

Pure: standard library only.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final, Literal

from kopeck.core.money import Money

__all__ = ["amount_in_words", "number_in_words_en", "number_in_words_ru", "parse_number_ru", "plural_ru"]

Gender = Literal["m", "f", "n"]

_UNITS_M: Final = ("", "один", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")
_UNITS_F: Final = ("", "одна", "две", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")
_UNITS_N: Final = ("", "одно", "два", "три", "четыре", "пять", "шесть", "семь", "восемь", "девять")
_TEENS: Final = ("десять", "одиннадцать", "двенадцать", "тринадцать", "четырнадцать", "пятнадцать",
                 "шестнадцать", "семнадцать", "восемнадцать", "девятнадцать")
_TENS: Final = ("", "", "двадцать", "тридцать", "сорок", "пятьдесят", "шестьдесят", "семьдесят",
                "восемьдесят", "девяносто")
_HUNDREDS: Final = ("", "сто", "двести", "триста", "четыреста", "пятьсот", "шестьсот", "семьсот",
                    "восемьсот", "девятьсот")
# (one, few, many), gender, for 10^3, 10^6, 10^9, 10^12
_SCALES: Final[tuple[tuple[tuple[str, str, str], Gender], ...]] = (
    (("тысяча", "тысячи", "тысяч"), "f"),
    (("миллион", "миллиона", "миллионов"), "m"),
    (("миллиард", "миллиарда", "миллиардов"), "m"),
    (("триллион", "триллиона", "триллионов"), "m"),
)
_MAX: Final = 10**15 - 1

# Russian names of currencies: (whole one/few/many, gender, minor one/few/many, minor gender)
_CURRENCIES_RU: Final[dict[str, tuple[tuple[str, str, str], Gender, tuple[str, str, str]]]] = {
    "RUB": (("рубль", "рубля", "рублей"), "m", ("копейка", "копейки", "копеек")),
    "USD": (("доллар США", "доллара США", "долларов США"), "m", ("цент", "цента", "центов")),
    "EUR": (("евро", "евро", "евро"), "m", ("цент", "цента", "центов")),
    "KZT": (("тенге", "тенге", "тенге"), "m", ("тиын", "тиына", "тиынов")),
    "BYN": (("белорусский рубль", "белорусских рубля", "белорусских рублей"), "m",
            ("копейка", "копейки", "копеек")),
}
_CURRENCIES_EN: Final[dict[str, tuple[tuple[str, str], tuple[str, str]]]] = {
    "RUB": (("rouble", "roubles"), ("kopeck", "kopecks")),
    "USD": (("US dollar", "US dollars"), ("cent", "cents")),
    "EUR": (("euro", "euros"), ("cent", "cents")),
}


def plural_ru(n: int, forms: tuple[str, str, str]) -> str:
    """The form of a noun after the number ``n``: (one, few, many)."""
    n = abs(n)
    if 11 <= n % 100 <= 14:
        return forms[2]
    last = n % 10
    if last == 1:
        return forms[0]
    if 2 <= last <= 4:
        return forms[1]
    return forms[2]


def plural_en(n: int | Decimal, one: str, many: str) -> str:
    """The English form after ``n``: singular for exactly 1, plural otherwise (0, 2, 1.5)."""
    return one if n == 1 else many


def _triple_ru(n: int, gender: Gender) -> list[str]:
    """Words of 1 ≤ n ≤ 999."""
    words = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words.append(_HUNDREDS[hundreds])
    if 10 <= rest <= 19:
        words.append(_TEENS[rest - 10])
    else:
        tens, units = divmod(rest, 10)
        if tens:
            words.append(_TENS[tens])
        if units:
            words.append({"m": _UNITS_M, "f": _UNITS_F, "n": _UNITS_N}[gender][units])
    return words


def _groups(n: int) -> list[int]:
    """The groups of three digits of ``|n|``, lowest first (none for 0), after checking ``n``."""
    if not isinstance(n, int) or isinstance(n, bool):
        raise TypeError("a whole number is expected")
    if abs(n) > _MAX:
        raise ValueError("the number is too large to spell out")
    groups = []
    n = abs(n)
    while n:
        n, group = divmod(n, 1000)
        groups.append(group)
    return groups


def number_in_words_ru(n: int, gender: Gender = "m") -> str:
    """A whole number (|n| < 10^15) in Russian words, lower case; ``gender`` of the counted noun."""
    groups = _groups(n)
    if not groups:
        return "ноль"
    words = ["минус"] if n < 0 else []
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if not group:
            continue
        if index == 0:
            words += _triple_ru(group, gender)
        else:
            forms, scale_gender = _SCALES[index - 1]
            words += _triple_ru(group, scale_gender)
            words.append(plural_ru(group, forms))
    return " ".join(words)


_EN_ONES: Final = ("", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
                   "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen")
_EN_TENS: Final = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_EN_SCALES: Final = ("thousand", "million", "billion", "trillion")


def _triple_en(n: int) -> list[str]:
    words = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_EN_ONES[hundreds], "hundred"]
    if rest < 20:
        if rest:
            words.append(_EN_ONES[rest])
    else:
        tens, units = divmod(rest, 10)
        words.append(_EN_TENS[tens] + (f"-{_EN_ONES[units]}" if units else ""))
    return words


def number_in_words_en(n: int) -> str:
    """A whole number (|n| < 10^15) in English words, lower case."""
    groups = _groups(n)
    if not groups:
        return "zero"
    words = ["minus"] if n < 0 else []
    for index in range(len(groups) - 1, -1, -1):
        if groups[index]:
            words += _triple_en(groups[index])
            if index:
                words.append(_EN_SCALES[index - 1])
    return " ".join(words)


def _split(money: Money) -> tuple[bool, int, int, int]:
    rounded = money.round_line()
    units = rounded.currency.minor_units
    total_minor = int(abs(rounded.amount).scaleb(units))
    whole, minor = divmod(total_minor, 10**units)
    return rounded.amount < 0, whole, minor, units


def _capitalize(text: str) -> str:
    return text[:1].upper() + text[1:]


def amount_in_words(money: Money, language: str = "ru") -> str:
    """``money`` (rounded to its minor unit, half-up) in words, in ``language`` ("ru" or "en")."""
    negative, whole, minor, units = _split(money)
    code = money.currency.code
    if language.startswith("en"):
        text = number_in_words_en(whole)
        if code in _CURRENCIES_EN:
            (w1, wn), (m1, mn) = _CURRENCIES_EN[code]
            text += f" {w1 if whole == 1 else wn}"
            if units:
                text += f" {minor:0{units}d} {m1 if minor == 1 else mn}"
        else:
            text += f" {code}" + (f" {minor:0{units}d}/{10**units}" if units else "")
        return _capitalize(("minus " if negative else "") + text)
    if code in _CURRENCIES_RU:
        forms, gender, minor_forms = _CURRENCIES_RU[code]
        text = f"{number_in_words_ru(whole, gender)} {plural_ru(whole, forms)}"
        if units:
            text += f" {minor:0{units}d} {plural_ru(minor, minor_forms)}"
    else:
        text = f"{number_in_words_ru(whole, 'm')} {code}" + (f" {minor:0{units}d}/{10**units}" if units else "")
    return _capitalize(("минус " if negative else "") + text)


_WORD_VALUES: Final[dict[str, int]] = {
    **{w: i for i, w in enumerate(_UNITS_M) if w},
    **{w: i for i, w in enumerate(_UNITS_F) if w},
    **{w: i for i, w in enumerate(_UNITS_N) if w},
    **{w: 10 + i for i, w in enumerate(_TEENS)},
    **{w: 10 * i for i, w in enumerate(_TENS) if w},
    **{w: 100 * i for i, w in enumerate(_HUNDREDS) if w},
}
_SCALE_VALUES: Final[dict[str, int]] = {
    form: 1000 ** (i + 1) for i, (forms, _gender) in enumerate(_SCALES) for form in forms
}


def parse_number_ru(text: str) -> int:
    """Read a whole number written by :func:`number_in_words_ru` back (case-insensitive)."""
    words = text.lower().split()
    if words == ["ноль"]:
        return 0
    sign = 1
    if words and words[0] == "минус":
        sign, words = -1, words[1:]
    total, group = 0, 0
    for word in words:
        if word in _WORD_VALUES:
            group += _WORD_VALUES[word]
        elif word in _SCALE_VALUES:
            total += (group or 1) * _SCALE_VALUES[word]
            group = 0
        else:
            raise ValueError(f"not a number word: {word!r}")
    return sign * (total + group)

