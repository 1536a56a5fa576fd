"""A newly published plan version reaches existing subscribers as its policy says."""

from __future__ import annotations

import datetime as dt

import pytest

from kopeck.catalog import services as catalog
from kopeck.catalog.models import Plan
from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.subscriptions.models import Subscription
from kopeck.subscriptions.services import subscription_create
from tests.subscriptions.helpers import at, bill_all, make_client, make_plan, plan_spec, posted

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


def publish(plan: Plan, base: str, policy: str, effective: dt.date) -> None:
    version = catalog.plan_version_create(actor=ACTOR, plan=plan, spec=plan_spec(plan.code, base, "0.00"))
    catalog.plan_version_publish(actor=ACTOR, version=version, effective_from=effective,
                                 existing_subscribers=policy)


def subscribe(clock: FixedClock, code: str) -> tuple[Subscription, Client]:
    make_plan(ACTOR, clock, code=code, base="1000.00", seat="0.00")
    at(clock, dt.date(2026, 11, 1))
    client = make_client()
    sub = subscription_create(actor=ACTOR, client=client, plan=code, start_date=dt.date(2026, 11, 1))
    bill_all()
    assert posted(client=client) == [("charge", "1000.00")]
    return sub, client


def test_next_period_policy_moves_at_the_next_period_start(clock: FixedClock) -> None:
    sub, client = subscribe(clock, "p-next")
    at(clock, dt.date(2026, 11, 10))
    publish(sub.plan, "1200.00", "next_period", dt.date(2026, 11, 15))
    at(clock, dt.date(2026, 11, 15))
    bill_all()
    sub.refresh_from_db()
    assert sub.plan_version.number == 1  # the running November period keeps its price
    at(clock, dt.date(2026, 12, 1))
    bill_all()
    assert posted(client=client) == [("charge", "1000.00"), ("charge", "1200.00")]
    sub.refresh_from_db()
    assert sub.plan_version.number == 2
    bill_all()  # idempotent
    assert len(posted(client=client)) == 2


def test_immediately_prorated_policy_credits_and_charges_the_rest_of_the_period(clock: FixedClock) -> None:
    sub, client = subscribe(clock, "p-now")
    at(clock, dt.date(2026, 11, 10))
    publish(sub.plan, "1200.00", "immediately_prorated", dt.date(2026, 11, 16))
    at(clock, dt.date(2026, 11, 16))
    bill_all()
    sub.refresh_from_db()
    assert sub.plan_version.number == 2
    # 15 of 30 November days left: credit 1000 × 15/30 = 500.00, charge 1200 × 15/30 = 600.00
    assert posted(client=client) == [("charge", "1000.00"), ("correction_credit", "500.00"), ("charge", "600.00")]


def test_new_subscribers_only_policy_leaves_existing_subscribers_alone(clock: FixedClock) -> None:
    sub, client = subscribe(clock, "p-new")
    at(clock, dt.date(2026, 11, 10))
    publish(sub.plan, "1200.00", "new_subscribers_only", dt.date(2026, 11, 15))
    at(clock, dt.date(2026, 12, 1))
    bill_all()
    sub.refresh_from_db()
    assert sub.plan_version.number == 1
    assert posted(client=client) == [("charge", "1000.00"), ("charge", "1000.00")]
    newcomer = subscription_create(actor=ACTOR, client=make_client(), plan="p-new", start_date=dt.date(2026, 12, 1))
    assert newcomer.plan_version.number == 2
