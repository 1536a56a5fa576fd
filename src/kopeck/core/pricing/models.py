"""Charge models as plain, validated value objects (how a quantity becomes money).

Each model validates itself on construction (so an invalid model cannot exist), and converts to
and from the JSON-compatible dict of its own parameters (Decimals as strings). Field paths in
errors are the component's JSON paths (model parameters sit at the top level of a component spec).
Prices and fees are in the component's currency; rates are percentages (``"2.9"`` = 2.9 %).

Graduated-style models keep a memo (``full_lines``) of the lines of tiers used entirely, per
currency — they never change, and lines are immutable; it takes no part in equality or hashing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from typing import Any, ClassVar

from kopeck.core.money import Currency
from kopeck.core.pricing._values import HUNDRED, ZERO, dec, fmt, non_negative, req
from kopeck.core.pricing.errors import SpecError
from kopeck.core.pricing.lines import ChargeLine
from kopeck.core.pricing.tiers import (
    PackageTier,
    PriceTier,
    RateTier,
    StairTier,
    TierText,
    bounded_ends,
    tier_texts,
    validate_tiers,
)

# JSON key → attribute of the tier classes, with (required, default) for the price fields.
_TIER_PRICE_FIELDS: dict[type[Any], tuple[tuple[str, bool], ...]] = {
    PriceTier: (("unit_price", True), ("flat_fee", False)),
    PackageTier: (("package_price", True), ("flat_fee", False)),
    RateTier: (("rate", True), ("flat_fee", False)),
    StairTier: (("price", True),),
}


def _opt_dec(value: object, name: str) -> Decimal | None:
    return None if value is None else dec(value, name)


def _tiers_from(data: Mapping[str, Any], cls: type[Any]) -> tuple[Any, ...]:
    raw = req(data, "tiers", "tiers")
    if not isinstance(raw, list | tuple):
        raise SpecError("tiers_list", "tiers")
    prices = _TIER_PRICE_FIELDS[cls]
    allowed = {"from", "up_to", *(name for name, _ in prices)}
    result = []
    for i, item in enumerate(raw):
        here = f"tiers[{i}]"
        if not isinstance(item, Mapping):
            raise SpecError("object", here)
        for key in item:
            if key not in allowed:
                raise SpecError("unknown_field", f"{here}.{key}", expected=", ".join(sorted(allowed)))
        kwargs: dict[str, Any] = {
            "start": dec(req(item, "from", f"{here}.from"), f"{here}.from"),
            "up_to": _opt_dec(req(item, "up_to", f"{here}.up_to"), f"{here}.up_to"),
        }
        for name, required in prices:
            if required or name in item:
                kwargs[name] = dec(req(item, name, f"{here}.{name}"), f"{here}.{name}")
        result.append(cls(**kwargs))
    return tuple(result)


def _tiers_to(tiers: Sequence[Any]) -> list[dict[str, Any]]:
    out = []
    for t in tiers:
        item: dict[str, Any] = {"from": str(t.start), "up_to": None if t.up_to is None else str(t.up_to)}
        for name, _ in _TIER_PRICE_FIELDS[type(t)]:
            item[name] = str(getattr(t, name))
        out.append(item)
    return out


def _check_tier_prices(tiers: Sequence[Any], *, rate: bool = False) -> None:
    for i, t in enumerate(tiers):
        for name, _ in _TIER_PRICE_FIELDS[type(t)]:
            value = getattr(t, name)
            non_negative(value, f"tiers[{i}].{name}")
            if rate and name == "rate" and value > HUNDRED:
                raise SpecError("rate_percentage", f"tiers[{i}].rate", rate=fmt(value))


def _tier_tuple(obj: object, cls: type[Any]) -> None:
    tiers = tuple(getattr(obj, "tiers"))  # noqa: B009
    for i, t in enumerate(tiers):
        if not isinstance(t, cls):
            raise SpecError("tier_type", f"tiers[{i}]", type=cls.__name__)
    object.__setattr__(obj, "tiers", tiers)
    validate_tiers(tiers)


@dataclass(frozen=True, slots=True)
class Standard:
    """quantity × unit price."""

    MODEL: ClassVar[str] = "standard"
    PARAMS: ClassVar[tuple[str, ...]] = ("unit_price",)
    unit_price: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "unit_price", dec(self.unit_price, "unit_price"))
        non_negative(self.unit_price, "unit_price")

    def to_dict(self) -> dict[str, Any]:
        return {"unit_price": str(self.unit_price)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Standard:
        return cls(dec(req(data, "unit_price", "unit_price"), "unit_price"))


@dataclass(frozen=True, slots=True)
class Graduated:
    """Each tier prices only the units inside it, plus its flat fee once entered."""

    MODEL: ClassVar[str] = "graduated"
    PARAMS: ClassVar[tuple[str, ...]] = ("tiers",)
    tiers: tuple[PriceTier, ...]

    texts: tuple[TierText, ...] = field(init=False, repr=False, compare=False)
    full_lines: dict[Currency, tuple[ChargeLine, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _tier_tuple(self, PriceTier)
        _check_tier_prices(self.tiers)
        object.__setattr__(self, "texts", tier_texts(self.tiers, "unit_price", "tier"))

    def to_dict(self) -> dict[str, Any]:
        return {"tiers": _tiers_to(self.tiers)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Graduated:
        return cls(_tiers_from(data, PriceTier))


@dataclass(frozen=True, slots=True)
class Volume:
    """The tier of the last unit prices all units, plus that tier's flat fee."""

    MODEL: ClassVar[str] = "volume"
    PARAMS: ClassVar[tuple[str, ...]] = ("tiers",)
    tiers: tuple[PriceTier, ...]
    ends: tuple[Decimal, ...] = field(init=False, repr=False, compare=False)
    texts: tuple[TierText, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _tier_tuple(self, PriceTier)
        _check_tier_prices(self.tiers)
        object.__setattr__(self, "ends", bounded_ends(self.tiers))
        object.__setattr__(self, "texts", tier_texts(self.tiers, "unit_price", "volume tier"))

    def cliffs(self) -> tuple[Decimal, ...]:
        """Tier edges past which one more unit makes the whole charge *cheaper* — volume pricing's
        known discontinuity (100 units × 1.00 = 100.00, but 101 × 0.80 = 80.80). Valid, but worth a
        warning in a catalog UI. Without cliffs, the amount never decreases as the quantity grows."""
        out = []
        for below, above in pairwise(self.tiers):
            edge = below.up_to
            assert edge is not None
            if edge * below.unit_price + below.flat_fee > edge * above.unit_price + above.flat_fee:
                out.append(edge)
        return tuple(out)

    def to_dict(self) -> dict[str, Any]:
        return {"tiers": _tiers_to(self.tiers)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Volume:
        return cls(_tiers_from(data, PriceTier))


@dataclass(frozen=True, slots=True)
class Package:
    """packages = ceil(billable units ÷ package size); amount = packages × package price. The free
    units are the component's ``included_units``."""

    MODEL: ClassVar[str] = "package"
    PARAMS: ClassVar[tuple[str, ...]] = ("package_size", "package_price")
    package_size: Decimal
    package_price: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "package_size", dec(self.package_size, "package_size"))
        object.__setattr__(self, "package_price", dec(self.package_price, "package_price"))
        if self.package_size <= 0:
            raise SpecError("positive_got", "package_size", value=fmt(self.package_size))
        non_negative(self.package_price, "package_price")

    def to_dict(self) -> dict[str, Any]:
        return {"package_size": str(self.package_size), "package_price": str(self.package_price)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Package:
        return cls(dec(req(data, "package_size", "package_size"), "package_size"),
                   dec(req(data, "package_price", "package_price"), "package_price"))


@dataclass(frozen=True, slots=True)
class TieredPackage:
    """Graduated packages: the units of each tier are packed by ``package_size`` and priced at the
    tier's package price. Bounded tier edges must be multiples of the package size, so no package
    straddles two tiers."""

    MODEL: ClassVar[str] = "tiered_package"
    PARAMS: ClassVar[tuple[str, ...]] = ("package_size", "tiers")
    package_size: Decimal
    tiers: tuple[PackageTier, ...]

    texts: tuple[TierText, ...] = field(init=False, repr=False, compare=False)
    full_lines: dict[Currency, tuple[ChargeLine, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "package_size", dec(self.package_size, "package_size"))
        if self.package_size <= 0:
            raise SpecError("positive_got", "package_size", value=fmt(self.package_size))
        _tier_tuple(self, PackageTier)
        _check_tier_prices(self.tiers)
        for i, t in enumerate(self.tiers):
            if t.up_to is not None and t.up_to % self.package_size != 0:
                raise SpecError("package_straddles", f"tiers[{i}].up_to", up_to=fmt(t.up_to),
                                size=fmt(self.package_size))
        object.__setattr__(self, "texts", tier_texts(self.tiers, "package_price", "tier"))

    def to_dict(self) -> dict[str, Any]:
        return {"package_size": str(self.package_size), "tiers": _tiers_to(self.tiers)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TieredPackage:
        return cls(dec(req(data, "package_size", "package_size"), "package_size"),
                   _tiers_from(data, PackageTier))


@dataclass(frozen=True, slots=True)
class Percentage:
    """Per transaction: ``rate`` % of the amount + ``fixed_fee``, kept within
    [``min_per_transaction``, ``max_per_transaction``]. The first ``free_transactions``
    transactions are free; then ``free_amount`` is used up in order (a transaction it covers
    entirely is free; one it covers partly pays on the rest)."""

    MODEL: ClassVar[str] = "percentage"
    PARAMS: ClassVar[tuple[str, ...]] = (
        "rate", "fixed_fee", "free_amount", "free_transactions", "min_per_transaction", "max_per_transaction",
    )
    rate: Decimal
    fixed_fee: Decimal = ZERO
    free_amount: Decimal = ZERO
    free_transactions: int = 0
    min_per_transaction: Decimal | None = None
    max_per_transaction: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("rate", "fixed_fee", "free_amount"):
            object.__setattr__(self, name, dec(getattr(self, name), name))
            non_negative(getattr(self, name), name)
        if self.rate > HUNDRED:
            raise SpecError("rate_percentage", "rate", rate=fmt(self.rate))
        ft = self.free_transactions
        if isinstance(ft, bool) or not isinstance(ft, int) or ft < 0:
            raise SpecError("non_negative_integer", "free_transactions", value=ft)
        for name in ("min_per_transaction", "max_per_transaction"):
            value = _opt_dec(getattr(self, name), name)
            object.__setattr__(self, name, value)
            if value is not None:
                non_negative(value, name)
        lo, hi = self.min_per_transaction, self.max_per_transaction
        if lo is not None and hi is not None and lo > hi:
            raise SpecError("min_over_max", "min_per_transaction", max=fmt(hi), min=fmt(lo))

    def to_dict(self) -> dict[str, Any]:
        lo, hi = self.min_per_transaction, self.max_per_transaction
        return {
            "rate": str(self.rate), "fixed_fee": str(self.fixed_fee), "free_amount": str(self.free_amount),
            "free_transactions": self.free_transactions,
            "min_per_transaction": None if lo is None else str(lo),
            "max_per_transaction": None if hi is None else str(hi),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Percentage:
        ft = data.get("free_transactions", 0)
        if isinstance(ft, bool) or not isinstance(ft, int):
            raise SpecError("non_negative_integer", "free_transactions", value=ft)
        return cls(
            rate=dec(req(data, "rate", "rate"), "rate"),
            fixed_fee=dec(data.get("fixed_fee", 0), "fixed_fee"),
            free_amount=dec(data.get("free_amount", 0), "free_amount"),
            free_transactions=ft,
            min_per_transaction=_opt_dec(data.get("min_per_transaction"), "min_per_transaction"),
            max_per_transaction=_opt_dec(data.get("max_per_transaction"), "max_per_transaction"),
        )


@dataclass(frozen=True, slots=True)
class GraduatedPercentage:
    """Graduated over transaction volume: each tier takes ``rate`` % of the volume inside it, plus
    its flat fee once entered."""

    MODEL: ClassVar[str] = "graduated_percentage"
    PARAMS: ClassVar[tuple[str, ...]] = ("tiers",)
    tiers: tuple[RateTier, ...]

    texts: tuple[TierText, ...] = field(init=False, repr=False, compare=False)
    full_lines: dict[Currency, tuple[ChargeLine, ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _tier_tuple(self, RateTier)
        _check_tier_prices(self.tiers, rate=True)
        object.__setattr__(self, "texts", tier_texts(self.tiers, "rate", "tier"))

    def to_dict(self) -> dict[str, Any]:
        return {"tiers": _tiers_to(self.tiers)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GraduatedPercentage:
        return cls(_tiers_from(data, RateTier))


@dataclass(frozen=True, slots=True)
class Stairstep:
    """One fixed price for the range the quantity falls in (the tier of the last unit)."""

    MODEL: ClassVar[str] = "stairstep"
    PARAMS: ClassVar[tuple[str, ...]] = ("tiers",)
    tiers: tuple[StairTier, ...]
    ends: tuple[Decimal, ...] = field(init=False, repr=False, compare=False)
    texts: tuple[TierText, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _tier_tuple(self, StairTier)
        _check_tier_prices(self.tiers)
        object.__setattr__(self, "ends", bounded_ends(self.tiers))
        object.__setattr__(self, "texts", tier_texts(self.tiers, "price", "range"))

    def to_dict(self) -> dict[str, Any]:
        return {"tiers": _tiers_to(self.tiers)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Stairstep:
        return cls(_tiers_from(data, StairTier))


ChargeModel = Standard | Graduated | Volume | Package | TieredPackage | Percentage | GraduatedPercentage | Stairstep

MODELS: dict[str, type[ChargeModel]] = {
    m.MODEL: m
    for m in (Standard, Graduated, Volume, Package, TieredPackage, Percentage, GraduatedPercentage, Stairstep)
}
