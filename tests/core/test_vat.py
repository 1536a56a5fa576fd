from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kopeck.core.money import Money
from kopeck.core.vat import VatLine, VatPolicy, VatRate, vat_inclusive, vat_line, vat_on_top, vat_on_top_step


def rub(x: str) -> Money:
    return Money(x, "RUB")


def test_inclusive_22() -> None:
    # 1220.00 × 22/122 = 220.00
    line = vat_inclusive(rub("1220.00"), VatRate.VAT_22)
    assert (line.net, line.vat, line.gross) == (rub("1000.00"), rub("220.00"), rub("1220.00"))
    assert "22/122" in line.explanation.en


def test_inclusive_rounds_half_up_per_line() -> None:
    # 100.00 × 22/122 = 18.0327… → 18.03; net 81.97
    line = vat_inclusive(rub("100.00"), VatRate.VAT_22)
    assert (line.vat, line.net) == (rub("18.03"), rub("81.97"))
    # 10.00 × 10/110 = 0.9090… → 0.91
    assert vat_inclusive(rub("10.00"), VatRate.VAT_10).vat == rub("0.91")
    # 105.00 × 5/105 = 5.00; 107.00 × 7/107 = 7.00
    assert vat_inclusive(rub("105.00"), VatRate.VAT_5).vat == rub("5.00")
    assert vat_inclusive(rub("107.00"), VatRate.VAT_7).vat == rub("7.00")


def test_on_top_22() -> None:
    # 999.99 × 22/100 = 219.9978 → 220.00; gross 1219.99
    line = vat_on_top(rub("999.99"), VatRate.VAT_22)
    assert (line.vat, line.gross) == (rub("220.00"), rub("1219.99"))


@pytest.mark.parametrize(("net", "rate", "vat"), [
    ("100.75", VatRate.VAT_22, "22.17"),  # 22.165: half-even would give 22.16
    ("0.25", VatRate.VAT_22, "0.06"),  # 0.055
    ("100.05", VatRate.VAT_10, "10.01"),  # 10.005: half-even 10.00
    ("0.10", VatRate.VAT_5, "0.01"),  # 0.005: half-even 0.00
    ("0.50", VatRate.VAT_7, "0.04"),  # 0.035
    ("-100.75", VatRate.VAT_22, "-22.17"),  # a credit: away from zero
])
def test_on_top_ties_round_half_up(net: str, rate: VatRate, vat: str) -> None:
    """Exact half-kopeck ties of VAT on top. (VAT included cannot tie at Kopeck's rates: R / (100 + R)
    is 11/61, 1/11, 1/21 or 7/107 — no half in minor units.)"""
    line = vat_on_top(rub(net), rate)
    assert (line.vat, line.gross) == (rub(vat), rub(net) + rub(vat))
    # and the gross splits back to the same VAT when posted (the ledger splits charges inclusively)
    assert vat_inclusive(line.gross, rate).vat == rub(vat)


def test_zero_and_exempt() -> None:
    assert vat_on_top(rub("50.00"), VatRate.VAT_0).vat == rub("0.00")
    exempt = vat_inclusive(rub("50.00"), VatRate.EXEMPT)
    assert (exempt.net, exempt.vat) == (rub("50.00"), rub("0"))
    assert exempt.explanation.ru.endswith("без налога (НДС)")
    assert VatRate.EXEMPT.label_ru == "Без налога (НДС)"


def test_vat_line_picks_the_method() -> None:
    assert vat_line(rub("122.00"), VatRate.VAT_22, prices_include_vat=True).vat == rub("22.00")
    assert vat_line(rub("100.00"), VatRate.VAT_22, prices_include_vat=False).vat == rub("22.00")


@pytest.mark.parametrize("text", ["22", "22%", " 10 ", "exempt", "EXEMPT", "0"])
def test_parse(text: str) -> None:
    assert VatRate.parse(text).value == text.strip().lower().rstrip("%")


def test_parse_refuses_unknown_rates() -> None:
    with pytest.raises(ValueError, match="unknown VAT rate"):
        VatRate.parse("18")


gross = st.decimals(min_value=Decimal("0"), max_value=Decimal("10000000"), places=2)


@given(gross, st.sampled_from(list(VatRate)))
def test_inclusive_net_plus_vat_is_gross(amount: Decimal, rate: VatRate) -> None:
    line = vat_inclusive(rub(str(amount)), rate)
    assert line.net + line.vat == line.gross == rub(str(amount))
    assert line.vat.is_rounded()


@given(gross, st.sampled_from(list(VatRate)))
def test_on_top_gross_is_net_plus_vat(amount: Decimal, rate: VatRate) -> None:
    line = vat_on_top(rub(str(amount)), rate)
    assert line.gross == line.net + line.vat
    pct = rate.percent or Decimal(0)
    assert abs(line.vat.amount - amount * pct / 100) <= Decimal("0.005")


def test_the_vat_policy_chooses_the_rate_and_adds_vat_on_top_or_not() -> None:
    on_top = VatPolicy.of_regime("osn", prices_include_vat=False)
    assert (on_top.rate_for(""), on_top.rate_for(None), on_top.rate_for("exempt")) == (
        VatRate.VAT_22, VatRate.VAT_22, VatRate.EXEMPT)
    line = on_top.line(Money("1000.00", "RUB"), on_top.rate_for(""))
    assert (line.net, line.vat, line.gross) == (Money("1000.00", "RUB"), Money("220.00", "RUB"),
                                                Money("1220.00", "RUB"))
    included = VatPolicy.of_regime("usn_5", prices_include_vat=True)
    line = included.line(Money("1050.00", "RUB"), included.rate_for(None))
    assert (line.net, line.vat, line.gross) == (Money("1000.00", "RUB"), Money("50.00", "RUB"),
                                                Money("1050.00", "RUB"))


@given(net=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000000"), places=2),
       rate=st.sampled_from([r for r in VatRate if r is not VatRate.EXEMPT]))
def test_vat_on_top_splits_back_to_the_same_vat(net: Decimal, rate: VatRate) -> None:
    """What the ledger books (the gross amount split "в т.ч.") is the VAT added on top, to the kopeck."""
    top = vat_on_top(Money(net, "RUB"), rate)
    back = vat_inclusive(top.gross, rate)
    assert (back.net, back.vat) == (top.net, top.vat)


@pytest.mark.parametrize(("split", "rate", "net", "vat", "gross", "ru", "en", "formula"), [
    (vat_inclusive, VatRate.VAT_22, "1000.00", "220.00", "1220.00",
     "НДС 22% в том числе: 1220.00 × 22/122 = 220.00; без НДС 1000.00",
     "VAT 22% included: 1220.00 × 22/122 = 220.00; net 1000.00", "vat = round(1220.00 × 22 / 122) = 220.00"),
    (vat_on_top, VatRate.VAT_22, "1220.00", "268.40", "1488.40",
     "НДС 22% сверху: 1220.00 × 22/100 = 268.40; всего 1488.40",
     "VAT 22% on top: 1220.00 × 22/100 = 268.40; total 1488.40", "vat = round(1220.00 × 22 / 100) = 268.40"),
    (vat_inclusive, VatRate.EXEMPT, "1220.00", "0.00", "1220.00", "1220.00 — без налога (НДС)",
     "1220.00 — VAT exempt", "vat = 0"),
    (vat_on_top, VatRate.EXEMPT, "1220.00", "0.00", "1220.00", "1220.00 — без налога (НДС)",
     "1220.00 — VAT exempt", "vat = 0"),
])
def test_every_line_explains_itself(split: Callable[[Money, VatRate], VatLine], rate: VatRate, net: str, vat: str,
                                    gross: str, ru: str, en: str, formula: str) -> None:
    """The explanation an operator reads under every amount, whole (a line rounded first: 1220.004)."""
    line = split(rub("1220.004"), rate)
    assert (line.net, line.vat, line.gross, line.rate) == (rub(net), rub(vat), rub(gross), rate)
    assert line.inclusive is (split is vat_inclusive)
    assert (line.explanation.ru, line.explanation.en, line.explanation.formula) == (ru, en, formula)


def test_labels_and_the_refusal_of_an_unknown_rate() -> None:
    assert [(r.label_ru, r.label_en) for r in (VatRate.VAT_22, VatRate.EXEMPT)] == [
        ("НДС 22%", "VAT 22%"), ("Без налога (НДС)", "VAT exempt")]
    assert (VatRate.VAT_10.percent, VatRate.EXEMPT.percent) == (Decimal(10), None)
    with pytest.raises(ValueError) as info:
        VatRate.parse("18")
    assert str(info.value) == "unknown VAT rate '18'; use one of 22, 10, 0, 5, 7, exempt"


def test_on_top_step_says_the_working_without_the_gross() -> None:
    line = vat_on_top(rub("59.27"), VatRate.VAT_22)
    assert vat_on_top_step(line) == ("НДС 22% сверху: 59.27 × 22/100 = 13.04",
                                     "VAT 22% on top: 59.27 × 22/100 = 13.04")


def test_on_top_step_refuses_an_inclusive_line() -> None:
    # the working of VAT on top is not the working of VAT inside a price
    with pytest.raises(AssertionError):
        vat_on_top_step(vat_inclusive(rub("1220.00"), VatRate.VAT_22))
