"""A meter that rolled over: once the rollover reading is the opening reading of a later period,
that period is billed and shown from its value (defect 3 of issue 11: the bill endpoint answered
500, the usage endpoint 400, runs recorded an error)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.billing.models import RunItem, RunMode
from kopeck.billing.services import billing_run_create, billing_run_execute
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.subscriptions.models import Subscription
from tests.usage.conftest import post

pytestmark = pytest.mark.django_db


def _on(clock: FixedClock, day: dt.date) -> None:
    clock.set(dt.datetime(day.year, day.month, day.day, 9, tzinfo=dt.UTC))


@pytest.fixture
def rolled(usage_api: APIClient, sub: Subscription, clock: FixedClock) -> Subscription:
    # power meter of 5 digits (max_value 100000): 99 990 on 1 November, rolled over to 20 on the
    # 20th, 50 on 10 December
    _on(clock, dt.date(2026, 12, 10))
    readings = [{"id": "p0", "external_id": "sub-1", "meter": "power", "value": "99990",
                 "timestamp": "2026-11-01T00:00:00+03:00"},
                {"id": "p1", "external_id": "sub-1", "meter": "power", "value": "20", "kind": "rollover",
                 "timestamp": "2026-11-20T00:00:00+03:00"},
                {"id": "p2", "external_id": "sub-1", "meter": "power", "value": "50",
                 "timestamp": "2026-12-10T00:00:00+03:00"}]
    assert post(usage_api, "/api/v1/usage/readings/", readings).json()["accepted"] == 3
    return sub


def _power(items: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(i["period"]["start"], i["amount"]) for i in items if i["component"] == "power"]


def test_the_period_after_a_rollover_is_shown_and_billed(api_as: Any, rolled: Subscription,
                                                          clock: FixedClock) -> None:
    api = api_as("usage:read", "subscriptions:write", "subscriptions:read")
    _on(clock, dt.date(2026, 12, 15))
    r = api.get(f"/api/v1/subscriptions/{rolled.pk}/usage/")
    assert r.status_code == 200, r.content
    power = next(c for c in r.json()["components"] if c["component"] == "power")
    assert (power["quantity"], power["amount"]) == ("30", "600.00")  # 50 − 20 = 30 kWh × 20.00
    _on(clock, dt.date(2027, 1, 1))
    r = api.post(f"/api/v1/subscriptions/{rolled.pk}/bill/", {}, format="json")
    assert r.status_code == 200, r.content
    # November: (100000 − 99990) + 20 = 30 kWh; December: 50 − 20 = 30 kWh; 600.00 each
    assert _power(r.json()["items"]) == [("2026-11-01", "600.00"), ("2026-12-01", "600.00")]


def test_a_run_bills_the_period_after_a_rollover(rolled: Subscription, clock: FixedClock, actor: Actor) -> None:
    _on(clock, dt.date(2027, 1, 1))
    run = billing_run_execute(actor=actor, run=billing_run_create(actor=actor, billing_date=dt.date(2027, 1, 1),
                                                                  mode=RunMode.AUTO))
    assert run.summary["errors"] == 0
    item = RunItem.objects.get(run=run)
    assert (item.error, _power(item.items)) == ("", [("2026-11-01", "600.00"), ("2026-12-01", "600.00")])
