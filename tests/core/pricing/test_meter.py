import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kopeck.core.money import Money
from kopeck.core.pricing import (
    ComponentSpec,
    MeterReading,
    ReadingKind,
    Usage,
    UsageError,
    evaluate,
    meter_consumption,
)

T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def reading(i: int, value: int | str, kind: ReadingKind = ReadingKind.NORMAL,
            old_final: int | None = None) -> MeterReading:
    return MeterReading(f"r{i}", T0 + dt.timedelta(days=i), Decimal(value), kind,
                        None if old_final is None else Decimal(old_final))


def test_normal_readings() -> None:
    r = meter_consumption([reading(0, 1000), reading(1, 1200), reading(2, 1500)])
    # (1200 − 1000) + (1500 − 1200) = 500
    assert r.consumption == 500
    assert [s.consumption for s in r.segments] == [200, 300]
    assert r.opening.id == "r0" and r.closing.id == "r2"
    assert r.explanation.en == "Meter consumption: 500 units from 3 readings (r0 → r2)"


def test_readings_are_ordered_by_time_not_by_input() -> None:
    assert meter_consumption([reading(2, 1500), reading(0, 1000), reading(1, 1200)]).consumption == 500


def test_rollover_wraps_from_max_value_to_zero() -> None:
    r = meter_consumption([reading(0, 99990), reading(1, 10, ReadingKind.ROLLOVER)], Decimal(100000))
    # five-digit dial: 99990 → 99999 → 00000 → 00010 = (100000 − 99990) + 10 = 20
    assert r.consumption == 20
    assert r.segments[0].formula == "rollover: (100000 − 99990) + 10 = 20"


def test_replacement_closes_the_old_meter_and_starts_the_new_one() -> None:
    r = meter_consumption([
        reading(0, 500), reading(1, 7, ReadingKind.REPLACEMENT, old_final=800), reading(2, 157),
    ])
    # old meter 500 → 800 = 300; new meter 7 → 157 = 150; total 450
    assert r.consumption == 450
    assert [s.consumption for s in r.segments] == [300, 150]


def test_reading_below_the_previous_one_is_an_error_naming_it() -> None:
    with pytest.raises(UsageError) as info:
        meter_consumption([reading(0, 500), reading(1, 400)])
    assert info.value.field == "readings[1]"
    assert "reading r1 (400" in info.value.message and "r0 (500)" in info.value.message
    assert "not marked rollover or replacement" in info.value.message


def test_other_reading_errors() -> None:
    with pytest.raises(UsageError, match="no max_value"):
        meter_consumption([reading(0, 5), reading(1, 1, ReadingKind.ROLLOVER)])
    with pytest.raises(UsageError) as info:
        meter_consumption([reading(0, 5), reading(1, 100000)], Decimal(100000))
    assert info.value.field == "readings[1].value"  # the dial never shows max_value
    with pytest.raises(UsageError) as info:
        meter_consumption([reading(0, 500), reading(1, 0, ReadingKind.REPLACEMENT, old_final=400)])
    assert info.value.field == "readings[1].old_final"
    with pytest.raises(UsageError):
        meter_consumption([])
    with pytest.raises(UsageError):
        meter_consumption([reading(0, 5), MeterReading("r0", T0, Decimal(6))])  # same id, other data
    assert meter_consumption([reading(0, 5), reading(0, 5), reading(1, 6)]).consumption == 1
    with pytest.raises(UsageError):
        MeterReading("x", T0, Decimal(1), ReadingKind.REPLACEMENT)  # no old_final
    with pytest.raises(UsageError):
        MeterReading("x", T0, 1.5)  # type: ignore[arg-type]


def test_evaluate_from_readings() -> None:
    spec = ComponentSpec.from_dict({
        "code": "kwh", "model": "graduated",
        "aggregation": {"type": "meter_reading", "max_value": "100000"},
        "tiers": [{"from": "0", "up_to": "100", "unit_price": "5.00"},
                  {"from": "100", "up_to": None, "unit_price": "6.50"}],
    })
    usage = Usage.of_readings([reading(0, 99950), reading(1, 80, ReadingKind.ROLLOVER)])
    charge = evaluate(spec, usage, "RUB")
    # (100000 − 99950) + 80 = 130 kWh: 100 × 5.00 = 500.00; 30 × 6.50 = 195.00
    assert charge.quantity == 130 and charge.amount == Money("695.00", "RUB")
    assert charge.usage_explanation is not None and "130" in charge.usage_explanation.en


@given(
    st.integers(2, 10**6),
    st.data(),
)
def test_rollover_and_replacement_give_the_right_consumption(max_value: int, data: st.DataObject) -> None:
    value = data.draw(st.integers(0, max_value - 1))
    readings = [MeterReading("r0", T0, Decimal(value))]
    expected = 0
    for i in range(1, data.draw(st.integers(1, 12)) + 1):
        at = T0 + dt.timedelta(hours=i)
        if data.draw(st.booleans()) and value < max_value - 1:
            # replace the meter: the old one advanced to old_final, the new one starts anywhere
            old_final = data.draw(st.integers(value, max_value - 1))
            expected += old_final - value
            value = data.draw(st.integers(0, max_value - 1))
            readings.append(MeterReading(f"r{i}", at, Decimal(value), ReadingKind.REPLACEMENT, Decimal(old_final)))
            continue
        used = data.draw(st.integers(0, max_value - 1))
        expected += used
        wrapped = value + used >= max_value
        value = (value + used) % max_value
        kind = ReadingKind.ROLLOVER if wrapped else ReadingKind.NORMAL
        readings.append(MeterReading(f"r{i}", at, Decimal(value), kind))
    assert meter_consumption(readings, Decimal(max_value)).consumption == expected


def test_an_opening_reading_counts_by_its_value_however_it_was_reached() -> None:
    # the rollover (or the replacement) happened in the previous period: this one starts from the
    # counter as it then stood
    t = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    for kind, old_final in ((ReadingKind.ROLLOVER, None), (ReadingKind.REPLACEMENT, Decimal(99995))):
        opening = MeterReading("p1", t, Decimal(20), kind, old_final)
        result = meter_consumption([opening, MeterReading("p2", t + dt.timedelta(days=9), Decimal(50))],
                                   max_value=Decimal(100000))
        assert result.consumption == Decimal(30)
        assert result.explanation.formula == "consumption = Σ segments = 30 (50 − 20 = 30)"
