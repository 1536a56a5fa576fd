"""The result of rating a component: a :class:`Charge` made of :class:`ChargeLine` s.

Every line's amount is rounded once, to the currency's minor unit, half-up; the charge amount is
the sum of its lines. Every line explains itself in Russian and English, with the formula.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Any

from kopeck.core.explain import Explanation
from kopeck.core.money import Currency, Money
from kopeck.core.pricing._values import ZERO


class LineKind(StrEnum):
    INCLUDED = "included"  # free units, amount 0
    UNITS = "units"  # standard: quantity × unit price
    TIER = "tier"  # one tier of a graduated / tiered-package / graduated-percentage model
    VOLUME = "volume"  # the volume tier pricing all units
    PACKAGE = "package"
    STAIRSTEP = "stairstep"
    FREE = "free"  # percentage: free transactions / free amount, amount 0
    PERCENTAGE = "percentage"  # rate × rated transaction amounts
    TRANSACTION_FEE = "transaction_fee"  # fixed fee × charged transactions
    LIMITS = "limits"  # percentage: min/max per transaction adjustment
    MINIMUM = "minimum"  # top-up to the component minimum


@dataclass(frozen=True, slots=True)
class ChargeLine:
    """``amount = round(units × unit_price + flat_fee)`` for priced lines (for ``limits`` and
    ``minimum`` lines the amount is the adjustment itself). ``tier`` is the 0-based index into the
    spec's ``tiers`` (the explanation says "tier 1" for index 0)."""

    kind: LineKind
    label: str
    units: Decimal
    unit_price: Decimal
    amount: Money
    explanation: Explanation
    tier: int | None = None
    flat_fee: Decimal = ZERO

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value, "label": self.label, "tier": self.tier,
            "units": str(self.units), "unit_price": str(self.unit_price), "flat_fee": str(self.flat_fee),
            "amount": self.amount.to_str(), "explanation": self.explanation.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class Charge:
    """A component's charge for one period. ``quantity`` is the measured usage (for percentage
    models: the transaction volume), ``billable_quantity`` what remains after included units."""

    component: str
    model: str
    quantity: Decimal
    billable_quantity: Decimal
    amount: Money
    lines: tuple[ChargeLine, ...]
    explanation: Explanation
    usage_explanation: Explanation | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "component": self.component, "model": self.model, "quantity": str(self.quantity),
            "billable_quantity": str(self.billable_quantity), "currency": self.amount.currency.code,
            "amount": self.amount.to_str(), "lines": [line.as_dict() for line in self.lines],
            "explanation": self.explanation.as_dict(),
            "usage_explanation": None if self.usage_explanation is None else self.usage_explanation.as_dict(),
        }


_QUANTA: dict[int, Decimal] = {}


def line_money(exact: Decimal, currency: Currency) -> Money:
    """The one rounding of a line: to the minor unit, half-up (same rule as ``Money.round_line``)."""
    quantum = _QUANTA.get(currency.minor_units)
    if quantum is None:
        quantum = _QUANTA[currency.minor_units] = currency.quantum
    return Money(exact.quantize(quantum, rounding=ROUND_HALF_UP), currency)


def show(m: Money) -> str:
    """A rounded amount with its currency, e.g. ``110.00 RUB``."""
    return f"{m.amount} {m.currency.code}"
