"""Meter readings: consumption of a cumulative counter, with rollover and meter replacement.

The readings are ordered by timestamp; the first one is the opening reading of the period (the
closing reading of the previous period): only its value counts — how it was reached (a rollover, a
replacement) is the previous period's consumption. Between two consecutive readings ``prev`` → ``r``:

* normal: ``r − prev``; a reading below the previous one is an error (:class:`UsageError` naming
  the reading) unless it is marked rollover or replacement;
* rollover: the counter wraps from ``max_value`` to 0 — ``max_value`` is the modulus of the dial,
  *exclusive*: readings lie in ``[0, max_value)`` and the dial shows 0 where it would show
  ``max_value`` (a five-digit counter 00000–99999 has ``max_value = 100000``). Consumption is
  ``max_value − prev + r``; e.g. 99 990 → 10 on that counter is 20 units;
* replacement: the old meter is closed by its final reading ``old_final`` (consumption
  ``old_final − prev``) and the new meter starts from its own initial reading ``r`` (the baseline
  of the next reading).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from kopeck.core.explain import Explanation
from kopeck.core.pricing._values import ZERO, fmt
from kopeck.core.pricing.errors import UsageError
from kopeck.core.pricing.usage import MeterReading, ReadingKind


@dataclass(frozen=True, slots=True)
class MeterSegment:
    """The consumption between two consecutive readings."""

    previous_id: str
    reading_id: str
    kind: ReadingKind
    consumption: Decimal
    formula: str


@dataclass(frozen=True, slots=True)
class MeterResult:
    consumption: Decimal
    segments: tuple[MeterSegment, ...]
    opening: MeterReading
    closing: MeterReading
    explanation: Explanation


def _dedupe(readings: Sequence[MeterReading]) -> list[tuple[int, MeterReading]]:
    seen: dict[str, MeterReading] = {}
    kept: list[tuple[int, MeterReading]] = []
    for i, r in enumerate(readings):
        first = seen.get(r.id)
        if first is None:
            seen[r.id] = r
            kept.append((i, r))
        elif first != r:
            raise UsageError("reading_repeated", f"readings[{i}]", id=r.id)
    return kept


def _check_range(i: int, r: MeterReading, max_value: Decimal | None) -> None:
    for name, value in (("value", r.value), ("old_final", r.old_final)):
        if value is None:
            continue
        if value < 0:
            raise UsageError("reading_negative", f"readings[{i}].{name}", id=r.id, name=name, value=fmt(value))
        if max_value is not None and value >= max_value:
            raise UsageError("reading_over_max", f"readings[{i}].{name}", id=r.id, name=name, value=fmt(value),
                             max=fmt(max_value))


def _segment(i: int, prev: MeterReading, base: Decimal, r: MeterReading,
             max_value: Decimal | None) -> MeterSegment:
    where = f"readings[{i}]"
    if r.kind is ReadingKind.NORMAL:
        if r.value < base:
            raise UsageError("reading_below", where, id=r.id, value=fmt(r.value), at=r.timestamp.isoformat(),
                             prev=prev.id, base=fmt(base))
        used = r.value - base
        formula = f"{fmt(r.value)} − {fmt(base)} = {fmt(used)}"
    elif r.kind is ReadingKind.ROLLOVER:
        if max_value is None:
            raise UsageError("rollover_no_max", where, id=r.id)
        used = max_value - base + r.value
        formula = f"rollover: ({fmt(max_value)} − {fmt(base)}) + {fmt(r.value)} = {fmt(used)}"
    else:
        old_final = r.old_final
        assert old_final is not None
        if old_final < base:
            raise UsageError("replacement_below", f"{where}.old_final", id=r.id, old=fmt(old_final), prev=prev.id,
                             base=fmt(base))
        used = old_final - base
        formula = (f"replacement: old meter {fmt(old_final)} − {fmt(base)} = {fmt(used)}; "
                   f"new meter starts at {fmt(r.value)}")
    return MeterSegment(prev.id, r.id, r.kind, used, formula)


def meter_consumption(readings: Sequence[MeterReading], max_value: Decimal | None = None) -> MeterResult:
    """The consumption between the first (opening) and the last reading."""
    if max_value is not None and max_value <= 0:
        raise UsageError("max_value_positive", "max_value")
    kept = _dedupe(readings)
    if not kept:
        raise UsageError("no_opening_reading", "readings")
    kept.sort(key=lambda pair: pair[1].timestamp)
    for i, r in kept:
        _check_range(i, r, max_value)
    _first, opening = kept[0]
    segments = []
    total = ZERO
    prev, base = opening, opening.value
    for i, r in kept[1:]:
        seg = _segment(i, prev, base, r, max_value)
        segments.append(seg)
        total += seg.consumption
        prev, base = r, r.value
    steps = "; ".join(s.formula for s in segments) or "no readings after the opening one"
    n = len(kept)
    explanation = Explanation(
        ru=f"Потребление по счётчику: {fmt(total)} ед. по {n} показаниям ({opening.id} → {prev.id})",
        en=f"Meter consumption: {fmt(total)} units from {n} readings ({opening.id} → {prev.id})",
        formula=f"consumption = Σ segments = {fmt(total)} ({steps})",
    )
    return MeterResult(total, tuple(segments), opening, prev, explanation)
