"""A billed line — a charge or a credit as it crosses to billing runs and documents — in its JSON form,
read back exactly; lines stored before a field existed get its default. A charge with a discount and
VAT on top explains each of its price lines."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from kopeck.core.explain import Explanation
from kopeck.core.money import Money
from kopeck.core.periods import Period
from kopeck.core.subscriptions import (
    CHARGE,
    CREDIT,
    BilledLine,
    HeldUsage,
    Line,
    Terms,
    billed_after,
    due_charges,
    posting_of,
    quote_close,
)
from kopeck.core.subscriptions.actions import Quote
from kopeck.core.vat import VatRate
from tests.core.subscriptions.test_core import spec

D = dt.date
REST = {"start": "2027-01-11", "end": "2027-02-01"}
JANUARY = {"start": "2027-01-01", "end": "2027-02-01"}

# 100.00 × 21/31 = 67.741… → 67.74; 12.5 % of it 8.4675 → 8.47: 59.27; VAT 22 % 13.0394 → 13.04: 72.31
BASE = {
    "kind": "charge", "plan": "a", "component": "base", "name": {"ru": "Base", "en": "Base"},
    "period": REST, "billing_period": JANUARY, "due": "2027-01-11", "amount": "72.31", "currency": "RUB",
    "vat_rate": "22", "prices_include_vat": False,
    "explanation": {
        "ru": "A, Base, 2027-01-11 – 2027-01-31: Base: модель standard, количество 1, итого 100.00 RUB; "
              "Пропорционально дням: 100.00 RUB × 21/31 дн. = 67.74 RUB (использовано 2027-01-11–2027-01-31 "
              "из периода 2027-01-01–2027-01-31); Скидка 12.5% от 67.74 RUB: −8.47 RUB; итого 59.27 RUB; "
              "НДС 22% сверху: 59.27 × 22/100 = 13.04; всего 72.31 RUB",
        "en": "A, Base, 2027-01-11 – 2027-01-31: Base: standard model, quantity 1, total 100.00 RUB; "
              "Prorated by days: 100.00 RUB × 21/31 days = 67.74 RUB (used 2027-01-11–2027-01-31 of the "
              "period 2027-01-01–2027-01-31); Discount 12.5% of 67.74 RUB: −8.47 RUB; total 59.27 RUB; VAT "
              "22% on top: 59.27 × 22/100 = 13.04; total 72.31 RUB",
        "formula": "amount = round(full price × days used / days in period) = round(100.00 × 21 / 31) = "
                   "67.74; discount = round(67.74 × 12.5 / 100) = 8.47; total = 67.74 − 8.47 = 59.27; vat = "
                   "round(59.27 × 22 / 100) = 13.04; total = 59.27 + 13.04 = 72.31"},
    "lines": [
        {"code": "base", "amount": "67.74", "explanation": {
            "ru": "Base: модель standard, количество 1, итого 100.00 RUB; Пропорционально дням: 100.00 RUB × "
                  "21/31 дн. = 67.74 RUB (использовано 2027-01-11–2027-01-31 из периода 2027-01-01–2027-01-31)",
            "en": "Base: standard model, quantity 1, total 100.00 RUB; Prorated by days: 100.00 RUB × 21/31 days "
                  "= 67.74 RUB (used 2027-01-11–2027-01-31 of the period 2027-01-01–2027-01-31)",
            "formula": "amount = round(full price × days used / days in period) = round(100.00 × 21 / 31) = 67.74"}},
        {"code": "discount", "amount": "-8.47", "explanation": {
            "ru": "Скидка 12.5% от 67.74 RUB: −8.47 RUB", "en": "Discount 12.5% of 67.74 RUB: −8.47 RUB",
            "formula": "discount = round(67.74 × 12.5 / 100) = 8.47"}},
        {"code": "vat", "amount": "13.04", "explanation": {
            "ru": "НДС 22% сверху: 59.27 × 22/100 = 13.04; всего 72.31",
            "en": "VAT 22% on top: 59.27 × 22/100 = 13.04; total 72.31",
            "formula": "vat = round(59.27 × 22 / 100) = 13.04"}}],
}


def _terms() -> Terms:
    return Terms(spec("a", base="100.00", seat="30.00", setup="500.00"), "RUB", D(2027, 1, 11), quantity=2,
                 discount_percent=Decimal("12.5"), vat_rate=VatRate.VAT_22, prices_include_vat=False,
                 anchor="calendar", billing_day=1)


def test_a_charge_with_a_discount_and_vat_on_top_in_its_json_form() -> None:
    base, seats, setup = due_charges(_terms(), D(2027, 1, 11))
    assert base.as_dict() == BASE
    assert (base.vat_on_top.to_str(), base.price.to_str()) == ("13.04", "59.27")
    # seats 2 × 30 × 21/31 = 40.645… → 40.65 − 5.08 (5.08125) = 35.57 + 7.83 (7.8254) = 43.40
    assert [ln.amount.to_str() for ln in seats.lines] == ["40.65", "-5.08", "7.83"]
    assert (seats.amount.to_str(), seats.vat_on_top.to_str(), seats.price.to_str()) == ("43.40", "7.83", "35.57")
    # the setup fee: no discount, VAT 110.00 on top; named in both languages
    assert (setup.component, setup.name, setup.amount.to_str(), setup.period) == (
        "setup_fee", ("Плата за подключение", "Setup fee"), "610.00", Period(D(2027, 1, 11), D(2027, 1, 12)))
    assert setup.explanation.ru == ("A, Плата за подключение, 2027-01-11 – 2027-01-11: Разовая плата за подключение: "
                                    "500.00 RUB; НДС 22% сверху: 500.00 × 22/100 = 110.00; всего 610.00 RUB")
    assert setup.explanation.en == ("A, Setup fee, 2027-01-11 – 2027-01-11: One-time setup fee: 500.00 RUB; VAT 22% "
                                    "on top: 500.00 × 22/100 = 110.00; total 610.00 RUB")
    assert setup.explanation.formula == ("setup fee = 500.00; vat = round(500.00 × 22 / 100) = 110.00; "
                                         "total = 500.00 + 110.00 = 610.00")


def test_a_billed_line_reads_back_exactly() -> None:
    charge = due_charges(_terms(), D(2027, 1, 11))[0]
    line = BilledLine.of(charge)
    assert BilledLine.from_dict(line.as_dict(), "USD") == line
    assert (line.kind, line.is_credit, line.signed.to_str(), line.key) == (CHARGE, False, "72.31", ("base", "2027-01-11"))
    assert (line.vat_on_top.to_str(), line.price.to_str(), line.vat_rate, line.prices_include_vat) == (
        "13.04", "59.27", VatRate.VAT_22, False)


def test_a_credit_as_a_billed_line() -> None:
    terms = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1))
    billed = billed_after([], posting_of([], Quote(terms.start, "RUB", tuple(due_charges(terms, terms.start)))))
    credit = quote_close(terms, D(2027, 1, 11), billed).credits[0]
    line = BilledLine.of(credit)
    data = line.as_dict()
    assert {k: v for k, v in data.items() if k != "explanation"} == {
        "kind": "credit", "plan": "", "component": "base", "name": {"ru": "base", "en": "base"},
        "period": REST, "billing_period": JANUARY, "due": "2027-01-11", "amount": "67.74", "currency": "RUB",
        "vat_rate": None, "prices_include_vat": True, "lines": []}
    assert data["explanation"] == credit.explanation.as_dict()
    assert (line.kind, line.is_credit, line.signed.to_str(), line.vat_on_top.to_str()) == (CREDIT, True, "-67.74", "0.00")
    assert BilledLine.from_dict(data, "RUB") == line


def test_a_line_stored_before_its_fields_existed_gets_their_defaults() -> None:
    old: dict[str, Any] = {"component": "base", "period": REST, "amount": "10.00"}
    line = BilledLine.from_dict(old, "RUB")
    assert line == BilledLine(
        kind=CHARGE, component="base", name_ru="base", name_en="base", plan="",
        period=Period(D(2027, 1, 11), D(2027, 2, 1)), billing_period=Period(D(2027, 1, 11), D(2027, 2, 1)),
        due=D(2027, 1, 11), amount=Money("10.00", "RUB"), vat_rate=None, prices_include_vat=True,
        explanation=Explanation("", "", ""), lines=())
    stored = {**old, "currency": "USD", "vat_rate": "", "prices_include_vat": False, "kind": "credit",
              "name": {"ru": "Основа", "en": ""}, "plan": "p", "due": "2027-01-20",
              "explanation": {"ru": "р", "en": "e", "formula": "f"},
              "lines": [{"code": "vat", "amount": "1.70", "explanation": {"ru": "н"}}, {"amount": "8.30"}]}
    line = BilledLine.from_dict(stored, "RUB")
    assert (line.kind, line.name_ru, line.name_en, line.plan, line.due, line.amount, line.vat_rate,
            line.prices_include_vat, line.explanation) == (
        CREDIT, "Основа", "base", "p", D(2027, 1, 20), Money("10.00", "USD"), None, False, Explanation("р", "e", "f"))
    assert line.lines == (Line("vat", Money("1.70", "USD"), Explanation("н", "", "")),
                          Line("", Money("8.30", "USD"), Explanation("", "", "")))
    assert (line.vat_on_top.to_str(), line.price.to_str()) == ("1.70", "8.30")


def test_held_usage_in_its_json_form() -> None:
    held = HeldUsage("traffic", Period(D(2027, 1, 1), D(2027, 2, 1)), "UsageError: quantity: bad")
    assert held.as_dict() == {"component": "traffic", "period": JANUARY, "reason": "UsageError: quantity: bad"}


def test_a_charge_with_vat_on_top_says_its_gross_once() -> None:
    """The VAT step of a charge's explanation ends at the VAT; the charge then says its gross once, with
    its currency (not "всего 72.31; всего 72.31 RUB"). The VAT line on its own keeps its gross."""
    base = due_charges(_terms(), D(2027, 1, 11))[0]
    assert base.explanation.ru.endswith("; итого 59.27 RUB; НДС 22% сверху: 59.27 × 22/100 = 13.04; всего 72.31 RUB")
    assert base.explanation.en.endswith("; total 59.27 RUB; VAT 22% on top: 59.27 × 22/100 = 13.04; total 72.31 RUB")
    assert (base.explanation.ru.count("всего"), base.explanation.en.count("total 72.31")) == (1, 1)
    assert (base.lines[-1].explanation.ru, base.lines[-1].explanation.en) == (
        "НДС 22% сверху: 59.27 × 22/100 = 13.04; всего 72.31", "VAT 22% on top: 59.27 × 22/100 = 13.04; total 72.31")
