"""Document lines: VAT per line (22/122 inclusive, on top, exempt), totals are the sums of the lines,
per rate too; corrections split into increases and decreases."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kopeck.core.documents import (
    DocumentError,
    LineSpec,
    compute_document,
    correction_lines,
    format_amount,
)
from kopeck.core.money import Money
from kopeck.core.vat import VatRate


def rub(value: str) -> Money:
    return Money(value, "RUB")


def test_inclusive_22_122_per_line() -> None:
    doc = compute_document([LineSpec("VPS", rub("1490.00"), VatRate.VAT_22),
                            LineSpec("Диск", rub("100.00"), VatRate.VAT_22, quantity=Decimal(3))],
                           currency="RUB", inclusive=True)
    a, b = doc.lines
    assert (a.gross, a.vat, a.net) == (rub("1490.00"), rub("268.69"), rub("1221.31"))  # 1490 × 22/122 = 268.688…
    assert (b.gross, b.vat, b.net, b.price_net) == (rub("300.00"), rub("54.10"), rub("245.90"), rub("81.97"))
    assert (doc.totals.gross, doc.totals.vat, doc.totals.net) == (rub("1790.00"), rub("322.79"), rub("1467.21"))
    assert a.explanation.ru == ("VPS: 1 × 1490.00 = 1490.00; НДС 22% в том числе: 1490.00 × 22/122 = 268.69; "
                                "без НДС 1221.31")
    assert doc.totals.explanation.ru == ("Всего = сумма строк: 1490.00 + 300.00 = 1790.00; "
                                         "НДС = 268.69 + 54.10 = 322.79")


def test_on_top() -> None:
    doc = compute_document([LineSpec("Хостинг", rub("999.99"), VatRate.VAT_22)], currency="RUB", inclusive=False)
    (line,) = doc.lines
    assert (line.net, line.vat, line.gross) == (rub("999.99"), rub("220.00"), rub("1219.99"))
    assert "НДС 22% сверху: 999.99 × 22/100 = 220.00" in line.explanation.ru


def test_exempt_lines_and_a_mixed_document() -> None:
    doc = compute_document([LineSpec("ПО из реестра", rub("500.00"), VatRate.EXEMPT),
                            LineSpec("VPS", rub("122.00"), VatRate.VAT_22),
                            LineSpec("Книги", rub("110.00"), VatRate.VAT_10)], currency="RUB", inclusive=True)
    exempt = doc.lines[0]
    assert (exempt.vat, exempt.vat_label_ru, exempt.rate_label_ru) == (rub("0"), "Без налога (НДС)", "без НДС")
    assert not doc.totals.exempt
    assert [(r.rate.value, r.vat.to_str(), r.gross.to_str()) for r in doc.totals.by_rate] == [
        ("22", "22.00", "122.00"), ("10", "10.00", "110.00"), ("exempt", "0.00", "500.00")]
    only = compute_document([LineSpec("ПО", rub("1.00"), VatRate.EXEMPT)], currency="RUB", inclusive=True)
    assert only.totals.exempt and only.as_dict()["totals"]["vat"] == "0.00"


def test_refusals() -> None:
    with pytest.raises(DocumentError):
        compute_document([LineSpec("x", Money("1", "USD"), VatRate.VAT_22)], currency="RUB", inclusive=True)
    with pytest.raises(DocumentError):
        compute_document([LineSpec("x", rub("1"), VatRate.VAT_22, quantity=Decimal(0))], currency="RUB",
                         inclusive=True)
    with pytest.raises(DocumentError):
        compute_document([LineSpec(" ", rub("1"), VatRate.VAT_22)], currency="RUB", inclusive=True)


def test_corrections() -> None:
    before = compute_document([LineSpec("VPS", rub("1220.00"), VatRate.VAT_22)], currency="RUB", inclusive=True)
    after = compute_document([LineSpec("VPS", rub("610.00"), VatRate.VAT_22)], currency="RUB", inclusive=True)
    (c,) = correction_lines(before.lines, after.lines)
    assert {k: v.to_str() for k, v in c.decrease.items()} == {"net": "500.00", "vat": "110.00", "gross": "610.00"}
    assert {k: v.to_str() for k, v in c.increase.items()} == {"net": "0.00", "vat": "0.00", "gross": "0.00"}
    with pytest.raises(DocumentError):
        correction_lines(before.lines, ())


def test_format_amount() -> None:
    assert format_amount(Decimal("1234567.5")) == "1\u00a0234\u00a0567,50"
    assert format_amount("1234567.5", "en") == "1,234,567.50"
    assert format_amount("-0.004") == "-0,00"


amounts = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("10000000.00"), places=2)
rates = st.sampled_from(list(VatRate))
quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("1000"), places=3)


@given(st.lists(st.tuples(amounts, rates, quantities), min_size=1, max_size=20), st.booleans())
def test_totals_are_the_sums_of_the_lines(rows: list[tuple[Decimal, VatRate, Decimal]], inclusive: bool) -> None:
    doc = compute_document([LineSpec(f"line {i}", rub(str(a)), r, quantity=q) for i, (a, r, q) in enumerate(rows)],
                           currency="RUB", inclusive=inclusive)
    assert doc.totals.gross == sum((ln.gross for ln in doc.lines), rub("0"))
    assert doc.totals.vat == sum((ln.vat for ln in doc.lines), rub("0"))
    assert doc.totals.net == sum((ln.net for ln in doc.lines), rub("0"))
    assert doc.totals.gross == doc.totals.net + doc.totals.vat
    assert sum((r.gross for r in doc.totals.by_rate), rub("0")) == doc.totals.gross
    for ln in doc.lines:
        assert ln.gross == ln.net + ln.vat and ln.gross.is_rounded() and ln.vat.is_rounded()
        amount = (ln.price * ln.quantity).round_line()
        assert (ln.gross if inclusive else ln.net) == amount
        if ln.rate is VatRate.EXEMPT:
            assert ln.vat.is_zero()
        elif ln.rate.percent:
            base = ln.gross * ln.rate.percent / (100 + ln.rate.percent) if inclusive else ln.net * ln.rate.percent / 100
            assert ln.vat == base.round_line()


@given(st.lists(st.lists(st.tuples(st.sampled_from(["VPS", "Диск", "IP"]), st.sampled_from(["100.00", "99.99", "0.01"]),
                                   rates), min_size=1, max_size=5), min_size=1, max_size=6), st.booleans())
def test_a_shared_memo_gives_the_same_documents(docs: list[list[tuple[str, str, VatRate]]], inclusive: bool) -> None:
    memo: dict[tuple[LineSpec, bool], object] = {}
    for rows in docs:
        specs = [LineSpec(name, rub(price), rate) for name, price, rate in rows]
        fresh = compute_document(specs, currency="RUB", inclusive=inclusive)
        assert compute_document(specs, currency="RUB", inclusive=inclusive, memo=memo) == fresh  # type: ignore[arg-type]
        assert [ln.number for ln in fresh.lines] == list(range(1, len(specs) + 1))
