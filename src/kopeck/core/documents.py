"""The lines and totals of a primary document (счёт, акт, счёт-фактура, УПД).

Every line is ``quantity × price`` (rounded to the currency's minor unit, half-up) at the line's own
VAT rate (the rate is a product's, not the document's: software in the Russian register is exempt,
hosting is taxed at 22 %):

* prices include VAT ("в том числе"): VAT = round(amount × R / (100 + R)), net = amount − VAT;
* prices exclude VAT ("сверху"): VAT = round(amount × R / 100), gross = amount + VAT;
* an exempt line has no VAT and says "Без налога (НДС)".

The totals are the sums of the lines (never recomputed from a total), per rate and overall — so
the columns of a счёт-фактура always add up. A corrective document compares lines before and after
the change (:func:`correction_lines`).

Pure: no Django, no I/O. The VAT arithmetic is :mod:`kopeck.core.vat`'s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from kopeck.core.explain import Explanation
from kopeck.core.money import Currency, Money, MoneyError, money_sum, to_decimal
from kopeck.core.vat import VatRate, vat_line

__all__ = ["CorrectionLine", "DocumentCalc", "DocumentLine", "LineSpec", "Totals", "compute_document",
           "correction_lines", "format_amount"]

DEFAULT_UNIT = ("усл. ед.", "876")  # ОКЕИ 876 "условная единица"


class DocumentError(ValueError):
    """Lines that cannot make a document (mixed currencies, a non-positive quantity…)."""


@dataclass(frozen=True, slots=True)
class LineSpec:
    """One line as requested: ``price`` per unit (gross when prices include VAT, net otherwise)."""

    name: str
    price: Money
    rate: VatRate
    quantity: Decimal = Decimal(1)
    unit: str = DEFAULT_UNIT[0]
    unit_code: str = DEFAULT_UNIT[1]
    period_start: str = ""
    period_end: str = ""


@dataclass(frozen=True, slots=True)
class DocumentLine:
    number: int
    name: str
    unit: str
    unit_code: str
    quantity: Decimal
    price: Money  # as given
    price_net: Money  # per unit, without VAT (rounded; the счёт-фактура's column 4)
    net: Money
    vat: Money
    gross: Money
    rate: VatRate
    inclusive: bool
    explanation: Explanation
    period_start: str = ""
    period_end: str = ""

    @property
    def rate_label_ru(self) -> str:
        return "без НДС" if self.rate is VatRate.EXEMPT else f"{self.rate.value}%"

    @property
    def vat_label_ru(self) -> str:
        return "Без налога (НДС)" if self.rate is VatRate.EXEMPT else self.vat.to_str()

    def as_dict(self) -> dict[str, Any]:
        return {
            "number": self.number, "name": self.name, "unit": self.unit, "unit_code": self.unit_code,
            "quantity": _qty(self.quantity), "price": self.price.to_str(), "price_net": self.price_net.to_str(),
            "net": self.net.to_str(), "vat": self.vat.to_str(), "gross": self.gross.to_str(),
            "rate": self.rate.value, "rate_label": self.rate_label_ru,
            "rate_label_en": "VAT exempt" if self.rate is VatRate.EXEMPT else f"{self.rate.value}%",
            "vat_label": self.vat_label_ru, "exempt": self.rate is VatRate.EXEMPT, "inclusive": self.inclusive,
            "period_start": self.period_start, "period_end": self.period_end,
            "explanation": self.explanation.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class RateTotal:
    rate: VatRate
    net: Money
    vat: Money
    gross: Money

    def as_dict(self) -> dict[str, Any]:
        return {"rate": self.rate.value, "label": self.rate.label_ru, "label_en": self.rate.label_en,
                "net": self.net.to_str(), "vat": self.vat.to_str(), "gross": self.gross.to_str()}


@dataclass(frozen=True, slots=True)
class Totals:
    net: Money
    vat: Money
    gross: Money
    by_rate: tuple[RateTotal, ...]
    explanation: Explanation

    @property
    def exempt(self) -> bool:
        """Every line is exempt: the document says "Без налога (НДС)" instead of a VAT amount."""
        return all(r.rate is VatRate.EXEMPT for r in self.by_rate)

    def as_dict(self) -> dict[str, Any]:
        return {"net": self.net.to_str(), "vat": self.vat.to_str(), "gross": self.gross.to_str(),
                "exempt": self.exempt, "by_rate": [r.as_dict() for r in self.by_rate],
                "explanation": self.explanation.as_dict()}


@dataclass(frozen=True, slots=True)
class DocumentCalc:
    currency: Currency
    inclusive: bool
    lines: tuple[DocumentLine, ...]
    totals: Totals

    def as_dict(self) -> dict[str, Any]:
        return {"currency": self.currency.code, "prices_include_vat": self.inclusive,
                "lines": [ln.as_dict() for ln in self.lines], "totals": self.totals.as_dict()}


def _qty(q: Decimal) -> str:
    text = format(q.normalize(), "f")
    return text


_RATE_ORDER = {r: i for i, r in enumerate(VatRate)}


def compute_line(number: int, spec: LineSpec, *, inclusive: bool) -> DocumentLine:
    quantity = to_decimal(spec.quantity)
    if quantity <= 0:
        raise DocumentError(f"line {number}: the quantity must be greater than zero")
    name = spec.name.strip()
    if not name:
        raise DocumentError(f"line {number}: a name is required")
    amount = (spec.price * quantity).round_line()
    vl = vat_line(amount, spec.rate, prices_include_vat=inclusive)
    price_net = (vl.net / quantity).round_line()
    qty_text = _qty(quantity)
    ru = f"{name}: {qty_text} × {spec.price.to_str()} = {amount.to_str()}; {vl.explanation.ru}"
    en = f"{name}: {qty_text} × {spec.price.to_str()} = {amount.to_str()}; {vl.explanation.en}"
    return DocumentLine(
        number=number, name=name, unit=spec.unit, unit_code=spec.unit_code, quantity=quantity,
        price=spec.price, price_net=price_net, net=vl.net, vat=vl.vat, gross=vl.gross, rate=spec.rate,
        inclusive=inclusive,
        explanation=Explanation(ru=ru, en=en, formula=f"amount = round({qty_text} × {spec.price.amount}); "
                                                      f"{vl.explanation.formula}"),
        period_start=spec.period_start, period_end=spec.period_end,
    )


def totals_of(lines: Sequence[DocumentLine], currency: Currency) -> Totals:
    """The sums of the lines, overall and per rate."""
    net = money_sum((ln.net for ln in lines), currency)
    vat = money_sum((ln.vat for ln in lines), currency)
    gross = money_sum((ln.gross for ln in lines), currency)
    rates = sorted({ln.rate for ln in lines}, key=_RATE_ORDER.__getitem__)
    by_rate = tuple(RateTotal(
        rate,
        money_sum((ln.net for ln in lines if ln.rate is rate), currency),
        money_sum((ln.vat for ln in lines if ln.rate is rate), currency),
        money_sum((ln.gross for ln in lines if ln.rate is rate), currency),
    ) for rate in rates)
    parts = " + ".join(ln.gross.to_str() for ln in lines) or "0"
    vat_parts = " + ".join(ln.vat.to_str() for ln in lines) or "0"
    return Totals(net, vat, gross, by_rate, Explanation(
        ru=f"Всего = сумма строк: {parts} = {gross.to_str()}; НДС = {vat_parts} = {vat.to_str()}",
        en=f"Total = sum of the lines: {parts} = {gross.to_str()}; VAT = {vat_parts} = {vat.to_str()}",
        formula="total = Σ line.gross; vat = Σ line.vat; net = Σ line.net",
    ))


def compute_document(specs: Sequence[LineSpec], *, currency: str | Currency, inclusive: bool,
                     memo: dict[tuple[LineSpec, bool], DocumentLine] | None = None) -> DocumentCalc:
    """The lines (numbered from 1) and totals of a document. Every line must be in ``currency``.
    ``memo`` (a dict kept by the caller across documents) reuses the computation of a line equal to
    one computed before — the same name, price, rate and period give the same line."""
    cur = Currency.of(currency)
    lines = []
    for number, spec in enumerate(specs, start=1):
        if spec.price.currency != cur:
            raise DocumentError(f"line {number}: {spec.price.currency} in a {cur} document")
        known = memo.get((spec, inclusive)) if memo is not None else None
        if known is not None:
            lines.append(known if known.number == number else replace(known, number=number))
            continue
        try:
            line = compute_line(number, spec, inclusive=inclusive)
        except MoneyError as exc:
            raise DocumentError(f"line {number}: {exc}") from exc
        if memo is not None:
            memo[(spec, inclusive)] = line
        lines.append(line)
    return DocumentCalc(cur, inclusive, tuple(lines), totals_of(lines, cur))


@dataclass(frozen=True, slots=True)
class CorrectionLine:
    """One line of a корректировочный счёт-фактура: values before (А) and after (Б) the change and
    the difference: increase (В) or decrease (Г)."""

    number: int
    name: str
    before: DocumentLine
    after: DocumentLine
    increase: dict[str, Money] = field(default_factory=dict)
    decrease: dict[str, Money] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "name": self.name, "before": self.before.as_dict(),
                "after": self.after.as_dict(),
                "increase": {k: v.to_str() for k, v in self.increase.items()},
                "decrease": {k: v.to_str() for k, v in self.decrease.items()}}


def correction_lines(before: Sequence[DocumentLine], after: Sequence[DocumentLine]) -> list[CorrectionLine]:
    """Pair the lines by position (the corrected document keeps the original's lines in order) and
    split each difference of net, VAT and gross into an increase or a decrease."""
    if len(before) != len(after):
        raise DocumentError("a correction keeps the lines of the original document (same count, same order)")
    result = []
    for b, a in zip(before, after, strict=True):
        inc: dict[str, Money] = {}
        dec: dict[str, Money] = {}
        for key in ("net", "vat", "gross"):
            diff: Money = getattr(a, key) - getattr(b, key)
            zero = Money.zero(diff.currency)
            inc[key] = diff if diff.is_positive() else zero
            dec[key] = -diff if diff.is_negative() else zero
        result.append(CorrectionLine(b.number, a.name, b, a, inc, dec))
    return result


def format_amount(value: Decimal | str, language: str = "ru", minor_units: int = 2) -> str:
    """``1234567.5`` → "1 234 567,50" (ru: no-break spaces, decimal comma) or "1,234,567.50" (en)."""
    amount = to_decimal(value).quantize(Decimal(1).scaleb(-minor_units), rounding=ROUND_HALF_UP)
    text = f"{amount:,.{minor_units}f}"
    if language.startswith("ru"):
        return text.replace(",", "\u00a0").replace(".", ",")
    return text
