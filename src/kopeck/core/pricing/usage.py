"""Usage inputs: events, meter readings, and the usage of one period handed to the rating engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from kopeck.core.pricing._values import ZERO, dec
from kopeck.core.pricing.errors import UsageError


def utc(value: object, where: str) -> dt.datetime:
    """An aware datetime as the same instant in UTC. Instants are compared and subtracted in UTC:
    Python compares datetimes that share a ``tzinfo`` by wall time, which is wrong across a DST
    change."""
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise UsageError("naive_datetime", where)
    return value.astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One usage event (``timestamp`` is stored as the same instant in UTC). ``id`` is chosen by the client: a repeated id is a duplicate and is never
    counted twice. ``properties`` values are Decimals, ints or numeric strings (never floats) for
    numeric aggregations."""

    id: str
    timestamp: dt.datetime
    properties: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id:
            raise UsageError("event_id", "events[].id")
        object.__setattr__(self, "timestamp", utc(self.timestamp, f"events[{self.id}].timestamp"))


class ReadingKind(StrEnum):
    NORMAL = "normal"
    ROLLOVER = "rollover"
    """The counter passed its maximum and restarted from 0 since the previous reading."""
    REPLACEMENT = "replacement"
    """The meter was replaced: ``old_final`` closes the old meter, ``value`` is the new meter's
    initial reading."""


@dataclass(frozen=True, slots=True)
class MeterReading:
    """A reading of a cumulative counter."""

    id: str
    timestamp: dt.datetime
    value: Decimal
    kind: ReadingKind = ReadingKind.NORMAL
    old_final: Decimal | None = None

    def __post_init__(self) -> None:
        where = f"readings[{self.id}]"
        if not isinstance(self.id, str) or not self.id:
            raise UsageError("reading_id", "readings[].id")
        object.__setattr__(self, "timestamp", utc(self.timestamp, f"{where}.timestamp"))
        object.__setattr__(self, "value", dec(self.value, f"{where}.value", UsageError))
        try:
            object.__setattr__(self, "kind", ReadingKind(self.kind))
        except ValueError:
            raise UsageError("reading_kind", f"{where}.kind", kind=self.kind) from None
        if self.old_final is not None:
            object.__setattr__(self, "old_final", dec(self.old_final, f"{where}.old_final", UsageError))
        if (self.kind is ReadingKind.REPLACEMENT) != (self.old_final is not None):
            raise UsageError("old_final", f"{where}.old_final")


@dataclass(frozen=True, slots=True)
class Usage:
    """The usage of one period, in one of four forms:

    * ``quantity`` — an already aggregated quantity;
    * ``events`` — raw events, aggregated with the component's aggregation (``start``/``end``,
      aware datetimes, bound the period: required for weighted sums, and when given every event
      must fall in ``[start, end)``; ``initial_level`` / ``initial_values`` carry the state of a
      weighted sum / unique count over from the previous period);
    * ``readings`` — meter readings, the first being the opening reading of the period;
    * ``transactions`` — transaction amounts for the percentage models.
    """

    quantity: Decimal | None = None
    events: tuple[UsageEvent, ...] = ()
    readings: tuple[MeterReading, ...] = ()
    transactions: tuple[Decimal, ...] | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    initial_level: Decimal = ZERO
    initial_values: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.quantity is not None:
            object.__setattr__(self, "quantity", dec(self.quantity, "quantity", UsageError))
        object.__setattr__(self, "events", tuple(self.events))
        object.__setattr__(self, "readings", tuple(self.readings))
        if self.transactions is not None:
            object.__setattr__(self, "transactions", tuple(
                dec(t, f"transactions[{i}]", UsageError) for i, t in enumerate(self.transactions)))
        if self.start is not None:
            object.__setattr__(self, "start", utc(self.start, "start"))
        if self.end is not None:
            object.__setattr__(self, "end", utc(self.end, "end"))
        forms = [name for name, given in (("quantity", self.quantity is not None), ("events", bool(self.events)),
                                          ("readings", bool(self.readings)),
                                          ("transactions", self.transactions is not None)) if given]
        if len(forms) > 1:
            raise UsageError("one_usage_form", forms[1], first=forms[0], second=forms[1])
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise UsageError("period_order", "end")

    @classmethod
    def of_quantity(cls, quantity: object) -> Usage:
        return cls(quantity=dec(quantity, "quantity", UsageError))

    @classmethod
    def of_events(cls, events: Iterable[UsageEvent], start: dt.datetime | None = None,
                  end: dt.datetime | None = None, *, initial_level: Decimal = ZERO,
                  initial_values: Iterable[str] = ()) -> Usage:
        return cls(events=tuple(events), start=start, end=end, initial_level=initial_level,
                   initial_values=frozenset(initial_values))

    @classmethod
    def of_readings(cls, readings: Iterable[MeterReading]) -> Usage:
        return cls(readings=tuple(readings))

    @classmethod
    def of_transactions(cls, amounts: Iterable[object]) -> Usage:
        return cls(transactions=tuple(dec(a, f"transactions[{i}]", UsageError) for i, a in enumerate(amounts)))
