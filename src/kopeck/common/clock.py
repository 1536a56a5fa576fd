"""The process-wide injectable clock. Services call :func:`now`; tests swap the clock with
:func:`use_clock`. No other module calls ``timezone.now()`` or ``datetime.now()`` (ruff TID251)."""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator

from kopeck.core.calendar import local_date
from kopeck.core.clock import Clock, SystemClock

_clock: Clock = SystemClock()


def get_clock() -> Clock:
    return _clock


def set_clock(clock: Clock) -> None:
    global _clock
    _clock = clock


@contextlib.contextmanager
def use_clock(clock: Clock) -> Iterator[Clock]:
    previous = _clock
    set_clock(clock)
    try:
        yield clock
    finally:
        set_clock(previous)


def now() -> dt.datetime:
    """The current instant (aware, UTC) from the injected clock."""
    return _clock.now()


def today(tz: str) -> dt.date:
    """Today's local date in zone ``tz`` according to the injected clock."""
    return local_date(_clock.now(), tz)
