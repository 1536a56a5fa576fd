"""What should have been billed up to a date, minus what was (Kill Bill style).

:func:`due_charges` walks the slots of a phase (see :mod:`kopeck.core.subscriptions.terms`), cuts
each into pieces by the phase bounds and the trial end, and returns one :class:`DueCharge` per
component and piece that is due on or before ``up_to`` and whose key ``(component, piece start)``
is not in ``already_billed``:

* fixed and per-unit components billed in advance are due on the piece's first day; in arrears on
  the day after it ends (``piece.end``, the end being exclusive); metered components are always
  due after the piece ends, rated on the usage the caller gives for that component and piece;
* trial days are free; the first partial period (the stub of a calendar subscription) follows the
  first-period policy: prorated, billed in full, or free;
* a partial piece of a fixed or per-unit component is prorated by days of the actual period
  (``kopeck.core.proration.prorate``), rounded once, half-up;
* a fixed price override replaces the recurring fixed and per-unit fees with one line
  ``fixed_price`` (billed in advance); a discount % is its own negative line under each
  component's charge, rounded once, half-up, from the (rounded) component line;
* a plan's one-time setup fee is due on the start date (key ``setup_fee``);
* with VAT on top (``terms.prices_include_vat`` false) each charge gets one more line, its VAT:
  ``round((price + discount) × R / 100)``, half-up; the charge amounts to the gross sum.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from kopeck.core.explain import Explanation
from kopeck.core.money import Money, MoneyError, money_sum
from kopeck.core.periods import Period
from kopeck.core.pricing.component import evaluate
from kopeck.core.pricing.errors import PricingError
from kopeck.core.pricing.plan import ComponentKind, PlanComponent, PlanSpec, Timing
from kopeck.core.pricing.usage import Usage
from kopeck.core.proration import prorate, round_half_up
from kopeck.core.subscriptions.terms import FirstPeriod, Slot, Terms, slots
from kopeck.core.vat import VatLine, VatRate, vat_on_top, vat_on_top_step

SETUP_FEE = "setup_fee"
FIXED_PRICE = "fixed_price"
DISCOUNT = "discount"
VAT = "vat"

UsageSource = Callable[[str, Period], "Usage | Decimal | int"]
"""``usage(component code, piece) →`` the usage of a metered component in that piece."""


def show(m: Money) -> str:
    return f"{m.to_str()} {m.currency.code}"


@dataclass(frozen=True, slots=True)
class HeldUsage:
    """A metered line that cannot be rated from the usage stored (a value the component's price
    refuses): it is not charged now and stays due; the subscription's other charges go on."""

    component: str
    period: Period
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"component": self.component, "period": self.period.to_dict(), "reason": self.reason}


RATING_ERRORS = (PricingError, MoneyError, ArithmeticError, ValueError)


@dataclass(frozen=True, slots=True)
class Line:
    """One rounded money line of a charge: the component's (prorated) price, or its discount
    (negative)."""

    code: str
    amount: Money
    explanation: Explanation

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "amount": self.amount.to_str(), "explanation": self.explanation.as_dict()}


@dataclass(frozen=True, slots=True)
class DueCharge:
    """The charge of one component for one piece of a slot; ``amount`` is the sum of its lines (with
    VAT on top: the gross amount, its last line the VAT). ``name`` is the component's name (Russian,
    English); ``vat_rate`` the rate it carries."""

    component: str
    period: Period
    billing_period: Period
    due: dt.date
    amount: Money
    lines: tuple[Line, ...]
    explanation: Explanation
    plan: str = ""
    kind: str = "charge"
    name: tuple[str, str] = ("", "")
    vat_rate: VatRate | None = None
    prices_include_vat: bool = True

    @property
    def key(self) -> tuple[str, dt.date]:
        return (self.component, self.period.start)

    @property
    def vat_on_top(self) -> Money:
        """The VAT added on top (zero when prices include VAT)."""
        return money_sum((ln.amount for ln in self.lines if ln.code == VAT), self.amount.currency)

    @property
    def price(self) -> Money:
        """The amount before VAT on top: the price as the catalog states it (gross when prices
        include VAT)."""
        return self.amount - self.vat_on_top

    def as_dict(self) -> dict[str, Any]:
        """The JSON form of the charge as a billed line (:class:`~kopeck.core.subscriptions.lines.BilledLine`)."""
        from kopeck.core.subscriptions.lines import BilledLine

        return BilledLine.of(self).as_dict()


def pieces(terms: Terms, slot: Slot) -> list[Period]:
    """The slot's service period clipped to the phase and cut at the trial end."""
    start = max(slot.service.start, terms.phase_start)
    end = slot.service.end if terms.end is None else min(slot.service.end, terms.end)
    if end <= start:
        return []
    piece = Period(start, end)
    trial = terms.trial_end
    if trial is not None and piece.start < trial < piece.end:
        return piece.split([trial])
    return [piece]


def _in_trial(terms: Terms, piece: Period) -> bool:
    return terms.trial_end is not None and piece.end <= terms.trial_end


def _timing(comp: PlanComponent) -> Timing:
    return Timing.IN_ARREARS if comp.kind == ComponentKind.METERED else comp.timing


def _recurring(terms: Terms) -> list[PlanComponent]:
    return [c for c in terms.plan.components if c.kind != ComponentKind.METERED]


def _label(plan: PlanSpec) -> str:
    return plan.name or plan.code


def _period_text(piece: Period) -> str:
    return f"{piece.start.isoformat()} – {piece.last_day.isoformat()}"


def _price_piece(price: Money, base_expl: Explanation, denominator: Period,
                 piece: Period) -> tuple[Money, Explanation]:
    if piece == denominator:
        return price, base_expl
    pro = prorate(price, denominator, piece)
    return pro.amount, Explanation(ru=f"{base_expl.ru}; {pro.explanation.ru}", en=f"{base_expl.en}; "
                                   f"{pro.explanation.en}", formula=pro.explanation.formula)


def _discount_line(terms: Terms, amount: Money) -> Line | None:
    pct = terms.discount_percent
    if pct is None or pct == 0 or not amount.is_positive():
        return None
    off = round_half_up(Fraction(amount.amount) * Fraction(pct) / 100, amount.currency)
    if off.is_zero():
        return None
    return Line(DISCOUNT, -off, Explanation(
        ru=f"Скидка {pct}% от {show(amount)}: −{show(off)}",
        en=f"Discount {pct}% of {show(amount)}: −{show(off)}",
        formula=f"discount = round({amount.amount} × {pct} / 100) = {off.amount}"))


def _make(terms: Terms, code: str, name: str | tuple[str, str], slot: Slot, piece: Period, due: dt.date,
          amount: Money, expl: Explanation, *, discountable: bool = True) -> DueCharge:
    """One due charge; ``name`` is the component's name, or a (Russian, English) pair."""
    name_ru, name_en = (name, name) if isinstance(name, str) else name
    lines = [Line(code, amount, expl)]
    discount = _discount_line(terms, amount) if discountable else None
    if discount is not None:
        lines.append(discount)
    total = amount
    for extra in lines[1:]:
        total = total + extra.amount
    period = _period_text(piece)
    plan = _label(terms.plan)
    ru = f"{plan}, {name_ru}, {period}: {expl.ru}"
    en = f"{plan}, {name_en}, {period}: {expl.en}"
    formula = expl.formula
    if discount is not None:
        ru += f"; {discount.explanation.ru}; итого {show(total)}"
        en += f"; {discount.explanation.en}; total {show(total)}"
        formula += f"; {discount.explanation.formula}; total = {amount.amount} − {(-discount.amount).amount} = " \
                   f"{total.amount}"
    vat_line = _vat_on_top(terms, total)
    if vat_line is not None:
        vat = Line(VAT, vat_line.vat, vat_line.explanation)
        lines.append(vat)
        total = total + vat.amount
        step_ru, step_en = vat_on_top_step(vat_line)  # the gross is said once, with its currency
        ru += f"; {step_ru}; всего {show(total)}"
        en += f"; {step_en}; total {show(total)}"
        formula += f"; {vat.explanation.formula}; total = {(total - vat.amount).amount} + {vat.amount.amount} = " \
                   f"{total.amount}"
    return DueCharge(code, piece, slot.full, due, total, tuple(lines), Explanation(ru=ru, en=en, formula=formula),
                     terms.plan.code, name=(name_ru, name_en), vat_rate=terms.vat_rate,
                     prices_include_vat=terms.prices_include_vat)


def _vat_on_top(terms: Terms, net: Money) -> VatLine | None:
    """The VAT on top of a charge priced without VAT (none when prices include it, or it is zero)."""
    if terms.prices_include_vat or terms.vat_rate is None:
        return None
    line = vat_on_top(net, terms.vat_rate)
    if line.vat.is_zero():
        return None
    return line


def _free_stub(terms: Terms, slot: Slot) -> bool:
    return slot.first_stub and terms.first_period == FirstPeriod.FREE


def _denominator(terms: Terms, slot: Slot) -> Period:
    return slot.service if slot.first_stub and terms.first_period == FirstPeriod.FULL else slot.full


def due_charges(terms: Terms, up_to: dt.date, already_billed: Collection[tuple[str, dt.date]] = frozenset(),
                *, usage: UsageSource | None = None, held: list[HeldUsage] | None = None) -> list[DueCharge]:
    """The charges of ``terms`` due on or before ``up_to`` that are not in ``already_billed``
    (keys ``(component, piece start)``), in due-date order. With ``held``, a metered line whose
    usage cannot be rated is appended there instead of raising (the other charges are kept)."""
    cur = terms.currency
    result: list[DueCharge] = []
    if terms.phase_start > up_to:
        return result
    fee = terms.plan.setup_fee.get(cur)
    if fee and terms.phase_start == terms.start and (SETUP_FEE, terms.start) not in already_billed:
        money = Money(fee, cur).round_line()
        expl = Explanation(ru=f"Разовая плата за подключение: {show(money)}",
                           en=f"One-time setup fee: {show(money)}", formula=f"setup fee = {money.amount}")
        day = Period(terms.start, terms.start + dt.timedelta(days=1))
        result.append(_make(terms, SETUP_FEE, ("Плата за подключение", "Setup fee"), Slot(day, day), day, terms.start, money, expl,
                            discountable=False))
    for slot in slots(terms):
        if slot.service.start > up_to or (terms.end is not None and slot.service.start >= terms.end):
            break
        if slot.service.end <= terms.phase_start or _free_stub(terms, slot):
            continue
        denominator = _denominator(terms, slot)
        for piece in pieces(terms, slot):
            if _in_trial(terms, piece):
                continue
            result.extend(_piece_charges(terms, slot, denominator, piece, up_to, already_billed, usage, held))
    result.sort(key=lambda c: (c.due, c.period.start, c.component))
    return result


def _piece_charges(terms: Terms, slot: Slot, denominator: Period, piece: Period, up_to: dt.date,
                   billed: Collection[tuple[str, dt.date]], usage: UsageSource | None,
                   held: list[HeldUsage] | None = None) -> list[DueCharge]:
    cur = terms.currency
    out: list[DueCharge] = []
    if terms.fixed_price is not None and _recurring(terms) and piece.start <= up_to \
            and (FIXED_PRICE, piece.start) not in billed:
        price = Money(terms.fixed_price, cur).round_line()
        base = Explanation(ru=f"Фиксированная цена за период {show(price)}",
                           en=f"Fixed price per period {show(price)}", formula=f"fixed price = {price.amount}")
        amount, expl = _price_piece(price, base, denominator, piece)
        out.append(_make(terms, FIXED_PRICE, ("Фиксированная цена", "Fixed price"), slot, piece, piece.start, amount, expl))
    for comp in terms.plan.components:
        metered = comp.kind == ComponentKind.METERED
        if terms.fixed_price is not None and not metered:
            continue
        due = piece.start if _timing(comp) == Timing.IN_ADVANCE else piece.end
        if due > up_to or (comp.code, piece.start) in billed:
            continue
        spec = comp.prices[cur]
        name = comp.name or comp.code
        if metered:
            try:
                raw = usage(comp.code, piece) if usage is not None else Usage.of_quantity(0)
                charge = evaluate(spec, raw, cur)
            except RATING_ERRORS as exc:
                if held is None:
                    raise
                held.append(HeldUsage(comp.code, piece, f"{type(exc).__name__}: {exc}"[:500]))
                continue
            out.append(_make(terms, comp.code, name, slot, piece, due, charge.amount, charge.explanation))
            continue
        quantity = terms.quantity if comp.kind == ComponentKind.PER_UNIT else 1
        charge = evaluate(spec, quantity, cur)
        amount, expl = _price_piece(charge.amount, charge.explanation, denominator, piece)
        out.append(_make(terms, comp.code, name, slot, piece, due, amount, expl))
    return out


def recurring_fee(plan: PlanSpec, currency: str, quantity: int = 1) -> Money:
    """The plan's fixed fees of one full period: fixed components + per-unit components × quantity."""
    total = Money.zero(currency)
    for comp in plan.components:
        if comp.kind == ComponentKind.METERED:
            continue
        total = total + evaluate(comp.prices[currency], quantity if comp.kind == ComponentKind.PER_UNIT else 1,
                                 currency).amount
    return total


def annual_fee(plan: PlanSpec, currency: str, quantity: int = 1) -> Fraction:
    """:func:`recurring_fee` normalised to a year (× 12 / months, or × 365 / days), exact."""
    fee = Fraction(recurring_fee(plan, currency, quantity).amount)
    months = plan.interval.months
    if months is not None:
        return fee * Fraction(12, months)
    days = plan.interval.days
    assert days is not None
    return fee * Fraction(365, days)
