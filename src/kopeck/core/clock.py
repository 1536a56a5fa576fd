"""The one source of time. Everything that needs "now" receives a Clock; nothing else calls now().

``SystemClock`` reads the real time; ``FixedClock`` is set and moved by tests and simulations.
Instants are timezone-aware UTC datetimes.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Protocol

UTC = dt.UTC


class Clock(Protocol):
    def now(self) -> dt.datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(tz=UTC)  # noqa: TID251 - the one allowed call


class FixedClock:
    """A clock that stands still until moved. Thread-safe."""

    def __init__(self, instant: dt.datetime) -> None:
        self._lock = threading.Lock()
        self._now = _aware(instant)

    def now(self) -> dt.datetime:
        with self._lock:
            return self._now

    def set(self, instant: dt.datetime) -> None:
        with self._lock:
            self._now = _aware(instant)

    def advance(self, delta: dt.timedelta) -> dt.datetime:
        with self._lock:
            self._now = self._now + delta
            return self._now


def _aware(instant: dt.datetime) -> dt.datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("clock instants must be timezone-aware")
    return instant.astimezone(UTC)
