"""A credit explains itself whole, both ways it is computed: what was paid minus the kept days priced
alone (the phase prices the component), or a share of what was paid (it does not); a quote's total is
charges minus credits, and its JSON form is the billed lines'."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from kopeck.core.periods import Period
from kopeck.core.subscriptions import (
    BilledSlot,
    Quote,
    Terms,
    billed_after,
    due_charges,
    posting_of,
    quote_close,
)
from tests.core.subscriptions.test_core import spec

D = dt.date


def _january() -> tuple[Terms, list[BilledSlot]]:
    terms = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1))
    return terms, billed_after([], posting_of([], Quote(terms.start, "RUB", tuple(due_charges(terms, terms.start)))))


def test_a_credit_gives_back_what_was_paid_minus_the_kept_days_priced_alone() -> None:
    terms, billed = _january()
    quote = quote_close(terms, D(2027, 1, 11), billed)
    base, seats = quote.items
    assert (base.kind, base.component, base.unused, base.amount.to_str()) == (
        "credit", "base", Period(D(2027, 1, 11), D(2027, 2, 1)), "67.74")
    assert base.explanation.ru == (
        "base: возврат за неиспользованные дни 2027-01-11 – 2027-01-31: оплачено 100.00 RUB, дни 2027-01-01 – "
        "2027-01-10 по отдельности стоят 32.26 RUB: 100.00 RUB − 32.26 RUB = 67.74 RUB")
    assert base.explanation.en == (
        "base: credit for the unused days 2027-01-11 – 2027-01-31: paid 100.00 RUB, the days 2027-01-01 – "
        "2027-01-10 priced alone cost 32.26 RUB: 100.00 RUB − 32.26 RUB = 67.74 RUB")
    assert base.explanation.formula == "credit = paid 100.00 − kept days priced alone 32.26 = 67.74"
    assert seats.amount.to_str() == "20.32"  # 30.00 − 9.68
    assert quote.total.to_str() == "-88.06" and quote.charges == [] and quote.credits == [base, seats]
    assert (quote.truncated, quote.carried) == ((("base", D(2027, 1, 1)), ("seats", D(2027, 1, 1))), ())
    as_list = quote.as_list()
    assert [(i["kind"], i["component"], i["amount"], i["period"], i["billing_period"], i["due"]) for i in as_list] == [
        ("credit", "base", "67.74", {"start": "2027-01-11", "end": "2027-02-01"},
         {"start": "2027-01-01", "end": "2027-02-01"}, "2027-01-11"),
        ("credit", "seats", "20.32", {"start": "2027-01-11", "end": "2027-02-01"},
         {"start": "2027-01-01", "end": "2027-02-01"}, "2027-01-11")]


def test_a_credit_of_a_component_the_phase_does_not_price_is_a_share_of_what_was_paid() -> None:
    terms, billed = _january()
    quote = quote_close(terms.with_(fixed_price=Decimal("50.00")), D(2027, 1, 11), billed)
    settle, base, seats = quote.items
    assert (settle.kind, settle.component, settle.amount.to_str()) == ("charge", "fixed_price", "16.13")
    assert (base.amount.to_str(), seats.amount.to_str()) == ("67.74", "20.32")
    assert base.explanation.ru == ("base: возврат за неиспользованные дни 2027-01-11 – 2027-01-31: "
                                   "100.00 RUB × 21/31 дн. = 67.74 RUB")
    assert base.explanation.en == ("base: credit for the unused days 2027-01-11 – 2027-01-31: "
                                   "100.00 RUB × 21/31 days = 67.74 RUB")
    assert base.explanation.formula == "credit = round(paid 100.00 × 21 / 31) = 67.74"
    assert quote.total.to_str() == "-71.93"  # 16.13 − 67.74 − 20.32
