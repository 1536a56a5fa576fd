"""The terms of a phase refuse what cannot be billed, each refusal with its exact field and message;
the quantity's bounds, the slots of a calendar cycle and a trial counted in periods."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from kopeck.core.periods import Period
from kopeck.core.subscriptions import Slot, Terms, TermsError, slots, trial_end_for
from kopeck.core.subscriptions.terms import MAX_QUANTITY, is_valid_quantity
from kopeck.core.vat import VatRate
from tests.core.subscriptions.test_core import spec

D = dt.date


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"quantity": 0}, "quantity", "the quantity must be a whole number from 1 to 1,000,000"),
    ({"quantity": 1_000_001}, "quantity", "the quantity must be a whole number from 1 to 1,000,000"),
    ({"quantity": True}, "quantity", "the quantity must be a whole number from 1 to 1,000,000"),
    ({"quantity": 2.0}, "quantity", "the quantity must be a whole number from 1 to 1,000,000"),
    ({"currency": "USD"}, "currency", "the plan has no price in USD; it is priced in RUB"),
    ({"anchor": "calendar", "billing_day": 0}, "billing_day", "the billing day must be 1..31"),
    ({"anchor": "calendar", "billing_day": 32}, "billing_day", "the billing day must be 1..31"),
    ({"anchor": "calendar", "billing_day": True}, "billing_day", "the billing day must be 1..31"),
    ({"anchor": "calendar", "billing_day": None}, "billing_day", "the billing day must be 1..31"),
    ({"discount_percent": Decimal("-0.01")}, "discount_percent", "the discount must be between 0 and 100 %"),
    ({"discount_percent": Decimal("100.01")}, "discount_percent", "the discount must be between 0 and 100 %"),
    ({"fixed_price": Decimal("-0.01")}, "fixed_price", "the fixed price must not be negative"),
    ({"end": D(2027, 1, 10)}, "end_date", "the end date must be after the start"),
    ({"end": D(2027, 1, 9)}, "end_date", "the end date must be after the start"),
    ({"billing_from": D(2027, 1, 20), "end": D(2027, 1, 20)}, "end_date", "the end date must be after the start"),
    ({"prices_include_vat": False}, "vat_rate", "prices without VAT need the VAT rate to add"),
])
def test_terms_refuse_with_the_field_and_message(changes: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(TermsError) as info:
        Terms(**{"plan": spec(), "currency": "RUB", "start": D(2027, 1, 10), **changes})
    assert (info.value.field, info.value.message, str(info.value)) == (field, message, message)


def test_a_calendar_day_needs_a_month_based_period() -> None:
    with pytest.raises(TermsError) as info:
        Terms(spec(unit="week"), "RUB", D(2027, 1, 1), anchor="calendar", billing_day=5)
    assert (info.value.field, info.value.message) == ("anchor_kind", "a calendar billing day needs a month-based billing period")


@pytest.mark.parametrize(("changes", "phase_start"), [
    ({"discount_percent": Decimal(0), "fixed_price": Decimal(0), "quantity": 1}, D(2027, 1, 10)),
    ({"discount_percent": Decimal(100), "quantity": MAX_QUANTITY, "end": D(2027, 1, 11)}, D(2027, 1, 10)),
    ({"anchor": "calendar", "billing_day": 31, "billing_from": D(2027, 1, 12), "end": D(2027, 1, 13)}, D(2027, 1, 12)),
    ({"anchor": "calendar", "billing_day": 1, "vat_rate": VatRate.VAT_22, "prices_include_vat": False}, D(2027, 1, 10)),
])
def test_terms_at_their_bounds_are_accepted(changes: dict[str, Any], phase_start: dt.date) -> None:
    terms = Terms(**{"plan": spec(), "currency": "RUB", "start": D(2027, 1, 10), **changes})
    assert terms.phase_start == phase_start


def test_the_quantity_bounds() -> None:
    assert [is_valid_quantity(q) for q in (1, MAX_QUANTITY, 0, MAX_QUANTITY + 1, True, "2", 2.0)] == [
        True, True, False, False, False, False, False]
    assert MAX_QUANTITY == 1_000_000


def test_a_calendar_cycle_starts_with_the_stub_of_its_own_start() -> None:
    terms = Terms(spec(), "RUB", D(2027, 1, 10), anchor="calendar", billing_day=1)
    first, second = (s for s, _ in zip(slots(terms), range(2), strict=False))
    january = Period(D(2027, 1, 1), D(2027, 2, 1))
    assert first == Slot(Period(D(2027, 1, 10), D(2027, 2, 1)), january, is_stub=True, first_stub=True)
    assert second == Slot(Period(D(2027, 2, 1), D(2027, 3, 1)), Period(D(2027, 2, 1), D(2027, 3, 1)))
    # the bridge after a billing-day change is a stub, but not the subscription's own first one
    moved = terms.with_(cycle_origin=D(2027, 2, 10), billing_day=15, billing_from=D(2027, 2, 10))
    bridge = next(iter(slots(moved)))
    assert bridge == Slot(Period(D(2027, 2, 10), D(2027, 2, 15)), Period(D(2027, 1, 15), D(2027, 2, 15)),
                          is_stub=True, first_stub=False)


def test_an_anniversary_cycle_has_no_stub() -> None:
    terms = Terms(spec(), "RUB", D(2027, 1, 10))
    assert next(iter(slots(terms))) == Slot(Period(D(2027, 1, 10), D(2027, 2, 10)), Period(D(2027, 1, 10), D(2027, 2, 10)))


@pytest.mark.parametrize(("trial", "anchor", "expected"), [
    ({"periods": 1}, {}, D(2027, 2, 10)),
    ({"periods": 3}, {}, D(2027, 4, 10)),
    ({"periods": 1}, {"anchor": "calendar", "billing_day": 1}, D(2027, 2, 1)),  # the stub is the first period
    ({"periods": 2}, {"anchor": "calendar", "billing_day": 1}, D(2027, 3, 1)),
    ({"days": 1}, {}, D(2027, 1, 11)),
    (None, {}, None),
])
def test_a_trial_ends_after_its_days_or_periods(trial: dict[str, int] | None, anchor: dict[str, Any],
                                                expected: dt.date | None) -> None:
    assert trial_end_for(spec(trial=trial), D(2027, 1, 10), **anchor) == expected
