"""How the back office writes amounts and dates: one way per language.

- Amounts: "1 990,00 ₽" in Russian (no-break spaces, a decimal comma, the sign after the number),
  "RUB 1,990.00" in English (the ISO code first). A negative amount: "−1 990,00 ₽", "−RUB 1,990.00".
- Dates: "06.12.2026" in Russian, "2026-12-06" in English; a date and time adds "14:05".

The admin's list columns and the pages of every app use these (through ``kopeck.common.admin`` and
the ``kopeck_admin`` template tags), never ``str(Money)`` or ``date.isoformat()``."""

from __future__ import annotations

import datetime as dt
import re
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


# -- texts stored by the services (explanations, timeline entries, ledger reasons) ----------------------
#
# They were written with plain numbers ("990.00 RUB"), ISO dates and a few codes; stored records keep
# them, so the page rewrites them for display in the page's language.

_AMOUNT = re.compile(r"(?<![\w.,])(-?\d+(?:\.\d+)?) (RUB|USD|EUR|KZT|BYN|UAH|CNY|GBP)\b")
_ISO_DATE = re.compile(r"(?<![\w-])(\d{4})-(\d{2})-(\d{2})(?![\w-])")
_MODEL_RU = {
    "standard": "цена за единицу", "graduated": "ступенчатая шкала", "volume": "объёмная шкала",
    "package": "пакеты", "tiered_package": "пакеты по ступеням", "percentage": "процент от суммы",
    "graduated_percentage": "ступенчатый процент", "stairstep": "диапазоны с фиксированной ценой",
}
_STATUS_RU = {"active": "активна", "trial": "пробный период", "pending": "ожидает начала", "cancelling":
              "отменяется в конце периода", "cancelled": "отменена", "suspended": "приостановлена", "ended": "завершена"}
_MODEL = re.compile(r"модель (" + "|".join(sorted(_MODEL_RU, key=len, reverse=True)) + r")\b")
_STATUS = re.compile(r"статус (" + "|".join(sorted(_STATUS_RU, key=len, reverse=True)) + r")\b")


def polish(text: str, *, language: str | None = None) -> str:
    """A stored text as the page writes it: amounts ("1 990,00 ₽" / "RUB 1,990.00"), dates
    ("06.12.2026" in Russian), and in Russian the charge models and statuses by their names."""
    if not text:
        return text
    text = _AMOUNT.sub(lambda m: money_text(Decimal(m.group(1)), m.group(2), language=language), text)
    if _russian(language):
        text = _ISO_DATE.sub(lambda m: f"{m.group(3)}.{m.group(2)}.{m.group(1)}", text)
        text = _MODEL.sub(lambda m: f"модель «{_MODEL_RU[m.group(1)]}»", text)
        text = _STATUS.sub(lambda m: f"статус «{_STATUS_RU[m.group(1)]}»", text)
    return text


SYSTEM_ACTORS = {"system", "demo", "scheduler", "cli", "preview", "ensure_operator", "screenshots", "tests"}


def actor_text(label: str, kind: str = "") -> str:
    """Who did it, as the page names it: an operator or key by its name, the system's processes by
    theirs ("system:scheduler" → "Система: планировщик")."""
    name = label.partition(":")[2] if label.startswith("system:") else label
    if kind == "system" or label.startswith("system:") or (not kind and name in SYSTEM_ACTORS):
        from django.utils.translation import gettext, pgettext

        return f"{gettext('System')}: {pgettext('system actor', name)}" if name and name != "system" \
            else gettext("System")
    return label
