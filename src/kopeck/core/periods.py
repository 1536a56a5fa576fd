"""Billing periods: units, N × unit intervals, anniversary and calendar cycles, billing-day changes.

Conventions
-----------
* A :class:`Period` is ``[start, end)``: ``start`` is the first billed day, ``end`` the first day
  of the next period (exclusive). ``Period.days`` is therefore ``end − start`` and consecutive
  periods share a boundary (``a.end == b.start``) with no gap and no overlap.
* A :class:`BillingCycle` is a grid of boundaries: ``boundary(k)`` for every integer ``k``
  (negative too), and ``period(k) = [boundary(k), boundary(k + 1))``.
* Month-based units (month, quarter, half-year, year) place boundary ``k`` at
  ``anchor + k × N months`` on the cycle's ``anchor_day``, clamped to the month's length: with
  anchor day 31 the boundaries are Jan 31, Feb 28 (29 in leap years), Mar 31, Apr 30 … — always
  computed from the anchor, never from the previous (clamped) boundary, so a short month does not
  make the cycle drift to the 28th.
* Day and week units place boundary ``k`` at ``anchor + k × N × (1 or 7) days``.
* Anniversary billing (:func:`anniversary_cycle`): periods start on the subscription's start day.
  Calendar billing (:func:`calendar_cycle`): periods start on a fixed billing day 1–31 (29–31 mean
  the last day of shorter months); when 12 is a multiple of the interval's months (1, 2, 3, 4, 6,
  12) the periods are also aligned to the calendar year (quarters start in Jan/Apr/Jul/Oct,
  half-years in Jan/Jul, years in Jan). The days from the start to the first billing date form a
  stub period (:func:`stub_period`) that the caller prorates, bills in full or gives free.
* Changing the billing day (:func:`change_billing_day`) produces a bridge period from the
  effective date to the first date on the new billing day, and a new cycle from there.

Dates are provider-local calendar dates; nothing here reads the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from itertools import pairwise
from typing import Any

from kopeck.core.calendar import add_months, clamp_day


class PeriodError(ValueError):
    """An invalid period, interval, cycle or billing day."""


class PeriodUnit(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    HALF_YEAR = "half_year"
    YEAR = "year"


_UNIT_MONTHS = {PeriodUnit.MONTH: 1, PeriodUnit.QUARTER: 3, PeriodUnit.HALF_YEAR: 6, PeriodUnit.YEAR: 12}
_UNIT_DAYS = {PeriodUnit.DAY: 1, PeriodUnit.WEEK: 7}


@dataclass(frozen=True, slots=True)
class BillingInterval:
    """``count`` × ``unit``, e.g. 3 × month. JSON form: ``{"unit": "month", "count": 3}``."""

    unit: PeriodUnit
    count: int = 1

    def __post_init__(self) -> None:
        try:
            object.__setattr__(self, "unit", PeriodUnit(self.unit))
        except ValueError as exc:
            raise PeriodError(f"unknown period unit {self.unit!r}") from exc
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise PeriodError(f"interval count must be a positive integer, got {self.count!r}")

    @property
    def months(self) -> int | None:
        """Length in months for month-based units, else ``None``."""
        per = _UNIT_MONTHS.get(self.unit)
        return None if per is None else per * self.count

    @property
    def days(self) -> int | None:
        """Length in days for day and week units, else ``None``."""
        per = _UNIT_DAYS.get(self.unit)
        return None if per is None else per * self.count

    @property
    def is_month_based(self) -> bool:
        return self.unit in _UNIT_MONTHS

    def to_dict(self) -> dict[str, Any]:
        return {"unit": self.unit.value, "count": self.count}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BillingInterval:
        if not isinstance(data, dict) or "unit" not in data:
            raise PeriodError("an interval needs a unit, e.g. {\"unit\": \"month\", \"count\": 1}")
        return cls(data["unit"], data.get("count", 1))

    def __str__(self) -> str:
        return self.unit.value if self.count == 1 else f"{self.count} × {self.unit.value}"


def _check_date(value: object, name: str) -> None:
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise PeriodError(f"{name} must be a date (not a datetime), got {type(value).__name__}")


@dataclass(frozen=True, slots=True, order=True)
class Period:
    """The days ``[start, end)``: ``start`` inclusive, ``end`` exclusive."""

    start: dt.date
    end: dt.date

    def __post_init__(self) -> None:
        _check_date(self.start, "start")
        _check_date(self.end, "end")
        if self.end <= self.start:
            raise PeriodError(f"a period must end after it starts: [{self.start}, {self.end})")

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> dt.date:
        """The last billed day (inclusive), ``end − 1 day``."""
        return self.end - dt.timedelta(days=1)

    def contains(self, day: dt.date) -> bool:
        return self.start <= day < self.end

    def covers(self, other: Period) -> bool:
        return self.start <= other.start and other.end <= self.end

    def split(self, cuts: Iterable[dt.date]) -> list[Period]:
        """This period cut at ``cuts`` (dates strictly inside it; duplicates ignored)."""
        points = sorted(set(cuts))
        for cut in points:
            if not self.start < cut < self.end:
                raise PeriodError(f"cut {cut} is not strictly inside {self}")
        edges = [self.start, *points, self.end]
        return [Period(a, b) for a, b in pairwise(edges)]

    def to_dict(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    def __str__(self) -> str:
        return f"[{self.start}, {self.end})"


def _month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


@dataclass(frozen=True, slots=True)
class BillingCycle:
    """A grid of period boundaries: ``boundary(0) = anchor``; month-based boundaries fall on
    ``anchor_day`` clamped to each month's length."""

    interval: BillingInterval
    anchor: dt.date
    anchor_day: int

    def __post_init__(self) -> None:
        _check_date(self.anchor, "anchor")
        if isinstance(self.anchor_day, bool) or not isinstance(self.anchor_day, int) or not (
            1 <= self.anchor_day <= 31
        ):
            raise PeriodError(f"billing day must be 1..31, got {self.anchor_day!r}")
        if self.interval.is_month_based:
            expected = clamp_day(self.anchor.year, self.anchor.month, self.anchor_day)
            if expected != self.anchor:
                raise PeriodError(f"anchor {self.anchor} is not on billing day {self.anchor_day}")
        elif self.anchor_day != self.anchor.day:
            raise PeriodError("day and week cycles take their anchor day from the anchor date")

    def boundary(self, index: int) -> dt.date:
        months = self.interval.months
        if months is not None:
            return add_months(self.anchor, index * months, self.anchor_day)
        days = self.interval.days
        assert days is not None
        return self.anchor + dt.timedelta(days=index * days)

    def period(self, index: int) -> Period:
        return Period(self.boundary(index), self.boundary(index + 1))

    def index_of(self, day: dt.date) -> int:
        """The index ``k`` of the period containing ``day``."""
        months = self.interval.months
        if months is None:
            days = self.interval.days
            assert days is not None
            return (day - self.anchor).days // days
        k = (_month_index(day) - _month_index(self.anchor)) // months
        while self.boundary(k) > day:
            k -= 1
        while self.boundary(k + 1) <= day:
            k += 1
        return k

    def period_containing(self, day: dt.date) -> Period:
        return self.period(self.index_of(day))

    def next_period(self, current: Period) -> Period:
        """The period that follows ``current`` (which ends on a boundary of this cycle, e.g. a
        period of the cycle or a stub/bridge before it)."""
        following = self.period_containing(current.end)
        if following.start != current.end:
            raise PeriodError(f"{current} does not end on a boundary of this cycle")
        return following

    def first_period_on_or_after(self, day: dt.date) -> Period:
        """The first period of the cycle that starts on or after ``day``."""
        k = self.index_of(day)
        return self.period(k) if self.boundary(k) == day else self.period(k + 1)

    def periods(self, start_index: int = 0) -> Iterator[Period]:
        """Consecutive periods from ``start_index`` on (an endless iterator)."""
        k = start_index
        start = self.boundary(k)
        while True:
            end = self.boundary(k + 1)
            yield Period(start, end)
            start, k = end, k + 1


def anniversary_cycle(start: dt.date, interval: BillingInterval) -> BillingCycle:
    """Periods start on the subscription's start day (e.g. started Jan 31: Jan 31, Feb 29, Mar 31)."""
    return BillingCycle(interval, start, start.day)


def _calendar_aligned(interval: BillingInterval, month_index: int) -> bool:
    months = interval.months
    assert months is not None
    return 12 % months != 0 or month_index % months == 0


def first_billing_date(start: dt.date, billing_day: int, interval: BillingInterval | None = None) -> dt.date:
    """The first date on or after ``start`` on ``billing_day`` (clamped to short months), in a month
    aligned to the calendar for ``interval`` (see the module docstring)."""
    interval = interval or BillingInterval(PeriodUnit.MONTH)
    if not interval.is_month_based:
        raise PeriodError("a billing day of the month applies to month-based intervals only")
    if isinstance(billing_day, bool) or not isinstance(billing_day, int) or not 1 <= billing_day <= 31:
        raise PeriodError(f"billing day must be 1..31, got {billing_day!r}")
    index = _month_index(start)
    while True:
        year, month0 = divmod(index, 12)
        candidate = clamp_day(year, month0 + 1, billing_day)
        if candidate >= start and _calendar_aligned(interval, index):
            return candidate
        index += 1


def calendar_cycle(start: dt.date, interval: BillingInterval, billing_day: int) -> BillingCycle:
    """Periods start on ``billing_day``; the cycle is anchored on the first billing date on or
    after ``start``. Use :func:`stub_period` for the days before it."""
    return BillingCycle(interval, first_billing_date(start, billing_day, interval), billing_day)


def stub_period(start: dt.date, cycle: BillingCycle) -> Period | None:
    """The partial first period ``[start, first boundary ≥ start)`` of a calendar cycle, or ``None``
    when ``start`` is itself a boundary."""
    first = cycle.first_period_on_or_after(start)
    return None if first.start == start else Period(start, first.start)


@dataclass(frozen=True, slots=True)
class BillingDayChange:
    """The result of moving a cycle to a new billing day."""

    bridge: Period | None
    """``[effective, first date on the new billing day)``; ``None`` if ``effective`` is already on it."""
    cycle: BillingCycle
    """The new cycle, anchored on the first date on the new billing day (``bridge.end``)."""


def change_billing_day(cycle: BillingCycle, effective: dt.date, new_billing_day: int) -> BillingDayChange:
    """Move a month-based ``cycle`` to ``new_billing_day`` from ``effective`` on.

    ``effective`` is normally the end of the current period (then nothing already billed changes);
    if it is earlier, the caller credits the rest of the current period. The bridge period runs
    from ``effective`` to the first date on or after it on the new billing day (so it is shorter
    than one month) and is prorated like any partial period; the new cycle keeps the interval.
    """
    if not cycle.interval.is_month_based:
        raise PeriodError("the billing day can be changed for month-based intervals only")
    _check_date(effective, "effective")
    anchor = first_billing_date(effective, new_billing_day)
    new_cycle = BillingCycle(cycle.interval, anchor, new_billing_day)
    return BillingDayChange(None if anchor == effective else Period(effective, anchor), new_cycle)
