"""How the back office writes amounts and dates: one way per language.

- Amounts: "1 990,00 ₽" in Russian (no-break spaces, a decimal comma, the sign after the number),
  "RUB 1,990.00" in English (the ISO code first). A negative amount: "−1 990,00 ₽", "−RUB 1,990.00".
- Dates: "06.12.2026" in Russian, "2026-12-06" in English; a date and time adds "14:05".

The admin's list columns and the pages of every app use these (through ``kopeck.common.admin`` and
the ``kopeck_admin`` template tags), never ``str(Money)`` or ``date.isoformat()``."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone, translation

from kopeck.core.documents import format_amount
from kopeck.core.money import Currency, Money, to_decimal

SYMBOLS = {"RUB": "₽", "USD": "$", "EUR": "€", "KZT": "₸", "BYN": "Br", "UAH": "₴", "CNY": "¥", "GBP": "£"}
MINUS = "\u2212"
NBSP = "\u00a0"


def _russian(language: str | None) -> bool:
    return not (language or translation.get_language() or "ru").startswith("en")


def money_text(amount: Money | Decimal | str | int, currency: str | Currency | None = None, *,
               language: str | None = None) -> str:
    """``Money("1990", "RUB")`` → "1 990,00 ₽" (ru) or "RUB 1,990.00" (en)."""
    if isinstance(amount, Money):
        value, cur = amount.amount, amount.currency
    else:
        value, cur = to_decimal(amount), Currency.of(currency or "RUB")
    digits = format_amount(abs(value), "ru" if _russian(language) else "en", cur.minor_units)
    sign = MINUS if value < 0 else ""
    if _russian(language):
        return f"{sign}{digits}{NBSP}{SYMBOLS.get(cur.code, cur.code)}"
    return f"{sign}{cur.code}{NBSP}{digits}"


def minor_text(minor: int, currency: str, *, language: str | None = None) -> str:
    """An amount in integer minor units (the ledger's and documents' storage) as ``money_text``."""
    cur = Currency.of(currency)
    return money_text(Decimal(minor).scaleb(-cur.minor_units), cur, language=language)


def date_text(value: dt.date | str | None, *, language: str | None = None) -> str:
    """``2026-12-06`` → "06.12.2026" (ru) or "2026-12-06" (en); a dash for none."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if isinstance(value, dt.datetime):
        return datetime_text(value, language=language)
    return value.strftime("%d.%m.%Y") if _russian(language) else value.isoformat()


def datetime_text(value: dt.datetime | None, *, language: str | None = None) -> str:
    """An instant in the display time zone: "06.12.2026 14:05" (ru), "2026-12-06 14:05" (en)."""
    if value is None:
        return "—"
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    day = value.date().strftime("%d.%m.%Y") if _russian(language) else value.date().isoformat()
    return f"{day} {value:%H:%M}"


def period_text(start: dt.date | str | None, last_day: dt.date | str | None, *, language: str | None = None) -> str:
    """A service period by its first and last days: "01.12.2026 – 31.12.2026"."""
    if not start:
        return date_text(last_day, language=language)
    if not last_day:
        return date_text(start, language=language)
    return f"{date_text(start, language=language)} – {date_text(last_day, language=language)}"
