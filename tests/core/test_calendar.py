from __future__ import annotations

import datetime as dt

import pytest

from kopeck.core.calendar import (
    CalendarError,
    add_months,
    clamp_day,
    end_of_local_day,
    is_month_end,
    local_date,
    month_end,
    start_of_local_day,
)
from kopeck.core.clock import FixedClock


def test_local_date_in_moscow_differs_from_utc_late_in_the_evening() -> None:
    instant = dt.datetime(2026, 1, 31, 22, 30, tzinfo=dt.UTC)  # 01:30 on Feb 1 in Moscow (UTC+3)
    assert local_date(instant, "Europe/Moscow") == dt.date(2026, 2, 1)
    assert local_date(instant, "UTC") == dt.date(2026, 1, 31)


def test_local_day_bounds_across_daylight_saving() -> None:
    # 2026-03-08 is the spring-forward day in New York: 23 hours long.
    start = start_of_local_day(dt.date(2026, 3, 8), "America/New_York")
    end = end_of_local_day(dt.date(2026, 3, 8), "America/New_York")
    assert start == dt.datetime(2026, 3, 8, 5, 0, tzinfo=dt.UTC)
    assert end - start == dt.timedelta(hours=23)


def test_month_ends_and_leap_years() -> None:
    assert month_end(dt.date(2024, 2, 10)) == dt.date(2024, 2, 29)
    assert month_end(dt.date(2026, 2, 10)) == dt.date(2026, 2, 28)
    assert is_month_end(dt.date(2026, 4, 30))
    assert clamp_day(2026, 2, 31) == dt.date(2026, 2, 28)
    assert clamp_day(2028, 2, 30) == dt.date(2028, 2, 29)


def test_add_months_keeps_the_anchor_day() -> None:
    assert add_months(dt.date(2026, 1, 31), 1) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 2, 28), 1, anchor_day=31) == dt.date(2026, 3, 31)
    assert add_months(dt.date(2025, 11, 30), 3) == dt.date(2026, 2, 28)
    assert add_months(dt.date(2026, 1, 15), -2) == dt.date(2025, 11, 15)


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(CalendarError):
        clamp_day(2026, 1, 32)
    with pytest.raises(CalendarError):
        local_date(dt.datetime(2026, 1, 1), "UTC")  # naive
    with pytest.raises(CalendarError):
        start_of_local_day(dt.date(2026, 1, 1), "Mars/Olympus")


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC))
    assert clock.now() == clock.now()
    clock.advance(dt.timedelta(days=1))
    assert clock.now() == dt.datetime(2026, 1, 2, 12, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="aware"):
        clock.set(dt.datetime(2026, 1, 1))
