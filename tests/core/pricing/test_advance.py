from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kopeck.core.money import Money
from kopeck.core.pricing import PricingError, split_in_advance


def rub(x: str) -> Money:
    return Money(x, "RUB")


def test_equal_increments() -> None:
    # 100.00 / 3 = 33.333…: the leftover kopeck goes to the first increment
    assert split_in_advance(rub("100.00"), 3) == [rub("33.34"), rub("33.33"), rub("33.33")]


def test_proportional_steps() -> None:
    # 100.00 × 1/3 = 33.333…, × 2/3 = 66.666… → 33.33 + 66.67 (largest remainder gets the kopeck)
    assert split_in_advance(rub("100.00"), [Decimal(1), "2"]) == [rub("33.33"), rub("66.67")]


def test_bad_increments() -> None:
    for bad in (0, [], [Decimal(0)], [Decimal(-1), Decimal(2)], True):
        with pytest.raises(PricingError):
            split_in_advance(rub("1.00"), bad)


@given(st.decimals(min_value=0, max_value=10**7, places=2), st.integers(1, 500))
def test_increments_sum_to_the_period_amount(amount: Decimal, n: int) -> None:
    parts = split_in_advance(rub(str(amount)), n)
    assert len(parts) == n
    assert sum((p.amount for p in parts), Decimal(0)) == amount
    assert max(parts).amount - min(parts).amount <= Decimal("0.01")


@given(st.decimals(min_value=0, max_value=10**7, places=2),
       st.lists(st.decimals(min_value=0, max_value=1000, places=3), min_size=1, max_size=30))
def test_step_increments_sum_to_the_period_amount(amount: Decimal, steps: list[Decimal]) -> None:
    if sum(steps) == 0:
        steps = [*steps, Decimal(1)]
    parts = split_in_advance(rub(str(amount)), steps)
    assert sum((p.amount for p in parts), Decimal(0)) == amount
