"""Proration by days.

* The fraction of a period is ``days used ÷ days in that billing period`` — the actual length of
  the period (28–31 days for a month, 365/366 for a year), never a 30-day month. It is kept exact
  as a :class:`~fractions.Fraction`.
* A prorated amount is ``full price × fraction`` rounded once, to the currency's minor unit,
  half-up (:func:`round_half_up` rounds the exact fraction, no intermediate Decimal division).
* :func:`split_by_days` splits a period's price across sub-periods that tile it with
  :func:`kopeck.core.money.allocate`, so the pieces add up exactly to the full price (rounding
  each piece on its own could be off by a minor unit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from kopeck.core.explain import Explanation
from kopeck.core.money import Currency, Money, allocate
from kopeck.core.periods import Period, PeriodError


def round_half_up(value: Fraction, currency: Currency | str) -> Money:
    """The exact rational ``value`` rounded to the currency's minor unit, half away from zero."""
    cur = Currency.of(currency)
    scaled = value * 10**cur.minor_units
    units, remainder = divmod(abs(scaled.numerator), scaled.denominator)
    if 2 * remainder >= scaled.denominator:
        units += 1
    sign = -1 if scaled < 0 else 1
    return Money(Decimal(sign * units).scaleb(-cur.minor_units), cur)


def period_fraction(used: Period, period: Period) -> Fraction:
    """``used.days / period.days``; ``used`` must lie within ``period``."""
    if not period.covers(used):
        raise PeriodError(f"{used} is not within {period}")
    return Fraction(used.days, period.days)


@dataclass(frozen=True, slots=True)
class Proration:
    full: Money
    period: Period
    used: Period
    fraction: Fraction
    amount: Money
    explanation: Explanation


def _money(m: Money) -> str:
    return f"{m.to_str()} {m.currency.code}"


def _explain(full: Money, period: Period, used: Period, amount: Money, note_en: str = "",
             note_ru: str = "", formula: str = "") -> Explanation:
    ud, pd = used.days, period.days
    last_u, last_p = used.last_day, period.last_day
    return Explanation(
        ru=(f"Пропорционально дням: {_money(full)} × {ud}/{pd} дн. = {_money(amount)} "
            f"(использовано {used.start}–{last_u} из периода {period.start}–{last_p}){note_ru}"),
        en=(f"Prorated by days: {_money(full)} × {ud}/{pd} days = {_money(amount)} "
            f"(used {used.start}–{last_u} of the period {period.start}–{last_p}){note_en}"),
        formula=formula or (f"amount = round(full price × days used / days in period) = "
                            f"round({full.amount} × {ud} / {pd}) = {amount.amount}"),
    )


def prorate(full: Money, period: Period, used: Period) -> Proration:
    """The price of ``used`` days of ``period`` whose full price is ``full``, rounded once half-up."""
    fraction = period_fraction(used, period)
    amount = round_half_up(Fraction(full.amount) * fraction, full.currency)
    return Proration(full, period, used, fraction, amount, _explain(full, period, used, amount))


def _check_tiling(period: Period, pieces: Sequence[Period]) -> None:
    if not pieces:
        raise PeriodError("at least one sub-period is needed")
    if pieces[0].start != period.start or pieces[-1].end != period.end:
        raise PeriodError(f"sub-periods must cover {period} exactly")
    for i in range(1, len(pieces)):
        if pieces[i].start != pieces[i - 1].end:
            raise PeriodError(
                f"sub-periods must be contiguous: piece {i} starts {pieces[i].start}, "
                f"the previous ends {pieces[i - 1].end}"
            )


def split_by_days(full: Money, period: Period, pieces: Sequence[Period]) -> list[Proration]:
    """Split the (rounded) price ``full`` of ``period`` across ``pieces`` — contiguous sub-periods
    covering it exactly — in proportion to their days. The amounts add up exactly to ``full``
    (largest-remainder allocation); a piece whose amount differs from its own rounding says so in
    its explanation."""
    _check_tiling(period, pieces)
    full = full.round_line()
    days = [p.days for p in pieces]
    amounts = allocate(full, days)
    shares = " : ".join(str(d) for d in days)
    result = []
    for i, (piece, amount) in enumerate(zip(pieces, amounts, strict=True)):
        fraction = Fraction(piece.days, period.days)
        alone = round_half_up(Fraction(full.amount) * fraction, full.currency)
        note_en = note_ru = ""
        if alone != amount:
            diff = amount - alone
            note_en = f"; {diff.amount:+} after allocation so that the pieces add up to {_money(full)}"
            note_ru = f"; {diff.amount:+} при распределении, чтобы части в сумме дали {_money(full)}"
        formula = (f"piece {i + 1} = allocate(full price {full.amount} by days {shares})[{i + 1}] "
                   f"= {amount.amount} (exact {full.amount} × {piece.days} / {period.days})")
        result.append(Proration(full, period, piece, fraction, amount,
                                _explain(full, period, piece, amount, note_en, note_ru, formula)))
    return result
