"""Findings 5, 6, 7 and 10 of issue 12: every bad input is a 4xx problem that writes nothing; every
error of the API, the server's own limits included, is problem+json; amounts follow one grammar;
limits are enforced."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client as WebClient
from django.test import override_settings
from rest_framework.test import APIClient

from kopeck.audit.models import AuditEntry
from kopeck.billing.models import BillingRun
from kopeck.clients.models import Client
from kopeck.common.models import IdempotencyRecord
from kopeck.core.clock import FixedClock
from kopeck.ledger.models import JournalTransaction
from kopeck.operators.models import Operator
from kopeck.operators.roles import Role
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(make_key: Any) -> APIClient:
    """A key that may do everything, asking for English (without Accept-Language: KOPECK_LANGUAGE, ru)."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key('*:write')}", HTTP_ACCEPT_LANGUAGE="en")
    return client


def snapshot() -> tuple[int, ...]:
    return (Client.objects.count(), JournalTransaction.objects.count(), AuditEntry.objects.count(),
            BillingRun.objects.count(), IdempotencyRecord.objects.count())


def problem(r: Any, status: int, type_: str) -> dict[str, Any]:
    assert r.status_code == status, r.content
    assert r["Content-Type"] == "application/problem+json"
    body = json.loads(r.content)
    assert body["status"] == status and body["type"] == f"urn:kopeck:problem:{type_}"
    assert body["title"] and body["detail"]
    return body


# -- finding 7: one grammar for amounts ------------------------------------------------------------

@pytest.mark.parametrize("amount", [10.5, 10, "٥", "𝟓", "1_000", "1e2", "+5", ".5", "5.", " 5", "0x10", "NaN",
                                    "1e400", "9" * 100_000, True, None, ["5"]])
def test_an_amount_is_a_plain_decimal_string_and_nothing_else(api: APIClient, clock: FixedClock, amount: Any) -> None:
    client = ClientFactory()
    before = snapshot()
    r = api.post(f"/api/v1/clients/{client.pk}/operations/",
                 {"operation": "payment", "amount": amount, "reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="a1")
    body = problem(r, 400, "validation-error")
    assert [e["field"] for e in body["errors"]] == ["amount"]
    assert snapshot() == before


def test_a_plain_amount_is_accepted(api: APIClient, clock: FixedClock) -> None:
    client = ClientFactory()
    r = api.post(f"/api/v1/clients/{client.pk}/operations/", {"operation": "payment", "amount": "1500.50",
                                                             "reason": "x"}, format="json")
    assert r.status_code == 201 and r.json()["amount"] == "1500.50"


# -- finding 5: no 500 for any input ----------------------------------------------------------------

def test_json_nested_ten_thousand_deep_is_a_malformed_request(api: APIClient, clock: FixedClock) -> None:
    client = ClientFactory()
    before = snapshot()
    body = '{"operation": "payment", "amount": "1", "reason": ' + "[" * 10_000 + "]" * 10_000 + "}"
    problem(api.post(f"/api/v1/clients/{client.pk}/operations/", data=body, content_type="application/json"),
            400, "malformed-request")
    problem(api.post("/api/v1/usage/events/", data="[" * 10_000 + "]" * 10_000, content_type="application/json"),
            400, "malformed-request")
    assert snapshot() == before


@pytest.mark.parametrize("url", [
    "/api/v1/clients/?tag=a%00b", "/api/v1/clients/?search=a%00b", "/api/v1/plans/?product_code=a%00b",
    "/api/v1/subscriptions/?plan=a%00b", "/api/v1/subscriptions/?external_id=a%00b",
    "/api/v1/documents/?number=a%00b", "/api/v1/audit/?object_type=a%00b", "/api/v1/clients/?x%00=1",
])
def test_a_nul_byte_in_any_filter_is_a_400(api: APIClient, clock: FixedClock, url: str) -> None:
    body = problem(api.get(url), 400, "validation-error")
    assert body["errors"][0]["detail"] == "NUL characters are not allowed."


@pytest.mark.parametrize(("url", "field"), [
    ("/api/v1/clients/?page=1&page=2", "page"),
    ("/api/v1/billing-runs/compare/?a=1&b=2&b=3", "b"),
    ("/api/v1/events/?type=client.created&type=client.updated", "type"),
    ("/api/v1/blocks/?holding=true&holding=false", "holding"),
    ("/api/v1/usage/thresholds/?subscription=1&subscription=1", "subscription"),
])
def test_a_query_parameter_given_twice_is_a_400_naming_it(api: APIClient, clock: FixedClock, url: str,
                                                          field: str) -> None:
    """Every query parameter of the API is one value: a repeated one is refused, never one of the
    values silently taken (Schemathesis found ?b=1&b=2 answered for b=2)."""
    body = problem(api.get(url), 400, "validation-error")
    assert body["errors"] == [{"field": field, "detail": "Give this parameter once."}]


def test_a_query_parameter_given_once_is_not_refused(api: APIClient, clock: FixedClock) -> None:
    assert api.get("/api/v1/clients/?page=1&page_size=5").status_code == 200


def test_a_nul_byte_in_a_body_names_the_field(api: APIClient, clock: FixedClock) -> None:
    before = snapshot()
    body = problem(api.post("/api/v1/clients/", {"type": "individual", "name": "a\x00b"}, format="json"),
                   400, "validation-error")
    assert body["errors"] == [{"field": "name", "detail": "NUL characters are not allowed."}]
    assert snapshot() == before


@pytest.mark.parametrize(("path", "field"), [
    ("balance/?currency=XYZ", "currency"), ("statement/?date_from=2026-01-01&date_to=2026-02-01&currency=ZZZ",
                                            "currency"),
    ("balance/?as_of=9999-12-31", "as_of"), ("balance/?as_of=", "as_of"),
    ("statement/?date_from=0001-01-01&date_to=2026-01-01", "date_from"),
    ("statement/?date_from=2026-01-01&date_to=9999-12-31", "date_to"),
])
def test_unknown_currencies_and_calendar_edges_are_400(api: APIClient, clock: FixedClock, path: str,
                                                      field: str) -> None:
    client = ClientFactory()
    body = problem(api.get(f"/api/v1/clients/{client.pk}/{path}"), 400, "validation-error")
    assert [e["field"] for e in body["errors"]] == [field]


@pytest.mark.parametrize("day", ["0001-01-01", "0259-05-05", "9999-12-31"])
def test_billing_runs_outside_the_calendar_are_refused(api: APIClient, clock: FixedClock, day: str) -> None:
    before = snapshot()
    body = problem(api.post("/api/v1/billing-runs/", {"billing_date": day, "mode": "sandbox"}, format="json"),
                   400, "validation-error")
    assert body["errors"] == [{"field": "billing_date", "detail": "Dates from 1900-01-01 to 2999-12-31 are supported."}]
    assert snapshot() == before


# -- finding 6: every error is problem+json ----------------------------------------------------------

@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_a_body_over_the_limit_is_a_413_problem(api: APIClient, clock: FixedClock) -> None:
    client = ClientFactory()
    before = snapshot()
    big = json.dumps({"operation": "payment", "amount": "1", "reason": "x" * 2000})
    problem(api.post(f"/api/v1/clients/{client.pk}/operations/", data=big, content_type="application/json",
                     HTTP_IDEMPOTENCY_KEY="big"), 413, "payload-too-large")
    problem(api.post("/api/v1/usage/events/", data="[" + ",".join(["{}"] * 600) + "]",
                     content_type="application/json"), 413, "payload-too-large")
    assert snapshot() == before


def test_oversized_headers_are_a_431_problem(api: APIClient) -> None:
    problem(api.get("/api/v1/clients/", HTTP_X_PADDING="x" * 20_000), 431, "headers-too-large")


def test_a_crash_is_a_500_problem_and_writes_nothing(api: APIClient, clock: FixedClock,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from kopeck.ledger import services

    def boom(**kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(services, "ledger_operation_post", boom)
    client = ClientFactory()
    before = snapshot()
    web = APIClient(raise_request_exception=False)
    web.credentials(**api._credentials)  # type: ignore[attr-defined]
    r = web.post(f"/api/v1/clients/{client.pk}/operations/", {"operation": "payment", "amount": "1", "reason": "x"},
                 format="json", HTTP_IDEMPOTENCY_KEY="crash")
    body = problem(r, 500, "server-error")
    assert "disk on fire" not in body["detail"]  # no internals leak
    assert snapshot() == before


def test_unknown_api_paths_answer_a_problem_never_the_csrf_page(clock: FixedClock) -> None:
    op = Operator.objects.create(username="op", role=Role.ADMINISTRATOR, is_staff=True)
    web = WebClient(enforce_csrf_checks=True)
    web.force_login(op)
    problem(web.post("/api/v1/no-such-thing/", {"a": 1}), 404, "not-found")
    problem(web.post("/api/v2/", {"a": 1}), 404, "not-found")
    problem(web.get("/api/v1/clients/%0A/"), 404, "not-found")
    # a session call without the CSRF token: a 403 problem, not Django's page
    problem(web.post("/api/v1/clients/", {"type": "individual", "name": "x"}), 403, "forbidden")


def test_problems_speak_the_request_language(make_key: Any, clock: FixedClock) -> None:
    ru = APIClient()
    ru.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key('*:write')}", HTTP_ACCEPT_LANGUAGE="ru")
    body = problem(ru.get("/api/v1/clients/999999/"), 404, "not-found")
    assert (body["title"], body["detail"]) == ("Не найдено", "Такого объекта нет.")
    body = problem(ru.get("/api/v1/clients/?type=robot"), 400, "validation-error")
    assert body["title"] == "Неверные данные"
    assert body["errors"] == [{"field": "type", "detail": "Допустимые значения: legal, sole_proprietor, individual."}]
    en = APIClient()
    en.credentials(HTTP_AUTHORIZATION="Bearer kpk_nothing_here", HTTP_ACCEPT_LANGUAGE="en")
    assert problem(en.get("/api/v1/clients/"), 401, "unauthorized")["title"] == "Unauthorized"
    ru.credentials(HTTP_AUTHORIZATION="Bearer kpk_nothing_here", HTTP_ACCEPT_LANGUAGE="ru")
    body = problem(ru.get("/api/v1/clients/"), 401, "unauthorized")
    assert (body["title"], body["detail"]) == ("Требуется вход", "Неверный API-ключ.")


# -- finding 10: limits are enforced -----------------------------------------------------------------

def test_a_client_has_at_most_fifty_tags(api: APIClient, clock: FixedClock) -> None:
    before = snapshot()
    body = problem(api.post("/api/v1/clients/", {"type": "individual", "name": "Иванов",
                                                 "fields": {"full_name": "Иванов Иван"},
                                                 "tags": [f"t{i}" for i in range(51)]}, format="json"),
                   400, "validation-error")
    assert [e["field"] for e in body["errors"]] == ["tags"]
    assert snapshot() == before
    ok = api.post("/api/v1/clients/", {"type": "individual", "name": "Иванов", "fields": {"full_name": "Иванов Иван"},
                                       "tags": [f"t{i}" for i in range(50)]}, format="json")
    assert ok.status_code == 201 and len(ok.json()["tags"]) == 50


def test_page_size_and_page_are_checked(api: APIClient, clock: FixedClock) -> None:
    for query, field in (("page_size=0", "page_size"), ("page_size=501", "page_size"), ("page_size=x", "page_size"),
                         ("page=0", "page"), ("page=-1", "page")):
        body = problem(api.get(f"/api/v1/clients/?{query}"), 400, "validation-error")
        assert [e["field"] for e in body["errors"]] == [field]
    assert api.get("/api/v1/clients/?page_size=500").status_code == 200


@pytest.mark.parametrize("url", ["/api/v1/plans/?product=36893488147419103232", "/api/v1/clients/36893488147419103232/",
                                 "/api/v1/clients/36893488147419103232/balance/",
                                 "/api/v1/billing-runs/compare/?a=36893488147419103232&b=1",
                                 "/api/v1/documents/?client=36893488147419103232"])
def test_ids_beyond_64_bits_are_4xx(api: APIClient, clock: FixedClock, url: str) -> None:
    r = api.get(url)
    assert r.status_code in (400, 404) and r["Content-Type"] == "application/problem+json"


def test_a_huge_id_in_a_body_is_a_4xx(api: APIClient, clock: FixedClock) -> None:
    before = snapshot()
    for path, body in (("/api/v1/documents/", {"type": "invoice", "client": 36893488147419103232}),
                       ("/api/v1/subscriptions/", {"client": 36893488147419103232, "plan": "x"})):
        r = api.post(path, body, format="json")
        assert r.status_code in (400, 404) and r["Content-Type"] == "application/problem+json", r.content
    assert snapshot() == before


def test_a_run_to_compare_given_twice_is_refused(api: APIClient, clock: FixedClock) -> None:
    """Schemathesis on PostgreSQL: ``b=1&b=2`` was taken as its last value."""
    r = api.get("/api/v1/billing-runs/compare/?a=1&b=1&b=2")
    assert r.status_code == 400
    assert [e["field"] for e in r.json()["errors"]] == ["b"]
