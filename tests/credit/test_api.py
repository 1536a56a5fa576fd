"""The credit API: the client's credit state, policy, blocks (place, lift, Idempotency-Key) and
promised payments; refusals are problems and write nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from kopeck.audit.models import AuditEntry
from kopeck.credit.models import Block, CreditPolicy, Promise
from kopeck.events.models import Event
from tests.credit.conftest import World

pytestmark = pytest.mark.django_db
D = dt.date


def fields(answer: object) -> list[str]:
    return [e["field"] for e in answer.json()["errors"]]  # type: ignore[attr-defined]


def test_the_credit_state_shows_the_debt_the_ladder_and_what_comes_next(world: World, api: APIClient) -> None:
    world.daily_run(D(2026, 12, 1))
    world.check(D(2026, 12, 11))
    body = api.get(f"/api/v1/clients/{world.client.pk}/credit/").json()
    assert {k: body[k] for k in ("mode", "credit_limit", "balance", "overdue", "oldest_due", "in_debt", "blocked")} == {
        "mode": "postpaid", "credit_limit": None, "balance": "-1300.00", "overdue": "1300.00",
        "oldest_due": "2026-12-06", "in_debt": True, "blocked": False}
    assert body["debt"]["opened_on"] == "2026-12-11"
    due = [(line["step"]["action"], line["date"], line["status"]) for line in body["ladder"]
           if line["step"]["anchor"] == "due_date"]
    assert due == [("remind", "2026-12-07", "skipped"), ("warn", "2026-12-11", "done"),
                   ("block_client", "2026-12-16", "next")]


def test_block_and_lift_with_an_idempotency_key(world: World, api: APIClient) -> None:
    headers = {"HTTP_IDEMPOTENCY_KEY": "block-1"}
    body = {"client": world.client.pk, "reason": "fraud", "comment": "Чарджбэк"}
    first = api.post("/api/v1/blocks/", body, format="json", **headers)
    again = api.post("/api/v1/blocks/", body, format="json", **headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    [block] = Block.objects.all()
    assert (block.reason, block.source, block.automatic, block.effect) == ("fraud", "api", False, "pause")
    assert api.get(f"/api/v1/clients/{world.client.pk}/").json()["status"] == "blocked"
    lifted = api.post(f"/api/v1/blocks/{block.pk}/lift/", {"comment": "Ошибка"}, format="json")
    assert lifted.status_code == 200 and lifted.json()["holding"] is False
    assert api.get(f"/api/v1/clients/{world.client.pk}/").json()["status"] == "active"
    again_lift = api.post(f"/api/v1/blocks/{block.pk}/lift/", {}, format="json")
    assert again_lift.status_code == 409
    assert [e for e in Event.objects.filter(type__in=("client.blocked", "client.unblocked"))
            .order_by("id").values_list("type", "data__reason", "data__source")] == [
        ("client.blocked", "fraud", "api"), ("client.unblocked", "fraud", "api")]


def test_refusals_write_nothing(world: World, api: APIClient) -> None:
    world.day(D(2026, 11, 20))
    before = (Block.objects.count(), Promise.objects.count(), AuditEntry.objects.count(), Event.objects.count())
    bad_reason = api.post("/api/v1/blocks/", {"client": world.client.pk, "reason": "boredom"}, format="json")
    assert bad_reason.status_code == 400 and fields(bad_reason) == ["reason"]
    no_client = api.post("/api/v1/blocks/", {"client": 999999, "reason": "fraud"}, format="json")
    assert no_client.status_code == 400 and fields(no_client) == ["client"]
    too_long = api.post("/api/v1/promises/", {"client": world.client.pk, "amount": "100.00", "days": 30},
                        format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert too_long.status_code == 400 and too_long.json()["errors"] == [{"field": "days", "detail": "At most 5 days."}]
    too_much = api.post("/api/v1/promises/", {"client": world.client.pk, "amount": "99999.00", "days": 3},
                        format="json")
    assert too_much.status_code == 400 and fields(too_much) == ["amount"]
    assert (Block.objects.count(), Promise.objects.count(), AuditEntry.objects.count(),
            Event.objects.count()) == before


def test_a_promise_through_the_api_and_never_a_second_one_while_it_holds(world: World, api: APIClient) -> None:
    world.daily_run(D(2026, 12, 1))
    world.day(D(2026, 12, 7))
    made = api.post("/api/v1/promises/", {"client": world.client.pk, "amount": "500.00", "days": 3}, format="json")
    assert made.status_code == 201
    assert {k: made.json()[k] for k in ("amount", "currency", "until", "status")} == {
        "amount": "500.00", "currency": "RUB", "until": "2026-12-09", "status": "active"}
    second = api.post("/api/v1/promises/", {"client": world.client.pk, "amount": "100.00", "days": 1}, format="json")
    assert second.status_code == 409
    assert Promise.objects.count() == 1


def test_the_policy_overrides_the_defaults(world: World, api: APIClient) -> None:
    answer = api.patch(f"/api/v1/clients/{world.client.pk}/credit/",
                       {"mode": "prepaid", "limit_kind": "amount", "credit_limit": "500.00", "grace_days": 3},
                       format="json")
    assert answer.status_code == 200
    body = answer.json()
    assert (body["mode"], body["credit_limit"], body["grace_days"]) == ("prepaid", "500.00", 3)
    assert CreditPolicy.objects.get().credit_limit == 500
    bad = api.patch(f"/api/v1/clients/{world.client.pk}/credit/", {"limit_kind": "amount", "credit_limit": None},
                    format="json")
    assert bad.status_code == 400 and fields(bad) == ["credit_limit"]
    assert CreditPolicy.objects.get().credit_limit == 500


def test_a_prepaid_client_below_its_limit_is_warned_then_blocked(world: World, api: APIClient) -> None:
    api.patch(f"/api/v1/clients/{world.client.pk}/credit/", {"mode": "prepaid"}, format="json")
    world.daily_run(D(2026, 12, 1))  # −1300.00 at once: below the prepaid limit of zero
    world.check(D(2026, 12, 1), [9])
    assert Event.objects.filter(type="balance.below_credit_limit").count() == 1
    world.check(D(2026, 12, 4), [9])  # limit + 3 days
    assert api.get(f"/api/v1/clients/{world.client.pk}/").json()["status"] == "blocked"


def test_blocks_filtered_by_whether_they_hold(world: World, api: APIClient) -> None:
    """Schemathesis: ``holding=null`` was taken as "all blocks"; the filter is a strict boolean."""
    held = api.post("/api/v1/blocks/", {"client": world.client.pk, "reason": "abuse"}, format="json").json()["id"]
    lifted = api.post("/api/v1/blocks/", {"client": world.client.pk, "reason": "fraud"}, format="json").json()["id"]
    assert api.post(f"/api/v1/blocks/{lifted}/lift/", {}, format="json").status_code == 200
    assert [b["id"] for b in api.get("/api/v1/blocks/?holding=true").json()["results"]] == [held]
    assert [b["id"] for b in api.get("/api/v1/blocks/?holding=false").json()["results"]] == [lifted]
    assert [b["id"] for b in api.get("/api/v1/blocks/").json()["results"]] == [lifted, held]
    refused = api.get("/api/v1/blocks/?holding=null")
    assert refused.status_code == 400 and fields(refused) == ["holding"]
