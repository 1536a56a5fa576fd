"""POST /api/v1/price-preview/: a read-only calculator behind catalog:read, errors as problem+json."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps
from rest_framework.test import APIClient

from kopeck.audit.models import AuditEntry
from kopeck.common.models import IdempotencyRecord
from kopeck.ledger.models import JournalTransaction
from kopeck.operators.roles import Role

pytestmark = pytest.mark.django_db

URL = "/api/v1/price-preview/"

GRADUATED: dict[str, Any] = {"code": "storage", "model": "graduated", "tiers": [
    {"from": "0", "up_to": "100", "unit_price": "5.00"},
    {"from": "100", "up_to": "1000", "unit_price": "4.00"},
    {"from": "1000", "up_to": None, "unit_price": "3.00"}]}
BODY: dict[str, Any] = {"component": GRADUATED, "currency": "RUB", "quantity": "1250", "vat_rate": "22",
                        "prices_include_vat": True}
PLAN: dict[str, Any] = {
    "code": "vps", "billing_period": {"unit": "month", "count": 1}, "currencies": ["RUB"],
    "components": [{"code": "base", "kind": "fixed", "prices": {"RUB": {"model": "standard", "unit_price": "990.00"}}},
                   {"code": "power", "kind": "metered", "prices": {"RUB": {
                       "model": "standard", "unit_price": "5.00", "aggregation": {"type": "meter_reading"}}}}]}


def rows() -> dict[str, int]:
    """Row counts of every table Kopeck owns (catalog ones included, whatever they are by now)."""
    return {m._meta.label: m.objects.count() for m in apps.get_models()
            if m._meta.app_label not in {"sessions", "admin", "contenttypes", "auth"}}


@pytest.fixture
def reader(api_as: Callable[..., APIClient]) -> APIClient:
    return api_as("catalog:read")


def post(client: APIClient, body: Any, **headers: str) -> Any:
    return client.post(URL, body, format="json", **headers)


def test_catalog_read_key_previews_and_nothing_is_written(reader: APIClient) -> None:
    client = reader
    counts = (AuditEntry.objects.count(), JournalTransaction.objects.count(), IdempotencyRecord.objects.count())
    before = rows()
    r = post(client, BODY, HTTP_IDEMPOTENCY_KEY="preview-1")
    assert r.status_code == 200, r.content
    body = r.json()
    assert (body["amount"], body["currency"]) == ("4850.00", "RUB")
    assert body["vat"] == {**body["vat"], "net": "3975.41", "vat": "874.59", "gross": "4850.00", "inclusive": True}
    assert [line["amount"] for line in body["lines"]] == ["500.00", "3600.00", "750.00"]
    assert body["lines"][1]["explanation"] == {
        "ru": "Ступень 2 [100, 1000): 900 ед. × 4.00 = 3600.00 RUB",
        "en": "Tier 2 [100, 1000): 900 units × 4.00 = 3600.00 RUB",
        "formula": "tier 2: units in tier × unit price + flat fee = 900 × 4.00 + 0 = 3600.00"}
    # a repeat with the same Idempotency-Key is simply computed again: no record is kept
    assert post(client, BODY, HTTP_IDEMPOTENCY_KEY="preview-1").json()["amount"] == "4850.00"
    assert (AuditEntry.objects.count(), JournalTransaction.objects.count(), IdempotencyRecord.objects.count()) \
        == counts
    assert rows() == before


def test_plan_preview_over_the_api(api: APIClient) -> None:
    r = post(api, {"plan": PLAN, "usage": {"power": {"readings": [
        {"id": "a", "timestamp": "2026-03-01T00:00:00+03:00", "value": "99990"},
        {"id": "b", "timestamp": "2026-04-01T00:00:00+03:00", "value": "10", "kind": "replacement",
         "old_final": "99999"}]}}, "vat_rate": "exempt"})
    assert r.status_code == 200, r.content
    body = r.json()
    # base 990.00 + power (99999 − 99990) × 5.00 = 45.00
    assert body["amount"] == "1035.00" and body["vat"]["vat"] == "0.00"
    assert [(c["component"], c["amount"]) for c in body["components"]] == [("base", "990.00"), ("power", "45.00")]


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("tier gap", {**BODY, "component": {**GRADUATED, "tiers": [
        {"from": "0", "up_to": "100", "unit_price": "5.00"}, {"from": "101", "up_to": None, "unit_price": "4.00"}]}},
     "component.tiers[1].from"),
    ("tier overlap", {**BODY, "component": {**GRADUATED, "tiers": [
        {"from": "0", "up_to": "100", "unit_price": "5.00"}, {"from": "50", "up_to": None, "unit_price": "4.00"}]}},
     "component.tiers[1].from"),
    ("negative price", {**BODY, "component": {"code": "x", "model": "standard", "unit_price": "-1.00"}},
     "component.unit_price"),
    ("unknown aggregation", {**BODY, "component": {**GRADUATED, "aggregation": {"type": "avg", "property": "gb"}}},
     "component.aggregation.type"),
    ("reading below the previous", {
        "component": {"code": "m", "model": "standard", "unit_price": "1", "aggregation": {"type": "meter_reading"}},
        "currency": "RUB", "readings": [
            {"id": f"r{i}", "timestamp": f"2026-03-0{i + 1}T00:00:00+03:00", "value": v}
            for i, v in enumerate(["100", "110", "120", "115"])]}, "readings[3]"),
    ("currency the plan has no price in", {"plan": PLAN, "currency": "USD"}, "currency"),
    ("plan tier gap", {"plan": {**PLAN, "components": [{"code": "base", "kind": "fixed", "prices": {"RUB": {
        "model": "graduated", "tiers": [{"from": "0", "up_to": "10", "unit_price": "1"},
                                        {"from": "11", "up_to": None, "unit_price": "1"}]}}}]}},
     "plan.components[0].prices.RUB.tiers[1].from"),
    ("float quantity", {**BODY, "quantity": 1250.5}, "quantity"),
    ("period end", {**BODY, "period": {"start": "2026-03-01", "end": "2026-02-01"}}, "period.end"),
]


@pytest.mark.parametrize("name,body,field", INVALID, ids=[i[0] for i in INVALID])
def test_invalid_input_is_a_problem_naming_the_field_and_writes_nothing(
    reader: APIClient, name: str, body: dict[str, Any], field: str,
) -> None:
    counts = (AuditEntry.objects.count(), JournalTransaction.objects.count())
    before = rows()
    r = post(reader, body, HTTP_IDEMPOTENCY_KEY=f"bad-{name}")
    assert r.status_code == 400, r.content
    assert r["Content-Type"] == "application/problem+json"
    problem = r.json()
    assert problem["type"] == "urn:kopeck:problem:validation-error"
    assert [e["field"] for e in problem["errors"]] == [field]
    assert problem["detail"].startswith(f"{field}: ")
    assert problem["instance"] == URL
    assert (AuditEntry.objects.count(), JournalTransaction.objects.count()) == counts
    assert IdempotencyRecord.objects.count() == 0
    assert rows() == before


def test_unauthenticated_is_401() -> None:
    r = APIClient().post(URL, BODY, format="json")
    assert r.status_code == 401 and r["Content-Type"] == "application/problem+json"
    assert r.json()["type"] == "urn:kopeck:problem:unauthorized"


def test_a_key_without_catalog_scope_is_403(api_as: Callable[..., APIClient]) -> None:
    r = post(api_as("clients:write", "ledger:write"), BODY)
    assert r.status_code == 403 and r.json()["type"] == "urn:kopeck:problem:forbidden"


@pytest.mark.parametrize("scopes", [("catalog:read",), ("catalog:write",), ("*:read",)])
def test_read_access_is_enough(api_as: Callable[..., APIClient], scopes: tuple[str, ...]) -> None:
    assert post(api_as(*scopes), BODY).status_code == 200


def test_a_read_only_operator_may_preview(operator_as: Callable[[str], APIClient]) -> None:
    assert post(operator_as(Role.READ_ONLY), BODY).status_code == 200


def test_only_post(api: APIClient) -> None:
    r = api.get(URL)
    assert r.status_code == 405 and r.json()["type"] == "urn:kopeck:problem:method-not-allowed"


def test_body_must_be_json(api: APIClient) -> None:
    r = api.post(URL, "{not json", content_type="application/json")
    assert r.status_code == 400 and r.json()["type"] == "urn:kopeck:problem:malformed-request"
    r = api.post(URL, {"currency": "RUB"})  # multipart form
    assert r.status_code == 415
    r = api.post(URL, json.dumps([BODY]), content_type="application/json", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 400 and r.json()["errors"] == [{"field": "", "detail": "must be an object, got a list"}]


def test_schema_documents_the_preview_with_examples() -> None:
    r = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    post_op = r.json()["paths"]["/api/v1/price-preview/"]["post"]
    examples = post_op["requestBody"]["content"]["application/json"]["examples"]
    assert len(examples) >= 4
    assert "Idempotency-Key" not in [p["name"] for p in post_op.get("parameters", [])]
    assert "200" in post_op["responses"]
