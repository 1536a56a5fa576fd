import datetime as dt
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kopeck.core.calendar import days_in_month
from kopeck.core.periods import (
    BillingCycle,
    BillingInterval,
    Period,
    PeriodError,
    PeriodUnit,
    anniversary_cycle,
    calendar_cycle,
    change_billing_day,
    first_billing_date,
    stub_period,
)

D = dt.date
MONTH = BillingInterval(PeriodUnit.MONTH)


def starts(cycle: BillingCycle, n: int) -> list[dt.date]:
    return [cycle.boundary(k) for k in range(n)]


# --- intervals and periods ----------------------------------------------------------------------


def test_interval_lengths_and_json() -> None:
    assert BillingInterval(PeriodUnit.QUARTER, 2).months == 6
    assert BillingInterval("half_year").months == 6  # type: ignore[arg-type]
    assert BillingInterval(PeriodUnit.WEEK, 2).days == 14
    assert BillingInterval(PeriodUnit.DAY).months is None
    assert BillingInterval.from_dict({"unit": "year", "count": 1}) == BillingInterval(PeriodUnit.YEAR)
    assert BillingInterval(PeriodUnit.MONTH, 3).to_dict() == {"unit": "month", "count": 3}
    assert str(BillingInterval(PeriodUnit.MONTH, 3)) == "3 × month"


@pytest.mark.parametrize("unit,count", [("fortnight", 1), ("month", 0), ("month", -1), ("month", True)])
def test_interval_rejects_bad_values(unit: str, count: int) -> None:
    with pytest.raises(PeriodError):
        BillingInterval(unit, count)  # type: ignore[arg-type]


def test_period_is_half_open() -> None:
    p = Period(D(2024, 2, 1), D(2024, 3, 1))
    assert p.days == 29  # leap February
    assert p.last_day == D(2024, 2, 29)
    assert p.contains(D(2024, 2, 1)) and p.contains(D(2024, 2, 29))
    assert not p.contains(D(2024, 3, 1))
    assert str(p) == "[2024-02-01, 2024-03-01)"


def test_period_rejects_empty_reversed_and_datetimes() -> None:
    with pytest.raises(PeriodError):
        Period(D(2024, 1, 1), D(2024, 1, 1))
    with pytest.raises(PeriodError):
        Period(D(2024, 1, 2), D(2024, 1, 1))
    with pytest.raises(PeriodError):
        Period(dt.datetime(2024, 1, 1, tzinfo=dt.UTC), D(2024, 2, 1))


def test_period_split() -> None:
    p = Period(D(2024, 1, 1), D(2024, 2, 1))
    assert p.split([D(2024, 1, 20), D(2024, 1, 10)]) == [
        Period(D(2024, 1, 1), D(2024, 1, 10)),
        Period(D(2024, 1, 10), D(2024, 1, 20)),
        Period(D(2024, 1, 20), D(2024, 2, 1)),
    ]
    with pytest.raises(PeriodError):
        p.split([D(2024, 1, 1)])


# --- anniversary billing ------------------------------------------------------------------------


def test_anniversary_month_end_uses_anchor_day_not_clamped_day() -> None:
    cycle = anniversary_cycle(D(2023, 1, 31), MONTH)
    assert starts(cycle, 6) == [D(2023, 1, 31), D(2023, 2, 28), D(2023, 3, 31), D(2023, 4, 30),
                                D(2023, 5, 31), D(2023, 6, 30)]
    assert cycle.period(1) == Period(D(2023, 2, 28), D(2023, 3, 31))
    assert cycle.period(1).days == 31  # Feb 28 .. Mar 30 inclusive


def test_anniversary_leap_year() -> None:
    cycle = anniversary_cycle(D(2024, 1, 31), MONTH)
    assert starts(cycle, 3) == [D(2024, 1, 31), D(2024, 2, 29), D(2024, 3, 31)]
    assert cycle.next_period(cycle.period(0)) == Period(D(2024, 2, 29), D(2024, 3, 31))


@pytest.mark.parametrize("day,feb_2023,feb_2024", [(29, 28, 29), (30, 28, 29), (31, 28, 29), (28, 28, 28)])
def test_anchor_29_to_31_in_february(day: int, feb_2023: int, feb_2024: int) -> None:
    cycle = anniversary_cycle(D(2023, 1, day), MONTH)
    assert cycle.boundary(1) == D(2023, 2, feb_2023)
    assert cycle.boundary(2) == D(2023, 3, day)
    assert cycle.boundary(13) == D(2024, 2, feb_2024)
    assert cycle.boundary(14) == D(2024, 3, day)


def test_quarter_half_year_and_year() -> None:
    q = anniversary_cycle(D(2023, 11, 30), BillingInterval(PeriodUnit.QUARTER))
    assert starts(q, 4) == [D(2023, 11, 30), D(2024, 2, 29), D(2024, 5, 30), D(2024, 8, 30)]
    h = anniversary_cycle(D(2023, 8, 31), BillingInterval(PeriodUnit.HALF_YEAR))
    assert starts(h, 3) == [D(2023, 8, 31), D(2024, 2, 29), D(2024, 8, 31)]
    y = anniversary_cycle(D(2024, 2, 29), BillingInterval(PeriodUnit.YEAR))
    assert starts(y, 5) == [D(2024, 2, 29), D(2025, 2, 28), D(2026, 2, 28), D(2027, 2, 28), D(2028, 2, 29)]
    assert y.period(0).days == 365 and y.period(3).days == 366


def test_n_times_unit_and_days_weeks() -> None:
    three_months = anniversary_cycle(D(2024, 1, 31), BillingInterval(PeriodUnit.MONTH, 3))
    assert starts(three_months, 3) == [D(2024, 1, 31), D(2024, 4, 30), D(2024, 7, 31)]
    weeks = anniversary_cycle(D(2024, 2, 26), BillingInterval(PeriodUnit.WEEK, 2))
    assert weeks.period(0) == Period(D(2024, 2, 26), D(2024, 3, 11))
    days = anniversary_cycle(D(2024, 2, 28), BillingInterval(PeriodUnit.DAY, 1))
    assert starts(days, 3) == [D(2024, 2, 28), D(2024, 2, 29), D(2024, 3, 1)]


def test_period_containing_and_negative_indexes() -> None:
    cycle = anniversary_cycle(D(2024, 1, 31), MONTH)
    assert cycle.period_containing(D(2024, 3, 30)) == Period(D(2024, 2, 29), D(2024, 3, 31))
    assert cycle.period_containing(D(2024, 3, 31)) == Period(D(2024, 3, 31), D(2024, 4, 30))
    assert cycle.period_containing(D(2023, 12, 31)) == Period(D(2023, 12, 31), D(2024, 1, 31))
    assert cycle.index_of(D(2023, 12, 31)) == -1
    assert cycle.index_of(D(2023, 12, 30)) == -2  # [Nov 30, Dec 31)
    weekly = anniversary_cycle(D(2024, 1, 1), BillingInterval(PeriodUnit.WEEK))
    assert weekly.period_containing(D(2023, 12, 31)) == Period(D(2023, 12, 25), D(2024, 1, 1))


def test_cycle_rejects_anchor_off_its_billing_day() -> None:
    with pytest.raises(PeriodError):
        BillingCycle(MONTH, D(2024, 2, 28), 31)  # Feb 2024 has a 29th
    assert BillingCycle(MONTH, D(2024, 2, 29), 31).boundary(1) == D(2024, 3, 31)
    with pytest.raises(PeriodError):
        BillingCycle(MONTH, D(2024, 1, 1), 32)


# --- calendar billing ---------------------------------------------------------------------------


def test_calendar_billing_on_the_first_with_a_stub() -> None:
    cycle = calendar_cycle(D(2024, 1, 15), MONTH, 1)
    assert cycle.anchor == D(2024, 2, 1)
    assert stub_period(D(2024, 1, 15), cycle) == Period(D(2024, 1, 15), D(2024, 2, 1))
    assert cycle.next_period(Period(D(2024, 1, 15), D(2024, 2, 1))) == Period(D(2024, 2, 1), D(2024, 3, 1))
    assert stub_period(D(2024, 2, 1), calendar_cycle(D(2024, 2, 1), MONTH, 1)) is None


def test_calendar_billing_day_31() -> None:
    cycle = calendar_cycle(D(2023, 2, 10), MONTH, 31)
    assert starts(cycle, 4) == [D(2023, 2, 28), D(2023, 3, 31), D(2023, 4, 30), D(2023, 5, 31)]
    assert first_billing_date(D(2024, 2, 29), 30) == D(2024, 2, 29)


def test_calendar_quarters_are_aligned_to_the_year() -> None:
    cycle = calendar_cycle(D(2024, 2, 15), BillingInterval(PeriodUnit.QUARTER), 1)
    assert cycle.anchor == D(2024, 4, 1)
    assert stub_period(D(2024, 2, 15), cycle) == Period(D(2024, 2, 15), D(2024, 4, 1))
    assert cycle.period(1) == Period(D(2024, 7, 1), D(2024, 10, 1))
    yearly = calendar_cycle(D(2024, 3, 5), BillingInterval(PeriodUnit.YEAR), 1)
    assert yearly.anchor == D(2025, 1, 1)


def test_calendar_billing_needs_a_month_based_unit() -> None:
    with pytest.raises(PeriodError):
        calendar_cycle(D(2024, 1, 1), BillingInterval(PeriodUnit.WEEK), 1)


# --- billing-day change -------------------------------------------------------------------------


def test_billing_day_change_makes_a_bridge_period() -> None:
    cycle = anniversary_cycle(D(2024, 1, 5), MONTH)
    current = cycle.period_containing(D(2024, 3, 10))
    assert current == Period(D(2024, 3, 5), D(2024, 4, 5))
    change = change_billing_day(cycle, current.end, 20)
    assert change.bridge == Period(D(2024, 4, 5), D(2024, 4, 20))
    assert change.cycle.period(0) == Period(D(2024, 4, 20), D(2024, 5, 20))
    assert change.cycle.next_period(change.bridge) == Period(D(2024, 4, 20), D(2024, 5, 20))


def test_billing_day_change_to_an_earlier_day_and_to_31() -> None:
    cycle = anniversary_cycle(D(2024, 1, 20), MONTH)
    change = change_billing_day(cycle, D(2024, 2, 20), 5)
    assert change.bridge == Period(D(2024, 2, 20), D(2024, 3, 5))
    change = change_billing_day(cycle, D(2023, 2, 10), 31)
    assert change.bridge == Period(D(2023, 2, 10), D(2023, 2, 28))
    assert change.cycle.boundary(1) == D(2023, 3, 31)


def test_billing_day_change_without_bridge() -> None:
    cycle = anniversary_cycle(D(2024, 1, 5), MONTH)
    change = change_billing_day(cycle, D(2024, 2, 5), 5)
    assert change.bridge is None
    assert change.cycle.anchor == D(2024, 2, 5)
    with pytest.raises(PeriodError):
        change_billing_day(anniversary_cycle(D(2024, 1, 1), BillingInterval(PeriodUnit.DAY)), D(2024, 1, 2), 5)


# --- properties ---------------------------------------------------------------------------------

dates = st.dates(min_value=D(1990, 1, 1), max_value=D(2090, 12, 31))
intervals = st.builds(BillingInterval, st.sampled_from(list(PeriodUnit)), st.integers(1, 4))


@given(st.integers(1990, 2090), st.integers(1, 12), st.sampled_from([29, 30, 31]))
def test_anchor_29_to_31_lands_on_the_day_or_the_month_end(year: int, month: int, day: int) -> None:
    anchor = D(year, month, min(day, days_in_month(year, month)))
    cycle = BillingCycle(MONTH, anchor, day)
    for k in range(-3, 30):
        b = cycle.boundary(k)
        assert b.day == min(day, days_in_month(b.year, b.month))


@given(st.sampled_from([D(2023, 1, 31), D(2024, 1, 31)]) | dates)
def test_24_monthly_periods_have_no_gaps_or_overlaps(start: dt.date) -> None:
    cycle = anniversary_cycle(start, MONTH)
    periods = [cycle.period(k) for k in range(24)]
    assert periods[0].start == start
    for a, b in pairwise(periods):
        assert a.end == b.start
        assert 28 <= a.days <= 31
    assert periods[-1].end == cycle.boundary(24)
    assert cycle.boundary(24).day == min(start.day, days_in_month(cycle.boundary(24).year,
                                                                  cycle.boundary(24).month))


@given(dates, intervals, dates)
def test_period_containing_contains_the_day(anchor: dt.date, interval: BillingInterval, day: dt.date) -> None:
    cycle = anniversary_cycle(anchor, interval)
    p = cycle.period_containing(day)
    assert p.contains(day)
    assert p == cycle.period(cycle.index_of(day))
    assert cycle.next_period(p).start == p.end


@given(dates, st.integers(1, 31), st.sampled_from([1, 2, 3, 4, 6, 12]))
def test_calendar_cycle_starts_within_one_interval(start: dt.date, day: int, months: int) -> None:
    interval = BillingInterval(PeriodUnit.MONTH, months)
    cycle = calendar_cycle(start, interval, day)
    assert start <= cycle.anchor
    stub = stub_period(start, cycle)
    assert stub is None or (stub.start == start and stub.end == cycle.anchor)
    assert (cycle.anchor - start).days <= 31 * months
