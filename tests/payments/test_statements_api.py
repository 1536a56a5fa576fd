"""The bank statements API: multipart upload → preview, lines with what became of each, apply."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from kopeck.clients.models import Client
from kopeck.core.clock import FixedClock
from kopeck.payments.models import BankStatement, Payment
from tests.payments.bankfiles import Order, statement
from tests.payments.conftest import Invoice, counts

pytestmark = pytest.mark.django_db


def upload(api: APIClient, data: bytes, name: str = "kl_to_1c.txt") -> Any:
    return api.post("/api/v1/bank-statements/", {"file": SimpleUploadedFile(name, data)}, format="multipart",
                    HTTP_ACCEPT_LANGUAGE="en")


def test_upload_preview_lines_apply(api: APIClient, entity: object, buyer: Client, clock: FixedClock,
                                    invoice: Invoice) -> None:
    doc = invoice("500.00")
    data = statement([
        Order("1", "01.12.2026", "500.00", "40702810100000000101", payer_inn=buyer.fields["inn"],
              purpose=f"Оплата по счету № {doc.number}"),
        Order("2", "01.12.2026", "70.00", "40817810100000000777", purpose="Перевод"),
    ])
    r = upload(api, data)
    assert r.status_code == 201, r.json()
    body = r.json()
    assert (body["status"], body["version"], body["encoding"]) == ("preview", "1.03", "cp1251")
    assert body["totals"]["matched"] == {"count": 1, "amount": "500.00"}
    assert body["totals"]["unidentified"] == {"count": 1, "amount": "70.00"}
    assert upload(api, data, name="same.txt").json()["id"] == body["id"]  # the same file: the same statement
    lines = api.get(f"/api/v1/bank-statements/{body['id']}/lines/").json()["results"]
    assert [(ln["number"], ln["outcome"], ln["match_rule"], ln["client"], ln["payment"]) for ln in lines] == [
        ("1", "matched", "inn", buyer.pk, None), ("2", "unidentified", "", None, None)]
    r = api.post(f"/api/v1/bank-statements/{body['id']}/apply/", HTTP_IDEMPOTENCY_KEY="apply-1")
    assert (r.status_code, r.json()["status"]) == (200, "applied")
    before = counts()
    assert api.post(f"/api/v1/bank-statements/{body['id']}/apply/").status_code == 200
    assert counts() == before
    lines = api.get(f"/api/v1/bank-statements/{body['id']}/lines/?outcome=matched").json()["results"]
    assert lines[0]["payment"] == Payment.objects.get(client=buyer).pk
    assert api.get(f"/api/v1/documents/{doc.pk}/").json()["payment_status"] == "paid"
    assert [s["id"] for s in api.get("/api/v1/bank-statements/").json()["results"]] == [body["id"]]


def test_a_malformed_upload_is_a_problem_naming_the_line(api: APIClient, entity: object, clock: FixedClock) -> None:
    r = upload(api, statement([Order("1", "01.12.2026", "12,50", "40702810100000000101")]))
    assert r.status_code == 400
    assert r.json()["errors"] == [{"field": "file", "detail": (
        "line 24: Сумма: '12,50' is not an amount (digits and a dot, e.g. 1234.56)")}]
    assert BankStatement.objects.count() == 0
    r = api.post("/api/v1/bank-statements/", {}, format="multipart", HTTP_ACCEPT_LANGUAGE="en")
    assert (r.status_code, r.json()["errors"][0]["field"]) == (400, "file")


def test_read_only_keys_cannot_upload(api_as: Any, entity: object, clock: FixedClock) -> None:
    r = api_as("ledger:read").post("/api/v1/bank-statements/", {"file": SimpleUploadedFile("a.txt", b"x")},
                                   format="multipart")
    assert r.status_code == 403
