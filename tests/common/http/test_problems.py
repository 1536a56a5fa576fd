"""Every kind of bad input to the API answers 4xx problem+json and writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.audit.models import AuditEntry
from kopeck.clients.models import Client
from kopeck.common.models import IdempotencyRecord
from kopeck.configuration.selectors import billing_settings
from kopeck.core.clock import FixedClock
from kopeck.ledger.models import JournalTransaction, Posting
from kopeck.operators.models import ApiKey
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def snapshot() -> tuple[int, ...]:
    return (Client.objects.count(), JournalTransaction.objects.count(), Posting.objects.count(),
            AuditEntry.objects.count(), ApiKey.objects.count(), IdempotencyRecord.objects.count())


def assert_problem(r: Any, status: int, type_: str) -> dict[str, Any]:
    assert r.status_code == status, r.content
    assert r["Content-Type"] == "application/problem+json"
    body = r.json()
    assert body["status"] == status and body["type"] == f"urn:kopeck:problem:{type_}"
    assert body["title"] and body["detail"]
    return body


@pytest.mark.parametrize("target", ["operations", "settings"])
def test_malformed_json(api: APIClient, clock: FixedClock, target: str) -> None:
    client = ClientFactory()
    before = snapshot()
    if target == "operations":
        r = api.post(f"/api/v1/clients/{client.pk}/operations/", data='{"operation": "payment", "amount": ',
                     content_type="application/json", HTTP_IDEMPOTENCY_KEY="m1")
    else:
        r = api.patch("/api/v1/settings/billing/", data='{"time_zone": ', content_type="application/json")
    assert_problem(r, 400, "malformed-request")
    assert snapshot() == before


def test_wrong_content_type(api: APIClient, clock: FixedClock) -> None:
    client = ClientFactory()
    before = snapshot()
    r = api.post(f"/api/v1/clients/{client.pk}/operations/", data="operation=payment", content_type="text/plain")
    body = assert_problem(r, 415, "unsupported-media-type")
    assert "{" not in body["title"]
    assert snapshot() == before


def test_method_not_allowed(api: APIClient, clock: FixedClock) -> None:
    client = ClientFactory()
    before = snapshot()
    assert_problem(api.delete(f"/api/v1/clients/{client.pk}/"), 405, "method-not-allowed")
    assert_problem(api.put("/api/v1/transactions/1/", {}, format="json"), 405, "method-not-allowed")
    assert snapshot() == before


def test_json_of_the_wrong_shape(api: APIClient, clock: FixedClock) -> None:
    client = ClientFactory()
    before = snapshot()
    for body in ([], "text", {"operation": ["payment"], "amount": {"x": 1}, "reason": None}):
        r = api.post(f"/api/v1/clients/{client.pk}/operations/", body, format="json")
        assert_problem(r, 400, "validation-error")
    r = api.patch("/api/v1/settings/billing/", {"time_zone": "Mars/Olympus", "vat_regime": "flat"}, format="json")
    body = assert_problem(r, 400, "validation-error")
    assert {e["field"] for e in body["errors"]} == {"time_zone", "vat_regime"} or {
        e["field"] for e in body["errors"]} == {"vat_regime"}
    assert billing_settings().time_zone == "Europe/Moscow"
    assert snapshot() == before


def test_non_numeric_and_unknown_ids(api: APIClient, clock: FixedClock) -> None:
    before = snapshot()
    for url in ("/api/v1/transactions/abc/", "/api/v1/transactions/999/", "/api/v1/clients/x/balance/",
                "/api/v1/clients/999/statement/?date_from=2026-01-01&date_to=2026-01-02"):
        assert_problem(api.get(url), 404, "not-found")
    assert_problem(api.post("/api/v1/transactions/999/reverse/", {"reason": "x"}, format="json"), 404, "not-found")
    assert snapshot() == before


def test_a_conflict_is_409(api: APIClient, clock: FixedClock) -> None:
    client = ClientFactory()
    txn = api.post(f"/api/v1/clients/{client.pk}/operations/", {"operation": "payment", "amount": "1",
                                                               "reason": "x"}, format="json").json()
    api.post(f"/api/v1/transactions/{txn['id']}/reverse/", {"reason": "x"}, format="json")
    before = snapshot()
    assert_problem(api.post(f"/api/v1/transactions/{txn['id']}/reverse/", {"reason": "x"}, format="json"), 409,
                   "conflict")
    assert snapshot() == before
