"""VAT (НДС): rates, inclusive and on-top calculation, rounded per line — and the provider's VAT
policy, the one place that says which rate a line carries and whether prices include VAT.

* inclusive ("в т.ч. НДС"): VAT = round(gross × R / (100 + R)); net = gross − VAT
* on top ("НДС сверху"): VAT = round(net × R / 100); gross = net + VAT
* exempt ("Без налога (НДС)"): VAT = 0, net = gross

Rounding: once per line, to the currency's minor unit, half-up. Document totals are sums of lines.

:class:`VatPolicy`: a line's rate is its product's, else the default rate of the provider's VAT
regime (:data:`REGIME_DEFAULT_RATE`); catalog prices include VAT or get it on top (one setting).
Whatever is posted to the ledger is gross: a price of 1000.00 with 22 % on top is posted as
1220.00 (VAT 220.00), and splitting that gross amount back ("в т.ч.") gives the same 220.00 — for
every rate, since VAT on top is rounded once, half-up (|error| ≤ half a kopeck, shrunk by 1 + R
on the way back).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

from kopeck.core.explain import Explanation
from kopeck.core.money import Money


class VatRate(Enum):
    """The VAT rates Kopeck applies (425-ФЗ: 22 % general from 2026-01-01)."""

    VAT_22 = "22"
    VAT_10 = "10"
    VAT_0 = "0"
    VAT_5 = "5"  # УСН special rate
    VAT_7 = "7"  # УСН special rate
    EXEMPT = "exempt"  # ст. 145 / ст. 149 НК — "Без налога (НДС)"

    @property
    def percent(self) -> Decimal | None:
        return None if self is VatRate.EXEMPT else Decimal(self.value)

    @property
    def label_ru(self) -> str:
        return "Без налога (НДС)" if self is VatRate.EXEMPT else f"НДС {self.value}%"

    @property
    def label_en(self) -> str:
        return "VAT exempt" if self is VatRate.EXEMPT else f"VAT {self.value}%"

    @classmethod
    def parse(cls, value: str) -> VatRate:
        text = str(value).strip().lower().rstrip("%")
        for rate in cls:
            if rate.value == text:
                return rate
        raise ValueError(f"unknown VAT rate {value!r}; use one of {', '.join(r.value for r in cls)}")


@dataclass(frozen=True, slots=True)
class VatLine:
    net: Money
    vat: Money
    gross: Money
    rate: VatRate
    inclusive: bool
    explanation: Explanation


def _fmt(m: Money) -> str:
    return m.to_str()


def vat_inclusive(gross: Money, rate: VatRate) -> VatLine:
    """Split a VAT-inclusive line amount into net and VAT (gross × R / (100 + R))."""
    gross = gross.round_line()
    pct = rate.percent
    if pct is None:
        zero = Money.zero(gross.currency)
        return VatLine(gross, zero, gross, rate, True, Explanation(
            ru=f"{_fmt(gross)} — без налога (НДС)", en=f"{_fmt(gross)} — VAT exempt", formula="vat = 0"))
    vat = (gross * pct / (Decimal(100) + pct)).round_line()
    net = gross - vat
    return VatLine(net, vat, gross, rate, True, Explanation(
        ru=f"НДС {pct}% в том числе: {_fmt(gross)} × {pct}/{100 + pct} = {_fmt(vat)}; без НДС {_fmt(net)}",
        en=f"VAT {pct}% included: {_fmt(gross)} × {pct}/{100 + pct} = {_fmt(vat)}; net {_fmt(net)}",
        formula=f"vat = round({gross.amount} × {pct} / {100 + pct}) = {vat.amount}",
    ))


def vat_on_top(net: Money, rate: VatRate) -> VatLine:
    """Add VAT to a net line amount (net × R / 100)."""
    net = net.round_line()
    pct = rate.percent
    if pct is None:
        zero = Money.zero(net.currency)
        return VatLine(net, zero, net, rate, False, Explanation(
            ru=f"{_fmt(net)} — без налога (НДС)", en=f"{_fmt(net)} — VAT exempt", formula="vat = 0"))
    vat = (net * pct / Decimal(100)).round_line()
    gross = net + vat
    ru, en = _on_top_words(net, vat, pct)
    return VatLine(net, vat, gross, rate, False, Explanation(
        ru=f"{ru}; всего {_fmt(gross)}",
        en=f"{en}; total {_fmt(gross)}",
        formula=f"vat = round({net.amount} × {pct} / 100) = {vat.amount}",
    ))


def vat_on_top_step(line: VatLine) -> tuple[str, str]:
    """How VAT on top was computed, in Russian and English, without the gross that follows: for a text
    that says the gross itself (once), e.g. a charge's explanation ending in "всего 72.31 RUB"."""
    assert line.rate.percent is not None and not line.inclusive
    return _on_top_words(line.net, line.vat, line.rate.percent)


def _on_top_words(net: Money, vat: Money, pct: Decimal) -> tuple[str, str]:
    return (f"НДС {pct}% сверху: {_fmt(net)} × {pct}/100 = {_fmt(vat)}",
            f"VAT {pct}% on top: {_fmt(net)} × {pct}/100 = {_fmt(vat)}")


def vat_line(amount: Money, rate: VatRate, *, prices_include_vat: bool) -> VatLine:
    return vat_inclusive(amount, rate) if prices_include_vat else vat_on_top(amount, rate)


REGIME_DEFAULT_RATE: dict[str, VatRate] = {
    "osn": VatRate.VAT_22,          # ОСН
    "usn_exempt": VatRate.EXEMPT,   # УСН without VAT
    "usn_5": VatRate.VAT_5,
    "usn_7": VatRate.VAT_7,
    "usn_general": VatRate.VAT_22,  # УСН on the general rates
}
"""The rate of a line that names none, per VAT regime (the billing settings' ``vat_regime``)."""


@dataclass(frozen=True, slots=True)
class VatPolicy:
    """The provider's VAT policy (see the module docstring)."""

    default_rate: VatRate
    prices_include_vat: bool = True

    @classmethod
    def of_regime(cls, regime: str, *, prices_include_vat: bool) -> VatPolicy:
        return cls(REGIME_DEFAULT_RATE[regime], prices_include_vat)

    def rate_for(self, rate: str | VatRate | None) -> VatRate:
        """The rate of a line whose product names ``rate`` (blank: the regime's default)."""
        if isinstance(rate, VatRate):
            return rate
        return VatRate.parse(rate) if rate else self.default_rate

    def line(self, price: Money, rate: VatRate) -> VatLine:
        """A priced line (a catalog price, prorated and rounded) with its VAT: included, or on top."""
        return vat_line(price, rate, prices_include_vat=self.prices_include_vat)
