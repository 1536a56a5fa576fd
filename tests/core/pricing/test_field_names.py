"""A refused value names its field whichever way the spec is built — from JSON or by constructing
the model — so that an API user and a developer read the same path; trials accept any positive
whole number of days or periods."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from kopeck.core.pricing import (
    AggregationSpec,
    ComponentSpec,
    Package,
    SpecError,
    Standard,
    TieredPackage,
    Usage,
    UsageError,
)
from kopeck.core.pricing.plan import PlanSpec
from kopeck.core.pricing.tiers import PackageTier

FLOAT = 'must be a decimal string such as "0.50", not a JSON float or boolean'
TIERS = (PackageTier(Decimal(0), None, Decimal(1)),)


def plan(**overrides: Any) -> PlanSpec:
    data: dict[str, Any] = {
        "code": "p", "billing_period": {"unit": "month", "count": 1}, "currencies": ["RUB"],
        "components": [{"code": "base", "kind": "fixed", "prices": {"RUB": {"model": "standard", "unit_price": "1"}}}],
    }
    data.update(overrides)
    return PlanSpec.from_dict({k: v for k, v in data.items() if v is not None})


@pytest.mark.parametrize(("make", "text"), [
    (lambda: Standard(0.5), f"unit_price: {FLOAT}"),  # type: ignore[arg-type]
    (lambda: Package(1.0, Decimal(1)), f"package_size: {FLOAT}"),  # type: ignore[arg-type]
    (lambda: Package(Decimal(1), 1.0), f"package_price: {FLOAT}"),  # type: ignore[arg-type]
    (lambda: Package(Decimal(1), Decimal(-1)), "package_price: must not be negative, got -1"),
    (lambda: TieredPackage(1.0, TIERS), f"package_size: {FLOAT}"),  # type: ignore[arg-type]
    (lambda: ComponentSpec.from_dict({"code": "c", "model": "package", "package_price": "1"}),
     "package_size: is required"),
    (lambda: ComponentSpec.from_dict({"code": "c", "model": "package", "package_size": "1"}),
     "package_price: is required"),
    (lambda: ComponentSpec.from_dict({"code": "c", "model": "package", "package_size": 1.0, "package_price": "1"}),
     f"package_size: {FLOAT}"),
    (lambda: ComponentSpec.from_dict({"code": "c", "model": "package", "package_size": "1", "package_price": 1.0}),
     f"package_price: {FLOAT}"),
    (lambda: AggregationSpec.from_dict({}, ""), "type: is required"),
    (lambda: plan(code=None), "code: is required"),
    (lambda: plan(trial=[]), "trial: must be an object, got list"),
    (lambda: plan(trial={"weeks": 1}), "trial.weeks: unknown field; expected one of days, periods"),
    (lambda: plan(trial={"days": "5"}), "trial.days: must be a positive whole number"),
    (lambda: plan(components=[{"code": "base", "kind": "fixed"}]), "components[0].prices: is required"),
])
def test_a_refusal_names_the_field(make: Callable[[], object], text: str) -> None:
    with pytest.raises(SpecError) as info:
        make()
    assert str(info.value) == text


@pytest.mark.parametrize(("trial", "days", "periods"), [({"days": 1}, 1, None), ({"periods": 1}, None, 1),
                                                        ({"days": 30}, 30, None), ({"periods": 3}, None, 3)])
def test_a_trial_of_any_positive_length(trial: dict[str, int], days: int | None, periods: int | None) -> None:
    spec = plan(trial=trial)
    assert (spec.trial_days, spec.trial_periods) == (days, periods)


def test_a_component_keeps_its_name() -> None:
    spec = plan(components=[{"code": "base", "name": "Базовая плата", "kind": "fixed",
                             "prices": {"RUB": {"model": "standard", "unit_price": "1"}}}])
    assert (spec.components[0].name, spec.components[0].prices["RUB"].name) == ("Базовая плата", "Базовая плата")


class _NoOffset(dt.tzinfo):
    """A time zone that does not know its offset: such a datetime is not an instant."""

    def utcoffset(self, d: dt.datetime | None) -> dt.timedelta | None:
        return None

    def dst(self, d: dt.datetime | None) -> dt.timedelta | None:
        return None

    def tzname(self, d: dt.datetime | None) -> str | None:
        return None


@pytest.mark.parametrize(("make", "text"), [
    (lambda: ComponentSpec.from_dict({"model": "standard", "unit_price": "1"}), "code: must be a non-empty string"),
    (lambda: ComponentSpec.from_dict({"code": "c", "model": "graduated"}), "tiers: is required"),
    (lambda: ComponentSpec.from_dict({"code": "c", "model": "graduated", "tiers": [
        {"from": 0.0, "up_to": None, "unit_price": "1"}]}), f"tiers[0].from: {FLOAT}"),
    (lambda: ComponentSpec.from_dict({"code": "c", "model": "graduated", "tiers": [
        {"from": "0", "unit_price": "1"}]}), "tiers[0].up_to: is required"),
    (lambda: ComponentSpec.from_dict({"code": "c", "model": "graduated", "tiers": [
        {"from": "0", "up_to": None, "unit_price": 1.5}]}), f"tiers[0].unit_price: {FLOAT}"),
])
def test_a_component_refusal_names_the_field(make: Callable[[], object], text: str) -> None:
    with pytest.raises(SpecError) as info:
        make()
    assert str(info.value) == text


@pytest.mark.parametrize("start", [dt.date(2027, 1, 1), dt.datetime(2027, 1, 1, tzinfo=_NoOffset())])
def test_a_period_start_must_be_an_instant(start: object) -> None:
    with pytest.raises(UsageError) as info:
        Usage(start=start)  # type: ignore[arg-type]
    assert str(info.value) == "start: must be a timezone-aware datetime"
