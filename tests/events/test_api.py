"""The event log and the catalog over the API, and the catalog in the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.events.catalog import EVENT_TYPES
from kopeck.events.models import PendingEvent
from tests.events.conftest import client_data, record

pytestmark = pytest.mark.django_db


def test_the_event_log_with_filters(api: APIClient) -> None:
    a = record(client_id=1)
    b = record(client_id=2, data=client_data(2))
    c = record("client.changed", client_id=1, data={**client_data(1), "changed": ["name"]})
    body = api.get("/api/v1/events/").json()
    assert [e["id"] for e in body["results"]] == [c.pk, b.pk, a.pk]
    first = body["results"][2]
    assert first == {"id": a.pk, "uid": f"evt_{a.uid.hex}", "type": "client.created", "version": 1,
                     "timestamp": a.occurred_at.isoformat().replace("+00:00", "Z"), "client_id": 1, "sequence": 1,
                     "subject": {"type": "client", "id": 1}, "data": client_data(1)}
    assert [e["id"] for e in api.get("/api/v1/events/?client=1").json()["results"]] == [c.pk, a.pk]
    assert [e["id"] for e in api.get("/api/v1/events/?type=client.changed").json()["results"]] == [c.pk]
    assert [e["id"] for e in api.get("/api/v1/events/?type=client.*").json()["results"]] == [c.pk, b.pk, a.pk]
    assert [e["sequence"] for e in api.get("/api/v1/events/?client=1&after_sequence=0").json()["results"]] == [1, 2]
    assert [e["id"] for e in api.get(f"/api/v1/events/?after_id={a.pk}").json()["results"]] == [b.pk, c.pk]
    detail = api.get(f"/api/v1/events/{a.pk}/").json()
    assert (detail["actor"], detail["depth"], detail["processing"]) == ("system:tests", 0, "pending")


@pytest.mark.parametrize(("query", "field"), [
    ("type=client.exploded", "type"), ("client=x", "client"), ("after_sequence=3", "after_sequence"),
    ("since=yesterday", "since"), ("until=", "until"), ("client=", "client"),
])
def test_bad_filters_are_refused(api: APIClient, query: str, field: str) -> None:
    response = api.get(f"/api/v1/events/?{query}")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]


def test_a_failed_event_can_be_processed_again(api: APIClient) -> None:
    event = record()
    assert api.post(f"/api/v1/events/{event.pk}/process-again/").status_code == 409
    PendingEvent.objects.filter(event_id=event.pk).update(failed=True, attempts=10, error="RuntimeError: down")
    assert api.get(f"/api/v1/events/{event.pk}/").json()["processing"] == "failed"
    response = api.post(f"/api/v1/events/{event.pk}/process-again/")
    assert response.status_code == 200
    assert (response.json()["processing"], response.json()["processing_error"]) == ("pending", "RuntimeError: down")
    assert list(PendingEvent.objects.values_list("event_id", "attempts", "failed", "after")) == [
        (event.pk, 0, False, None)]


def test_reading_events_needs_the_events_area(api_as: Callable[..., APIClient]) -> None:
    assert api_as("clients:read").get("/api/v1/events/").status_code == 403
    assert api_as("events:read").get("/api/v1/events/").status_code == 200
    event = record()
    PendingEvent.objects.filter(event_id=event.pk).update(failed=True, attempts=10)
    assert api_as("events:read").post(f"/api/v1/events/{event.pk}/process-again/").status_code == 403
    assert list(PendingEvent.objects.values_list("attempts", "failed")) == [(10, True)]


def test_the_catalog(api: APIClient) -> None:
    body = api.get("/api/v1/event-types/").json()
    assert [t["name"] for t in body] == [t.name for t in EVENT_TYPES]
    one = api.get("/api/v1/event-types/payment.received/").json()
    assert one["version"] == 1
    assert one["subject"] == "payment"
    assert one["schema"]["properties"]["payment"]["required"] == ["id", "amount", "currency", "date", "method",
                                                                  "status"]
    assert api.get("/api/v1/event-types/payment.lost/").status_code == 404


def test_the_catalog_is_in_the_openapi_document(api: APIClient) -> None:
    schema: dict[str, Any] = api.get("/api/schema/?format=json").json()
    hooks = schema["x-webhooks"]
    assert sorted(hooks) == sorted(t.name for t in EVENT_TYPES)
    post = hooks["subscription.cancelled"]["post"]
    assert [p["name"] for p in post["parameters"]] == ["webhook-id", "webhook-timestamp", "webhook-signature"]
    ref = post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert ref == "#/components/schemas/SubscriptionCancelledEvent"
    component = schema["components"]["schemas"]["SubscriptionCancelledEvent"]
    assert component["properties"]["type"]["enum"] == ["subscription.cancelled"]
    data = component["properties"]["data"]
    assert data["required"] == ["subscription", "effective_date", "at_period_end"]
    end_date = data["properties"]["subscription"]["properties"]["end_date"]
    assert end_date == {"type": "string", "format": "date", "nullable": True}
    assert len(schema["components"]["schemas"]["EventEnvelope"]["oneOf"]) == len(EVENT_TYPES)
