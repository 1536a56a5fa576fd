"""Every refusal of kopeck.core.periods and calendar with its exact message (plans, the API and the
CLI show them), and the interval's text and JSON forms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from kopeck.core.calendar import CalendarError, clamp_day
from kopeck.core.periods import (
    BillingCycle,
    BillingInterval,
    Period,
    PeriodError,
    PeriodUnit,
    anniversary_cycle,
    change_billing_day,
    first_billing_date,
)

D = dt.date
MONTH = BillingInterval(PeriodUnit.MONTH)
WEEK = BillingInterval(PeriodUnit.WEEK)
JANUARY = Period(D(2026, 1, 1), D(2026, 2, 1))


@pytest.mark.parametrize(("call", "message"), [
    (lambda: BillingInterval("fortnight"), "unknown period unit 'fortnight'"),  # type: ignore[arg-type]
    (lambda: BillingInterval(PeriodUnit.MONTH, 0), "interval count must be a positive integer, got 0"),
    (lambda: BillingInterval(PeriodUnit.MONTH, True), "interval count must be a positive integer, got True"),
    (lambda: BillingInterval.from_dict({"count": 1}), 'an interval needs a unit, e.g. {"unit": "month", "count": 1}'),
    (lambda: BillingInterval.from_dict([]), 'an interval needs a unit, e.g. {"unit": "month", "count": 1}'),  # type: ignore[arg-type]
    (lambda: Period(dt.datetime(2026, 1, 1), D(2026, 2, 1)), "start must be a date (not a datetime), got datetime"),
    (lambda: Period(D(2026, 1, 1), "2026-02-01"), "end must be a date (not a datetime), got str"),  # type: ignore[arg-type]
    (lambda: Period(D(2026, 1, 1), D(2026, 1, 1)), "a period must end after it starts: [2026-01-01, 2026-01-01)"),
    (lambda: JANUARY.split([D(2026, 1, 1)]), "cut 2026-01-01 is not strictly inside [2026-01-01, 2026-02-01)"),
    (lambda: JANUARY.split([D(2026, 2, 1)]), "cut 2026-02-01 is not strictly inside [2026-01-01, 2026-02-01)"),
    (lambda: BillingCycle(MONTH, D(2026, 1, 31), 32), "billing day must be 1..31, got 32"),
    (lambda: BillingCycle(MONTH, D(2026, 1, 31), 0), "billing day must be 1..31, got 0"),
    (lambda: BillingCycle(MONTH, D(2026, 1, 30), 31), "anchor 2026-01-30 is not on billing day 31"),
    (lambda: BillingCycle(WEEK, D(2026, 1, 5), 6), "day and week cycles take their anchor day from the anchor date"),
    (lambda: anniversary_cycle(D(2026, 1, 1), MONTH).next_period(Period(D(2026, 1, 1), D(2026, 1, 15))),
     "[2026-01-01, 2026-01-15) does not end on a boundary of this cycle"),
    (lambda: first_billing_date(D(2026, 1, 1), 5, WEEK), "a billing day of the month applies to month-based intervals only"),
    (lambda: first_billing_date(D(2026, 1, 1), 0), "billing day must be 1..31, got 0"),
    (lambda: first_billing_date(D(2026, 1, 1), 32), "billing day must be 1..31, got 32"),
    (lambda: change_billing_day(anniversary_cycle(D(2026, 1, 5), WEEK), D(2026, 1, 12), 1),
     "the billing day can be changed for month-based intervals only"),
    (lambda: change_billing_day(anniversary_cycle(D(2026, 1, 5), MONTH), dt.datetime(2026, 2, 5), 1),
     "effective must be a date (not a datetime), got datetime"),
])
def test_refusals_say_why(call: Callable[[], object], message: str) -> None:
    with pytest.raises(PeriodError) as info:
        call()
    assert str(info.value) == message


def test_a_day_of_the_month_out_of_range() -> None:
    with pytest.raises(CalendarError) as info:
        clamp_day(2026, 1, 0)
    assert str(info.value) == "day of month must be 1..31, got 0"
    with pytest.raises(CalendarError):
        clamp_day(2026, 1, 32)
    assert (clamp_day(2026, 2, 31), clamp_day(2026, 2, 1), clamp_day(2024, 2, 31)) == (
        D(2026, 2, 28), D(2026, 2, 1), D(2024, 2, 29))


def test_interval_forms() -> None:
    assert (str(MONTH), str(BillingInterval(PeriodUnit.MONTH, 3))) == ("month", "3 × month")
    assert MONTH.to_dict() == {"unit": "month", "count": 1}
    assert BillingInterval.from_dict({"unit": "year"}) == BillingInterval(PeriodUnit.YEAR, 1)
    assert BillingInterval.from_dict({"unit": "week", "count": 2}) == BillingInterval(PeriodUnit.WEEK, 2)
    assert (WEEK.days, WEEK.months, MONTH.days, MONTH.months) == (7, None, None, 1)
    assert (BillingInterval(PeriodUnit.QUARTER, 2).months, BillingInterval(PeriodUnit.DAY, 3).days) == (6, 3)
    assert JANUARY.to_dict() == {"start": "2026-01-01", "end": "2026-02-01"}


def test_billing_days_that_are_not_days() -> None:
    for bad in (True, "5"):
        with pytest.raises(PeriodError) as info:
            first_billing_date(D(2026, 1, 1), bad)  # type: ignore[arg-type]
        assert str(info.value) == f"billing day must be 1..31, got {bad!r}"
    with pytest.raises(PeriodError) as info:
        BillingCycle(MONTH, D(2026, 1, 1), True)
    assert str(info.value) == "billing day must be 1..31, got True"
    with pytest.raises(PeriodError) as info:
        BillingCycle(MONTH, dt.datetime(2026, 1, 1), 1)
    assert str(info.value) == "anchor must be a date (not a datetime), got datetime"


def test_the_periods_of_a_cycle_start_at_its_anchor() -> None:
    from itertools import islice

    cycle = anniversary_cycle(D(2026, 1, 31), MONTH)
    assert list(islice(cycle.periods(), 2)) == [Period(D(2026, 1, 31), D(2026, 2, 28)),
                                                Period(D(2026, 2, 28), D(2026, 3, 31))]


def test_calendar_helpers() -> None:
    from kopeck.core.calendar import is_leap_year, local_date, month_start, start_of_local_day, zone

    assert (is_leap_year(2024), is_leap_year(2100), is_leap_year(2000)) == (True, False, True)
    assert month_start(D(2026, 2, 17)) == D(2026, 2, 1)
    start = start_of_local_day(D(2026, 1, 1), "Europe/Moscow")
    assert start == dt.datetime(2025, 12, 31, 21, 0, tzinfo=dt.UTC) and start.tzinfo is dt.UTC
    with pytest.raises(CalendarError) as info:
        local_date(dt.datetime(2026, 1, 1, 12, 0), "Europe/Moscow")
    assert str(info.value) == "instant must be timezone-aware"
    with pytest.raises(CalendarError) as info:
        zone("Mars/Olympus")
    assert str(info.value) == "unknown time zone 'Mars/Olympus'"
