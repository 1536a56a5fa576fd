"""Metered components are billed from the stored usage (kopeck.usage) once their period has ended."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.catalog import services as catalog
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.subscriptions.services import subscription_bill_due, subscription_create
from tests.subscriptions.helpers import LONG_AGO, at, billed, make_client, posted

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")

SPEC = {
    "code": "vps-m", "billing_period": {"unit": "month", "count": 1}, "currencies": ["RUB"],
    "components": [
        {"code": "base", "kind": "fixed", "billing": "in_advance",
         "prices": {"RUB": {"model": "standard", "unit_price": "1000.00"}}},
        {"code": "traffic", "kind": "metered", "billing": "in_arrears",
         "prices": {"RUB": {"model": "graduated", "aggregation": {"type": "sum", "property": "gb"},
                            "tiers": [{"from": "0", "up_to": "10", "unit_price": "0"},
                                      {"from": "10", "up_to": None, "unit_price": "2.00"}]}}},
    ],
}


def events(api: APIClient, *items: tuple[str, str, str]) -> list[dict[str, Any]]:
    body = [{"id": i, "external_id": "vm-1", "metric": "traffic", "timestamp": ts, "properties": {"gb": gb}}
            for i, ts, gb in items]
    r = api.post("/api/v1/usage/events/", body, format="json")
    assert r.status_code == 200, r.content
    return list(r.json()["results"])


def test_usage_of_the_ended_period_is_billed_in_arrears(clock: FixedClock, api_as: Any) -> None:
    saved = clock.now()
    clock.set(LONG_AGO)
    product = catalog.product_create(actor=ACTOR, code="vps", name_ru="VPS", vat_rate="22")
    plan = catalog.plan_create(actor=ACTOR, product=product, code="vps-m", name_ru="VPS M")
    catalog.plan_version_publish(actor=ACTOR, version=catalog.plan_version_create(actor=ACTOR, plan=plan, spec=SPEC),
                                 effective_from=LONG_AGO.date())
    clock.set(saved)
    at(clock, dt.date(2026, 11, 1))
    client = make_client()
    sub = subscription_create(actor=ACTOR, client=client, plan="vps-m", start_date=dt.date(2026, 11, 1),
                              external_id="vm-1")
    subscription_bill_due(actor=ACTOR, subscription=sub)
    assert posted(client=client) == [("charge", "1000.00")]

    api = api_as("usage:write")
    at(clock, dt.date(2026, 11, 20))
    # 12.5 + 3 + 0.25 GB in November (one event sent twice), 7 GB on 1 December (Moscow time)
    results = events(api, ("n1", "2026-11-03T10:00:00+03:00", "12.5"), ("n2", "2026-11-19T23:00:00+03:00", "3"),
                     ("n3", "2026-11-20T08:00:00+03:00", "0.25"), ("n1", "2026-11-03T10:00:00+03:00", "12.5"))
    assert [r["status"] for r in results] == ["accepted", "accepted", "accepted", "duplicate"]

    at(clock, dt.date(2026, 12, 1))
    results = events(api, ("d1", "2026-12-01T00:30:00+03:00", "7"))
    assert [r["status"] for r in results] == ["accepted"]
    subscription_bill_due(actor=ACTOR, subscription=sub)
    # November traffic first (the older period): 15.75 GB, first 10 free, 5.75 × 2.00 = 11.50;
    # then December's base fee 1000.00. The 7 GB of 1 December belong to December's usage.
    assert posted(client=client) == [("charge", "1000.00"), ("charge", "11.50"), ("charge", "1000.00")]
    assert ("traffic", "2026-11-01", "2026-12-01", "11.50") in billed(sub)

    # A November event arriving now is refused: its period is billed (never counted silently).
    late = events(api, ("n4", "2026-11-30T12:00:00+03:00", "100"))
    assert late[0]["status"] == "refused" and late[0]["reason"] == "timestamp: период уже начислен"  # API default: ru
    subscription_bill_due(actor=ACTOR, subscription=sub)
    assert len(posted(client=client)) == 3
