"""Units of measure of primary documents: a product's unit and its code in the ОКЕИ (Общероссийский
классификатор единиц измерения, ОК 015-94), which a счёт-фактура and an УПД print next to it.

:func:`okei_code` knows the units a provider of hosting, SaaS and cloud services writes — by their
usual short forms, with or without the final dot, in any case. A unit it does not know gets no code:
the document prints a dash, as the Ministry of Finance allows for a service without an ОКЕИ unit
(письмо Минфина от 15.10.2012 № 03-07-05/42)."""

from __future__ import annotations

OKEI: dict[str, str] = {
    # piece, set, package, conventional unit
    "шт": "796", "штука": "796", "компл": "839", "комплект": "839", "упак": "778", "упаковка": "778",
    "усл. ед": "876", "усл ед": "876", "усл": "876",
    # time
    "с": "354", "сек": "354", "мин": "355", "ч": "356", "час": "356", "сут": "359", "дн": "359", "день": "359",
    "нед": "360", "мес": "362", "месяц": "362", "кварт": "364", "квартал": "364", "полугод": "365",
    "год": "366", "лет": "366",
    # information
    "байт": "255", "кбайт": "256", "кб": "256", "мбайт": "257", "мб": "257", "гбайт": "2553", "гб": "2553",
    "гигабайт": "2553", "тбайт": "2554", "тб": "2554",
}


def okei_code(unit: str) -> str:
    """The ОКЕИ code of ``unit`` (``"мес"`` → ``"362"``, ``"ГБ"`` → ``"2553"``); ``""`` when unknown."""
    key = " ".join(str(unit).strip().lower().rstrip(".").split())
    return OKEI.get(key, "")
