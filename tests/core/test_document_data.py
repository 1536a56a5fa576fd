"""What a document stores and prints, whole: every field of its lines and totals (as_dict — the
document's data, the PDF's and the API's source), rates in the law's order, labels, explanations,
corrections both ways, refusals' messages and a memo that renumbers a reused line."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kopeck.core.documents import DocumentError, LineSpec, compute_document, correction_lines, format_amount
from kopeck.core.money import Money
from kopeck.core.vat import VatRate


def rub(value: str) -> Money:
    return Money(value, "RUB")


WORK = LineSpec(" Работы ", rub("100.25"), VatRate.VAT_22, quantity=Decimal("2.50"), unit="ч", unit_code="356",
                period_start="2027-01-01", period_end="2027-01-31")
DOMAIN = LineSpec("Домен", rub("990.00"), VatRate.EXEMPT)
BOOK = LineSpec("Книга", rub("110.00"), VatRate.VAT_10)


def test_a_mixed_document_whole() -> None:
    data = compute_document([WORK, DOMAIN, BOOK], currency="RUB", inclusive=True).as_dict()
    assert (data["currency"], data["prices_include_vat"]) == ("RUB", True)
    work, domain, book = data["lines"]
    # 2.5 × 100.25 = 250.625 → 250.63; VAT 250.63 × 22/122 = 45.197… → 45.20; per unit net 205.43 / 2.5 = 82.17
    assert work == {
        "number": 1, "name": "Работы", "unit": "ч", "unit_code": "356", "quantity": "2.5", "price": "100.25",
        "price_net": "82.17", "net": "205.43", "vat": "45.20", "gross": "250.63", "rate": "22", "rate_label": "22%",
        "rate_label_en": "22%", "vat_label": "45.20", "exempt": False, "inclusive": True,
        "period_start": "2027-01-01", "period_end": "2027-01-31", "explanation": {
            "ru": "Работы: 2.5 × 100.25 = 250.63; НДС 22% в том числе: 250.63 × 22/122 = 45.20; без НДС 205.43",
            "en": "Работы: 2.5 × 100.25 = 250.63; VAT 22% included: 250.63 × 22/122 = 45.20; net 205.43",
            "formula": "amount = round(2.5 × 100.25); vat = round(250.63 × 22 / 122) = 45.20"}}
    assert domain == {
        "number": 2, "name": "Домен", "unit": "усл. ед.", "unit_code": "876", "quantity": "1", "price": "990.00",
        "price_net": "990.00", "net": "990.00", "vat": "0.00", "gross": "990.00", "rate": "exempt",
        "rate_label": "без НДС", "rate_label_en": "VAT exempt", "vat_label": "Без налога (НДС)", "exempt": True,
        "inclusive": True, "period_start": "", "period_end": "", "explanation": {
            "ru": "Домен: 1 × 990.00 = 990.00; 990.00 — без налога (НДС)",
            "en": "Домен: 1 × 990.00 = 990.00; 990.00 — VAT exempt", "formula": "amount = round(1 × 990.00); vat = 0"}}
    assert (book["rate_label"], book["vat_label"], book["net"], book["vat"]) == ("10%", "10.00", "100.00", "10.00")
    totals = data["totals"]
    assert (totals["net"], totals["vat"], totals["gross"], totals["exempt"]) == ("1295.43", "55.20", "1350.63", False)
    # per rate in the order of the rates (22, 10, …, exempt), not of the lines
    assert totals["by_rate"] == [
        {"rate": "22", "label": "НДС 22%", "label_en": "VAT 22%", "net": "205.43", "vat": "45.20", "gross": "250.63"},
        {"rate": "10", "label": "НДС 10%", "label_en": "VAT 10%", "net": "100.00", "vat": "10.00", "gross": "110.00"},
        {"rate": "exempt", "label": "Без налога (НДС)", "label_en": "VAT exempt", "net": "990.00", "vat": "0.00",
         "gross": "990.00"}]
    assert totals["explanation"] == {
        "ru": "Всего = сумма строк: 250.63 + 990.00 + 110.00 = 1350.63; НДС = 45.20 + 0.00 + 10.00 = 55.20",
        "en": "Total = sum of the lines: 250.63 + 990.00 + 110.00 = 1350.63; VAT = 45.20 + 0.00 + 10.00 = 55.20",
        "formula": "total = Σ line.gross; vat = Σ line.vat; net = Σ line.net"}


def test_a_whole_quantity_is_written_whole() -> None:
    line = compute_document([LineSpec("Диски", rub("10.00"), VatRate.VAT_22, quantity=Decimal("10.000"))],
                            currency="RUB", inclusive=True).lines[0].as_dict()
    assert (line["quantity"], line["explanation"]["formula"][:25]) == ("10", "amount = round(10 × 10.00")


def test_an_exempt_document_and_an_empty_one() -> None:
    exempt = compute_document([DOMAIN, DOMAIN], currency="RUB", inclusive=False).totals
    assert exempt.exempt and (exempt.vat, exempt.gross) == (rub("0"), rub("1980.00"))
    empty = compute_document([], currency="RUB", inclusive=True).totals
    assert (empty.gross, empty.by_rate, empty.explanation.en) == (
        rub("0"), (), "Total = sum of the lines: 0 = 0.00; VAT = 0 = 0.00")


def test_a_memo_reuses_a_line_under_its_own_number() -> None:
    memo: dict[tuple[LineSpec, bool], object] = {}
    first = compute_document([BOOK], currency="RUB", inclusive=True, memo=memo)  # type: ignore[arg-type]
    second = compute_document([DOMAIN, BOOK], currency="RUB", inclusive=True, memo=memo)  # type: ignore[arg-type]
    assert [ln.number for ln in second.lines] == [1, 2] and second.lines[1].gross == first.lines[0].gross
    assert len(memo) == 2
    again = compute_document([BOOK], currency="RUB", inclusive=True, memo=memo)  # type: ignore[arg-type]
    assert again.lines[0] is first.lines[0]


def test_the_refusals_name_the_line() -> None:
    def refused(specs: list[LineSpec], message: str) -> None:
        with pytest.raises(DocumentError) as info:
            compute_document(specs, currency="RUB", inclusive=True)
        assert str(info.value) == message

    refused([BOOK, LineSpec("x", Money("1", "USD"), VatRate.VAT_22)], "line 2: USD in a RUB document")
    refused([LineSpec("x", rub("1"), VatRate.VAT_22, quantity=Decimal("-1"))],
            "line 1: the quantity must be greater than zero")
    refused([LineSpec("x", rub("1"), VatRate.VAT_22, quantity=Decimal("0"))],
            "line 1: the quantity must be greater than zero")
    refused([BOOK, BOOK, LineSpec(" ", rub("1"), VatRate.VAT_22)], "line 3: a name is required")
    refused([LineSpec("x", rub("1"), VatRate.VAT_22, quantity=1.5)],  # type: ignore[arg-type]
            "line 1: floats are not accepted for money; pass a Decimal, int or string")
    with pytest.raises(DocumentError) as info:
        correction_lines(compute_document([BOOK], currency="RUB", inclusive=True).lines, ())
    assert str(info.value) == "a correction keeps the lines of the original document (same count, same order)"


def test_a_correction_up_and_down() -> None:
    before = compute_document([BOOK, DOMAIN], currency="RUB", inclusive=True)
    after = compute_document([LineSpec("Книга, 2 экз.", rub("220.00"), VatRate.VAT_10),
                              LineSpec("Домен", rub("900.00"), VatRate.EXEMPT)], currency="RUB", inclusive=True)
    up, down = (c.as_dict() for c in correction_lines(before.lines, after.lines))
    assert (up["number"], up["name"], up["before"]["gross"], up["after"]["gross"]) == (1, "Книга, 2 экз.", "110.00",
                                                                                        "220.00")
    assert (up["increase"], up["decrease"]) == ({"net": "100.00", "vat": "10.00", "gross": "110.00"},
                                                {"net": "0.00", "vat": "0.00", "gross": "0.00"})
    assert (down["increase"], down["decrease"]) == ({"net": "0.00", "vat": "0.00", "gross": "0.00"},
                                                    {"net": "90.00", "vat": "0.00", "gross": "90.00"})


def test_amounts_in_words_and_figures_round_half_up() -> None:
    assert format_amount("1234567.125") == "1\u00a0234\u00a0567,13"
    assert format_amount("0.125", "en") == "0.13"
    assert format_amount("-0.005") == "-0,01"
    assert format_amount("12.5", "ru", minor_units=0) == "13"
    assert format_amount("1234.5", "ru-RU") == "1\u00a0234,50"
