"""The pure subscriptions core: cycles, due charges, policies, overrides and action quotes.
Every amount is hand-computed in a comment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kopeck.core.money import Money
from kopeck.core.periods import Period
from kopeck.core.pricing.plan import PlanSpec
from kopeck.core.subscriptions import (
    BilledSlot,
    ChangeKind,
    Terms,
    TermsError,
    annual_fee,
    classify_change,
    due_charges,
    new_billing_day_terms,
    period_end,
    quote_close,
    quote_phase_change,
    trial_end_for,
)

D = dt.date


def spec(code: str = "pro", base: str = "1490.00", seat: str = "300.00", *, unit: str = "month", count: int = 1,
         trial: dict[str, int] | None = None, traffic: bool = False, setup: str | None = None) -> PlanSpec:
    comps: list[dict[str, Any]] = [
        {"code": "base", "name": "Base", "kind": "fixed", "billing": "in_advance",
         "prices": {"RUB": {"model": "standard", "unit_price": base}}},
        {"code": "seats", "name": "Seats", "kind": "per_unit", "billing": "in_advance",
         "prices": {"RUB": {"model": "standard", "unit_price": seat}}},
    ]
    if traffic:
        comps.append({"code": "traffic", "kind": "metered", "billing": "in_arrears",
                      "prices": {"RUB": {"model": "standard", "unit_price": "2.00"}}})
    data: dict[str, Any] = {"code": code, "name": code.upper(), "billing_period": {"unit": unit, "count": count},
                            "currencies": ["RUB"], "trial": trial, "components": comps}
    if setup:
        data["setup_fee"] = {"RUB": setup}
    return PlanSpec.from_dict(data)


def amounts(charges: list[Any]) -> list[tuple[str, str, str]]:
    return [(c.component, c.period.start.isoformat(), c.amount.to_str()) for c in charges]


def billed(charges: list[Any]) -> list[BilledSlot]:
    return [BilledSlot(c.component, c.period, c.amount) for c in charges]


@pytest.mark.parametrize(("year", "feb_end"), [(2028, D(2028, 2, 29)), (2027, D(2027, 2, 28))])
def test_jan_31_monthly_through_february(year: int, feb_end: dt.date) -> None:
    terms = Terms(spec(), "RUB", D(year, 1, 31))
    charges = due_charges(terms, D(year, 3, 31))
    # Jan 31 → Feb 29 (leap) / Feb 28 → Mar 31: full periods, never prorated, never drifting to the 28th.
    assert amounts(charges) == [
        ("base", f"{year}-01-31", "1490.00"), ("seats", f"{year}-01-31", "300.00"),
        ("base", feb_end.isoformat(), "1490.00"), ("seats", feb_end.isoformat(), "300.00"),
        ("base", f"{year}-03-31", "1490.00"), ("seats", f"{year}-03-31", "300.00"),
    ]
    assert charges[0].period == Period(D(year, 1, 31), feb_end)
    # the day before February's boundary nothing more is due
    assert len(due_charges(terms, feb_end - dt.timedelta(days=1))) == 2


def test_calendar_day_31_prorated_stub_then_month_ends() -> None:
    terms = Terms(spec(), "RUB", D(2027, 2, 10), anchor="calendar", billing_day=31)
    charges = due_charges(terms, D(2027, 4, 30))
    # stub [Feb 10, Feb 28) = 18 days of the period [Jan 31, Feb 28) = 28 days:
    # 1490 × 18/28 = 957.857… → 957.86; 300 × 18/28 = 192.857… → 192.86
    assert amounts(charges) == [
        ("base", "2027-02-10", "957.86"), ("seats", "2027-02-10", "192.86"),
        ("base", "2027-02-28", "1490.00"), ("seats", "2027-02-28", "300.00"),
        ("base", "2027-03-31", "1490.00"), ("seats", "2027-03-31", "300.00"),
        ("base", "2027-04-30", "1490.00"), ("seats", "2027-04-30", "300.00"),
    ]
    assert "18 / 28" in charges[0].explanation.formula


@pytest.mark.parametrize(("policy", "expected"), [
    ("prorate", ["957.86", "192.86"]),
    ("full", ["1490.00", "300.00"]),  # the stub billed at the full period price
    ("free", []),
])
def test_first_period_policies(policy: str, expected: list[str]) -> None:
    terms = Terms(spec(), "RUB", D(2027, 2, 10), anchor="calendar", billing_day=31, first_period=policy)
    assert [c.amount.to_str() for c in due_charges(terms, D(2027, 2, 27))] == expected


def test_trial_ending_mid_period_is_free_then_prorated() -> None:
    plan = spec(trial={"days": 14})
    trial_end = trial_end_for(plan, D(2027, 1, 1))
    assert trial_end == D(2027, 1, 15)
    terms = Terms(plan, "RUB", D(2027, 1, 1), anchor="calendar", billing_day=1, trial_end=trial_end)
    assert due_charges(terms, D(2027, 1, 14)) == []
    # [Jan 15, Feb 1) = 17 of 31 days: 1490 × 17/31 = 817.096… → 817.10; 300 × 17/31 = 164.516… → 164.52
    assert amounts(due_charges(terms, D(2027, 1, 15))) == [("base", "2027-01-15", "817.10"),
                                                           ("seats", "2027-01-15", "164.52")]


def test_trial_in_periods() -> None:
    assert trial_end_for(spec(trial={"periods": 2}), D(2027, 1, 31)) == D(2027, 3, 31)


def test_in_arrears_and_metered_due_the_day_after_the_period() -> None:
    terms = Terms(spec(traffic=True), "RUB", D(2027, 1, 1))
    usage = {("traffic", D(2027, 1, 1)): 10}
    charges = due_charges(terms, D(2027, 2, 1), usage=lambda code, p: usage.get((code, p.start), 0))
    # traffic of January (10 × 2.00 = 20.00) is due on Feb 1, with February's in-advance fees
    # (same due date: ordered by period start)
    assert amounts(charges) == [("base", "2027-01-01", "1490.00"), ("seats", "2027-01-01", "300.00"),
                                ("traffic", "2027-01-01", "20.00"),
                                ("base", "2027-02-01", "1490.00"), ("seats", "2027-02-01", "300.00")]
    assert charges[2].due == D(2027, 2, 1)


def test_already_billed_is_skipped() -> None:
    terms = Terms(spec(), "RUB", D(2027, 1, 1))
    first = due_charges(terms, D(2027, 2, 1))
    assert due_charges(terms, D(2027, 2, 1), {c.key for c in first}) == []


def test_discount_is_its_own_line_and_fixed_price_replaces_recurring_fees() -> None:
    terms = Terms(spec(), "RUB", D(2027, 1, 1), quantity=3, discount_percent=Decimal("12.5"))
    base, seats = due_charges(terms, D(2027, 1, 1))
    # base 1490 − round(1490 × 12.5 %) = 1490 − 186.25 = 1303.75; seats 900 − 112.50 = 787.50
    assert [ln.amount.to_str() for ln in base.lines] == ["1490.00", "-186.25"]
    assert (base.amount.to_str(), seats.amount.to_str()) == ("1303.75", "787.50")
    fixed = Terms(spec(), "RUB", D(2027, 1, 1), quantity=3, fixed_price=Decimal("999.99"))
    assert amounts(due_charges(fixed, D(2027, 1, 1))) == [("fixed_price", "2027-01-01", "999.99")]


def test_setup_fee_once_on_the_start_date() -> None:
    terms = Terms(spec(setup="500.00"), "RUB", D(2027, 1, 1))
    charges = due_charges(terms, D(2027, 2, 1))
    assert [c.component for c in charges].count("setup_fee") == 1


def test_terms_refusals() -> None:
    with pytest.raises(TermsError) as info:
        Terms(spec(), "USD", D(2027, 1, 1))
    assert info.value.field == "currency"
    with pytest.raises(TermsError):
        Terms(spec(), "RUB", D(2027, 1, 1), quantity=0)
    with pytest.raises(TermsError):
        Terms(spec(unit="week"), "RUB", D(2027, 1, 1), anchor="calendar", billing_day=5)


def test_classify_by_annual_fee() -> None:
    monthly = Terms(spec(base="1000.00"), "RUB", D(2027, 1, 1))
    # 12 × 1300 = 15600 a year against 11000 + 4 × 300 = 12200 a year (yearly plan)
    yearly = Terms(spec("y", base="11000.00", seat="1200.00", unit="year"), "RUB", D(2027, 1, 1))
    assert annual_fee(yearly.plan, "RUB") == 12200
    assert classify_change(monthly, yearly) == ChangeKind.DOWNGRADE
    assert classify_change(yearly, monthly) == ChangeKind.UPGRADE
    assert classify_change(monthly, monthly) == ChangeKind.CROSSGRADE


def test_upgrade_on_the_last_day_of_the_period() -> None:
    old = Terms(spec("basic", base="1000.00"), "RUB", D(2027, 1, 1))
    done = due_charges(old, D(2027, 1, 31))
    new = Terms(spec("pro", base="3100.00"), "RUB", D(2027, 1, 1), billing_from=D(2027, 1, 31))
    quote = quote_phase_change(old, new, D(2027, 1, 31), billed(done))
    # 1 unused day of 31: credit 1000 × 1/31 = 32.258… → 32.26; charge 3100 × 1/31 = 100.00;
    # seats are unchanged (same price, same quantity): carried over, nothing posted
    assert [(i.kind, i.component, i.amount.to_str()) for i in quote.items] == [
        ("credit", "base", "32.26"), ("charge", "base", "100.00")]
    assert quote.carried == (("seats", D(2027, 1, 1)),)
    assert quote.total.to_str() == "67.74"


def test_quantity_change_is_prorated_and_same_day_rechange_replaces() -> None:
    old = Terms(spec(), "RUB", D(2027, 1, 1))
    done = billed(due_charges(old, D(2027, 1, 11)))
    new = old.with_(quantity=3, billing_from=D(2027, 1, 11))
    quote = quote_phase_change(old, new, D(2027, 1, 11), done)
    # 21 of 31 days left: credit 300 × 21/31 = 203.225… → 203.23; charge 900 × 21/31 = 609.677… → 609.68
    assert [(i.kind, i.component, i.amount.to_str()) for i in quote.items] == [
        ("credit", "seats", "203.23"), ("charge", "seats", "609.68")]
    # the same day again: the piece [Jan 11, Feb 1) is credited in full and billed again
    after = [BilledSlot(b.component, b.period, b.amount, D(2027, 1, 11) if b.component == "seats" else None)
             for b in done] + [BilledSlot("seats", Period(D(2027, 1, 11), D(2027, 2, 1)), Money("609.68", "RUB"))]
    again = quote_phase_change(new, new.with_(quantity=2), D(2027, 1, 11), after)
    # 609.68 × 21/21 back; 600 × 21/31 = 406.451… → 406.45
    assert [(i.kind, i.component, i.amount.to_str()) for i in again.items] == [
        ("credit", "seats", "609.68"), ("charge", "seats", "406.45")]


def test_immediate_cancel_credits_unused_days() -> None:
    terms = Terms(spec(), "RUB", D(2027, 1, 1))
    quote = quote_close(terms, D(2027, 1, 22), billed(due_charges(terms, D(2027, 1, 22))))
    # 10 of 31 days unused: 1490 × 10/31 = 480.645… → 480.65; 300 × 10/31 = 96.774… → 96.77
    assert [(i.kind, i.component, i.amount.to_str()) for i in quote.items] == [
        ("credit", "base", "480.65"), ("credit", "seats", "96.77")]


def test_billing_day_change_bridge_is_prorated() -> None:
    old = Terms(spec(), "RUB", D(2027, 1, 10))
    assert period_end(old, D(2027, 1, 20)) == D(2027, 2, 10)
    done = billed(due_charges(old, D(2027, 2, 9)))
    new = new_billing_day_terms(old, D(2027, 2, 10), 1)
    quote = quote_phase_change(old, new, D(2027, 2, 10), done)
    # bridge [Feb 10, Mar 1) = 19 of February's 28 days: 1490 × 19/28 = 1011.07…; 300 × 19/28 = 203.57…
    assert [(i.kind, i.component, i.amount.to_str()) for i in quote.items] == [
        ("charge", "base", "1011.07"), ("charge", "seats", "203.57")]
    assert amounts(due_charges(new, D(2027, 3, 1), {c.key for c in quote.charges}))[0] == (
        "base", "2027-03-01", "1490.00")


@settings(max_examples=60, deadline=None)
@given(start=st.dates(D(2027, 1, 1), D(2028, 12, 31)), offset=st.integers(0, 120),
       qty=st.integers(1, 5), new_qty=st.integers(1, 5), day=st.integers(1, 31))
def test_credit_never_exceeds_what_was_billed(start: dt.date, offset: int, qty: int, new_qty: int,
                                              day: int) -> None:
    old = Terms(spec(), "RUB", start, quantity=qty, anchor="calendar", billing_day=day)
    on = start + dt.timedelta(days=offset)
    done = billed(due_charges(old, on))
    new = old.with_(quantity=new_qty, billing_from=on)
    quote = quote_phase_change(old, new, on, done)
    paid = {b.key: b.amount for b in done}
    for credit in quote.credits:
        assert Money(0, "RUB") < credit.amount <= paid[credit.key]
    for charge in quote.charges:
        assert charge.period.start >= on or charge.period.end <= on
