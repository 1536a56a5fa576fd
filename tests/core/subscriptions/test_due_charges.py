"""What is due, at the edges where a wrong comparison bills money it should not (or forgets some):
the setup fee of a later phase, a discount or VAT that rounds to nothing, a phase's end, a trial ending
on a boundary, a fixed price without recurring fees, metered usage billed in arrears whatever the plan
says, and the yearly fee of a plan billed by days or weeks. Every amount is hand-computed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any

from kopeck.core.periods import Period
from kopeck.core.pricing.plan import PlanSpec
from kopeck.core.subscriptions import Terms, annual_fee, due_charges, recurring_fee
from kopeck.core.vat import VatRate
from tests.core.subscriptions.test_core import amounts, spec

D = dt.date


def test_the_setup_fee_is_due_once_on_the_start_date_of_the_first_phase() -> None:
    terms = Terms(spec("a", base="100.00", seat="30.00", setup="500.00"), "RUB", D(2027, 1, 1))
    assert amounts(due_charges(terms, D(2027, 1, 1))) == [
        ("base", "2027-01-01", "100.00"), ("seats", "2027-01-01", "30.00"), ("setup_fee", "2027-01-01", "500.00")]
    # a later phase of the same subscription (billing from Jan 11) does not bill it again
    later = terms.with_(billing_from=D(2027, 1, 11))
    assert [c.component for c in due_charges(later, D(2027, 1, 11))] == ["base", "seats"]
    # nor when it is billed already
    assert [c.component for c in due_charges(terms, D(2027, 1, 1), {("setup_fee", D(2027, 1, 1))})] == ["base", "seats"]
    # nothing is due before the phase starts
    assert due_charges(later, D(2027, 1, 10)) == []


def test_a_discount_that_rounds_to_nothing_adds_no_line() -> None:
    # 10 % of 0.04 = 0.004 → 0.00: no discount line; 10 % of 0.05 = 0.005 → 0.01 (half-up)
    small = Terms(spec("a", base="0.04", seat="0.05"), "RUB", D(2027, 1, 1), discount_percent=Decimal(10))
    base, seats = due_charges(small, D(2027, 1, 1))
    assert [ln.amount.to_str() for ln in base.lines] == ["0.04"]
    assert [ln.amount.to_str() for ln in seats.lines] == ["0.05", "-0.01"]
    assert (base.amount.to_str(), seats.amount.to_str()) == ("0.04", "0.04")
    # a zero discount, and a free component, add no line either
    zero = Terms(spec("a", base="100.00", seat="0.00"), "RUB", D(2027, 1, 1), discount_percent=Decimal(0))
    assert [[ln.code for ln in c.lines] for c in due_charges(zero, D(2027, 1, 1))] == [["base"], ["seats"]]
    free = zero.with_(discount_percent=Decimal(50))
    assert [[ln.amount.to_str() for ln in c.lines] for c in due_charges(free, D(2027, 1, 1))] == [
        ["100.00", "-50.00"], ["0.00"]]


def test_vat_on_top_that_is_zero_adds_no_line() -> None:
    for rate in (VatRate.VAT_0, VatRate.EXEMPT):
        terms = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1), vat_rate=rate,
                      prices_include_vat=False)
        assert [([ln.code for ln in c.lines], c.amount.to_str()) for c in due_charges(terms, D(2027, 1, 1))] == [
            (["base"], "100.00"), (["seats"], "30.00")]
    # 22 % of 0.02 = 0.0044 → 0.00: no line; of 0.03 = 0.0066 → 0.01
    tiny = Terms(spec("a", base="0.02", seat="0.03"), "RUB", D(2027, 1, 1), vat_rate=VatRate.VAT_22,
                 prices_include_vat=False)
    assert [[ln.amount.to_str() for ln in c.lines] for c in due_charges(tiny, D(2027, 1, 1))] == [
        ["0.02"], ["0.03", "0.01"]]


def test_a_phase_bills_nothing_from_its_end() -> None:
    terms = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1), end=D(2027, 2, 1))
    assert amounts(due_charges(terms, D(2027, 4, 1))) == [("base", "2027-01-01", "100.00"),
                                                          ("seats", "2027-01-01", "30.00")]
    # ending mid-period: the last piece is prorated, 100 × 10/28 = 35.714… → 35.71, 30 × 10/28 = 10.714… → 10.71
    short = terms.with_(end=D(2027, 2, 11))
    assert amounts(due_charges(short, D(2027, 4, 1)))[2:] == [("base", "2027-02-01", "35.71"),
                                                               ("seats", "2027-02-01", "10.71")]


def test_a_phase_starting_mid_period_bills_the_rest_of_that_period() -> None:
    terms = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1), billing_from=D(2027, 2, 1))
    # January lies before the phase: nothing of it is due; February is billed whole
    assert amounts(due_charges(terms, D(2027, 2, 1))) == [("base", "2027-02-01", "100.00"),
                                                          ("seats", "2027-02-01", "30.00")]


def test_a_trial_ending_on_a_period_boundary_leaves_the_period_whole() -> None:
    terms = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1), trial_end=D(2027, 2, 1))
    assert amounts(due_charges(terms, D(2027, 2, 1))) == [("base", "2027-02-01", "100.00"),
                                                          ("seats", "2027-02-01", "30.00")]
    # a trial ending on Jan 2 leaves Jan 2–31 to pay: 100 × 30/31 = 96.774… → 96.77, 30 × 30/31 = 29.03
    one_day = terms.with_(trial_end=D(2027, 1, 2))
    assert amounts(due_charges(one_day, D(2027, 1, 2))) == [("base", "2027-01-02", "96.77"),
                                                            ("seats", "2027-01-02", "29.03")]
    assert due_charges(one_day, D(2027, 1, 1)) == []


def _plan(components: list[dict[str, Any]], unit: str = "month", count: int = 1) -> PlanSpec:
    return PlanSpec.from_dict({"code": "p", "billing_period": {"unit": unit, "count": count}, "currencies": ["RUB"],
                               "components": components})


TRAFFIC = {"code": "traffic", "kind": "metered", "billing": "in_advance",
           "prices": {"RUB": {"model": "standard", "unit_price": "2.00"}}}


def test_a_fixed_price_needs_recurring_fees_to_replace() -> None:
    metered_only = Terms(_plan([TRAFFIC]), "RUB", D(2027, 1, 1), fixed_price=Decimal("50.00"))
    # no fixed price line (nothing recurring to replace); the traffic of January, 4 × 2.00, billed after it
    charges = due_charges(metered_only, D(2027, 2, 1), usage=lambda code, piece: 4)
    assert amounts(charges) == [("traffic", "2027-01-01", "8.00")]
    assert charges[0].due == D(2027, 2, 1)


def test_metered_usage_is_billed_in_arrears_even_if_the_plan_says_in_advance() -> None:
    terms = Terms(_plan([TRAFFIC]), "RUB", D(2027, 1, 1))
    assert due_charges(terms, D(2027, 1, 31), usage=lambda code, piece: 4) == []
    charge, = due_charges(terms, D(2027, 2, 1), usage=lambda code, piece: 4)
    assert (charge.due, charge.period, charge.amount.to_str()) == (D(2027, 2, 1), Period(D(2027, 1, 1), D(2027, 2, 1)),
                                                                    "8.00")


def test_the_recurring_and_yearly_fee() -> None:
    plan = spec("a", base="100.00", seat="30.00", traffic=True)
    assert recurring_fee(plan, "RUB", 3).to_str() == "190.00"  # 100 + 3 × 30; metered traffic left out
    assert annual_fee(plan, "RUB", 3) == Fraction(2280)  # 12 × 190
    quarterly = spec("q", base="300.00", seat="0.00", count=3)
    assert annual_fee(quarterly, "RUB") == Fraction(1200)  # 300 × 12 / 3
    weekly = spec("w", base="70.00", seat="0.00", unit="week", count=2)
    assert annual_fee(weekly, "RUB") == Fraction(1825)  # 70 × 365 / 14
    daily = spec("d", base="1.00", seat="0.50", unit="day", count=1)
    assert annual_fee(daily, "RUB", 2) == Fraction(730)  # (1 + 2 × 0.50) × 365
