"""Webhook endpoints and deliveries over the API."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from kopeck.events.services import events_dispatch_all
from kopeck.webhooks.models import Delivery, DeliveryStatus, Endpoint
from kopeck.webhooks.services import webhooks_deliver_all
from tests.rules.conftest import make_client
from tests.webhooks.receiver import Receiver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]


def test_endpoints_deliveries_and_redelivery(api: APIClient, receiver: Receiver, clock: object) -> None:
    created = api.post("/api/v1/webhook-endpoints/", {"url": receiver.url, "event_types": ["client.*"]},
                       format="json")
    assert created.status_code == 201, created.json()
    endpoint = created.json()
    assert endpoint["secret"].startswith("whsec_")
    assert api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/secret/").json() == {"secret": endpoint["secret"]}
    make_client()
    events_dispatch_all()
    webhooks_deliver_all()
    [delivery] = api.get(f"/api/v1/webhook-deliveries/?endpoint={endpoint['id']}").json()["results"]
    assert delivery["status"] == "delivered"
    detail = api.get(f"/api/v1/webhook-deliveries/{delivery['id']}/").json()
    assert [(a["ok"], a["status_code"]) for a in detail["attempt_log"]] == [(True, 200)]
    assert api.post(f"/api/v1/webhook-deliveries/{delivery['id']}/redeliver/").json() == {"redelivered": 1}
    assert Delivery.objects.get().status == DeliveryStatus.PENDING
    many = api.post("/api/v1/webhook-deliveries/redeliver/", {"endpoint": endpoint["id"], "status": "pending"},
                    format="json")
    assert many.json() == {"redelivered": 1}
    rotated = api.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/rotate-secret/", {}, format="json").json()
    assert rotated["secret"] != endpoint["secret"]
    off = api.patch(f"/api/v1/webhook-endpoints/{endpoint['id']}/", {"is_enabled": False}, format="json").json()
    assert off["is_enabled"] is False
    assert api.delete(f"/api/v1/webhook-endpoints/{endpoint['id']}/").status_code == 409


def test_an_internal_url_is_refused(api: APIClient, settings: object) -> None:
    settings.KOPECK_WEBHOOK_ALLOWED_NETWORKS = []  # type: ignore[attr-defined]
    response = api.post("/api/v1/webhook-endpoints/", {"url": "http://127.0.0.1:8000/admin/"}, format="json",
                        HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "url"
    assert "loopback" in response.json()["errors"][0]["detail"]
    assert Endpoint.objects.count() == 0


@pytest.mark.parametrize("status", ["", "lost"])
def test_a_delivery_status_filter_outside_the_enum_is_refused(api: APIClient, status: str) -> None:
    """Schemathesis: an empty ``status`` was taken as no filter."""
    response = api.get(f"/api/v1/webhook-deliveries/?status={status}")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == ["status"]
