"""Calendar helpers: local billing dates in the provider's zone, month ends, instants in UTC.

Billing dates are local *dates* in the provider's time zone; instants are UTC. Converting between
them always names the zone.
"""

from __future__ import annotations

import calendar as _cal
import datetime as dt
import functools
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

UTC = dt.UTC


class CalendarError(ValueError):
    pass


@functools.cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (e.g. ``Europe/Moscow``); unknown names (and host aliases such as
    ``localtime``) are refused."""
    if name not in _known_zones():
        raise CalendarError(f"unknown time zone {name!r}")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"unknown time zone {name!r}") from exc


def local_date(instant: dt.datetime, tz: str) -> dt.date:
    """The provider-local calendar date of a UTC (or any aware) instant."""
    if instant.tzinfo is None:
        raise CalendarError("instant must be timezone-aware")
    return instant.astimezone(zone(tz)).date()


def start_of_local_day(day: dt.date, tz: str) -> dt.datetime:
    """The UTC instant at which local ``day`` begins in ``tz`` (handles DST days of 23 or 25 h)."""
    local = dt.datetime.combine(day, dt.time.min, tzinfo=zone(tz))
    return local.astimezone(UTC)


def end_of_local_day(day: dt.date, tz: str) -> dt.datetime:
    """The UTC instant at which local ``day`` ends (= start of the next day, exclusive)."""
    return start_of_local_day(day + dt.timedelta(days=1), tz)


@functools.lru_cache(maxsize=4096)
def days_in_month(year: int, month: int) -> int:
    return _cal.monthrange(year, month)[1]


def month_end(day: dt.date) -> dt.date:
    """The last day of ``day``'s month."""
    return day.replace(day=days_in_month(day.year, day.month))


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def is_month_end(day: dt.date) -> bool:
    return day == month_end(day)


def clamp_day(year: int, month: int, day: int) -> dt.date:
    """``day`` of the month, or the month's last day if the month is shorter (billing day 29–31)."""
    if not 1 <= day <= 31:
        raise CalendarError(f"day of month must be 1..31, got {day}")
    return dt.date(year, month, min(day, days_in_month(year, month)))


@functools.lru_cache(maxsize=8192)  # pure; billing walks the same boundaries for every subscription of a run
def add_months(day: dt.date, months: int, anchor_day: int | None = None) -> dt.date:
    """``day`` moved by ``months`` calendar months. The day of month is ``anchor_day`` (default:
    ``day.day``), clamped to the target month's length, so Jan 31 + 1 month = Feb 28/29 and, with
    anchor 31, Feb 28 + 1 month = Mar 31."""
    total = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(total, 12)
    return clamp_day(year, month0 + 1, anchor_day if anchor_day is not None else day.day)


def is_leap_year(year: int) -> bool:
    return _cal.isleap(year)
