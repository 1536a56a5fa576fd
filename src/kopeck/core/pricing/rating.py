"""Rating of the quantity-based charge models (standard, graduated, volume, package, tiered
package, graduated percentage, stairstep). See :mod:`kopeck.core.pricing.tiers` for the tier
convention. Every function takes the *billable* quantity (after included units, never negative)
and returns the lines; a quantity of 0 gives no lines."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from kopeck.core.explain import Explanation
from kopeck.core.money import Currency
from kopeck.core.pricing._values import ZERO, fmt
from kopeck.core.pricing.lines import ChargeLine, LineKind, line_money, show
from kopeck.core.pricing.models import (
    Graduated,
    GraduatedPercentage,
    Package,
    Stairstep,
    Standard,
    TieredPackage,
    Volume,
)
from kopeck.core.pricing.tiers import TierBounds, last_unit_tier

_ONE = Decimal(1)


def rate_standard(model: Standard, q: Decimal, cur: Currency) -> list[ChargeLine]:
    if q <= 0:
        return []
    u, p = fmt(q), fmt(model.unit_price)
    amount = line_money(q * model.unit_price, cur)
    a = show(amount)
    return [ChargeLine(LineKind.UNITS, "units", q, model.unit_price, amount, Explanation(
        ru=f"{u} ед. × {p} = {a}", en=f"{u} units × {p} = {a}",
        formula=f"units × unit price = {u} × {p} = {amount.amount}"))]


def _graduated(model: Graduated | TieredPackage | GraduatedPercentage, q: Decimal, cur: Currency,
               build: Callable[[Any, int, Decimal, Currency], ChargeLine]) -> list[ChargeLine]:
    """Lines of a graduated-style model: ``build(model, i, units)`` prices ``units`` of tier ``i``.
    The line of a tier that is used entirely never changes, so it is built once per currency and
    kept on the model (lines are immutable); only the last, partly used tier is built each time."""
    if q <= 0:
        return []
    tiers: Sequence[TierBounds] = model.tiers
    full = model.full_lines.get(cur)
    if full is None:
        full = model.full_lines[cur] = tuple(
            build(model, i, t.up_to - t.start, cur) for i, t in enumerate(tiers) if t.up_to is not None)
    lines = []
    for i, t in enumerate(tiers):
        if q <= t.start:
            break
        up_to = t.up_to
        lines.append(full[i] if up_to is not None and q >= up_to else build(model, i, q - t.start, cur))
    return lines


def _graduated_line(model: Graduated, i: int, units: Decimal, cur: Currency) -> ChargeLine:
    t, x = model.tiers[i], model.texts[i]
    fee = t.flat_fee
    amount = line_money(units * t.unit_price + fee, cur)
    u, a = fmt(units), show(amount)
    return ChargeLine(LineKind.TIER, x.label, units, t.unit_price, amount, Explanation(
        ru=f"Ступень {x.n} {x.rng}: {u} ед. × {x.price}{x.fee_ru} = {a}",
        en=f"Tier {x.n} {x.rng}: {u} units × {x.price}{x.fee_en} = {a}",
        formula=f"tier {x.n}: units in tier × unit price + flat fee = {u} × {x.price} + {x.fee} = {amount.amount}",
    ), i, fee)


def rate_graduated(model: Graduated, q: Decimal, cur: Currency) -> list[ChargeLine]:
    return _graduated(model, q, cur, _graduated_line)


def rate_volume(model: Volume, q: Decimal, cur: Currency) -> list[ChargeLine]:
    i = last_unit_tier(model.ends, q)
    if i is None:
        return []
    t, x = model.tiers[i], model.texts[i]
    fee = t.flat_fee
    amount = line_money(q * t.unit_price + fee, cur)
    u, a = fmt(q), show(amount)
    return [ChargeLine(LineKind.VOLUME, x.label, q, t.unit_price, amount, Explanation(
        ru=f"Объём {u} ед. попадает в ступень {x.n} {x.rng}, её цена — для всех единиц: "
           f"{u} × {x.price}{x.fee_ru} = {a}",
        en=f"Volume of {u} units falls in tier {x.n} {x.rng}, priced for all units: {u} × {x.price}{x.fee_en} = {a}",
        formula=f"all units × tier {x.n} unit price + flat fee = {u} × {x.price} + {x.fee} = {amount.amount}",
    ), i, fee)]


def _packages(units: Decimal, size: Decimal) -> Decimal:
    whole, rest = divmod(units, size)
    return whole + 1 if rest else whole


def rate_package(model: Package, q: Decimal, cur: Currency) -> list[ChargeLine]:
    if q <= 0:
        return []
    packs = _packages(q, model.package_size)
    amount = line_money(packs * model.package_price, cur)
    u, s, k, p, a = fmt(q), fmt(model.package_size), fmt(packs), fmt(model.package_price), show(amount)
    return [ChargeLine(LineKind.PACKAGE, f"packages of {s}", packs, model.package_price, amount, Explanation(
        ru=f"Пакеты по {s} ед.: ⌈{u} / {s}⌉ = {k} пак. × {p} = {a}",
        en=f"Packages of {s}: ⌈{u} / {s}⌉ = {k} packages × {p} = {a}",
        formula=f"ceil(units / package size) × package price = ceil({u} / {s}) × {p} = {amount.amount}",
    ))]


def _tiered_package_line(model: TieredPackage, i: int, units: Decimal, cur: Currency) -> ChargeLine:
    t, x = model.tiers[i], model.texts[i]
    size = fmt(model.package_size)
    packs = _packages(units, model.package_size)
    fee = t.flat_fee
    amount = line_money(packs * t.package_price + fee, cur)
    u, k, a = fmt(units), fmt(packs), show(amount)
    return ChargeLine(LineKind.TIER, x.label, packs, t.package_price, amount, Explanation(
        ru=f"Ступень {x.n} {x.rng}: ⌈{u} / {size}⌉ = {k} пак. × {x.price}{x.fee_ru} = {a}",
        en=f"Tier {x.n} {x.rng}: ⌈{u} / {size}⌉ = {k} packages × {x.price}{x.fee_en} = {a}",
        formula=(f"tier {x.n}: ceil(units in tier / package size) × package price + flat fee = "
                 f"ceil({u} / {size}) × {x.price} + {x.fee} = {amount.amount}"),
    ), i, fee)


def rate_tiered_package(model: TieredPackage, q: Decimal, cur: Currency) -> list[ChargeLine]:
    return _graduated(model, q, cur, _tiered_package_line)


def _graduated_percentage_line(model: GraduatedPercentage, i: int, part: Decimal, cur: Currency) -> ChargeLine:
    t, x = model.tiers[i], model.texts[i]
    fee = t.flat_fee
    fraction = t.rate.scaleb(-2)
    amount = line_money(part * fraction + fee, cur)
    v, a = fmt(part), show(amount)
    return ChargeLine(LineKind.TIER, x.label, part, fraction, amount, Explanation(
        ru=f"Ступень {x.n} {x.rng}: {x.price}% от {v}{x.fee_ru} = {a}",
        en=f"Tier {x.n} {x.rng}: {x.price}% of {v}{x.fee_en} = {a}",
        formula=(f"tier {x.n}: volume in tier × rate / 100 + flat fee = "
                 f"{v} × {x.price} / 100 + {x.fee} = {amount.amount}"),
    ), i, fee)


def rate_graduated_percentage(model: GraduatedPercentage, volume: Decimal, cur: Currency) -> list[ChargeLine]:
    return _graduated(model, volume, cur, _graduated_percentage_line)


def rate_stairstep(model: Stairstep, q: Decimal, cur: Currency) -> list[ChargeLine]:
    i = last_unit_tier(model.ends, q)
    if i is None:
        return []
    t, x = model.tiers[i], model.texts[i]
    amount = line_money(t.price, cur)
    u, a = fmt(q), show(amount)
    return [ChargeLine(LineKind.STAIRSTEP, x.label, _ONE, t.price, amount, Explanation(
        ru=f"{u} ед. попадает в диапазон {x.n} {x.rng}: фиксированная цена {a}",
        en=f"{u} units fall in range {x.n} {x.rng}: fixed price {a}",
        formula=f"price of range {x.n} = {x.price} = {amount.amount}",
    ), i, ZERO)]
