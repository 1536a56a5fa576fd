"""In-advance charges split into increments.

When a period's amount is billed in advance piece by piece — per event, per quantity step, per
seat added — the pieces must add up exactly to the period's amount. :func:`split_in_advance`
allocates the (rounded) period amount over the increments with the largest-remainder method of
:func:`kopeck.core.money.allocate`: equal shares for ``N`` increments, or shares proportional to
the sizes of the steps.
"""

from __future__ import annotations

from collections.abc import Sequence

from kopeck.core.money import Money, MoneyError, allocate
from kopeck.core.pricing.errors import PricingError


def split_in_advance(period_amount: Money, increments: int | Sequence[object]) -> list[Money]:
    """Per-increment amounts summing exactly to ``period_amount`` rounded to minor units.

    ``increments`` is a count ``N`` (equal shares; earlier increments get the leftover minor units)
    or the step sizes (Decimals, ints or numeric strings; proportional shares)."""
    if isinstance(increments, bool):
        raise PricingError("increments_type", "increments")
    if isinstance(increments, int):
        if increments < 1:
            raise PricingError("increments_count", "increments", count=increments)
        weights: Sequence[object] = [1] * increments
    else:
        weights = increments
        if not weights:
            raise PricingError("increments_none", "increments")
    try:
        return allocate(period_amount.round_line(), weights)
    except MoneyError as exc:
        raise PricingError("increments_weights", "increments", reason=str(exc)) from exc
