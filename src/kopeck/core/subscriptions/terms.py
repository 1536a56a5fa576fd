"""Subscription terms and the billing slots they produce.

* :class:`Terms` is one *phase* of a subscription: a plan spec, currency, quantity and overrides
  that apply from ``billing_from`` (default: the start date) until ``end`` (exclusive; ``None`` =
  open-ended). Every action that changes what is billed (a plan or quantity change, a billing-day
  change, a resume after a billing pause) closes the current phase on a date and opens a new one
  on the same date: the old phase's terms get ``end = date``, the new one's ``billing_from = date``.
* The billing cycle comes from the anchor: anniversary (periods start on ``cycle_origin``, by
  default the start date) or calendar (periods start on ``billing_day`` 1–31; 29–31 mean the last
  day of shorter months; the days before the first billing day form a *stub*).
* A *slot* is a billing period (or the stub) together with the full cycle period used to prorate
  it. A slot is cut into *pieces* by the phase bounds and the trial end; each piece of each
  component is billed at most once, keyed by ``(component, piece start)``.
* ``trial_end`` is the first paid day: the days ``[start, trial_end)`` are free.
* The first-period policy (prorate | full | free) applies to the stub of the subscription's own
  start; the bridge of a billing-day change is always prorated.
* VAT: ``vat_rate`` is the rate the phase's charges carry (the product's, else the regime's
  default — :class:`kopeck.core.vat.VatPolicy`); with ``prices_include_vat`` false every charge
  gets VAT on top as a line of its own, and what it amounts to (and is posted) is gross.

Dates are provider-local calendar dates; nothing here reads the clock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum
from typing import TypeGuard

from kopeck.core.periods import (
    BillingCycle,
    Period,
    PeriodError,
    anniversary_cycle,
    calendar_cycle,
    stub_period,
)
from kopeck.core.pricing.plan import PlanSpec
from kopeck.core.vat import VatRate

MAX_QUANTITY = 1_000_000
"""The most units a subscription may have: a seat count or a number of servers, not a metered
amount (usage has its own limits). It keeps every charge far from the ledger's integer range."""


def is_valid_quantity(quantity: object) -> TypeGuard[int]:
    return isinstance(quantity, int) and not isinstance(quantity, bool) and 1 <= quantity <= MAX_QUANTITY


class TermsError(ValueError):
    """Invalid subscription terms; ``field`` names the offending input."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class Anchor(StrEnum):
    ANNIVERSARY = "anniversary"
    CALENDAR = "calendar"


class FirstPeriod(StrEnum):
    PRORATE = "prorate"
    FULL = "full"
    FREE = "free"


@dataclass(frozen=True, slots=True)
class Terms:
    """One phase of a subscription (see the module docstring)."""

    plan: PlanSpec
    currency: str
    start: dt.date
    quantity: int = 1
    anchor: Anchor = Anchor.ANNIVERSARY
    billing_day: int | None = None
    first_period: FirstPeriod = FirstPeriod.PRORATE
    trial_end: dt.date | None = None
    end: dt.date | None = None
    discount_percent: Decimal | None = None
    fixed_price: Decimal | None = None
    billing_from: dt.date | None = None
    cycle_origin: dt.date | None = None
    vat_rate: VatRate | None = None
    prices_include_vat: bool = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "anchor", Anchor(self.anchor))
        object.__setattr__(self, "first_period", FirstPeriod(self.first_period))
        if not is_valid_quantity(self.quantity):
            raise TermsError(f"the quantity must be a whole number from 1 to {MAX_QUANTITY:,}", "quantity")
        if self.currency not in self.plan.currencies:
            raise TermsError(f"the plan has no price in {self.currency}; it is priced in "
                             f"{', '.join(self.plan.currencies)}", "currency")
        if self.anchor == Anchor.CALENDAR:
            if not self.plan.interval.is_month_based:
                raise TermsError("a calendar billing day needs a month-based billing period", "anchor_kind")
            day = self.billing_day
            if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 31:
                raise TermsError("the billing day must be 1..31", "billing_day")
        if self.discount_percent is not None and not Decimal(0) <= self.discount_percent <= Decimal(100):
            raise TermsError("the discount must be between 0 and 100 %", "discount_percent")
        if self.fixed_price is not None and self.fixed_price < 0:
            raise TermsError("the fixed price must not be negative", "fixed_price")
        if self.end is not None and self.end <= self.phase_start:
            raise TermsError("the end date must be after the start", "end_date")
        if not self.prices_include_vat and self.vat_rate is None:
            raise TermsError("prices without VAT need the VAT rate to add", "vat_rate")

    @property
    def phase_start(self) -> dt.date:
        return self.billing_from or self.start

    @property
    def origin(self) -> dt.date:
        return self.cycle_origin or self.start

    def with_(self, **changes: object) -> Terms:
        return replace(self, **changes)  # type: ignore[arg-type]


def billing_cycle(terms: Terms) -> BillingCycle:
    interval = terms.plan.interval
    if terms.anchor == Anchor.CALENDAR:
        assert terms.billing_day is not None
        return calendar_cycle(terms.origin, interval, terms.billing_day)
    return anniversary_cycle(terms.origin, interval)


@dataclass(frozen=True, slots=True)
class Slot:
    """A billing period of the subscription: ``service`` (the stub or a cycle period) and
    ``full`` (the cycle period whose length prorates it; equal to ``service`` except for a stub)."""

    service: Period
    full: Period
    is_stub: bool = False
    first_stub: bool = False
    """The stub of the subscription's own start (the first-period policy applies)."""


def slots(terms: Terms) -> Iterator[Slot]:
    """The slots from the cycle origin on (an endless iterator)."""
    cycle = billing_cycle(terms)
    origin = terms.origin
    first = cycle.first_period_on_or_after(origin)
    if terms.anchor == Anchor.CALENDAR:
        stub = stub_period(origin, cycle)
        if stub is not None:
            containing = cycle.period(cycle.index_of(first.start) - 1)
            yield Slot(stub, containing, True, origin == terms.start)
    yield from (Slot(p, p) for p in cycle.periods(cycle.index_of(first.start)))


def slot_containing(terms: Terms, day: dt.date) -> Slot:
    """The slot whose service period contains ``day`` (on or after the cycle origin)."""
    if day < terms.origin:
        raise PeriodError(f"{day} is before the billing cycle starts ({terms.origin})")
    for slot in slots(terms):
        if slot.service.contains(day):
            return slot
    raise AssertionError("unreachable")  # pragma: no cover - slots() is endless


def period_containing(terms: Terms, day: dt.date) -> Period:
    """The billing period of the subscription that contains ``day`` — the one place that answers
    it: a cycle period, or the stub of a calendar cycle (the bridge after a billing-day change
    included). Before the cycle's origin: the first period."""
    return slot_containing(terms, max(day, terms.origin)).service


def trial_end_for(plan: PlanSpec, start: dt.date, *, anchor: Anchor = Anchor.ANNIVERSARY,
                  billing_day: int | None = None) -> dt.date | None:
    """The first paid day for the plan's trial (``trial.days`` days, or ``trial.periods`` slots)."""
    if plan.trial_days is not None:
        return start + dt.timedelta(days=plan.trial_days)
    if plan.trial_periods is not None:
        probe = Terms(plan, plan.currencies[0], start, anchor=anchor, billing_day=billing_day)
        it = slots(probe)
        slot = next(it)
        for _ in range(plan.trial_periods - 1):
            slot = next(it)
        return slot.service.end
    return None
