"""Usage thresholds: usage.threshold_exceeded recorded at intake when a batch takes the period's usage
above a threshold — once per threshold and period, with the batch or not at all."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.audit.models import AuditEntry
from kopeck.events.models import Event
from kopeck.subscriptions.models import Subscription
from kopeck.usage.models import UsageThreshold
from kopeck.usage.services import usage_threshold_create
from tests.usage.conftest import make_subscription, post

pytestmark = pytest.mark.django_db
EVENTS = "/api/v1/usage/events/"
READINGS = "/api/v1/usage/readings/"
THRESHOLDS = "/api/v1/usage/thresholds/"


def calls(*ids: str, day: str = "2026-11-20") -> list[dict[str, Any]]:
    return [{"id": i, "external_id": "sub-1", "metric": "api_calls", "timestamp": f"{day}T12:00:00+03:00"}
            for i in ids]


def exceeded() -> list[dict[str, Any]]:
    return list(Event.objects.filter(type="usage.threshold_exceeded").order_by("id").values(
        "client_id", "subject_id", "data", "dedupe_key"))


def test_crossing_a_threshold_records_the_event_once_per_period(usage_api: APIClient, sub: Subscription,
                                                               clock: Any) -> None:
    r = post(usage_api, THRESHOLDS, {"subscription": sub.pk, "metric": "api_calls", "amount": "2"})
    assert r.status_code == 201, r.json()
    threshold = UsageThreshold.objects.get()
    assert r.json() == {"id": threshold.pk, "subscription": sub.pk, "metric": "api_calls", "amount": "2",
                        "created_at": "2026-11-25T12:00:00+03:00"}
    post(usage_api, EVENTS, calls("e1", "e2"))
    assert exceeded() == []  # 2 is not above 2
    post(usage_api, EVENTS, calls("e2", "e3"))  # e2 a duplicate: the quantity is 3
    found = exceeded()
    assert len(found) == 1
    assert found[0]["client_id"] == sub.client_id and found[0]["subject_id"] == sub.pk
    data = found[0]["data"]
    assert data["subscription"]["id"] == sub.pk
    assert {k: v for k, v in data.items() if k != "subscription"} == {
        "component": "api_calls", "threshold": "2", "quantity": "3", "period_start": "2026-11-01",
        "period_end": "2026-12-01"}
    assert found[0]["dedupe_key"] == f"usage-threshold:{threshold.pk}:2026-11-01"
    post(usage_api, EVENTS, calls("e4", "e5"))
    assert len(exceeded()) == 1  # once per period
    clock.set(dt.datetime(2026, 12, 5, 9, tzinfo=dt.UTC))  # the next period starts afresh
    post(usage_api, EVENTS, calls("d1", "d2", day="2026-12-03"))
    assert len(exceeded()) == 1
    post(usage_api, EVENTS, calls("d3", day="2026-12-04"))
    found = exceeded()
    assert len(found) == 2
    assert (found[1]["data"]["quantity"], found[1]["data"]["period_start"]) == ("3", "2026-12-01")


def test_every_threshold_crossed_gets_its_event_and_other_components_none(usage_api: APIClient, sub: Subscription,
                                                                         clock: Any, actor: Any) -> None:
    for amount in ("1", "2.5", "10"):
        usage_threshold_create(actor=actor, subscription=sub, metric="api_calls", amount=amount)
    usage_threshold_create(actor=actor, subscription=sub, metric="traffic", amount="1")
    post(usage_api, EVENTS, calls("e1", "e2", "e3"))
    assert sorted(e["data"]["threshold"] for e in exceeded()) == ["1", "2.5"]
    other = make_subscription(external_id="sub-2")  # another subscription's usage crosses nothing
    post(usage_api, EVENTS, [{**c, "external_id": "sub-2"} for c in calls("x1", "x2", "x3", "x4")])
    assert all(e["subject_id"] == sub.pk for e in exceeded())
    assert other.pk != sub.pk


def test_a_meter_crossing_its_threshold(usage_api: APIClient, sub: Subscription, clock: Any, actor: Any) -> None:
    usage_threshold_create(actor=actor, subscription=sub, metric="power", amount="50")

    def reading(rid: str, value: str, day: int) -> dict[str, Any]:
        return {"id": rid, "external_id": "sub-1", "meter": "power", "value": value,
                "timestamp": f"2026-11-{day:02d}T10:00:00+03:00"}

    post(usage_api, READINGS, [reading("r1", "100", 2), reading("r2", "140", 10)])
    assert exceeded() == []
    post(usage_api, READINGS, [reading("r3", "151", 15)])
    [found] = exceeded()
    assert (found["data"]["component"], found["data"]["quantity"]) == ("power", "51")


def test_a_refused_batch_records_nothing(usage_api: APIClient, sub: Subscription, clock: Any, actor: Any) -> None:
    usage_threshold_create(actor=actor, subscription=sub, metric="api_calls", amount="0.5")
    r = post(usage_api, EVENTS, [{"id": "e1", "external_id": "sub-1", "metric": "api_calls",
                                  "timestamp": "2026-11-20T12:00:00"}])  # no UTC offset: refused
    assert r.json()["refused"] == 1
    assert exceeded() == []


@pytest.mark.parametrize(("body", "field"), [
    ({"metric": "base", "amount": "1"}, "metric"),  # a fixed component
    ({"metric": "storage", "amount": "1"}, "metric"),
    ({"metric": "api_calls", "amount": "0"}, "amount"),
    ({"metric": "api_calls", "amount": "-3"}, "amount"),
    ({"metric": "api_calls", "amount": "lots"}, "amount"),
    ({"metric": "api_calls", "amount": "NaN"}, "amount"),
    ({"metric": "api_calls", "amount": "1.0000000000001"}, "amount"),
])
def test_a_bad_threshold_is_refused_and_nothing_written(usage_api: APIClient, sub: Subscription, clock: Any,
                                                       body: dict[str, Any], field: str) -> None:
    r = post(usage_api, THRESHOLDS, {"subscription": sub.pk, **body})
    assert r.status_code == 400, r.json()
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert not UsageThreshold.objects.exists()
    assert not AuditEntry.objects.filter(action__startswith="usage_threshold").exists()


def test_thresholds_listed_refused_twice_and_deleted(usage_api: APIClient, sub: Subscription, clock: Any) -> None:
    created = post(usage_api, THRESHOLDS, {"subscription": sub.pk, "metric": "traffic", "amount": "100"}).json()
    again = post(usage_api, THRESHOLDS, {"subscription": sub.pk, "metric": "traffic", "amount": "100.0"})
    assert again.status_code == 409
    assert usage_api.get(THRESHOLDS, {"subscription": sub.pk}).json()["results"] == [created]
    assert usage_api.get(THRESHOLDS, {"subscription": sub.pk + 1000}).json()["results"] == []
    assert post(usage_api, THRESHOLDS, {"subscription": 999999, "metric": "traffic", "amount": "1"}).status_code == 400
    assert usage_api.delete(f"{THRESHOLDS}{created['id']}/").status_code == 204
    assert not UsageThreshold.objects.exists()
    assert list(AuditEntry.objects.filter(action__startswith="usage_threshold").values_list("action", flat=True)
                .order_by("id")) == ["usage_threshold.create", "usage_threshold.delete"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_concurrent_batches_cannot_both_miss_the_crossing(actor: Any) -> None:
    """Two batches that each stay under the threshold but cross it together, stored at the same time:
    the second waits for the first's lock on the thresholds and counts its usage — one event."""
    import threading

    from django.db import connections

    from kopeck.common import clock as clock_mod
    from kopeck.core.clock import FixedClock
    from kopeck.usage.services import usage_events_ingest

    fixed = FixedClock(dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC))
    with clock_mod.use_clock(fixed):
        sub = make_subscription()
        usage_threshold_create(actor=actor, subscription=sub, metric="api_calls", amount="5")
        barrier = threading.Barrier(2)
        errors: list[BaseException] = []

        def send(prefix: str) -> None:
            try:
                with clock_mod.use_clock(fixed):
                    barrier.wait(10)
                    usage_events_ingest(actor=actor, items=calls(*(f"{prefix}{i}" for i in range(3))))
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                connections.close_all()

        threads = [threading.Thread(target=send, args=(p,)) for p in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
        found = exceeded()
        assert len(found) == 1
        assert found[0]["data"]["quantity"] == "6"


def test_odd_ids_are_answered_not_crashed(usage_api: APIClient, sub: Subscription, clock: Any) -> None:
    assert usage_api.delete(f"{THRESHOLDS}abc/").status_code == 404
    assert usage_api.get(f"{THRESHOLDS}abc/").status_code == 404
    assert usage_api.get(f"{THRESHOLDS}99999999999999999999999/").status_code == 404
    assert usage_api.get(THRESHOLDS, {"subscription": "x"}).status_code == 400
    assert usage_api.get(THRESHOLDS, {"subscription": "99999999999999999999999"}).status_code == 400
    r = post(usage_api, THRESHOLDS, {"subscription": 99999999999999999999999, "metric": "api_calls", "amount": "1"})
    assert r.status_code == 400
    r = post(usage_api, THRESHOLDS, {"subscription": sub.pk, "metric": "api_calls", "amount": "1e999999"})
    assert r.status_code == 400
