"""Hypothesis properties of the tier models."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from kopeck.core.pricing import (
    ComponentSpec,
    Graduated,
    LineKind,
    PackageTier,
    PriceTier,
    Stairstep,
    StairTier,
    TieredPackage,
    Volume,
    evaluate,
)

quantities = st.decimals(min_value=0, max_value=2_000_000, places=3)
prices = st.decimals(min_value=0, max_value=1000, places=4)
fees = st.decimals(min_value=0, max_value=100, places=2)


@st.composite
def edges(draw: st.DrawFn, max_tiers: int = 5) -> list[tuple[Decimal, Decimal | None]]:
    n = draw(st.integers(1, max_tiers))
    inner = sorted(draw(st.sets(st.decimals(min_value=Decimal("0.001"), max_value=1_000_000, places=3),
                                min_size=n - 1, max_size=n - 1)))
    starts = [Decimal(0), *inner]
    ends: list[Decimal | None] = [*inner, None]
    return list(zip(starts, ends, strict=True))


@st.composite
def price_tiers(draw: st.DrawFn) -> tuple[PriceTier, ...]:
    return tuple(PriceTier(a, b, draw(prices), draw(fees)) for a, b in draw(edges()))


@st.composite
def cliff_free_tiers(draw: st.DrawFn) -> tuple[PriceTier, ...]:
    """Any tiers, with each flat fee raised just enough that crossing an edge never lowers the amount."""
    tiers = list(draw(price_tiers()))
    for i in range(1, len(tiers)):
        below, t = tiers[i - 1], tiers[i]
        edge = below.up_to
        assert edge is not None
        needed = edge * below.unit_price + below.flat_fee - edge * t.unit_price
        if t.flat_fee < needed:
            tiers[i] = PriceTier(t.start, t.up_to, t.unit_price, needed)
    return tuple(tiers)


def graduated(tiers: tuple[PriceTier, ...]) -> ComponentSpec:
    return ComponentSpec("g", Graduated(tiers))


@given(price_tiers(), quantities, quantities)
def test_graduated_never_decreases_as_quantity_grows(tiers: tuple[PriceTier, ...], a: Decimal, b: Decimal) -> None:
    lo, hi = sorted((a, b))
    spec = graduated(tiers)
    assert evaluate(spec, lo, "RUB").amount <= evaluate(spec, hi, "RUB").amount


@given(cliff_free_tiers(), quantities, quantities)
def test_volume_never_decreases_as_quantity_grows(tiers: tuple[PriceTier, ...], a: Decimal, b: Decimal) -> None:
    # Volume pricing in general HAS cliffs (see test_models.test_volume); Volume.cliffs() finds
    # them, and without cliffs the amount is monotone.
    lo, hi = sorted((a, b))
    model = Volume(tiers)
    assert model.cliffs() == ()
    spec = ComponentSpec("v", model)
    assert evaluate(spec, lo, "RUB").amount <= evaluate(spec, hi, "RUB").amount


@given(price_tiers(), quantities)
def test_volume_within_one_tier_never_decreases(tiers: tuple[PriceTier, ...], q: Decimal) -> None:
    spec = ComponentSpec("v", Volume(tiers))
    holding = [i for i, t in enumerate(tiers) if t.start < q and (t.up_to is None or q <= t.up_to)]
    if not holding:
        assert evaluate(spec, q, "RUB").lines == ()
        return
    (tier,) = holding
    smaller = max(tiers[tier].start + Decimal("0.001"), q - 1)
    assert evaluate(spec, smaller, "RUB").amount <= evaluate(spec, q, "RUB").amount


@given(price_tiers(), quantities)
def test_graduated_amount_is_the_sum_of_its_tier_lines(tiers: tuple[PriceTier, ...], q: Decimal) -> None:
    charge = evaluate(graduated(tiers), q, "RUB")
    assert all(line.kind is LineKind.TIER for line in charge.lines)
    assert charge.amount.amount == sum((line.amount.amount for line in charge.lines), Decimal(0))
    assert sum((line.units for line in charge.lines), Decimal(0)) == q
    for line in charge.lines:  # each line is rounded once: within half a kopeck of its exact value
        exact = line.units * line.unit_price + line.flat_fee
        assert abs(line.amount.amount - exact) <= Decimal("0.005")
    # the lines are the same whether their tier was memoised (used entirely) or not
    again = evaluate(graduated(tiers), q, "RUB")
    assert again == charge


@given(price_tiers(), quantities)
def test_single_tier_graduated_equals_volume(tiers: tuple[PriceTier, ...], q: Decimal) -> None:
    first = tiers[0]
    one = (PriceTier(Decimal(0), None, first.unit_price, first.flat_fee),)
    assert evaluate(graduated(one), q, "RUB").amount == evaluate(ComponentSpec("v", Volume(one)), q, "RUB").amount


@given(price_tiers())
def test_graduated_and_volume_agree_inside_the_first_tier(tiers: tuple[PriceTier, ...]) -> None:
    # the tier convention: the first tier's last unit is priced the same way by both models
    edge = tiers[0].up_to or Decimal(1000)
    assert evaluate(graduated(tiers), edge, "RUB").amount == \
        evaluate(ComponentSpec("v", Volume(tiers)), edge, "RUB").amount


@given(st.integers(1, 1000), st.lists(st.integers(1, 50), min_size=0, max_size=4), prices,
       st.integers(0, 200_000))
def test_one_tier_package_price_equals_package(size: int, widths: list[int], price: Decimal, q: int) -> None:
    bounds = [0]
    for w in widths:
        bounds.append(bounds[-1] + w * size)
    tiers = tuple(PackageTier(Decimal(a), Decimal(b) if b is not None else None, price)
                  for a, b in zip(bounds, [*bounds[1:], None], strict=True))
    tiered = ComponentSpec("t", TieredPackage(Decimal(size), tiers))
    plain = ComponentSpec.from_dict({"code": "p", "model": "package", "package_size": str(size),
                                     "package_price": str(price)})
    # with tier edges on package boundaries, tiered packages with one price = plain packages
    assert sum(line.units for line in evaluate(tiered, q, "RUB").lines) == \
        sum(line.units for line in evaluate(plain, q, "RUB").lines)


@given(price_tiers(), st.sampled_from(["graduated", "volume", "stairstep"]))
def test_generated_specs_round_trip_through_json(tiers: tuple[PriceTier, ...], model: str) -> None:
    if model == "stairstep":
        spec = ComponentSpec("s", Stairstep(tuple(StairTier(t.start, t.up_to, t.unit_price) for t in tiers)))
    else:
        spec = ComponentSpec("s", Graduated(tiers) if model == "graduated" else Volume(tiers))
    assert ComponentSpec.from_dict(spec.to_dict()) == spec
