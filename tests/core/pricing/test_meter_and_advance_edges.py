"""Meter segments name the readings they lie between; a meter's dial of any positive size; steps
refused by the allocation are refused as increments; a volume tier's flat fee counts in its cliffs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kopeck.core.money import Money
from kopeck.core.pricing import (
    MeterReading,
    PricingError,
    ReadingKind,
    Volume,
    meter_consumption,
    split_in_advance,
)
from kopeck.core.pricing.tiers import PriceTier

T = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def at(day: int) -> dt.datetime:
    return T + dt.timedelta(days=day)


def test_each_segment_names_the_readings_it_lies_between() -> None:
    readings = [MeterReading("open", at(0), Decimal(90)),
                MeterReading("wrap", at(1), Decimal(5), ReadingKind.ROLLOVER),
                MeterReading("swap", at(2), Decimal(1), ReadingKind.REPLACEMENT, Decimal(8)),
                MeterReading("close", at(3), Decimal(4))]
    result = meter_consumption(readings, Decimal(100))
    # (100 − 90) + 5 = 15; old meter 8 − 5 = 3; 4 − 1 = 3: 21
    assert [(s.previous_id, s.reading_id, s.kind, s.consumption) for s in result.segments] == [
        ("open", "wrap", ReadingKind.ROLLOVER, Decimal(15)), ("wrap", "swap", ReadingKind.REPLACEMENT, Decimal(3)),
        ("swap", "close", ReadingKind.NORMAL, Decimal(3))]
    assert (result.consumption, result.opening.id, result.closing.id) == (Decimal(21), "open", "close")


def test_a_dial_of_any_positive_size() -> None:
    assert meter_consumption([MeterReading("a", at(0), Decimal(0))], Decimal(1)).consumption == 0
    readings = [MeterReading("a", at(0), Decimal("0.25")), MeterReading("b", at(1), Decimal("0.1"), "rollover")]  # type: ignore[arg-type]
    assert meter_consumption(readings, Decimal("0.5")).consumption == Decimal("0.35")  # 0.5 − 0.25 + 0.1


@pytest.mark.parametrize(("steps", "text"), [
    (["1", "-1"], "increments: ratios must not be negative"),
    (["0", "0"], "increments: ratios must not all be zero"),
])
def test_steps_the_allocation_refuses_are_refused_as_increments(steps: list[str], text: str) -> None:
    with pytest.raises(PricingError) as info:
        split_in_advance(Money("10.00", "RUB"), steps)
    assert (str(info.value), info.value.field) == (text, "increments")


def test_a_flat_fee_makes_a_cliff() -> None:
    # 10 units in [0, 10): 10 × 1.00 + 5.00 = 15.00; the same 10 priced by [10, ∞): 10 × 1.40 = 14.00 — cheaper
    volume = Volume((PriceTier(Decimal(0), Decimal(10), Decimal("1.00"), Decimal("5.00")),
                     PriceTier(Decimal(10), None, Decimal("1.40"))))
    assert volume.cliffs() == (Decimal(10),)
    no_cliff = Volume((PriceTier(Decimal(0), Decimal(10), Decimal("1.00"), Decimal("3.00")),
                       PriceTier(Decimal(10), None, Decimal("1.40"))))  # 13.00 < 14.00
    assert no_cliff.cliffs() == ()
