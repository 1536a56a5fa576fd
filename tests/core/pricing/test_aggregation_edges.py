"""Aggregation and model edges: a repeated event in the middle is skipped and the events after it
still count; an aggregation without a property explains itself without one; an empty sum is a
Decimal zero; aggregate() refuses naive period bounds by name; a percentage model accepts a 100 %
rate and equal limits, and names a refused value's field when built directly."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kopeck.core.pricing import AggregationSpec, Percentage, SpecError, UsageError, UsageEvent, aggregate

START = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def at(hours: int) -> dt.datetime:
    return START + dt.timedelta(hours=hours)


def test_a_repeat_in_the_middle_is_skipped_and_the_rest_counted() -> None:
    events = [UsageEvent("a", at(1), {"gb": "1"}), UsageEvent("a", at(2), {"gb": "50"}),
              UsageEvent("b", at(3), {"gb": "2"}), UsageEvent("c", at(4), {"gb": "4"})]
    result = aggregate(AggregationSpec("sum", "gb"), events)
    assert (result.quantity, result.events_counted, result.duplicates) == (Decimal(7), 3, ("a",))


def test_counting_events_explains_itself_without_a_property() -> None:
    result = aggregate(AggregationSpec("count"), [UsageEvent("a", at(1)), UsageEvent("b", at(2))])
    assert (result.quantity, result.exact, result.final_level, result.final_values) == (Decimal(2), None, None, None)
    assert result.explanation.as_dict() == {"ru": "Агрегация «количество событий»: 2 по 2 событиям",
                                            "en": "Aggregation count: 2 over 2 events",
                                            "formula": "count(events) = 2"}


def test_an_empty_sum_is_a_decimal_zero() -> None:
    result = aggregate(AggregationSpec("sum", "gb"), [])
    assert isinstance(result.quantity, Decimal) and result.quantity == 0
    assert result.explanation.as_dict() == {"ru": "Агрегация «сумма» свойства «gb»: 0 по 0 событиям",
                                            "en": "Aggregation sum of 'gb': 0 over 0 events",
                                            "formula": "sum(gb) = 0"}


@pytest.mark.parametrize(("bounds", "text"), [
    ({"start": dt.datetime(2027, 1, 1)}, "start: must be a timezone-aware datetime"),
    ({"end": dt.datetime(2027, 1, 2)}, "end: must be a timezone-aware datetime"),
])
def test_aggregate_refuses_naive_bounds_by_name(bounds: dict[str, dt.datetime], text: str) -> None:
    with pytest.raises(UsageError) as info:
        aggregate(AggregationSpec("count"), [], **bounds)  # type: ignore[arg-type]
    assert str(info.value) == text


def test_a_percentage_at_its_bounds() -> None:
    full = Percentage(Decimal(100), min_per_transaction=Decimal(5), max_per_transaction=Decimal(5))
    assert (full.rate, full.min_per_transaction, full.max_per_transaction) == (Decimal(100), Decimal(5), Decimal(5))


@pytest.mark.parametrize(("kwargs", "text"), [
    ({"fixed_fee": 0.5}, 'fixed_fee: must be a decimal string such as "0.50", not a JSON float or boolean'),
    ({"max_per_transaction": 0.5},
     'max_per_transaction: must be a decimal string such as "0.50", not a JSON float or boolean'),
])
def test_a_percentage_built_directly_names_the_refused_field(kwargs: dict[str, object], text: str) -> None:
    with pytest.raises(SpecError) as info:
        Percentage(Decimal(1), **kwargs)  # type: ignore[arg-type]
    assert str(info.value) == text
