"""Usage given as events, for every aggregation that carries state over periods and for the
percentage model: the period bounds and the carried state reach the aggregation, and a weighted sum
adds up every stretch of time its level was held."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from fractions import Fraction

import pytest

from kopeck.core.pricing import (
    AggregationSpec,
    ComponentSpec,
    Percentage,
    Usage,
    UsageError,
    UsageEvent,
    aggregate,
    evaluate,
)
from kopeck.core.pricing.aggregation import transactions_of

START = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)
END = START + dt.timedelta(hours=48)
NAIVE = dt.datetime(2027, 1, 1)  # refused: no time zone


def at(hours: int) -> dt.datetime:
    return START + dt.timedelta(hours=hours)


LEVELS = [UsageEvent("up", at(12), {"vms": "2"}), UsageEvent("down", at(36), {"vms": "-1"})]


def test_a_weighted_sum_adds_every_stretch_its_level_was_held() -> None:
    # level 1 for 12 h, 3 for 24 h, 2 for 12 h over 48 h: (12 + 72 + 24) / 48 = 2.25
    result = aggregate(AggregationSpec("weighted_sum", "vms"), LEVELS, start=START, end=END,
                       initial_level=Decimal(1))
    assert (result.quantity, result.exact, result.final_level, result.events_counted) == (
        Decimal("2.25"), Fraction(9, 4), Decimal(2), 2)
    assert result.explanation.formula == ("Σ(level × µs held) / period µs = 388800000000 / 172800000000 = 2.25")
    assert result.explanation.en == "Aggregation weighted_sum of 'vms': 2.25 over 2 events"
    assert result.explanation.ru == "Агрегация «взвешенная по времени сумма» свойства «vms»: 2.25 по 2 событиям"


def test_events_as_usage_carry_the_period_and_the_state_over() -> None:
    spec = ComponentSpec.from_dict({"code": "vm", "model": "standard", "unit_price": "100.00",
                                    "aggregation": {"type": "weighted_sum", "property": "vms"}})
    charge = evaluate(spec, Usage.of_events(LEVELS, START, END, initial_level=Decimal(1)), "RUB")
    assert (charge.quantity, charge.amount.to_str()) == (Decimal("2.25"), "225.00")  # 2.25 × 100.00
    users = ComponentSpec.from_dict({"code": "users", "model": "standard", "unit_price": "10.00",
                                     "aggregation": {"type": "unique_count", "property": "user"}})
    events = [UsageEvent("a", at(1), {"user": "ann"}), UsageEvent("b", at(2), {"user": "bob", "operation": "remove"})]
    # bob and carl were active when the period started: ann, bob, carl were active in it (3 × 10.00)
    charge = evaluate(users, Usage.of_events(events, START, END, initial_values=["bob", "carl"]), "RUB")
    assert (charge.quantity, charge.amount.to_str()) == (Decimal(3), "30.00")
    late = [UsageEvent("late", END, {"vms": "1"})]
    with pytest.raises(UsageError) as info:
        evaluate(spec, Usage.of_events(late, START, END), "RUB")
    assert str(info.value) == ("events[late].timestamp: event late at 2027-01-03T00:00:00+00:00 is outside the "
                               "period [2027-01-01T00:00:00+00:00, 2027-01-03T00:00:00+00:00)")


def test_percentage_events_must_fall_in_the_period() -> None:
    spec = ComponentSpec.from_dict({"code": "acq", "model": "percentage", "rate": "2",
                                    "aggregation": {"type": "sum", "property": "amount"}})
    inside = [UsageEvent("p1", at(1), {"amount": "1000"}), UsageEvent("p2", at(47), {"amount": "500"})]
    charge = evaluate(spec, Usage.of_events(inside, START, END), "RUB")
    assert (charge.quantity, charge.amount.to_str()) == (Decimal(1500), "30.00")  # 2 % of 1500
    for event, text in [
        (UsageEvent("early", START - dt.timedelta(seconds=1), {"amount": "1"}),
         "events[early].timestamp: event early at 2026-12-31T23:59:59+00:00 is outside the period "
         "[2027-01-01T00:00:00+00:00, 2027-01-03T00:00:00+00:00)"),
        (UsageEvent("late", END, {"amount": "1"}),
         "events[late].timestamp: event late at 2027-01-03T00:00:00+00:00 is outside the period "
         "[2027-01-01T00:00:00+00:00, 2027-01-03T00:00:00+00:00)"),
    ]:
        with pytest.raises(UsageError) as info:
            evaluate(spec, Usage.of_events([*inside, event], START, END), "RUB")
        assert str(info.value) == text


def test_transactions_need_aware_period_bounds() -> None:
    sums = AggregationSpec("sum", "amount")
    assert transactions_of(sums, [UsageEvent("p", at(1), {"amount": "7"})], start=START, end=END) == [Decimal(7)]
    for kwargs, text in [({"start": NAIVE}, "start: must be a timezone-aware datetime"),
                         ({"end": NAIVE}, "end: must be a timezone-aware datetime")]:
        with pytest.raises(UsageError) as info:
            transactions_of(sums, [], **kwargs)  # type: ignore[arg-type]
        assert str(info.value) == text


def test_a_percentage_without_limits_in_its_json_form() -> None:
    assert Percentage(Decimal("2.9")).to_dict() == {
        "rate": "2.9", "fixed_fee": "0", "free_amount": "0", "free_transactions": 0,
        "min_per_transaction": None, "max_per_transaction": None}
