"""A phase change settles the old phase with its metered usage, and carries a component over only
when nothing that prices it changes — not its VAT rate, not whether prices include VAT, not a fixed
price or its discount (a component carried over wrongly is never credited nor charged again: the
client keeps paying the old price). Every amount is hand-computed in a comment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kopeck.core.money import Money
from kopeck.core.periods import Period
from kopeck.core.pricing.plan import PlanSpec
from kopeck.core.pricing.usage import Usage
from kopeck.core.subscriptions import (
    BilledSlot,
    ChangeKind,
    HeldUsage,
    Marker,
    Quote,
    Terms,
    UsageSource,
    billed_after,
    classify_change,
    due_charges,
    posting_of,
    quote_bill_due,
    quote_close,
    quote_open,
    quote_phase_change,
)
from kopeck.core.vat import VatRate
from tests.core.subscriptions.test_core import spec

D = dt.date
JAN_1_TO_11 = Period(D(2027, 1, 1), D(2027, 1, 11))
JANUARY = Period(D(2027, 1, 1), D(2027, 2, 1))


def _metered(**overrides: object) -> Terms:
    """base 100.00 + seats 30.00 in advance, traffic 2.00 a unit in arrears, from 2027-01-01."""
    return Terms(spec("a", base="100.00", seat="30.00", traffic=True), "RUB", D(2027, 1, 1)).with_(**overrides)


def _billed_on_start(terms: Terms) -> list[BilledSlot]:
    return billed_after([], posting_of([], Quote(terms.start, "RUB", tuple(due_charges(terms, terms.start)))))


def _usage(expected: dict[tuple[str, Period], Usage | Decimal | int]) -> UsageSource:
    """A usage source that knows only the given (component, piece) pairs: any other piece asked for is
    an error (KeyError), so that the piece the core rates is checked too."""
    def usage(code: str, piece: Period) -> Usage | Decimal | int:
        return expected[(code, piece)]
    return usage


def _items(quote: Quote) -> list[tuple[str, str, Period, str]]:
    return [(i.kind, i.component, i.period if i.kind == "charge" else i.unused, i.amount.to_str())  # type: ignore[union-attr]
            for i in quote.items]


def test_closing_a_phase_settles_its_metered_usage_up_to_the_day() -> None:
    terms = _metered()
    billed = _billed_on_start(terms)
    quote = quote_close(terms, D(2027, 1, 11), billed, usage=_usage({("traffic", JAN_1_TO_11): 7}))
    # traffic of [Jan 1, Jan 11): 7 × 2.00 = 14.00, due on the closing day; then the unused days are
    # credited: base 100.00 − 32.26 (10/31 priced alone) = 67.74, seats 30.00 − 9.68 = 20.32
    assert _items(quote) == [
        ("charge", "traffic", JAN_1_TO_11, "14.00"),
        ("credit", "base", Period(D(2027, 1, 11), D(2027, 2, 1)), "67.74"),
        ("credit", "seats", Period(D(2027, 1, 11), D(2027, 2, 1)), "20.32")]
    assert quote.charges[0].due == D(2027, 1, 11)
    assert quote.total.to_str() == "-74.06"  # 14.00 − 67.74 − 20.32


def test_a_plan_change_settles_the_old_phase_with_its_usage() -> None:
    old = _metered()
    billed = _billed_on_start(old)
    new = Terms(spec("b", base="200.00", seat="30.00", traffic=True), "RUB", D(2027, 1, 1),
                billing_from=D(2027, 1, 11))
    quote = quote_phase_change(old, new, D(2027, 1, 11), billed, usage=_usage({("traffic", JAN_1_TO_11): 3}))
    # traffic 3 × 2.00 = 6.00; base credited 67.74 and charged 200 × 21/31 = 135.483… → 135.48; seats
    # unchanged (same price, same quantity): carried over
    assert _items(quote) == [
        ("charge", "traffic", JAN_1_TO_11, "6.00"),
        ("credit", "base", Period(D(2027, 1, 11), D(2027, 2, 1)), "67.74"),
        ("charge", "base", Period(D(2027, 1, 11), D(2027, 2, 1)), "135.48")]
    assert quote.carried == (("seats", D(2027, 1, 1)),)


def test_an_old_phase_ended_before_the_change_is_settled_up_to_its_end() -> None:
    """A phase that ends before the day of the change (cancelled at an earlier date) is settled up
    to its own end, not to the day of the change."""
    terms = _metered(end=D(2027, 1, 11))
    billed = _billed_on_start(terms)
    quote = quote_close(terms, D(2027, 1, 20), billed, usage=_usage({("traffic", JAN_1_TO_11): 5}))
    # the traffic piece ends on Jan 11 (5 × 2.00 = 10.00); the in-advance pieces end on Jan 11: no credit
    assert _items(quote) == [("charge", "traffic", JAN_1_TO_11, "10.00")]


def test_billing_what_is_due_rates_the_metered_usage_of_the_closed_period() -> None:
    terms = _metered()
    billed = _billed_on_start(terms)
    quote = quote_bill_due(terms, D(2027, 2, 1), billed, usage=_usage({("traffic", JANUARY): 12}))
    feb = Period(D(2027, 2, 1), D(2027, 3, 1))
    # January's traffic 12 × 2.00 = 24.00 first (same due date, earlier period), then February in advance
    assert _items(quote) == [("charge", "traffic", JANUARY, "24.00"), ("charge", "base", feb, "100.00"),
                             ("charge", "seats", feb, "30.00")]
    assert quote.held == ()
    assert (quote.currency, quote.total.to_str()) == ("RUB", "154.00")


def test_billing_what_is_due_holds_usage_that_cannot_be_rated_and_bills_the_rest() -> None:
    terms = _metered()
    billed = _billed_on_start(terms)
    quote = quote_bill_due(terms, D(2027, 2, 1), billed, usage=_usage({("traffic", JANUARY): -5}))
    feb = Period(D(2027, 2, 1), D(2027, 3, 1))
    assert _items(quote) == [("charge", "base", feb, "100.00"), ("charge", "seats", feb, "30.00")]
    assert quote.held == (HeldUsage("traffic", JANUARY, "UsageError: quantity: quantity must not be negative, "
                                                        "got -5"),)


def test_opening_a_phase_charges_its_in_advance_days_only() -> None:
    """A phase opening on a day charges the rest of the period in advance; its metered usage is due
    when the piece ends, so the usage source is not asked (it knows no piece)."""
    terms = _metered()
    quote = quote_open(terms, D(2027, 1, 15), [], usage=_usage({}))
    rest = Period(D(2027, 1, 15), D(2027, 2, 1))
    # 17 of 31 days: 100 × 17/31 = 54.838… → 54.84; 30 × 17/31 = 16.451… → 16.45
    assert _items(quote) == [("charge", "base", rest, "54.84"), ("charge", "seats", rest, "16.45")]
    assert (quote.currency, quote.total.to_str()) == ("RUB", "71.29")


def _vat_terms(rate: VatRate, include: bool, **overrides: object) -> Terms:
    return Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1), vat_rate=rate,
                 prices_include_vat=include).with_(**overrides)


def test_a_new_vat_rate_credits_and_charges_again_instead_of_carrying_over() -> None:
    old = _vat_terms(VatRate.VAT_22, False)
    billed = _billed_on_start(old)
    assert [(b.component, b.amount.to_str()) for b in billed] == [("base", "122.00"), ("seats", "36.60")]
    new = old.with_(vat_rate=VatRate.VAT_10, billing_from=D(2027, 1, 11))
    quote = quote_phase_change(old, new, D(2027, 1, 11), billed)
    rest = Period(D(2027, 1, 11), D(2027, 2, 1))
    # kept days Jan 1–10 priced alone: base 32.26 + VAT 22 % 7.10 = 39.36 → credit 122.00 − 39.36 = 82.64;
    # seats 9.68 + 2.13 = 11.81 → credit 36.60 − 11.81 = 24.79. New: base 67.74 + VAT 10 % 6.77 = 74.51;
    # seats 20.32 + 2.03 = 22.35
    assert _items(quote) == [("credit", "base", rest, "82.64"), ("credit", "seats", rest, "24.79"),
                             ("charge", "base", rest, "74.51"), ("charge", "seats", rest, "22.35")]
    assert quote.carried == ()


def test_prices_that_stop_including_vat_credit_and_charge_again() -> None:
    old = _vat_terms(VatRate.VAT_22, True)
    billed = _billed_on_start(old)
    new = old.with_(prices_include_vat=False, billing_from=D(2027, 1, 11))
    quote = quote_phase_change(old, new, D(2027, 1, 11), billed)
    rest = Period(D(2027, 1, 11), D(2027, 2, 1))
    # credits as without VAT (67.74, 20.32); new: base 67.74 + 14.90 (22 % of 67.74 = 14.9028) = 82.64,
    # seats 20.32 + 4.47 (4.4704) = 24.79
    assert _items(quote) == [("credit", "base", rest, "67.74"), ("credit", "seats", rest, "20.32"),
                             ("charge", "base", rest, "82.64"), ("charge", "seats", rest, "24.79")]


def test_the_same_vat_policy_carries_the_components_over() -> None:
    old = _vat_terms(VatRate.VAT_22, False)
    billed = _billed_on_start(old)
    quote = quote_phase_change(old, old.with_(billing_from=D(2027, 1, 11)), D(2027, 1, 11), billed)
    assert (quote.items, quote.truncated) == ((), ())
    assert quote.carried == (("base", D(2027, 1, 1)), ("seats", D(2027, 1, 1)))


def _fixed(price: str, discount: str | None = None) -> Terms:
    return Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1), fixed_price=Decimal(price),
                 discount_percent=None if discount is None else Decimal(discount))


def test_a_new_fixed_price_credits_the_old_one_and_charges_the_new() -> None:
    old = _fixed("50.00")
    billed = _billed_on_start(old)
    quote = quote_phase_change(old, _fixed("80.00").with_(billing_from=D(2027, 1, 11)), D(2027, 1, 11), billed)
    rest = Period(D(2027, 1, 11), D(2027, 2, 1))
    # kept 50 × 10/31 = 16.129… → 16.13: credit 50.00 − 16.13 = 33.87; new 80 × 21/31 = 54.193… → 54.19
    assert _items(quote) == [("credit", "fixed_price", rest, "33.87"), ("charge", "fixed_price", rest, "54.19")]


def test_a_new_discount_on_a_fixed_price_credits_and_charges_again() -> None:
    old = _fixed("50.00")
    billed = _billed_on_start(old)
    new = _fixed("50.00", "10").with_(billing_from=D(2027, 1, 11))
    quote = quote_phase_change(old, new, D(2027, 1, 11), billed)
    rest = Period(D(2027, 1, 11), D(2027, 2, 1))
    # new: 50 × 21/31 = 33.87 − 10 % (3.387 → 3.39) = 30.48
    assert _items(quote) == [("credit", "fixed_price", rest, "33.87"), ("charge", "fixed_price", rest, "30.48")]


def test_a_new_vat_rate_on_a_fixed_price_credits_and_charges_again() -> None:
    old = _fixed("50.00").with_(vat_rate=VatRate.VAT_22, prices_include_vat=False)
    billed = _billed_on_start(old)
    assert [b.amount.to_str() for b in billed] == ["61.00"]  # 50.00 + 11.00
    new = old.with_(vat_rate=VatRate.VAT_10, billing_from=D(2027, 1, 11))
    quote = quote_phase_change(old, new, D(2027, 1, 11), billed)
    rest = Period(D(2027, 1, 11), D(2027, 2, 1))
    # kept 16.13 + 22 % 3.55 (3.5486) = 19.68: credit 61.00 − 19.68 = 41.32; new 33.87 + 10 % 3.39 = 37.26
    assert _items(quote) == [("credit", "fixed_price", rest, "41.32"), ("charge", "fixed_price", rest, "37.26")]


def test_the_same_fixed_price_is_carried_over() -> None:
    old = _fixed("50.00", "10")
    billed = _billed_on_start(old)
    quote = quote_phase_change(old, old.with_(quantity=4, billing_from=D(2027, 1, 11)), D(2027, 1, 11), billed)
    assert (quote.items, quote.carried) == ((), (("fixed_price", D(2027, 1, 1)),))


def test_a_fixed_price_that_starts_mid_period_credits_the_plan_fees() -> None:
    """With a fixed price the plan's recurring components are not billed: they are credited, never
    carried over beside the fixed price (the client would pay both)."""
    old = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1))
    billed = _billed_on_start(old)
    new = old.with_(fixed_price=Decimal("50.00"), billing_from=D(2027, 1, 11))
    quote = quote_phase_change(old, new, D(2027, 1, 11), billed)
    rest = Period(D(2027, 1, 11), D(2027, 2, 1))
    # fixed price 50 × 21/31 = 33.870… → 33.87
    assert _items(quote) == [("credit", "base", rest, "67.74"), ("credit", "seats", rest, "20.32"),
                             ("charge", "fixed_price", rest, "33.87")]


def test_a_component_moved_to_billing_in_arrears_is_credited_not_carried_over() -> None:
    """The same price billed in arrears from now on: the prepaid days are credited back (they will be
    billed after the period), never carried over as if still paid in advance."""
    old = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1))
    billed = _billed_on_start(old)
    data = spec("b", base="100.00", seat="30.00").to_dict()
    data["components"][0]["billing"] = "in_arrears"
    new = Terms(PlanSpec.from_dict(data), "RUB", D(2027, 1, 1), billing_from=D(2027, 1, 11))
    quote = quote_phase_change(old, new, D(2027, 1, 11), billed)
    # base: 100.00 − 32.26 (Jan 1–10 priced alone) = 67.74 back; its new piece is due on Feb 1
    assert [(i.kind, i.component, i.amount.to_str()) for i in quote.items] == [("credit", "base", "67.74")]
    assert quote.carried == (("seats", D(2027, 1, 1)),)
    assert [(c.component, c.due, c.amount.to_str()) for c in due_charges(new, D(2027, 2, 1), {("seats", D(2027, 1, 1))})
            if c.period.start == D(2027, 1, 11)] == [("seats", D(2027, 1, 11), "20.32"), ("base", D(2027, 2, 1), "67.74")]


def test_a_quantity_change_is_an_upgrade_or_a_downgrade() -> None:
    one = Terms(spec(), "RUB", D(2027, 1, 1))
    three = one.with_(quantity=3)
    # 12 × (1490 + 300) = 21480 a year against 12 × (1490 + 900) = 28680
    assert classify_change(one, three) == ChangeKind.UPGRADE
    assert classify_change(three, one) == ChangeKind.DOWNGRADE
    assert classify_change(three, three) == ChangeKind.CROSSGRADE


def test_a_carried_over_component_gets_a_marker_that_a_later_change_finds() -> None:
    old = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1))
    billed = _billed_on_start(old)
    new = old.with_(quantity=2, billing_from=D(2027, 1, 11))
    posting = posting_of(billed, quote_phase_change(old, new, D(2027, 1, 11), billed))
    assert posting.markers == (Marker("base", D(2027, 1, 11), D(2027, 2, 1), D(2027, 1, 1)),)
    assert posting.truncate == ((("seats", D(2027, 1, 1)), D(2027, 1, 11)),)
    after = billed_after(billed, posting)
    assert [(b.component, b.period, b.amount.to_str(), b.credited_from) for b in after] == [
        ("base", JANUARY, "100.00", None), ("seats", JANUARY, "30.00", D(2027, 1, 11)),
        ("base", Period(D(2027, 1, 11), D(2027, 2, 1)), "0.00", None),
        ("seats", Period(D(2027, 1, 11), D(2027, 2, 1)), "40.65", None)]  # 2 × 30 × 21/31 = 40.645… → 40.65
    # a second change on Jan 21 carries base over again from the piece that paid for it (the marker is
    # passed over), with a new marker from Jan 21
    newer = new.with_(quantity=3, billing_from=D(2027, 1, 21))
    quote = quote_phase_change(new, newer, D(2027, 1, 21), after)
    assert quote.carried == (("base", D(2027, 1, 1)),)
    assert posting_of(after, quote).markers == (Marker("base", D(2027, 1, 21), D(2027, 2, 1), D(2027, 1, 1)),)


def test_a_marker_ends_where_the_piece_paying_for_it_stops() -> None:
    """A carried piece already credited back from a later day (its service ends there): the marker
    ends on that day, not at the end of the period."""
    old = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1))
    billed = [BilledSlot("base", JANUARY, Money("100.00", "RUB"), credited_from=D(2027, 1, 25),
                         credited=Money("22.58", "RUB")),
              BilledSlot("seats", JANUARY, Money("30.00", "RUB"))]
    quote = quote_phase_change(old, old.with_(quantity=2, billing_from=D(2027, 1, 11)), D(2027, 1, 11), billed)
    assert quote.carried == (("base", D(2027, 1, 1)),)
    posting = posting_of(billed, quote)
    assert posting.markers == (Marker("base", D(2027, 1, 11), D(2027, 1, 25), D(2027, 1, 1)),)
    marker = [b for b in billed_after(billed, posting) if b.period.start == D(2027, 1, 11) and b.component == "base"]
    assert [(b.period, b.amount.to_str()) for b in marker] == [(Period(D(2027, 1, 11), D(2027, 1, 25)), "0.00")]


def test_a_charge_for_a_carried_component_in_the_same_posting_is_skipped() -> None:
    """The never-bill-twice guard sees the marker a posting adds: a (stale) quote that both carries
    base over and charges it from the same day charges nothing for it."""
    old = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1))
    billed = _billed_on_start(old)
    on = D(2027, 1, 11)
    charge = next(c for c in due_charges(old.with_(billing_from=on), on) if c.component == "base")
    quote = Quote(on, "RUB", (charge,), carried=(("base", D(2027, 1, 1)),))
    posting = posting_of(billed, quote)
    assert (posting.markers, posting.entries) == ((Marker("base", on, D(2027, 2, 1), D(2027, 1, 1)),), ())


def test_a_plan_without_a_billed_component_credits_it() -> None:
    """The new plan has no seats: the prepaid seats are credited back, never carried over."""
    old = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1))
    billed = _billed_on_start(old)
    data = spec("b", base="100.00", seat="30.00").to_dict()
    data["components"] = data["components"][:1]
    new = Terms(PlanSpec.from_dict(data), "RUB", D(2027, 1, 1), billing_from=D(2027, 1, 11))
    quote = quote_phase_change(old, new, D(2027, 1, 11), billed)
    # seats: 30.00 − 9.68 (Jan 1–10 priced alone) = 20.32 back; base (same price) carried over
    assert [(i.kind, i.component, i.amount.to_str()) for i in quote.items] == [("credit", "seats", "20.32")]
    assert quote.carried == (("base", D(2027, 1, 1)),)


def test_opening_a_phase_skips_a_piece_billed_already() -> None:
    """A resume on a day whose piece is billed already (a second resume the same day) charges nothing."""
    terms = _metered()
    rest = Period(D(2027, 1, 15), D(2027, 2, 1))
    billed = [BilledSlot("base", rest, Money("54.84", "RUB")), BilledSlot("seats", rest, Money("16.45", "RUB"))]
    quote = quote_open(terms, D(2027, 1, 15), billed, usage=_usage({}))
    assert (quote.items, quote.total.to_str()) == ((), "0.00")


def test_a_new_phase_must_start_on_the_day_of_the_change() -> None:
    old = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1))
    billed = _billed_on_start(old)
    with pytest.raises(ValueError, match=r"^the new phase must start on 2027-01-11, not 2027-01-12$"):
        quote_phase_change(old, old.with_(quantity=2, billing_from=D(2027, 1, 12)), D(2027, 1, 11), billed)


def test_another_billing_interval_is_not_carried_over_even_when_this_period_is_the_same() -> None:
    """Monthly to every 28 days in February 2027: the period containing the day is the same
    (Feb 1 – Feb 28) but the cycles differ, so nothing is carried over — the old pieces are credited
    and the new phase charges its days (``or`` for ``and`` in the same-cycle check carried both)."""
    feb = Period(D(2027, 2, 1), D(2027, 3, 1))
    old = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 2, 1))
    billed = _billed_on_start(old)
    assert [(b.component, b.period, b.amount.to_str()) for b in billed] == [
        ("base", feb, "100.00"), ("seats", feb, "30.00")]
    new = Terms(spec("b", base="100.00", seat="30.00", unit="day", count=28), "RUB", D(2027, 2, 1),
                billing_from=D(2027, 2, 11))
    quote = quote_phase_change(old, new, D(2027, 2, 11), billed)
    rest = Period(D(2027, 2, 11), D(2027, 3, 1))
    # kept Feb 1–10 priced alone: 100 × 10/28 = 35.714… → 35.71, credit 64.29; 30 × 10/28 = 10.714… →
    # 10.71, credit 19.29. New: 100 × 18/28 = 64.285… → 64.29; 30 × 18/28 = 19.285… → 19.29
    assert _items(quote) == [("credit", "base", rest, "64.29"), ("credit", "seats", rest, "19.29"),
                             ("charge", "base", rest, "64.29"), ("charge", "seats", rest, "19.29")]
    assert (quote.carried, quote.truncated) == ((), (("base", D(2027, 2, 1)), ("seats", D(2027, 2, 1))))


def test_a_second_change_on_the_same_day_adds_no_second_marker() -> None:
    """Two quantity changes on Jan 11: the first carries base over with a marker from Jan 11; the
    second carries it again from the piece that paid for it, and the marker it would add is there
    already (a second one is a duplicate row, refused by the writers). The seats piece of the first
    change is credited back whole and billed again at the new quantity."""
    old = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1))
    billed = _billed_on_start(old)
    on = D(2027, 1, 11)
    rest = Period(on, D(2027, 2, 1))
    new = old.with_(quantity=2, billing_from=on)
    first = posting_of(billed, quote_phase_change(old, new, on, billed))
    assert (first.on, first.currency) == (on, "RUB")
    after = billed_after(billed, first)
    newer = new.with_(quantity=3)
    quote = quote_phase_change(new, newer, on, after)
    assert quote.carried == (("base", D(2027, 1, 1)),)
    # seats from Jan 11 at 2: 40.65 paid, no day kept → 40.65 back; at 3: 3 × 30 × 21/31 = 60.967… → 60.97
    assert _items(quote) == [("credit", "seats", rest, "40.65"), ("charge", "seats", rest, "60.97")]
    posting = posting_of(after, quote)
    assert (posting.on, posting.markers) == (on, ())
    assert posting.truncate == ((("seats", on), on),)
    assert [(e.charge.component, e.charge.amount.to_str(), e.replaces) for e in posting.charges] == [
        ("seats", "60.97", True)]
    assert [(b.component, b.period, b.amount.to_str(), b.credited_from, b.paid.to_str())
            for b in billed_after(after, posting)] == [
        ("base", JANUARY, "100.00", None, "100.00"), ("seats", JANUARY, "30.00", on, "9.68"),
        ("base", rest, "0.00", None, "0.00"), ("seats", rest, "60.97", None, "60.97")]
