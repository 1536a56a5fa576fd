"""Findings 1 and 4 of issue 12: usage values are checked per metric at intake (sign, magnitude,
precision); a bad timestamp refuses its item only; whatever is stored, one metered line that cannot
be rated never stops a subscription's other charges."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.billing.models import RunItem
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.ledger.models import JournalTransaction
from kopeck.subscriptions.models import BilledPeriod, Subscription
from kopeck.subscriptions.services import subscription_bill_due
from kopeck.usage.models import UsageEvent
from tests.usage.conftest import make_subscription, post

pytestmark = pytest.mark.django_db
URL = "/api/v1/usage/events/"


def traffic(event_id: str, gb: Any, ts: str = "2026-11-20T12:00:00+03:00") -> dict[str, Any]:
    return {"id": event_id, "external_id": "sub-1", "metric": "traffic", "timestamp": ts, "properties": {"gb": gb}}


@pytest.mark.parametrize(("gb", "detail"), [
    ("-99999999", "must not be negative"),
    ("-0.5", "must not be negative"),
    (-3, "must not be negative"),
    ("1000000000000", "too large: at most 12 digits before the point"),
    ("0.0000001", "at most 6 digits after the point"),
    ("1e3", 'not a plain decimal such as "1500.00": \'1e3\''),
    ("+5", 'not a plain decimal such as "1500.00": \'+5\''),
    ("٥", 'not a plain decimal such as "1500.00": \'٥\''),
])
def test_a_usage_value_outside_the_metric_rules_is_refused_and_the_rest_stored(
        usage_api: APIClient, sub: Subscription, gb: Any, detail: str) -> None:
    r = post(usage_api, URL, [traffic("good-1", "12.5"), traffic("bad", gb), traffic("good-2", "999999999999.5")])
    assert r.status_code == 200
    assert r.json()["results"] == [
        {"id": "good-1", "status": "accepted"},
        {"id": "bad", "status": "refused", "reason": f"properties.gb: {detail}",
         "errors": [{"field": "properties.gb", "detail": detail}]},
        {"id": "good-2", "status": "accepted"},
    ]
    assert sorted(UsageEvent.objects.values_list("event_id", flat=True)) == ["good-1", "good-2"]


@pytest.mark.parametrize("bad_ts", ["0001-01-01T00:00:00+05:00", "9999-12-31T23:00:00-05:00",
                                    "1899-12-31T23:59:59Z", "3000-01-01T00:00:00Z"])
def test_one_bad_timestamp_refuses_its_item_only(usage_api: APIClient, sub: Subscription, bad_ts: str) -> None:
    items = [{"id": f"e{i}", "external_id": "sub-1", "metric": "api_calls",
              "timestamp": "2026-11-20T12:00:00+03:00"} for i in range(1000)]
    items[17]["timestamp"] = bad_ts
    items[500]["timestamp"] = bad_ts
    r = post(usage_api, URL, items, HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["accepted"], body["refused"]) == (998, 2)
    assert body["results"][17] == {"id": "e17", "status": "refused",
                                   "reason": "timestamp: Dates from 1900-01-01 to 2999-12-31 are supported.",
                                   "errors": [{"field": "timestamp",
                                               "detail": "Dates from 1900-01-01 to 2999-12-31 are supported."}]}
    assert UsageEvent.objects.count() == 998
    assert not UsageEvent.objects.filter(event_id__in=["e17", "e500"]).exists()


def stored_bad_event(sub: Subscription) -> None:
    """An event that no intake accepts today, as an older version (or a direct write) could have stored."""
    UsageEvent.objects.create(subscription=sub, event_id="legacy", metric="traffic",
                              timestamp=dt.datetime(2026, 11, 10, tzinfo=dt.UTC), properties={"gb": "-99999999"},
                              received_at=dt.datetime(2026, 11, 10, tzinfo=dt.UTC))
    UsageEvent.objects.create(subscription=sub, event_id="calls", metric="api_calls",
                              timestamp=dt.datetime(2026, 11, 10, tzinfo=dt.UTC), properties={},
                              received_at=dt.datetime(2026, 11, 10, tzinfo=dt.UTC))


def test_a_stored_bad_event_holds_its_line_only(clock: FixedClock, sub: Subscription) -> None:
    stored_bad_event(sub)
    clock.set(dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC))
    result = subscription_bill_due(actor=Actor.system("tests"), subscription=sub, on=dt.date(2026, 12, 1))
    charged = sorted((i["component"], i["period"]["start"]) for i in result.items)
    # the fixed fee of November and December and the API calls of November are charged …
    assert charged == [("api_calls", "2026-11-01"), ("base", "2026-11-01"), ("base", "2026-12-01"),
                       ("power", "2026-11-01")]
    # … the traffic of November is held, visibly, and stays due
    assert [(h["component"], h["period"]["start"]) for h in result.held] == [("traffic", "2026-11-01")]
    assert "must not be negative" in result.held[0]["reason"] or "negative" in result.held[0]["reason"]
    assert not BilledPeriod.objects.filter(subscription=sub, component="traffic").exists()
    assert JournalTransaction.objects.filter(client=sub.client).count() == 2  # the two fees (usage lines are 0)


def test_a_billing_run_charges_the_rest_and_names_the_held_line(clock: FixedClock, sub: Subscription,
                                                                 api: APIClient) -> None:
    make_subscription(external_id="sub-2")  # a healthy neighbour
    stored_bad_event(sub)
    clock.set(dt.datetime(2026, 12, 2, 9, 0, tzinfo=dt.UTC))
    r = api.post("/api/v1/billing-runs/", {"billing_date": "2026-12-01", "mode": "auto"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["status"] == "completed"
    item = RunItem.objects.get(subscription=sub)
    assert item.status == "ok"
    assert sorted(ln["component"] for ln in item.items) == ["api_calls", "base", "base", "power"]
    assert item.error.startswith("Held, not charged: traffic 2026-11-01–2026-12-01: ")
    assert JournalTransaction.objects.filter(client=sub.client).count() == 2  # the two fees (usage lines are 0)
