"""Details of a due charge that a mutation probe showed untested: every component of a piece is
billed even when a metered one comes first (rated, held or without a usage source), a fixed price
still bills the metered usage, a 1 % discount is given, and the fixed price's and the setup fee's own
fields (name, due date, explanation, billing period). Every amount is hand-computed."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from kopeck.core.periods import Period, PeriodError
from kopeck.core.pricing.plan import PlanSpec
from kopeck.core.subscriptions import (
    BilledLine,
    HeldUsage,
    Slot,
    Terms,
    TermsError,
    due_charges,
    pieces,
    recurring_fee,
    slot_containing,
)
from tests.core.subscriptions.test_core import amounts, spec

D = dt.date
JANUARY = Period(D(2027, 1, 1), D(2027, 2, 1))


def _component(code: str, kind: str, price: str, billing: str = "in_advance") -> dict[str, Any]:
    return {"code": code, "kind": kind, "billing": billing,
            "prices": {"RUB": {"model": "standard", "unit_price": price}}}


def _metered_first() -> Terms:
    """traffic 2.00 and calls 0.50 a unit (metered), then base 100.00 in advance — in that order."""
    plan = PlanSpec.from_dict({"code": "m", "billing_period": {"unit": "month", "count": 1}, "currencies": ["RUB"],
                               "components": [_component("traffic", "metered", "2.00"),
                                              _component("calls", "metered", "0.50"),
                                              _component("base", "fixed", "100.00")]})
    return Terms(plan, "RUB", D(2027, 1, 1))


def test_a_metered_component_listed_first_does_not_stop_the_others() -> None:
    usage = {"traffic": 4, "calls": 10}
    charges = due_charges(_metered_first(), D(2027, 2, 1), usage=lambda code, piece: usage[code])
    # January: base in advance; its traffic 4 × 2.00 and calls 10 × 0.50 after it; February's base
    assert amounts(charges) == [("base", "2027-01-01", "100.00"), ("calls", "2027-01-01", "5.00"),
                                ("traffic", "2027-01-01", "8.00"), ("base", "2027-02-01", "100.00")]


def test_usage_held_for_one_component_bills_the_others_of_the_piece() -> None:
    def usage(code: str, piece: Period) -> int:
        if code == "traffic":
            raise ValueError("the meter is broken: " + "x" * 600)
        return 10

    held: list[HeldUsage] = []
    charges = due_charges(_metered_first(), D(2027, 2, 1), usage=usage, held=held)
    assert amounts(charges) == [("base", "2027-01-01", "100.00"), ("calls", "2027-01-01", "5.00"),
                                ("base", "2027-02-01", "100.00")]
    # the reason is cut to 500 characters (what is stored)
    reason = ("ValueError: the meter is broken: " + "x" * 600)[:500]
    assert held == [HeldUsage("traffic", JANUARY, reason)]
    assert len(held[0].reason) == 500


def test_without_a_usage_source_metered_components_are_rated_at_zero() -> None:
    charges = due_charges(_metered_first(), D(2027, 2, 1))
    assert amounts(charges) == [("base", "2027-01-01", "100.00"), ("calls", "2027-01-01", "0.00"),
                                ("traffic", "2027-01-01", "0.00"), ("base", "2027-02-01", "100.00")]


def test_a_fixed_price_still_bills_the_metered_usage() -> None:
    """The fixed price replaces the recurring fees only: the traffic listed after them is billed."""
    terms = Terms(spec("a", base="100.00", seat="30.00", traffic=True), "RUB", D(2027, 1, 1),
                  fixed_price=Decimal("50.00"))
    charges = due_charges(terms, D(2027, 2, 1), usage=lambda code, piece: 4)
    assert amounts(charges) == [("fixed_price", "2027-01-01", "50.00"), ("traffic", "2027-01-01", "8.00"),
                                ("fixed_price", "2027-02-01", "50.00")]


def test_the_fixed_price_charge_names_and_explains_itself() -> None:
    terms = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1), fixed_price=Decimal("50.00"))
    charge, = due_charges(terms, D(2027, 1, 1))
    assert (charge.component, charge.name, charge.due, charge.period, charge.billing_period) == (
        "fixed_price", ("Фиксированная цена", "Fixed price"), D(2027, 1, 1), JANUARY, JANUARY)
    assert charge.explanation.as_dict() == {
        "ru": "A, Фиксированная цена, 2027-01-01 – 2027-01-31: Фиксированная цена за период 50.00 RUB",
        "en": "A, Fixed price, 2027-01-01 – 2027-01-31: Fixed price per period 50.00 RUB",
        "formula": "fixed price = 50.00"}
    line = BilledLine.of(charge)
    assert (line.name_ru, line.name_en, line.due) == ("Фиксированная цена", "Fixed price", D(2027, 1, 1))
    # a phase from Jan 11: 50 × 21/31 = 33.870… → 33.87, due on its first day
    later, = due_charges(terms.with_(billing_from=D(2027, 1, 11)), D(2027, 1, 11))
    assert (later.due, later.amount.to_str()) == (D(2027, 1, 11), "33.87")
    assert later.explanation.ru.startswith(
        "A, Фиксированная цена, 2027-01-11 – 2027-01-31: Фиксированная цена за период 50.00 RUB; ")
    assert later.explanation.en.startswith(
        "A, Fixed price, 2027-01-11 – 2027-01-31: Fixed price per period 50.00 RUB; ")


def test_a_one_percent_discount_is_given() -> None:
    terms = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1), discount_percent=Decimal(1))
    # 1 % of 100.00 = 1.00; of 30.00 = 0.30
    assert [[ln.amount.to_str() for ln in c.lines] for c in due_charges(terms, D(2027, 1, 1))] == [
        ["100.00", "-1.00"], ["30.00", "-0.30"]]


def test_the_setup_fee_is_billed_for_its_one_day() -> None:
    terms = Terms(spec("a", base="100.00", seat="30.00", setup="500.00"), "RUB", D(2027, 1, 1))
    fee = next(c for c in due_charges(terms, D(2027, 1, 1)) if c.component == "setup_fee")
    day = Period(D(2027, 1, 1), D(2027, 1, 2))
    assert (fee.period, fee.billing_period, fee.due, fee.amount.to_str()) == (day, day, D(2027, 1, 1), "500.00")


def test_a_slot_ending_on_the_phase_start_has_no_piece() -> None:
    terms = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 1), billing_from=D(2027, 2, 1))
    assert pieces(terms, Slot(JANUARY, JANUARY)) == []
    assert pieces(terms, Slot(Period(D(2027, 2, 1), D(2027, 3, 1)), Period(D(2027, 2, 1), D(2027, 3, 1)))) == [
        Period(D(2027, 2, 1), D(2027, 3, 1))]


def test_the_recurring_fee_is_of_one_unit_by_default_and_skips_metered_components_wherever_listed() -> None:
    plan = PlanSpec.from_dict({"code": "m", "billing_period": {"unit": "month", "count": 1}, "currencies": ["RUB"],
                               "components": [_component("traffic", "metered", "2.00"),
                                              _component("base", "fixed", "100.00"),
                                              _component("seats", "per_unit", "30.00")]})
    assert recurring_fee(plan, "RUB").to_str() == "130.00"  # 100 + 1 × 30
    assert recurring_fee(plan, "RUB", 3).to_str() == "190.00"  # 100 + 3 × 30


def test_a_day_before_the_cycle_has_no_slot() -> None:
    terms = Terms(spec("a", base="100.00", seat="30.00"), "RUB", D(2027, 1, 10))
    with pytest.raises(PeriodError, match=r"^2027-01-09 is before the billing cycle starts \(2027-01-10\)$"):
        slot_containing(terms, D(2027, 1, 9))


def test_a_currency_the_plan_has_no_price_in_names_every_currency_it_has() -> None:
    prices = {"RUB": {"model": "standard", "unit_price": "100.00"}, "EUR": {"model": "standard", "unit_price": "1.00"}}
    plan = PlanSpec.from_dict({"code": "m", "billing_period": {"unit": "month", "count": 1},
                               "currencies": ["RUB", "EUR"],
                               "components": [{"code": "base", "kind": "fixed", "prices": prices}]})
    with pytest.raises(TermsError) as info:
        Terms(plan, "USD", D(2027, 1, 1))
    assert (info.value.field, info.value.message) == ("currency", "the plan has no price in USD; it is priced in RUB, EUR")


def test_a_line_stored_without_its_component_reads_back_with_an_empty_one() -> None:
    line = BilledLine.from_dict({"period": JANUARY.to_dict(), "amount": "10.00"}, "RUB")
    assert (line.component, line.name_ru, line.name_en, line.key) == ("", "", "", ("", "2027-01-01"))
