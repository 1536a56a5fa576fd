"""The "never bill twice" guard of :func:`kopeck.core.subscriptions.posting_of`: a charge for a piece
that is billed already (and not credited back from its first day) is skipped — whatever the quote
says, e.g. a quote computed before another writer billed the piece, or one charging a piece twice.
Dropping the guard (``continue`` → ``pass``) charges the client twice; ``>=`` for ``>`` in it never
bills again a piece credited back from its first day."""

from __future__ import annotations

import datetime as dt

from kopeck.core.money import Money
from kopeck.core.periods import Period
from kopeck.core.subscriptions import BilledSlot, Quote, Terms, billed_after, due_charges, posting_of
from tests.core.subscriptions.test_core import spec

D = dt.date
JANUARY = Period(D(2027, 1, 1), D(2027, 2, 1))


def _january() -> tuple[Terms, Quote]:
    terms = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1))
    return terms, Quote(terms.start, "RUB", tuple(due_charges(terms, terms.start)))


def test_a_stale_quote_does_not_charge_a_billed_piece_again() -> None:
    _terms, quote = _january()  # computed while nothing was billed
    billed = billed_after([], posting_of([], quote))
    assert [(b.component, b.amount.to_str()) for b in billed] == [("base", "100.00"), ("seats", "30.00")]
    # the same quote posted again, after the pieces were billed: nothing to charge
    again = posting_of(billed, quote)
    assert again.entries == () and again.charges == []
    assert billed_after(billed, again) == billed


def test_a_quote_charging_a_piece_twice_charges_it_once() -> None:
    _terms, quote = _january()
    doubled = Quote(quote.on, "RUB", quote.items + quote.items)
    posting = posting_of([], doubled)
    assert [(e.charge.component, e.charge.amount.to_str(), e.replaces) for e in posting.charges] == [
        ("base", "100.00", False), ("seats", "30.00", False)]


def test_a_piece_credited_back_from_its_first_day_is_billed_again() -> None:
    _terms, quote = _january()
    rub = Money("100.00", "RUB")
    billed = [BilledSlot("base", JANUARY, rub, credited_from=JANUARY.start, credited=rub),
              BilledSlot("seats", JANUARY, Money("30.00", "RUB"), credited_from=D(2027, 1, 2),
                         credited=Money("29.03", "RUB"))]
    posting = posting_of(billed, quote)
    # base: credited back whole, charged again in place of the old piece; seats: still billed (Jan 1 used)
    assert [(e.charge.component, e.charge.amount.to_str(), e.replaces) for e in posting.charges] == [
        ("base", "100.00", True)]
    after = billed_after(billed, posting)
    assert [(b.component, b.amount.to_str(), b.credited_from, b.paid.to_str()) for b in after] == [
        ("base", "100.00", None, "100.00"), ("seats", "30.00", D(2027, 1, 2), "0.97")]


def test_a_billed_piece_in_a_quote_does_not_stop_the_next_one() -> None:
    """The guard skips the billed piece and goes on (``break`` for ``continue`` dropped the seats)."""
    _terms, quote = _january()
    base_only = [b for b in billed_after([], posting_of([], quote)) if b.component == "base"]
    posting = posting_of(base_only, quote)
    assert [(e.charge.component, e.charge.amount.to_str(), e.replaces) for e in posting.charges] == [
        ("seats", "30.00", False)]
