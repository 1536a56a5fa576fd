"""POST /api/v1/usage/readings/: ordering against the previous and next readings, rollover and
replacement, duplicates by id, late readings."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.subscriptions.models import BilledPeriod, Subscription
from kopeck.usage.models import MeterReading
from tests.usage.conftest import make_subscription, post

pytestmark = pytest.mark.django_db
URL = "/api/v1/usage/readings/"


def rd(reading_id: str, value: str, day: int, **kw: Any) -> dict[str, Any]:
    return {"id": reading_id, "external_id": "sub-1", "meter": "power", "value": value,
            "timestamp": f"2026-11-{day:02d}T00:00:00+03:00", **kw}


def statuses(r: Any) -> list[str]:
    return [x["status"] for x in r.json()["results"]]


def test_rollover_and_replacement_are_accepted_a_drop_is_refused(usage_api: APIClient, sub: Subscription) -> None:
    r = post(usage_api, URL, [
        rd("w1", "99870", 1), rd("w2", "99990", 5), rd("w3", "150", 10),
        rd("w3", "150", 10, kind="rollover"), rd("w4", "410", 15),
        rd("w5", "12", 20, kind="replacement", old_final="4815"),
    ])
    assert r.json()["results"] == [
        {"id": "w1", "status": "accepted"},
        {"id": "w2", "status": "accepted"},
        {"id": "w3", "status": "refused",
         "reason": "value: below the previous reading w2 (99990); mark it rollover or replacement if "
                   "the counter wrapped or the meter was replaced",
         "errors": [{"field": "value", "detail": "below the previous reading w2 (99990); mark it "
                                                 "rollover or replacement if the counter wrapped or the meter was "
                                                 "replaced"}]},
        {"id": "w3", "status": "accepted"},
        {"id": "w4", "status": "accepted"},
        {"id": "w5", "status": "accepted"},
    ]
    stored = {m.reading_id: m for m in MeterReading.objects.all()}
    assert sorted(stored) == ["w1", "w2", "w3", "w4", "w5"]
    assert (stored["w3"].kind, stored["w5"].kind, stored["w5"].old_final) == ("rollover", "replacement", 4815)


def test_a_reading_is_checked_against_stored_neighbours_on_both_sides(usage_api: APIClient,
                                                                        sub: Subscription) -> None:
    post(usage_api, URL, [rd("a", "100", 1), rd("c", "200", 20)])
    r = post(usage_api, URL, [rd("b1", "90", 10), rd("b2", "250", 10), rd("b3", "150", 10), rd("b4", "160", 20),
                              rd("z", "199", 24)])
    res = r.json()["results"]
    assert [x["status"] for x in res] == ["refused", "refused", "accepted", "refused", "refused"]
    assert res[1]["errors"] == [{"field": "value", "detail": "above the next reading c (200)"}]
    assert res[3]["errors"] == [{"field": "timestamp", "detail": "reading c of this meter has the same timestamp"}]
    assert res[4]["errors"][0]["detail"].startswith("below the previous reading c (200")


def test_repeated_ids_are_duplicates(usage_api: APIClient, sub: Subscription) -> None:
    post(usage_api, URL, [rd("a", "100", 1)])
    r = post(usage_api, URL, [rd("a", "100", 1), rd("b", "110", 2), rd("b", "110", 2)])
    assert statuses(r) == ["duplicate", "accepted", "duplicate"]
    assert r.json()["duplicates"] == 2
    assert MeterReading.objects.count() == 2


@pytest.mark.parametrize(("item", "field", "detail"), [
    (rd("x", "100000", 1), "value", "not below the meter's max_value 100000 (the dial shows 0 there)"),
    (rd("x", "5", 1, kind="rollover"), "kind", "the first reading of a meter cannot be a rollover"),
    (rd("x", "5", 1, kind="replacement"), "old_final", 'required: a decimal string such as "12345.6"'),
    (rd("x", "5", 1, old_final="3"), "old_final", "given for replacement readings only"),
    (rd("x", "-5", 1), "value", "must not be negative"),
    (rd("x", 5.5, 1), "value", 'must be a decimal string such as "0.50", not a JSON float or boolean'),
    (rd("x", "5", 1, kind="broken"), "kind", "one of normal, rollover, replacement"),
    (rd("x", "5", 1, meter="api_calls"), "meter", "'api_calls' aggregates events: send them to /api/v1/usage/events/"),
])
def test_refusals(usage_api: APIClient, sub: Subscription, item: dict[str, Any], field: str, detail: str) -> None:
    result = post(usage_api, URL, [item]).json()["results"][0]
    assert result["status"] == "refused"
    assert result["errors"] == [{"field": field, "detail": detail}]
    assert MeterReading.objects.count() == 0


def test_readings_in_a_billed_period_are_refused(usage_api: APIClient, clock: Any) -> None:
    sub = make_subscription(start=dt.date(2026, 10, 1))
    BilledPeriod.objects.create(subscription=sub, component="power", period_start=dt.date(2026, 10, 1),
                                period_end=dt.date(2026, 11, 1), amount_minor=0, currency="RUB",
                                created_at=dt.datetime(2026, 11, 1, 1, tzinfo=dt.UTC))
    r = post(usage_api, URL, [rd("oct", "10", 1, timestamp="2026-10-20T00:00:00+03:00"), rd("nov", "20", 1)])
    assert r.json()["results"][0]["errors"] == [{"field": "timestamp", "detail": "period already billed"}]
    assert statuses(r) == ["refused", "accepted"]


def test_usage_read_may_not_post_readings(api_as: Any, sub: Subscription) -> None:
    assert post(api_as("usage:read"), URL, [rd("a", "1", 1)]).status_code == 403
    assert post(api_as("usage:write"), URL, [rd("a", "1", 1)]).status_code == 200
