"""What posting a quote does to a subscription's billed pieces — the rules every writer executes.

Posting a :class:`~kopeck.core.subscriptions.actions.Quote` on its date ``on``:

1. the pieces whose service ends on ``on`` (``quote.truncated``) are credited back from ``on``
   (``credited_from``; a piece credited from an earlier date keeps it);
2. a component carried over unchanged gets a *marker* piece from ``on`` (amount 0) that points to
   the piece paying for it, so that a later change on or after ``on`` finds it;
3. in the quote's order: a credit adds to what was credited back of its piece; a charge records a
   new piece — or replaces a piece credited back from its first day (the same key billed again on
   the same day) — and is skipped when its piece is billed already (never twice).

:func:`posting_of` states these as a :class:`Posting`; the writers (one by one, or in bulk for
billing runs) execute it, and :func:`billed_after` applies it to the pieces in memory (previews of
several steps, tests).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from kopeck.core.money import Money
from kopeck.core.periods import Period
from kopeck.core.subscriptions.actions import BilledSlot, Credit, Quote
from kopeck.core.subscriptions.billing import DueCharge

Key = tuple[str, dt.date]


@dataclass(frozen=True, slots=True)
class ChargeEntry:
    """A charge to post: a new piece, or (``replaces``) the piece of its key credited back from its
    first day."""

    charge: DueCharge
    replaces: bool = False


@dataclass(frozen=True, slots=True)
class Marker:
    """A carried-over component: the piece ``(component, on)`` of amount 0 up to ``end``, paid
    within the piece that starts on ``paid_from``."""

    component: str
    on: dt.date
    end: dt.date
    paid_from: dt.date

    @property
    def key(self) -> Key:
        return (self.component, self.on)


@dataclass(frozen=True, slots=True)
class Posting:
    """The effects of posting a quote (see the module docstring); ``entries`` in posting order."""

    on: dt.date
    currency: str
    truncate: tuple[tuple[Key, dt.date], ...] = ()
    markers: tuple[Marker, ...] = ()
    entries: tuple[Credit | ChargeEntry, ...] = ()

    @property
    def charges(self) -> list[ChargeEntry]:
        return [e for e in self.entries if isinstance(e, ChargeEntry)]

    @property
    def credits(self) -> list[Credit]:
        return [e for e in self.entries if isinstance(e, Credit)]

    @property
    def inserts_only(self) -> bool:
        """Only new pieces: nothing billed before is touched (what a bulk writer can write)."""
        return not self.truncate and not self.markers and all(
            isinstance(e, ChargeEntry) and not e.replaces for e in self.entries)


def posting_of(billed: Sequence[BilledSlot], quote: Quote) -> Posting:
    """What posting ``quote`` does to the pieces ``billed`` (see the module docstring)."""
    on = quote.on
    by_key = {b.key: b for b in billed}
    truncate: list[tuple[Key, dt.date]] = []
    service_end: dict[Key, dt.date] = {k: b.service_end for k, b in by_key.items()}
    starts: dict[Key, dt.date] = {k: b.period.start for k, b in by_key.items()}
    for key in quote.truncated:
        b = by_key[key]
        if b.credited_from is None or b.credited_from > on:
            start = max(on, b.period.start)
            truncate.append((key, start))
            service_end[key] = start
    markers: list[Marker] = []
    for code, start in quote.carried:
        source = by_key[(code, start)]
        if start < on and (code, on) not in by_key:
            markers.append(Marker(code, on, source.credited_from or source.period.end, start))
            service_end[(code, on)] = source.credited_from or source.period.end
            starts[(code, on)] = on
    entries: list[Credit | ChargeEntry] = []
    for item in quote.items:
        if isinstance(item, Credit):
            entries.append(item)
            continue
        key = item.key
        if key in service_end:
            if service_end[key] > starts[key]:
                continue  # already billed: never twice
            entries.append(ChargeEntry(item, replaces=True))
        else:
            entries.append(ChargeEntry(item))
        service_end[key], starts[key] = item.period.end, item.period.start
    return Posting(on, quote.currency, tuple(truncate), tuple(markers), tuple(entries))


def billed_after(billed: Sequence[BilledSlot], posting: Posting) -> list[BilledSlot]:
    """The billed pieces once ``posting`` is written, ordered by start and component."""
    pieces = {b.key: b for b in billed}
    for key, start in posting.truncate:
        pieces[key] = replace(pieces[key], credited_from=start)
    for m in posting.markers:
        pieces[m.key] = BilledSlot(m.component, Period(m.on, m.end), Money.zero(posting.currency))
    for entry in posting.entries:
        if isinstance(entry, Credit):
            b = pieces[entry.key]
            pieces[entry.key] = replace(b, credited=b.credited_amount + entry.amount)
            continue
        c = entry.charge
        pieces[c.key] = BilledSlot(c.component, c.period, c.amount)
    return sorted(pieces.values(), key=lambda b: (b.period.start, b.component))
