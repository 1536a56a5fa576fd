"""Tests for the audit log API (/api/v1/audit/) and its writer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.audit.models import AuditEntry
from kopeck.audit.selectors import audit_entries
from kopeck.audit.services import audit_record
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from tests.conftest import START

BODY: dict[str, Any] = {
    "type": "legal",
    "name": "ООО «Ромашка»",
    "fields": {"full_name": "ООО «Ромашка»", "inn": "7707083893"},
    "tags": ["vip"],
}


@pytest.mark.django_db
def test_audit_lists_the_entries_of_a_client_create_and_update(api: APIClient, clock: FixedClock) -> None:
    client_id = api.post("/api/v1/clients/", BODY, format="json").json()["id"]
    clock.set(clock.now().replace(hour=10))
    assert api.patch(f"/api/v1/clients/{client_id}/", {"status": "blocked"}, format="json").status_code == 200
    other_id = api.post("/api/v1/clients/", {**BODY, "name": "Другой"}, format="json").json()["id"]

    response = api.get("/api/v1/audit/", {"object_type": "client", "object_id": client_id})
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (2, None, None)
    update, create = body["results"]
    key_label = create["actor_label"]
    assert key_label.startswith("test (")
    assert create == {
        "id": create["id"], "at": "2026-11-25T12:00:00+03:00", "actor_kind": "api_key",
        "actor_id": create["actor_id"], "actor_label": key_label, "action": "client.create",
        "object_type": "client", "object_id": str(client_id), "before": None,
        "after": {"type": "legal", "name": "ООО «Ромашка»", "external_id": None, "status": "active",
                  "currency": "RUB", "fields": BODY["fields"], "tags": ["vip"], "contacts": []},
    }
    assert update == {
        "id": update["id"], "at": "2026-11-25T13:00:00+03:00", "actor_kind": "api_key",
        "actor_id": create["actor_id"], "actor_label": key_label, "action": "client.update",
        "object_type": "client", "object_id": str(client_id),
        "before": create["after"], "after": {**create["after"], "status": "blocked"},
    }
    assert update["id"] > create["id"]

    by_type = api.get("/api/v1/audit/", {"object_type": "client"}).json()
    assert by_type["count"] == 3
    assert [(e["action"], e["object_id"]) for e in by_type["results"]] == [
        ("client.create", str(other_id)), ("client.update", str(client_id)), ("client.create", str(client_id))]

    everything = api.get("/api/v1/audit/").json()
    assert {e["object_type"] for e in everything["results"]} == {"client", "api_key"}


@pytest.mark.django_db
def test_audit_filter_by_unknown_object_is_empty(api: APIClient) -> None:
    body = api.get("/api/v1/audit/", {"object_type": "client", "object_id": "999999"}).json()
    assert (body["count"], body["results"]) == (0, [])


@pytest.mark.django_db
def test_audit_is_read_only_and_needs_the_audit_scope(api_as: Callable[..., APIClient]) -> None:
    assert api_as("audit:read").get("/api/v1/audit/").status_code == 200
    response = api_as("clients:write").get("/api/v1/audit/")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    writer = api_as("audit:write")
    count = AuditEntry.objects.count()
    response = writer.post("/api/v1/audit/", {"action": "x"}, format="json")
    assert response.status_code == 405
    assert response["Content-Type"] == "application/problem+json"
    assert AuditEntry.objects.count() == count


@pytest.mark.django_db
def test_audit_record_and_selector(clock: FixedClock) -> None:
    actor = Actor.system("nightly")
    first = audit_record(actor=actor, action="thing.create", object_type="thing", object_id=7, after={"n": 1})
    second = audit_record(actor=actor, action="thing.update", object_type="thing", object_id=7,
                          before={"n": 1}, after={"n": 2, "at": START})
    audit_record(actor=actor, action="thing.create", object_type="thing", object_id=8)
    assert list(audit_entries(object_type="thing", object_id=7)) == [second, first]
    second.refresh_from_db()
    assert (second.at, second.actor_kind, second.actor_id, second.actor_label) == (START, "system", "", "nightly")
    assert second.object_id == "7"
    assert second.after == {"n": 2, "at": "2026-11-25T09:00:00Z"}
    assert audit_entries(object_type="thing").count() == 3
