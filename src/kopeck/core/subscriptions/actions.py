"""Actions on a subscription as pure quotes: exactly the charges and credits to post.

Every action that changes what is billed is a *phase change* on a date ``on``
(:func:`quote_phase_change`):

1. **settle** the old phase up to ``on``: its charges due by then that were not billed yet — in
   particular in-arrears components and metered usage of ``[period start, on)``;
2. **credit** the unused prepaid days: every billed piece that still covers days on or after
   ``on`` is credited ``round(billed amount × unused days ÷ days of the piece)``, half-up —
   except components whose price does not change (*carried over*: a quantity change does not
   touch the fixed fee), and except the one-time setup fee;
3. **charge** the new phase: its charges due on ``on`` (the in-advance components of
   ``[on, period end)``, prorated by days of the actual period).

Closing without a new phase (an immediate cancellation, a suspension that pauses billing) is
steps 1–2 (:func:`quote_close`); opening a phase (a resume) is step 3 (:func:`quote_open`).

Billed pieces are passed as :class:`BilledSlot` s. A piece credited from a date keeps its key
but covers days only up to that date; a piece credited from its first day no longer counts as
billed, so a second change on the same day re-bills that key (the caller replaces the row).

Upgrade vs downgrade (:func:`classify_change`) compares the plans' fixed fees (fixed + per-unit ×
quantity) normalised to a year.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from fractions import Fraction
from typing import Any

from kopeck.core.explain import Explanation
from kopeck.core.money import Money
from kopeck.core.periods import Period
from kopeck.core.pricing.plan import ComponentKind, Timing
from kopeck.core.proration import round_half_up
from kopeck.core.subscriptions.billing import (
    FIXED_PRICE,
    SETUP_FEE,
    DueCharge,
    HeldUsage,
    UsageSource,
    annual_fee,
    due_charges,
    show,
)
from kopeck.core.subscriptions.terms import Anchor, Terms, billing_cycle, period_containing, slot_containing


class ChangeKind(StrEnum):
    UPGRADE = "upgrade"
    DOWNGRADE = "downgrade"
    CROSSGRADE = "crossgrade"


@dataclass(frozen=True, slots=True)
class BilledSlot:
    """A piece already billed: its key ``(component, period.start)``, the amount charged and, once
    credited, the date from which its days were credited back (``credited_from``) and how much was
    credited back (``credited``; none: nothing)."""

    component: str
    period: Period
    amount: Money
    credited_from: dt.date | None = None
    credited: Money | None = None

    @property
    def credited_amount(self) -> Money:
        return self.credited if self.credited is not None else Money.zero(self.amount.currency)

    @property
    def paid(self) -> Money:
        """What the client pays for the piece now: charged minus credited back."""
        return self.amount - self.credited_amount

    @property
    def key(self) -> tuple[str, dt.date]:
        return (self.component, self.period.start)

    @property
    def service_end(self) -> dt.date:
        return self.period.end if self.credited_from is None else self.credited_from

    @property
    def counts(self) -> bool:
        """Still billed (not credited back from its first day)."""
        return self.service_end > self.period.start


def billed_keys(billed: Iterable[BilledSlot]) -> set[tuple[str, dt.date]]:
    return {b.key for b in billed if b.counts}


@dataclass(frozen=True, slots=True)
class Credit:
    """A credit of the unused days ``unused`` of the billed piece ``(component, slot_start)``."""

    component: str
    slot_start: dt.date
    slot: Period
    unused: Period
    amount: Money
    explanation: Explanation
    kind: str = "credit"

    @property
    def key(self) -> tuple[str, dt.date]:
        return (self.component, self.slot_start)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form of the credit as a billed line (:class:`~kopeck.core.subscriptions.lines.BilledLine`)."""
        from kopeck.core.subscriptions.lines import BilledLine

        return BilledLine.of(self).as_dict()


@dataclass(frozen=True, slots=True)
class Quote:
    """What an action posts on ``on``, in posting order: settled charges, credits, new charges.
    ``truncated`` are the billed pieces whose service ends on ``on`` (credited or not: a zero
    amount is not posted); ``carried`` the components carried over unchanged (with the start of
    the billed piece that keeps covering them)."""

    on: dt.date
    currency: str
    items: tuple[DueCharge | Credit, ...] = ()
    truncated: tuple[tuple[str, dt.date], ...] = ()
    carried: tuple[tuple[str, dt.date], ...] = field(default=())
    held: tuple[HeldUsage, ...] = field(default=())  # metered lines that cannot be rated (quote_bill_due)

    @property
    def charges(self) -> list[DueCharge]:
        return [i for i in self.items if isinstance(i, DueCharge)]

    @property
    def credits(self) -> list[Credit]:
        return [i for i in self.items if isinstance(i, Credit)]

    @property
    def total(self) -> Money:
        """Charges minus credits."""
        total = Money.zero(self.currency)
        for item in self.items:
            total = total + item.amount if isinstance(item, DueCharge) else total - item.amount
        return total

    def as_list(self) -> list[dict[str, Any]]:
        return [i.as_dict() for i in self.items]


def _alone(terms: Terms, b: BilledSlot, until: dt.date) -> Money | None:
    """What the days ``[b.period.start, until)`` of the billed piece ``b`` cost priced alone under
    ``terms`` (its phase), rounded once as any piece is; ``None`` when ``terms`` do not price its
    component in advance."""
    if until <= b.period.start:
        return Money.zero(b.amount.currency)
    kept = terms.with_(billing_from=b.period.start, end=until)
    return next((c.amount for c in due_charges(kept, until) if c.key == b.key), None)


def _credit(old: Terms, b: BilledSlot, on: dt.date) -> Credit | None:
    """The credit of the days of ``b`` from ``on``: what was paid for the piece minus what the days
    kept cost priced alone — so that the client pays for every piece exactly its price alone,
    whatever changes follow (a share of the amount paid, rounded again, drifted by a kopeck)."""
    start = max(on, b.period.start)
    unused = Period(start, b.service_end)
    paid = b.paid
    if not paid.is_positive():
        return None  # a marker of a carried-over component: the piece paying for it is credited
    kept = _alone(old, b, start)
    if kept is None:  # not priced in advance by this phase: a share of what was paid
        amount = round_half_up(Fraction(paid.amount) * Fraction(unused.days, Period(b.period.start,
                                                                                     b.service_end).days),
                               paid.currency)
        ru_how = f"{show(paid)} × {unused.days}/{Period(b.period.start, b.service_end).days} дн."
        en_how = f"{show(paid)} × {unused.days}/{Period(b.period.start, b.service_end).days} days"
        formula = f"credit = round(paid {paid.amount} × {unused.days} / {Period(b.period.start, b.service_end).days})"
    else:
        amount = paid - kept
        used = f"{b.period.start} – {start - dt.timedelta(days=1)}" if start > b.period.start else ""
        ru_how = (f"оплачено {show(paid)}" + (f", дни {used} по отдельности стоят {show(kept)}: "
                                               f"{show(paid)} − {show(kept)}" if used else ""))
        en_how = (f"paid {show(paid)}" + (f", the days {used} priced alone cost {show(kept)}: "
                                          f"{show(paid)} − {show(kept)}" if used else ""))
        formula = f"credit = paid {paid.amount} − kept days priced alone {kept.amount}"
    if not amount.is_positive():
        return None
    return Credit(b.component, b.period.start, b.period, unused, amount, Explanation(
        ru=f"{b.component}: возврат за неиспользованные дни {unused.start} – {unused.last_day}: {ru_how} = {show(amount)}",
        en=f"{b.component}: credit for the unused days {unused.start} – {unused.last_day}: {en_how} = {show(amount)}",
        formula=f"{formula} = {amount.amount}"))


def _pricing(terms: Terms, code: str) -> object:
    """What decides the price of a recurring component in a phase (None: not billed in advance)."""
    vat = (terms.vat_rate, terms.prices_include_vat)
    if code == FIXED_PRICE:
        return None if terms.fixed_price is None else ("fixed", terms.fixed_price, terms.discount_percent, vat)
    if terms.fixed_price is not None:
        return None
    comp = terms.plan.component(code)
    if comp is None or comp.kind == ComponentKind.METERED or comp.timing != Timing.IN_ADVANCE:
        return None
    qty = terms.quantity if comp.kind == ComponentKind.PER_UNIT else 1
    return (comp.kind, comp.prices[terms.currency].to_dict(), qty, terms.discount_percent, vat)


def _same_cycle(old: Terms, new: Terms, on: dt.date) -> bool:
    try:
        return (billing_cycle(old) == billing_cycle(new)
                and slot_containing(old, on).service == slot_containing(new, on).service)
    except ValueError:
        return False


def quote_phase_change(old: Terms, new: Terms | None, on: dt.date, billed: Sequence[BilledSlot], *,
                       usage: UsageSource | None = None) -> Quote:
    """Close ``old`` on ``on`` and open ``new`` (whose ``billing_from`` must be ``on``); ``None``
    closes only. See the module docstring."""
    if new is not None and new.phase_start != on:
        raise ValueError(f"the new phase must start on {on}, not {new.phase_start}")
    keys = billed_keys(billed)
    items: list[DueCharge | Credit] = []
    settle_end = on if old.end is None else min(on, old.end)
    if settle_end > old.phase_start:
        items.extend(due_charges(old.with_(end=settle_end), on, keys, usage=usage))
    carried: list[tuple[str, dt.date]] = []
    truncated: list[tuple[str, dt.date]] = []
    same_cycle = new is not None and _same_cycle(old, new, on)
    credits: list[Credit] = []
    carried_codes: set[str] = set()
    for b in sorted(billed, key=lambda b: (b.period.start, b.component)):
        if b.component == SETUP_FEE or b.service_end <= on:
            continue
        if b.component in carried_codes:
            continue  # a marker of an earlier carry-over: the piece that was paid is carried again
        if new is not None and same_cycle and b.counts and (price := _pricing(old, b.component)) is not None \
                and price == _pricing(new, b.component):
            carried.append(b.key)
            carried_codes.add(b.component)
            continue
        truncated.append(b.key)
        credit = _credit(old, b, on)
        if credit is not None:
            credits.append(credit)
    items.extend(credits)
    if new is not None:
        remaining = (keys - set(truncated)) | {(code, on) for code, _start in carried}
        items.extend(due_charges(new, on, remaining, usage=usage))
    return Quote(on, old.currency, tuple(items), tuple(truncated), tuple(carried))


def quote_close(old: Terms, on: dt.date, billed: Sequence[BilledSlot], *,
                usage: UsageSource | None = None) -> Quote:
    """Immediate end (cancellation, billing pause) on ``on``: settle, then credit unused days."""
    return quote_phase_change(old, None, on, billed, usage=usage)


def quote_open(new: Terms, on: dt.date, billed: Sequence[BilledSlot], *,
               usage: UsageSource | None = None) -> Quote:
    """A phase opening on ``on`` (a resume): its charges due on ``on``."""
    phase = new.with_(billing_from=on)
    return Quote(on, new.currency, tuple(due_charges(phase, on, billed_keys(billed), usage=usage)))


def quote_bill_due(terms: Terms, up_to: dt.date, billed: Sequence[BilledSlot], *,
                   usage: UsageSource | None = None) -> Quote:
    """Everything due up to ``up_to`` and not billed yet. A metered line whose stored usage cannot be
    rated is held (``Quote.held``), not charged: it never stops the subscription's other charges."""
    held: list[HeldUsage] = []
    charges = due_charges(terms, up_to, billed_keys(billed), usage=usage, held=held)
    return Quote(up_to, terms.currency, tuple(charges), held=tuple(held))


def classify_change(old: Terms, new_plan_terms: Terms) -> ChangeKind:
    """Upgrade / downgrade / crossgrade by the plans' fixed fees normalised to a year (in the
    subscription's currency and quantities)."""
    before = annual_fee(old.plan, old.currency, old.quantity)
    after = annual_fee(new_plan_terms.plan, new_plan_terms.currency, new_plan_terms.quantity)
    if after > before:
        return ChangeKind.UPGRADE
    if after < before:
        return ChangeKind.DOWNGRADE
    return ChangeKind.CROSSGRADE


def period_end(terms: Terms, on: dt.date) -> dt.date:
    """The end (exclusive) of the billing period containing ``on`` — the date a change "at period
    end" takes effect."""
    return period_containing(terms, on).end


def new_billing_day_terms(terms: Terms, on: dt.date, billing_day: int) -> Terms:
    """The phase after moving to calendar billing on ``billing_day`` from ``on``: the bridge
    ``[on, first date on the new day)`` is prorated like any partial period."""
    return terms.with_(anchor=Anchor.CALENDAR, billing_day=billing_day, cycle_origin=on, billing_from=on)
