import datetime as dt
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from kopeck.core.money import Money
from kopeck.core.pricing import (
    AggregationSpec,
    AggregationType,
    ComponentSpec,
    SpecError,
    Usage,
    UsageError,
    UsageEvent,
    aggregate,
    evaluate,
)

UTC = dt.UTC
T0 = dt.datetime(2024, 1, 1, tzinfo=UTC)
T_END = dt.datetime(2024, 1, 31, tzinfo=UTC)  # a 30-day period


def ev(id: str, day: float, **props: Any) -> UsageEvent:
    return UsageEvent(id, T0 + dt.timedelta(days=day), props)


def agg(type: str, prop: str | None = None) -> AggregationSpec:
    return AggregationSpec(AggregationType(type), prop)


EVENTS = [ev("e1", 0, gb="3"), ev("e3", 2, gb="1.5"), ev("e2", 1, gb=7), ev("e1", 5, gb="100")]


def test_count_sum_max_latest_ignore_duplicate_ids() -> None:
    # e1 is repeated: the repeat (gb 100) is ignored
    r = aggregate(agg("count"), EVENTS)
    assert r.quantity == 3 and r.duplicates == ("e1",) and r.events_counted == 3
    assert aggregate(agg("sum", "gb"), EVENTS).quantity == Decimal("11.5")  # 3 + 7 + 1.5
    assert aggregate(agg("max", "gb"), EVENTS).quantity == Decimal(7)
    assert aggregate(agg("latest", "gb"), EVENTS).quantity == Decimal("1.5")  # e3 is the last by time
    assert "1 duplicate ignored" in r.explanation.en
    assert "повторов отброшено: 1" in r.explanation.ru


def test_empty_periods() -> None:
    for kind in ("count", "sum", "max", "latest", "unique_count"):
        assert aggregate(agg(kind, None if kind == "count" else "x"), []).quantity == 0


def test_unique_count_with_add_and_remove() -> None:
    events = [
        ev("1", 0, user="u1"), ev("2", 1, user="u2"), ev("3", 2, user="u1", operation="remove"),
        ev("4", 3, user="u3", operation="add"), ev("5", 4, user="u2"),
    ]
    r = aggregate(agg("unique_count", "user"), events)
    # u1, u2 and u3 were all active at some time in the period (u1 until day 2)
    assert r.quantity == 3
    assert r.final_values == frozenset({"u2", "u3"})
    carried = aggregate(agg("unique_count", "user"), events, initial_values=["u0"])
    assert carried.quantity == 4 and carried.final_values == frozenset({"u0", "u2", "u3"})
    with pytest.raises(UsageError) as info:
        aggregate(agg("unique_count", "user"), [ev("9", 0, user="u1", operation="delete")])
    assert info.value.field == "events[9].properties.operation"


def test_weighted_sum() -> None:
    events = [ev("a", 0, seats=10), ev("b", 15, seats=-5)]
    r = aggregate(agg("weighted_sum", "seats"), events, start=T0, end=T_END)
    # 10 seats for 15 days + 5 seats for 15 days = 225 seat-days / 30 days = 7.5
    assert r.quantity == Decimal("7.5") and r.exact == Fraction(15, 2) and r.final_level == 5
    carried = aggregate(agg("weighted_sum", "seats"), [ev("c", 10, seats=3)], start=T0, end=T_END,
                        initial_level=Decimal(2))
    # 2 × 10 days + 5 × 20 days = 120 / 30 = 4
    assert carried.quantity == 4 and carried.final_level == 5


def test_weighted_sum_is_exact_and_needs_the_period() -> None:
    r = aggregate(agg("weighted_sum", "n"), [ev("a", 20, n=1)], start=T0, end=T_END)
    # level 1 for the last 10 of 30 days = 1/3
    assert r.exact == Fraction(1, 3)
    assert r.quantity == Decimal("0.3333333333333333333333333333")  # 28 significant digits
    with pytest.raises(UsageError):
        aggregate(agg("weighted_sum", "n"), [ev("a", 1, n=1)], start=T0)


def test_weighted_sum_across_a_dst_change() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    start = dt.datetime(2024, 3, 1, tzinfo=berlin)
    end = dt.datetime(2024, 4, 1, tzinfo=berlin)  # 31 days − 1 hour (clocks go forward on Mar 31)
    event = UsageEvent("a", dt.datetime(2024, 3, 31, tzinfo=berlin), {"n": 1})
    r = aggregate(agg("weighted_sum", "n"), [event], start=start, end=end)
    # Mar 31 in Berlin has 23 hours: 23 / (31 × 24 − 1) = 23 / 743
    assert r.exact == Fraction(23, 743)


def test_events_outside_the_period_are_errors_not_silently_dropped() -> None:
    late = ev("late", 31, gb=1)
    with pytest.raises(UsageError) as info:
        aggregate(agg("sum", "gb"), [late], start=T0, end=T_END)
    assert info.value.field == "events[late].timestamp"
    assert "outside the period" in info.value.message


def test_bad_event_values() -> None:
    with pytest.raises(UsageError) as info:
        aggregate(agg("sum", "gb"), [ev("x", 0, gb=1.5)])
    assert info.value.field == "events[x].properties.gb" and "float" in info.value.message
    with pytest.raises(UsageError) as info:
        aggregate(agg("sum", "gb"), [ev("x", 0, mb=1)])
    assert info.value.field == "events[x].properties.gb"
    with pytest.raises(UsageError):
        UsageEvent("x", dt.datetime(2024, 1, 1), {})  # naive
    with pytest.raises(UsageError):
        UsageEvent("", T0, {})


def test_spec_validation() -> None:
    with pytest.raises(SpecError) as info:
        AggregationSpec(AggregationType.SUM)
    assert info.value.field == "aggregation.property"
    assert AggregationSpec.from_dict({"type": "count"}).to_dict() == {"type": "count", "property": None,
                                                                      "max_value": None}


def test_evaluate_from_events() -> None:
    spec = ComponentSpec.from_dict({"code": "gb", "model": "standard", "unit_price": "2.00",
                                    "aggregation": {"type": "sum", "property": "gb"}})
    charge = evaluate(spec, Usage.of_events(EVENTS, T0, T_END), "RUB")
    # 11.5 GB × 2.00 = 23.00
    assert charge.amount == Money("23.00", "RUB")
    assert charge.usage_explanation is not None and "sum of 'gb'" in charge.usage_explanation.en
    pct = ComponentSpec.from_dict({"code": "p", "model": "percentage", "rate": "10",
                                   "aggregation": {"type": "sum", "property": "amount"}})
    events = [ev("t1", 0, amount="10.00"), ev("t2", 1, amount="5.00"), ev("t1", 2, amount="10.00")]
    # the duplicate t1 is billed once: 10 % × 15.00 = 1.50
    assert evaluate(pct, Usage.of_events(events), "RUB").amount == Money("1.50", "RUB")
    no_agg = ComponentSpec.from_dict({"code": "x", "model": "standard", "unit_price": "1"})
    with pytest.raises(UsageError):
        evaluate(no_agg, Usage.of_events(EVENTS), "RUB")


def test_graduated_percentage_from_events() -> None:
    spec = ComponentSpec.from_dict({"code": "gp", "model": "graduated_percentage",
                                    "aggregation": {"type": "sum", "property": "amount"},
                                    "tiers": [{"from": "0", "up_to": "100", "rate": "10"},
                                              {"from": "100", "up_to": None, "rate": "5"}]})
    events = [ev("a", 0, amount="80"), ev("b", 1, amount="70")]
    # volume 150: 100 × 10 % = 10.00; 50 × 5 % = 2.50
    assert evaluate(spec, Usage.of_events(events), "RUB").amount == Money("12.50", "RUB")


def test_usage_comes_in_one_form_only() -> None:
    with pytest.raises(UsageError) as info:
        Usage(quantity=Decimal(1), events=(ev("a", 0),))
    assert info.value.field == "events"
