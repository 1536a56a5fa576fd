"""Which version of a plan's prices is in force on a date, the price history, and the list filters
(kopeck.catalog.selectors)."""

from __future__ import annotations

import datetime as dt

import pytest

from kopeck.catalog import selectors, services
from kopeck.catalog.models import Plan, PlanVersion
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.core.pricing.plan import PlanSpec
from tests.catalog.catalog_helpers import hosting_spec, make_plan, make_product

pytestmark = pytest.mark.django_db

D = dt.date


def publish(actor: Actor, plan: Plan, on: dt.date, base_rub: str) -> PlanVersion:
    draft = services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec(plan.code, base_rub=base_rub))
    return services.plan_version_publish(actor=actor, version=draft, effective_from=on,
                                         existing_subscribers="next_period")


@pytest.fixture
def plan_with_history(clock: FixedClock, actor: Actor) -> tuple[Plan, list[PlanVersion]]:
    """v1 from 2026-12-01, v2 from 2027-01-01, v3 also from 2027-01-01 (supersedes v2 before it starts),
    v4 from 2027-03-01, and a draft v5."""
    plan = make_plan(actor)
    versions = [publish(actor, plan, D(2026, 12, 1), "1000.00"), publish(actor, plan, D(2027, 1, 1), "1100.00"),
                publish(actor, plan, D(2027, 1, 1), "1200.00"), publish(actor, plan, D(2027, 3, 1), "1300.00")]
    versions.append(services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec(base_rub="9999.00")))
    return plan, versions


@pytest.mark.parametrize(("day", "number"), [
    (D(2026, 11, 30), None), (D(2026, 12, 1), 1), (D(2026, 12, 31), 1), (D(2027, 1, 1), 3), (D(2027, 2, 28), 3),
    (D(2027, 3, 1), 4), (D(2030, 1, 1), 4),
])
def test_version_in_force_on_a_date(plan_with_history: tuple[Plan, list[PlanVersion]], day: dt.date,
                                    number: int | None) -> None:
    plan, _versions = plan_with_history
    found = selectors.plan_version_in_force(plan, day)
    assert (found.number if found else None) == number
    loaded = list(selectors.plan_versions(plan))
    among = selectors.in_force_among(loaded, day)
    assert (among.number if among else None) == number


def test_version_in_force_today_by_default(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    assert selectors.plan_version_in_force(plan) is None
    services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec())
    assert selectors.plan_version_in_force(plan) is None  # a draft is never in force
    v = publish(actor, plan, D(2026, 11, 25), "1000.00")
    assert selectors.plan_version_in_force(plan) == v


def test_price_history(plan_with_history: tuple[Plan, list[PlanVersion]]) -> None:
    plan, _versions = plan_with_history
    spans = [(s.version.number, s.effective_from, s.effective_until) for s in selectors.plan_price_history(plan)]
    assert spans == [(1, D(2026, 12, 1), D(2027, 1, 1)), (2, D(2027, 1, 1), D(2027, 1, 1)),
                     (3, D(2027, 1, 1), D(2027, 3, 1)), (4, D(2027, 3, 1), None)]
    assert [v.number for v in selectors.plan_versions(plan)] == [5, 4, 3, 2, 1]
    latest = selectors.latest_published_version(plan)
    assert latest is not None
    assert latest.number == 4


def test_version_plan_spec(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    v = services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec())
    assert selectors.version_plan_spec(v) == PlanSpec.from_dict(hosting_spec())


def test_list_filters(clock: FixedClock, actor: Actor) -> None:
    vps = make_product(actor, "vps", vat_rate="22")
    domains = make_product(actor, "domains", name_ru="Домены", name_en="Domains", is_active=True)
    make_plan(actor, "vps-pro", vps)
    make_plan(actor, "vps-old", vps, is_active=False)
    make_plan(actor, "ru-domain", domains)
    assert [p.code for p in selectors.product_list(vat_rate="")] == ["domains"]
    assert [p.code for p in selectors.product_list(search="омен")] == ["domains"]
    assert [p.code for p in selectors.product_list(search="Domains")] == ["domains"]
    assert [p.code for p in selectors.plan_list(product_id=vps.pk)] == ["vps-old", "vps-pro"]
    assert [p.code for p in selectors.plan_list(product_code="domains")] == ["ru-domain"]
    assert [p.code for p in selectors.plan_list(is_active=False)] == ["vps-old"]
