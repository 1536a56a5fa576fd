"""Invoice numbers in a payment's purpose (НазначениеПлатежа): "Оплата по счету № 123 от
01.02.2026", "сч. 123", "Счет на оплату №СЧ-2026/17", "Invoice #42". Pure text work, no database."""

from __future__ import annotations

import re
from collections.abc import Iterable

# a number: letters, digits, "-", "/" and inner dots, starting and ending with a letter or digit
_NUMBER = r"([0-9A-Za-zА-Яа-яЁё](?:[0-9A-Za-zА-Яа-яЁё/\-]|\.(?=[0-9A-Za-zА-Яа-яЁё]))*)"
_KEYWORD = re.compile(
    r"(?:сч[её]т(?:[ауе]|ом)?(?:\s+на\s+оплату)?|сч\.?|с/ф|инвойс[ау]?|invoice|inv\.?)"
    r"\s*(?:№|N\s|N(?=\d)|#|No\.?)?\s*" + _NUMBER,
    re.IGNORECASE)
_NUMERO = re.compile(r"(?:№|#)\s*" + _NUMBER)


def invoice_numbers_in(purpose: str) -> list[str]:
    """The candidate invoice numbers named in ``purpose``, in order of appearance, without repeats:
    after a word for an invoice (счет, счёт, сч., invoice…), then after any "№"."""
    found: list[str] = []
    for pattern in (_KEYWORD, _NUMERO):
        for m in pattern.finditer(purpose or ""):
            token = m.group(1)
            if any(ch.isdigit() for ch in token) and token not in found:
                found.append(token)
    return found


def first_named(purpose: str, numbers: Iterable[str]) -> list[str]:
    """Those of ``numbers`` named in ``purpose``, in the purpose's order."""
    wanted = set(numbers)
    return [n for n in invoice_numbers_in(purpose) if n in wanted]
