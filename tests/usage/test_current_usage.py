"""GET /api/v1/subscriptions/{id}/usage/: quantities and projected costs, computed by hand."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.catalog.selectors import version_plan_spec
from kopeck.core.periods import Period
from kopeck.subscriptions.models import Subscription
from kopeck.usage.selectors import current_period
from tests.usage.conftest import post

pytestmark = pytest.mark.django_db


@pytest.fixture
def usage(usage_api: APIClient, sub: Subscription) -> Subscription:
    events = [{"id": f"c{i}", "external_id": "sub-1", "metric": "api_calls",
               "timestamp": f"2026-11-{1 + i % 24:02d}T10:00:00+03:00"} for i in range(130)]
    events += [{"id": f"t{i}", "external_id": "sub-1", "metric": "traffic", "timestamp": ts, "properties": {"gb": gb}}
               for i, (ts, gb) in enumerate([("2026-11-02T10:00:00+03:00", "60"), ("2026-11-10T10:00:00+03:00", "55.5"),
                                             ("2026-11-20T10:00:00+03:00", 10)])]
    assert post(usage_api, "/api/v1/usage/events/", events).json()["accepted"] == 133
    readings = [{"id": "p0", "external_id": "sub-1", "meter": "power", "value": "100",
                 "timestamp": "2026-11-01T00:00:00+03:00"},
                {"id": "p1", "external_id": "sub-1", "meter": "power", "value": "118",
                 "timestamp": "2026-11-15T00:00:00+03:00"},
                {"id": "p2", "external_id": "sub-1", "meter": "power", "value": "130",
                 "timestamp": "2026-11-24T00:00:00+03:00"}]
    assert post(usage_api, "/api/v1/usage/readings/", readings).json()["accepted"] == 3
    return sub


def test_current_period_usage_and_projected_cost(api_as: Any, usage: Subscription) -> None:
    r = api_as("usage:read").get(f"/api/v1/subscriptions/{usage.pk}/usage/")
    assert r.status_code == 200
    body = r.json()
    # api_calls: 130 events, 100 included, 30 × 0.15 = 4.50
    # traffic: 60 + 55.5 + 10 = 125.5 GB; [0, 100) free, 25.5 × 2.50 = 63.75
    # power: 100 → 118 → 130 = 30 kWh × 20.00 = 600.00; total 668.25
    assert (body["subscription"], body["external_id"], body["period"], body["currency"], body["amount"]) == (
        usage.pk, "sub-1", {"start": "2026-11-01", "end": "2026-12-01"}, "RUB", "668.25")
    got = {c["component"]: (c["aggregation"], c["quantity"], c["events"], c["readings"], c["amount"])
           for c in body["components"]}
    assert got == {"api_calls": ("count", "130", 130, 0, "4.50"),
                   "traffic": ("sum", "125.5", 3, 0, "63.75"),
                   "power": ("meter_reading", "30", 0, 3, "600.00")}
    power = next(c for c in body["components"] if c["component"] == "power")
    assert power["charge"]["usage_explanation"]["en"] == "Meter consumption: 30 units from 3 readings (p0 → p2)"
    assert set(power["explanation"]) == {"ru", "en", "formula"}


def test_an_explicit_period(api_as: Any, usage: Subscription) -> None:
    r = api_as("usage:read").get(f"/api/v1/subscriptions/{usage.pk}/usage/?period_start=2026-11-01&period_end=2026-11-11")
    got = {c["component"]: (c["quantity"], c["amount"]) for c in r.json()["components"]}
    # api_calls: days 1–10 are i % 24 in 0..9: 5 full cycles of 24 give 50, i = 120…129 ten more; 60 ≤ 100 included
    assert got["api_calls"] == ("60", "0.00")
    assert got["traffic"] == ("115.5", "38.75")  # 60 + 55.5; 15.5 × 2.50
    assert got["power"] == ("0", "0.00")  # only the opening reading p0 in the period: nothing consumed


def test_bad_queries(api_as: Any, sub: Subscription) -> None:
    client = api_as("usage:read")
    r = client.get(f"/api/v1/subscriptions/{sub.pk}/usage/?period_start=2026-11-01")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "period_end"
    r = client.get(f"/api/v1/subscriptions/{sub.pk}/usage/?period_start=2026-11-01&period_end=2026-10-01")
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "period_end"
    assert client.get("/api/v1/subscriptions/999999/usage/").status_code == 404
    assert api_as("clients:read").get(f"/api/v1/subscriptions/{sub.pk}/usage/").status_code == 403


def test_current_period_follows_the_anchor(sub: Subscription) -> None:
    spec = version_plan_spec(sub.plan_version)
    assert current_period(sub, spec, dt.date(2027, 1, 31)) == Period(dt.date(2027, 1, 1), dt.date(2027, 2, 1))
    sub.start_date, sub.anchor_kind, sub.billing_day = dt.date(2026, 11, 10), "calendar", 1
    assert current_period(sub, spec, dt.date(2026, 11, 20)) == Period(dt.date(2026, 11, 10), dt.date(2026, 12, 1))
    assert current_period(sub, spec, dt.date(2026, 12, 5)) == Period(dt.date(2026, 12, 1), dt.date(2027, 1, 1))
    sub.anchor_kind = "anniversary"
    assert current_period(sub, spec, dt.date(2026, 12, 5)) == Period(dt.date(2026, 11, 10), dt.date(2026, 12, 10))


def test_the_current_period_of_a_quarterly_plan_whose_billing_day_moved(api_as: Any, sub: Subscription,
                                                                       clock: Any) -> None:
    # quarterly from 2026-11-01; on 2027-01-10 the billing day moved to the 15th: the bridge
    # 2027-01-10 – 01-14, then quarters from 2027-01-15 (the cycle's origin is the day of the move)
    version = sub.plan_version
    version.spec = {**version.spec, "billing_period": {"unit": "month", "count": 3}}
    version.save()
    sub.anchor_kind, sub.billing_day = "calendar", 15
    sub.cycle_origin = sub.billing_from = dt.date(2027, 1, 10)
    sub.save()
    clock.set(dt.datetime(2027, 1, 20, 9, tzinfo=dt.UTC))
    r = api_as("usage:read").get(f"/api/v1/subscriptions/{sub.pk}/usage/")
    assert r.status_code == 200
    assert r.json()["period"] == {"start": "2027-01-15", "end": "2027-04-15"}
    clock.set(dt.datetime(2027, 1, 12, 9, tzinfo=dt.UTC))
    assert api_as("usage:read").get(f"/api/v1/subscriptions/{sub.pk}/usage/").json()["period"] == {
        "start": "2027-01-10", "end": "2027-01-15"}
