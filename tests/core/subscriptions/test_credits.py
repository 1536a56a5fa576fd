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
    quote_bill_due,
    quote_close,
    quote_open,
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


def test_billing_due_charges_only_the_pieces_not_billed_yet() -> None:
    terms, billed = _january()
    quote = quote_bill_due(terms, D(2027, 2, 1), billed)
    assert (quote.on, quote.held) == (D(2027, 2, 1), ())
    assert [(c.component, c.period, c.amount.to_str()) for c in quote.items] == [
        ("base", Period(D(2027, 2, 1), D(2027, 3, 1)), "100.00"), ("seats", Period(D(2027, 2, 1), D(2027, 3, 1)), "30.00")]
    assert quote_bill_due(terms, D(2027, 1, 31), billed).items == ()


def test_a_resume_opens_the_rest_of_the_period_and_inserts_only() -> None:
    terms, billed = _january()
    assert posting_of([], Quote(terms.start, "RUB", tuple(due_charges(terms, terms.start)))).inserts_only
    closing = posting_of(billed, quote_close(terms, D(2027, 1, 11), billed))
    assert not closing.inserts_only  # it truncates the billed pieces
    closed = billed_after(billed, closing)
    assert [(b.component, b.credited_from, b.counts, b.credited_amount.to_str(), b.paid.to_str()) for b in closed] == [
        ("base", D(2027, 1, 11), True, "67.74", "32.26"), ("seats", D(2027, 1, 11), True, "20.32", "9.68")]
    opened = quote_open(terms, D(2027, 1, 15), closed)
    # [Jan 15, Feb 1) is 17 of 31 days: 100.00 × 17/31 = 54.84, 30.00 × 17/31 = 16.45
    assert (opened.on, [(c.component, c.period.start, c.amount.to_str()) for c in opened.items]) == (
        D(2027, 1, 15), [("base", D(2027, 1, 15), "54.84"), ("seats", D(2027, 1, 15), "16.45")])
    posting = posting_of(closed, opened)
    assert posting.inserts_only and [e.replaces for e in posting.charges] == [False, False]


def test_a_piece_credited_from_its_first_day_gives_back_all_that_was_paid() -> None:
    terms, billed = _january()
    base = quote_close(terms, D(2027, 1, 1), billed).items[0]
    assert (base.amount.to_str(), base.unused) == ("100.00", Period(D(2027, 1, 1), D(2027, 2, 1)))
    assert (base.explanation.ru, base.explanation.en, base.explanation.formula) == (
        "base: возврат за неиспользованные дни 2027-01-01 – 2027-01-31: оплачено 100.00 RUB = 100.00 RUB",
        "base: credit for the unused days 2027-01-01 – 2027-01-31: paid 100.00 RUB = 100.00 RUB",
        "credit = paid 100.00 − kept days priced alone 0 = 100.00")
