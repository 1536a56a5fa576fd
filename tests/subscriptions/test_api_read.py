from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kopeck.catalog.services import plan_create, plan_version_create, plan_version_publish, product_create
from kopeck.cli.management.commands.demo import VPS_PLAN
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.subscriptions.models import BilledPeriod, ScheduledChange, Subscription, TimelineEntry
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


def make_subscription(clock: FixedClock) -> Subscription:
    product = product_create(actor=ACTOR, code="vps", name_ru="VPS", vat_rate="22")
    plan = plan_create(actor=ACTOR, product=product, code="vps-s", name_ru="VPS S")
    version = plan_version_publish(actor=ACTOR, version=plan_version_create(actor=ACTOR, plan=plan, spec=VPS_PLAN),
                                   effective_from=dt.date(2026, 11, 25))
    now = clock.now()
    sub = Subscription.objects.create(client=ClientFactory(), plan=plan, plan_version=version, quantity=2,
                                      currency="RUB", external_id="ext-1", start_date=dt.date(2026, 11, 25),
                                      status="active", created_at=now, updated_at=now)
    TimelineEntry.objects.create(subscription=sub, at=now, effective_date=sub.start_date, kind="created",
                                 text_ru="Создана", text_en="Created")
    BilledPeriod.objects.create(subscription=sub, component="base", period_start=dt.date(2026, 11, 25),
                                period_end=dt.date(2026, 12, 25), amount_minor=99000, currency="RUB", created_at=now)
    ScheduledChange.objects.create(subscription=sub, kind="cancel", effective_date=dt.date(2026, 12, 25),
                                   created_at=now)
    return sub


def test_list_filters_detail_timeline_billed_and_scheduled(api_as: Any, clock: FixedClock) -> None:
    sub = make_subscription(clock)
    api = api_as("subscriptions:read")
    listing = api.get("/api/v1/subscriptions/", {"status": "active", "plan": "vps-s", "external_id": "ext-1"}).json()
    assert [s["id"] for s in listing["results"]] == [sub.pk]
    assert api.get("/api/v1/subscriptions/", {"status": "ended"}).json()["count"] == 0
    detail = api.get(f"/api/v1/subscriptions/{sub.pk}/").json()
    assert (detail["plan_code"], detail["plan_version_number"], detail["quantity"]) == ("vps-s", 1, 2)
    timeline = api.get(f"/api/v1/subscriptions/{sub.pk}/timeline/").json()["results"]
    assert [(t["kind"], t["text_en"]) for t in timeline] == [("created", "Created")]
    billed = api.get(f"/api/v1/subscriptions/{sub.pk}/billed-periods/").json()["results"]
    assert [(b["component"], b["amount"], b["period_end"]) for b in billed] == [("base", "990.00", "2026-12-25")]
    changes = api.get(f"/api/v1/subscriptions/{sub.pk}/scheduled-changes/").json()
    assert [(c["kind"], c["status"]) for c in changes] == [("cancel", "pending")]


def test_reading_needs_the_scope(api_as: Any, clock: FixedClock) -> None:
    sub = make_subscription(clock)
    r = api_as("clients:read").get(f"/api/v1/subscriptions/{sub.pk}/")
    assert r.status_code == 403 and r["Content-Type"] == "application/problem+json"
    assert api_as("subscriptions:read").get("/api/v1/subscriptions/999/").status_code == 404
