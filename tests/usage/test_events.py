"""POST /api/v1/usage/events/: per-item replies, dedupe, refusals, envelope errors, scopes, late events."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.audit.models import AuditEntry
from kopeck.subscriptions.models import BilledPeriod, Subscription
from kopeck.usage.models import UsageEvent
from tests.usage.conftest import make_subscription, post

pytestmark = pytest.mark.django_db
URL = "/api/v1/usage/events/"
TS = "2026-11-20T12:00:00+03:00"


def ev(event_id: str, **kw: Any) -> dict[str, Any]:
    return {"id": event_id, "external_id": "sub-1", "metric": "api_calls", "timestamp": TS, **kw}


def test_each_item_gets_its_result_in_order(usage_api: APIClient, sub: Subscription) -> None:
    r = post(usage_api, URL, [
        ev("e1"),
        {"id": "e2", "subscription": sub.pk, "metric": "traffic", "timestamp": "2026-11-20T09:00:00Z",
         "properties": {"gb": "12.5"}},
        ev("e1"),  # repeated in the batch
        ev("e3", metric="storage"),
        ev("e4", timestamp="2026-11-20T12:00:00"),
        {"id": "e5", "metric": "api_calls", "timestamp": TS},
        ev("e6", metric="traffic", properties={"gb": 1.5}),
        ev("e7", metric="traffic"),
        ev("e8", external_id="nobody"),
        ev("e9", metric="power"),
        ev("", colour="red"),
        "not an object",
    ])
    assert r.status_code == 200
    assert r["Content-Type"] == "application/json"
    assert r.json() == {"accepted": 2, "duplicates": 1, "refused": 9, "results": [
        {"id": "e1", "status": "accepted"},
        {"id": "e2", "status": "accepted"},
        {"id": "e1", "status": "duplicate"},
        {"id": "e3", "status": "refused",
         "reason": "metric: the subscription's plan has no metered component 'storage' fed by events "
                   "(it has: api_calls, traffic)",
         "errors": [{"field": "metric", "detail": "the subscription's plan has no metered component 'storage' "
                                                  "fed by events (it has: api_calls, traffic)"}]},
        {"id": "e4", "status": "refused",
         "reason": "timestamp: needs a UTC offset, e.g. 2026-03-01T12:00:00+03:00 or …Z",
         "errors": [{"field": "timestamp", "detail": "needs a UTC offset, e.g. 2026-03-01T12:00:00+03:00 or …Z"}]},
        {"id": "e5", "status": "refused", "reason": "subscription: give subscription (id) or external_id",
         "errors": [{"field": "subscription", "detail": "give subscription (id) or external_id"}]},
        {"id": "e6", "status": "refused",
         "reason": 'properties.gb: must be a decimal string such as "0.50", not a JSON float or boolean',
         "errors": [{"field": "properties.gb",
                     "detail": 'must be a decimal string such as "0.50", not a JSON float or boolean'}]},
        {"id": "e7", "status": "refused", "reason": "properties.gb: required by the component's sum aggregation",
         "errors": [{"field": "properties.gb", "detail": "required by the component's sum aggregation"}]},
        {"id": "e8", "status": "refused", "reason": "external_id: no subscription with external id 'nobody'",
         "errors": [{"field": "external_id", "detail": "no subscription with external id 'nobody'"}]},
        {"id": "e9", "status": "refused",
         "reason": "metric: 'power' is a meter: send its readings to /api/v1/usage/readings/",
         "errors": [{"field": "metric", "detail": "'power' is a meter: send its readings to /api/v1/usage/readings/"}]},
        {"id": "", "status": "refused",
         "reason": "colour: unknown field; expected external_id, id, metric, properties, subscription, timestamp; "
                   "id: must be a non-empty string of at most 200 characters",
         "errors": [{"field": "colour", "detail": "unknown field; expected external_id, id, metric, properties, "
                                                  "subscription, timestamp"},
                    {"field": "id", "detail": "must be a non-empty string of at most 200 characters"}]},
        {"id": None, "status": "refused", "reason": "each event must be a JSON object",
         "errors": [{"field": "", "detail": "each event must be a JSON object"}]},
    ]}
    stored = UsageEvent.objects.order_by("event_id")
    assert [(e.event_id, e.metric, e.subscription_id) for e in stored] == [("e1", "api_calls", sub.pk),
                                                                          ("e2", "traffic", sub.pk)]
    e2 = stored[1]
    assert e2.timestamp == dt.datetime(2026, 11, 20, 9, tzinfo=dt.UTC)
    assert e2.properties == {"gb": "12.5"}
    assert e2.received_at == dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)


def test_a_repeated_batch_is_all_duplicates_and_counts_once(usage_api: APIClient, sub: Subscription) -> None:
    batch = [ev(f"e{i}") for i in range(20)]
    first = post(usage_api, URL, batch).json()
    again = post(usage_api, URL, [*batch, ev("e20")]).json()
    assert (first["accepted"], first["duplicates"]) == (20, 0)
    assert (again["accepted"], again["duplicates"]) == (1, 20)
    assert [r["status"] for r in again["results"]] == ["duplicate"] * 20 + ["accepted"]
    assert UsageEvent.objects.count() == 21


def test_dedupe_is_per_subscription(usage_api: APIClient, sub: Subscription) -> None:
    make_subscription(external_id="sub-2")
    r = post(usage_api, URL, [ev("same"), ev("same", external_id="sub-2")]).json()
    assert [x["status"] for x in r["results"]] == ["accepted", "accepted"]
    assert UsageEvent.objects.filter(event_id="same").count() == 2


def test_a_refused_item_does_not_reserve_its_id(usage_api: APIClient, sub: Subscription) -> None:
    r = post(usage_api, URL, [ev("x", metric="nope"), ev("x")]).json()
    assert [x["status"] for x in r["results"]] == ["refused", "accepted"]


@pytest.mark.parametrize(("item", "field", "detail"), [
    (ev("t1", timestamp="2026-10-31T23:59:59+03:00"), "timestamp",
     "before the subscription starts (2026-10-31T21:00:00+00:00)"),
    (ev("t2", timestamp="2026-11-25T10:00:01Z"), "timestamp", "in the future"),
    (ev("t3", timestamp="yesterday"), "timestamp", "not an ISO 8601 date and time: 'yesterday'"),
    (ev("t4", subscription=1), "subscription", "give either subscription or external_id, not both"),
    (ev("t5", properties=[1]), "properties", "must be a JSON object"),
    (ev("t6", metric="traffic", properties={"gb": "lots"}), "properties.gb", "not a plain decimal such as \"1500.00\": 'lots'"),
    (ev("t7", properties={"x": "\u0000"}), "properties", "contains a NUL character or invalid Unicode"),
    (ev("i" * 201), "id", "must be a non-empty string of at most 200 characters"),
])
def test_refusals_name_the_field(usage_api: APIClient, sub: Subscription, item: dict[str, Any], field: str,
                                 detail: str) -> None:
    result = post(usage_api, URL, [item]).json()["results"][0]
    assert result["status"] == "refused"
    assert result["errors"] == [{"field": field, "detail": detail}]
    assert UsageEvent.objects.count() == 0


def test_timestamps_are_stored_in_utc_and_an_hour_ahead_is_tolerated(usage_api: APIClient,
                                                                       sub: Subscription) -> None:
    r = post(usage_api, URL, [ev("a", timestamp="2026-11-25T10:00:00Z"), ev("b", timestamp="2026-11-01T00:00:00+03:00")])
    assert r.json()["accepted"] == 2
    assert UsageEvent.objects.get(event_id="b").timestamp == dt.datetime(2026, 10, 31, 21, tzinfo=dt.UTC)


# -- late events ---------------------------------------------------------------------------------------


def test_events_of_a_billed_period_are_refused_and_others_accepted(usage_api: APIClient, clock: Any) -> None:
    sub = make_subscription(start=dt.date(2026, 10, 1))
    BilledPeriod.objects.create(subscription=sub, component="api_calls", period_start=dt.date(2026, 10, 1),
                                period_end=dt.date(2026, 11, 1), amount_minor=0, currency="RUB",
                                created_at=dt.datetime(2026, 11, 1, 1, tzinfo=dt.UTC))
    r = post(usage_api, URL, [
        ev("late", timestamp="2026-10-31T23:59:59+03:00"),       # October 31 in Moscow: billed
        ev("nov", timestamp="2026-10-31T21:00:00Z"),              # = Nov 1 00:00 in Moscow: open
        ev("traffic-oct", metric="traffic", timestamp="2026-10-15T12:00:00+03:00", properties={"gb": "1"}),
    ]).json()
    assert r["results"] == [
        {"id": "late", "status": "refused", "reason": "timestamp: period already billed",
         "errors": [{"field": "timestamp", "detail": "period already billed"}]},
        {"id": "nov", "status": "accepted"},
        {"id": "traffic-oct", "status": "accepted"},  # traffic of October is not billed yet
    ]
    assert sorted(UsageEvent.objects.values_list("event_id", flat=True)) == ["nov", "traffic-oct"]


# -- the envelope --------------------------------------------------------------------------------------


def _nothing_written(before_audit: int) -> None:
    assert UsageEvent.objects.count() == 0
    assert AuditEntry.objects.count() == before_audit


@pytest.mark.parametrize(("body", "content_type", "status", "kind", "field"), [
    (json.dumps({"events": []}), "application/json", 400, "validation-error", "body"),
    (json.dumps([{"id": str(i)} for i in range(1001)]), "application/json", 400, "validation-error", "body"),
    ("[{\"id\": ", "application/json", 400, "malformed-request", None),
    ("[{\"id\": \"a\", \"properties\": {\"x\": NaN}}]", "application/json", 400, "malformed-request", None),
    ("id=1", "application/x-www-form-urlencoded", 415, "unsupported-media-type", None),
])
def test_a_malformed_envelope_is_a_problem_and_writes_nothing(
        usage_api: APIClient, sub: Subscription, body: str, content_type: str, status: int, kind: str,
        field: str | None) -> None:
    before = AuditEntry.objects.count()
    r = usage_api.generic("POST", URL, body, content_type=content_type)
    assert r.status_code == status
    assert r["Content-Type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == f"urn:kopeck:problem:{kind}"
    assert problem["status"] == status
    if field:
        assert problem["errors"][0]["field"] == field
    _nothing_written(before)


def test_the_batch_limit_is_1000(usage_api: APIClient, sub: Subscription) -> None:
    r = post(usage_api, URL, [ev(f"e{i}") for i in range(1000)])
    assert r.status_code == 200 and r.json()["accepted"] == 1000
    assert UsageEvent.objects.count() == 1000


# -- access, audit, idempotency ------------------------------------------------------------------------


def test_usage_write_may_post_usage_read_may_not(api_as: Any, sub: Subscription) -> None:
    assert post(api_as("usage:write"), URL, [ev("w")]).status_code == 200
    r = post(api_as("usage:read"), URL, [ev("r")])
    assert r.status_code == 403 and r["Content-Type"] == "application/problem+json"
    assert post(api_as("clients:write"), URL, [ev("c")]).status_code == 403
    assert post(APIClient(), URL, [ev("n")]).status_code == 401
    assert list(UsageEvent.objects.values_list("event_id", flat=True)) == ["w"]


def test_one_audit_entry_per_batch_that_stored_something(usage_api: APIClient, sub: Subscription) -> None:
    before = AuditEntry.objects.count()
    post(usage_api, URL, [ev("a"), ev("b"), ev("a"), ev("c", metric="nope")])
    entries = list(AuditEntry.objects.order_by("-id")[: AuditEntry.objects.count() - before])
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.action, entry.object_type, entry.actor_kind) == ("usage.events_received", "usage_batch", "api_key")
    first = UsageEvent.objects.order_by("id").first()
    assert first is not None and entry.object_id == str(first.pk)
    assert {k: entry.after[k] for k in ("sent", "accepted", "duplicates", "refused")} == {
        "sent": 4, "accepted": 2, "duplicates": 1, "refused": 1}
    post(usage_api, URL, [ev("a")])  # nothing stored: no entry
    assert AuditEntry.objects.count() == before + 1


def test_idempotency_key_replays_the_first_reply(usage_api: APIClient, sub: Subscription) -> None:
    first = post(usage_api, URL, [ev("k1")], HTTP_IDEMPOTENCY_KEY="batch-1")
    again = post(usage_api, URL, [ev("k1")], HTTP_IDEMPOTENCY_KEY="batch-1")
    assert first.json()["results"] == [{"id": "k1", "status": "accepted"}]
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert UsageEvent.objects.count() == 1
