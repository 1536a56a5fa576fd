"""Rules over the API: CRUD, the test (no side effects), the execution log."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from kopeck.clients.services import client_update
from kopeck.events.models import Event
from kopeck.events.services import events_dispatch_all
from kopeck.rules.models import Rule, RuleExecution
from tests.rules.conftest import ACTOR, make_client

pytestmark = pytest.mark.django_db

RULE = {"name": "VIP", "triggers": ["client.changed"], "condition": '"vip" in client.tags',
        "actions": [{"type": "add_tag", "tag": "checked"}], "priority": 5, "is_enabled": True}


def test_create_list_change_delete(api: APIClient) -> None:
    created = api.post("/api/v1/rules/", RULE, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert {k: body[k] for k in RULE} == RULE
    assert body["revision"] == 1
    assert [r["id"] for r in api.get("/api/v1/rules/").json()["results"]] == [body["id"]]
    changed = api.patch(f"/api/v1/rules/{body['id']}/", {"stop_processing": True}, format="json")
    assert (changed.json()["stop_processing"], changed.json()["revision"]) == (True, 2)
    assert api.delete(f"/api/v1/rules/{body['id']}/").status_code == 204
    assert Rule.objects.count() == 0


def test_an_invalid_rule_gets_field_errors_and_nothing_is_written(api: APIClient) -> None:
    response = api.post("/api/v1/rules/", {**RULE, "triggers": ["client.exploded"], "condition": "open('x')",
                                           "actions": [{"type": "format_disk"}]}, format="json")
    assert response.status_code == 400
    fields = {e["field"] for e in response.json()["errors"]}
    assert fields == {"triggers", "condition", "actions.0"}
    assert Rule.objects.count() == 0


def test_the_test_endpoint_and_the_log(api: APIClient) -> None:
    rule_id = api.post("/api/v1/rules/", RULE, format="json").json()["id"]
    client = make_client(tags=["vip"])
    client_update(actor=ACTOR, client=client, name="Пётр")
    event = Event.objects.filter(type="client.changed").latest("id")
    tested = api.post(f"/api/v1/rules/{rule_id}/test/", {"event_id": event.pk}, format="json").json()
    assert (tested["triggered"], tested["condition"]) == (True, True)
    assert tested["actions"] == [{"type": "add_tag", "would": f"Add tag «checked» to client {client.pk}"}]
    assert RuleExecution.objects.count() == 0
    draft = api.post("/api/v1/rules/test/", {"rule": {"triggers": ["client.changed"], "condition": "false"},
                                             "event_id": event.pk}, format="json").json()
    assert draft["condition"] is False
    events_dispatch_all()
    log = api.get(f"/api/v1/rule-executions/?rule={rule_id}").json()["results"]
    assert [e["event"] for e in log] == list(
        RuleExecution.objects.filter(matched__contains=f",{rule_id},").order_by("-id").values_list("event_id",
                                                                                                   flat=True))
    assert log[-1]["results"][0]["actions"][0]["status"] == "done"
    assert api.get("/api/v1/rule-executions/?rule=x").status_code == 400


def test_writing_rules_needs_write_access(api_as: Callable[..., APIClient]) -> None:
    reader = api_as("events:read")
    assert reader.get("/api/v1/rules/").status_code == 200
    assert reader.post("/api/v1/rules/", RULE, format="json").status_code == 403
    assert Rule.objects.count() == 0
