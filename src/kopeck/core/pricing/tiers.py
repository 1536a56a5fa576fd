"""Tiers — the ONE convention of Kopeck.

A tier covers the half-open range ``[from, up_to)`` of the quantity axis:

* ``from`` is inclusive, ``up_to`` exclusive; the first tier starts at 0, each next tier starts
  exactly where the previous one ends (``tiers[i].from == tiers[i-1].up_to``), tiers ascend, no
  tier is empty (``from < up_to``), and only the last tier is open (``up_to`` is ``null``);
* units are numbered from 0, so a quantity ``q`` occupies ``[0, q)``: tier ``[0, 100)`` holds the
  first 100 units (units 0–99) and tier ``[100, 1000)`` the next 900;
* graduated models price ``|[from, up_to) ∩ [0, q)|`` units in each tier — 100 units are all in
  ``[0, 100)``, the 101st is the first unit of ``[100, 1000)``;
* volume and stairstep models use the tier of the *last* unit, i.e. the tier with
  ``from < q ≤ up_to``: 100 units are priced by ``[0, 100)`` (as in the graduated model), 101 units
  by ``[100, 1000)``. A quantity of 0 has no units and costs nothing (no tier is entered);
* a tier's flat fee is charged once the tier is entered (``q > from``).

Anything else — a gap (``0–100, 101–200``), an overlap, descending or empty tiers, a closed last
tier, negative prices — is rejected by :func:`validate_tiers` (and the model checks) with a
:class:`~kopeck.core.pricing.errors.SpecError` naming the field, e.g. ``tiers[1].from``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple, Protocol

from kopeck.core.pricing._values import ZERO, dec, fmt
from kopeck.core.pricing.errors import SpecError


class TierBounds(Protocol):
    @property
    def start(self) -> Decimal: ...

    @property
    def up_to(self) -> Decimal | None: ...


@dataclass(frozen=True, slots=True)
class PriceTier:
    """Graduated / volume tier: ``unit_price`` per unit, ``flat_fee`` once entered."""

    start: Decimal  # JSON "from"
    up_to: Decimal | None
    unit_price: Decimal
    flat_fee: Decimal = ZERO

    def __post_init__(self) -> None:
        _coerce(self, ("unit_price", "flat_fee"))


@dataclass(frozen=True, slots=True)
class PackageTier:
    """Tiered-package tier: ``package_price`` per started package of the component's size."""

    start: Decimal
    up_to: Decimal | None
    package_price: Decimal
    flat_fee: Decimal = ZERO

    def __post_init__(self) -> None:
        _coerce(self, ("package_price", "flat_fee"))


@dataclass(frozen=True, slots=True)
class RateTier:
    """Graduated-percentage tier: ``rate`` percent of the volume in the tier, ``flat_fee`` once entered."""

    start: Decimal
    up_to: Decimal | None
    rate: Decimal
    flat_fee: Decimal = ZERO

    def __post_init__(self) -> None:
        _coerce(self, ("rate", "flat_fee"))


@dataclass(frozen=True, slots=True)
class StairTier:
    """Stairstep range: one fixed ``price`` when the quantity falls in it."""

    start: Decimal
    up_to: Decimal | None
    price: Decimal

    def __post_init__(self) -> None:
        _coerce(self, ("price",))


def _coerce(tier: object, names: tuple[str, ...]) -> None:
    """Ints and numeric strings become Decimals (floats are refused); ``start`` is called ``from``."""
    object.__setattr__(tier, "start", dec(getattr(tier, "start"), "from"))  # noqa: B009
    up_to = getattr(tier, "up_to")  # noqa: B009
    object.__setattr__(tier, "up_to", None if up_to is None else dec(up_to, "up_to"))
    for name in names:
        object.__setattr__(tier, name, dec(getattr(tier, name), name))


def validate_tiers(tiers: Sequence[TierBounds], field: str = "tiers") -> None:
    """Reject anything but ascending, contiguous, non-empty ``[from, up_to)`` tiers starting at 0
    with an open last tier. The error's ``field`` is the offending path, e.g. ``tiers[1].from``."""
    if not tiers:
        raise SpecError("no_tiers", field)
    last = len(tiers) - 1
    for i, tier in enumerate(tiers):
        here = f"{field}[{i}]"
        if not isinstance(tier.start, Decimal):
            raise SpecError("decimal_object", f"{here}.from")
        if tier.up_to is not None and not isinstance(tier.up_to, Decimal):
            raise SpecError("decimal_or_null", f"{here}.up_to")
        if i == 0:
            if tier.start != 0:
                raise SpecError("first_tier_start", f"{here}.from", start=fmt(tier.start))
        else:
            prev_end = tiers[i - 1].up_to
            assert prev_end is not None  # checked on the previous iteration
            if tier.start > prev_end:
                raise SpecError(
                    "tier_gap", f"{here}.from", start=fmt(tier.start), previous=f"{field}[{i - 1}]",
                    end=fmt(prev_end),
                )
            if tier.start < prev_end:
                raise SpecError(
                    "tier_overlap", f"{here}.from", start=fmt(tier.start), previous=f"{field}[{i - 1}]",
                    end=fmt(prev_end),
                )
        if tier.up_to is None:
            if i != last:
                raise SpecError("open_tier_not_last", f"{here}.up_to")
        elif i == last:
            raise SpecError("last_tier_closed", f"{here}.up_to", up_to=fmt(tier.up_to))
        elif tier.up_to == tier.start:
            raise SpecError("empty_tier", f"{here}.up_to", start=fmt(tier.start))
        elif tier.up_to < tier.start:
            raise SpecError("tier_descends", f"{here}.up_to", up_to=fmt(tier.up_to), start=fmt(tier.start))


def bounded_ends(tiers: Sequence[TierBounds]) -> tuple[Decimal, ...]:
    """The ``up_to`` of every tier but the open last one (ascending), for :func:`last_unit_tier`."""
    return tuple(t.up_to for t in tiers if t.up_to is not None)


def last_unit_tier(ends: tuple[Decimal, ...], quantity: Decimal) -> int | None:
    """Index of the tier holding the last unit of ``quantity`` (``from < q ≤ up_to``), or ``None``
    for a quantity of 0."""
    if quantity <= 0:
        return None
    return bisect_left(ends, quantity)


def tier_range(tier: TierBounds) -> str:
    end = "∞" if tier.up_to is None else fmt(tier.up_to)
    return f"[{fmt(tier.start)}, {end})"


class TierText(NamedTuple):
    """The fixed text of a tier, prepared once per spec so that rating stays cheap."""

    n: int  # 1-based number used in explanations
    rng: str  # "[100, 1000)"
    label: str  # "tier 2 [100, 1000)"
    price: str  # the tier's price (or rate) as written
    fee: str  # the flat fee as written ("0" when none)
    fee_en: str  # " + flat fee 10.00" or ""
    fee_ru: str  # " + фикс. плата 10.00" or ""


def tier_texts(tiers: Sequence[TierBounds], price: str, word: str = "tier") -> tuple[TierText, ...]:
    out = []
    for i, t in enumerate(tiers):
        fee: Decimal = getattr(t, "flat_fee", ZERO)
        rng = tier_range(t)
        out.append(TierText(
            i + 1, rng, f"{word} {i + 1} {rng}", fmt(getattr(t, price)), fmt(fee),
            f" + flat fee {fmt(fee)}" if fee else "", f" + фикс. плата {fmt(fee)}" if fee else "",
        ))
    return tuple(out)
