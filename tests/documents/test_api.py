"""The documents API: create, issue, list with filters, detail with transactions, PDF, cancel,
mark paid, resend; problems for refusals; the documents area of the roles."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.documents.models import Document, LegalEntity
from kopeck.ledger.services import ledger_operation_post
from tests.documents.conftest import counts

pytestmark = pytest.mark.django_db

URL = "/api/v1/documents/"


def create(api: APIClient, buyer: Client, **extra: object) -> dict[str, object]:
    r = api.post(URL, {"type": "invoice", "client": buyer.pk, "lines": [
        {"name": "VPS", "price": "1220.00", "vat_rate": "22"}], **extra}, format="json")
    assert r.status_code == 201, r.content
    return dict(r.json())


def test_the_lifecycle(api: APIClient, entity: LegalEntity, buyer: Client, actor: Actor) -> None:
    txn = ledger_operation_post(actor=actor, client=buyer, operation="charge", amount="1220.00", reason="VPS",
                                vat_rate="22")
    doc = create(api, buyer, transactions=[txn.pk])
    assert (doc["status"], doc["number"], doc["amount"], doc["vat_amount"], doc["transactions"]) == (
        "draft", None, "1220.00", "220.00", [txn.pk])
    r = api.post(f"{URL}{doc['id']}/issue/", {}, format="json")
    assert r.status_code == 200 and r.json()["number"] == "1" and r.json()["status"] == "issued"
    assert api.get(f"/api/v1/transactions/{txn.pk}/").json()["documents"] == [doc["id"]]
    r = api.get(f"{URL}{doc['id']}/pdf/")
    assert r.status_code == 200 and r["Content-Type"] == "application/pdf" and r.content.startswith(b"%PDF-")
    r = api.post(f"{URL}{doc['id']}/mark-paid/", {"amount": "220.00"}, format="json")
    assert (r.json()["status"], r.json()["paid_amount"]) == ("partly_paid", "220.00")
    r = api.post(f"{URL}{doc['id']}/resend/", {"recipients": ["x@example.org"]}, format="json")
    assert r.status_code == 200  # deliveries newest first: the resent one, then the one at issue
    assert [d["recipient"] for d in r.json()["deliveries"]] == ["x@example.org", "buh@romashka.example"]
    r = api.post(f"{URL}{doc['id']}/cancel/", {"reason": "x"}, format="json")
    assert r.status_code == 409 and r["Content-Type"] == "application/problem+json"


def test_list_filters(api: APIClient, entity: LegalEntity, buyer: Client) -> None:
    first = create(api, buyer)
    second = create(api, buyer, type="act")
    api.post(f"{URL}{second['id']}/issue/", {}, format="json")
    ids = lambda **q: [d["id"] for d in api.get(URL, q).json()["results"]]  # noqa: E731
    assert ids() == [second["id"], first["id"]]
    assert ids(type="act") == [second["id"]]
    assert ids(status="draft") == [first["id"]]
    assert ids(number="1") == [second["id"]]
    assert ids(client=buyer.pk, date_from="2026-11-25", date_to="2026-11-25") == [second["id"]]
    assert ids(date_from="2026-11-26") == []


def test_refusals_are_problems_and_write_nothing(api: APIClient, entity: LegalEntity, buyer: Client) -> None:
    doc = create(api, buyer)
    api.post(f"{URL}{doc['id']}/issue/", {"issue_date": "2026-11-20"}, format="json")
    late = create(api, buyer)
    before = counts()
    r = api.post(f"{URL}{late['id']}/issue/", {"issue_date": "2026-11-19"}, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 409
    assert r.json()["errors"] == [{"field": "issue_date", "detail": "Must be 2026-11-20 or later."}]
    r = api.post(URL, {"type": "invoice", "client": buyer.pk, "lines": [{"name": "x", "price": "1", "vat_rate": "18"}]},
                 format="json")
    assert r.status_code == 400 and "lines.0.vat_rate" in [e["field"] for e in r.json()["errors"]]
    assert counts() == before


def test_reconciliation_endpoint(api: APIClient, entity: LegalEntity, buyer: Client) -> None:
    r = api.post(f"{URL}reconciliation/", {"client": buyer.pk, "start": "2026-11-01", "end": "2026-11-30"},
                 format="json")
    assert r.status_code == 201 and r.json()["type"] == "reconciliation" and r.json()["number"] == "1"


def test_the_documents_area(api_as: Callable[..., APIClient], operator_as: Callable[[str], APIClient],
                            entity: LegalEntity, buyer: Client) -> None:
    reader = api_as("documents:read")
    assert reader.get(URL).status_code == 200
    before = Document.objects.count()
    r = reader.post(URL, {"type": "invoice", "client": buyer.pk, "lines": []}, format="json")
    assert r.status_code == 403 and Document.objects.count() == before
    manager = operator_as("manager")
    assert manager.get(URL).status_code == 200
    assert manager.post(URL, {}, format="json").status_code == 403
    assert create(operator_as("accountant"), buyer)["status"] == "draft"
