"""The payments API: record (idempotent by Idempotency-Key and by external id), list with filters,
detail with allocations and refunds, refund, allocate, re-allocate, release, assign, reverse."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.clients.models import Client
from kopeck.core.clock import FixedClock
from kopeck.payments.models import Payment, PaymentSettings
from tests.payments.conftest import Invoice, counts

pytestmark = pytest.mark.django_db


def errors(r: Any) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for e in r.json()["errors"]:
        out.setdefault(e["field"], []).append(e["message"] if "message" in e else e["detail"])
    return out


def post(api: APIClient, url: str, body: dict[str, Any], key: str | None = None) -> Any:
    extra = {"HTTP_ACCEPT_LANGUAGE": "en", **({"HTTP_IDEMPOTENCY_KEY": key} if key else {})}
    return api.post(url, body, format="json", **extra)


def test_record_list_retrieve(api: APIClient, buyer: Client, clock: FixedClock, invoice: Invoice) -> None:
    doc = invoice("600.00")
    body = {"client": buyer.pk, "amount": "1000.00", "method": "bank", "payer_inn": "7707083893",
            "purpose": f"Оплата по счету № {doc.number}", "external_id": "pp-7"}
    r = post(api, "/api/v1/payments/", body, key="k-1")
    assert r.status_code == 201, r.json()
    data = r.json()
    assert {k: data[k] for k in ("client", "amount", "status", "match_rule", "allocated", "unallocated",
                                 "refunded")} == {
        "client": buyer.pk, "amount": "1000.00", "status": "credited", "match_rule": "given",
        "allocated": "600.00", "unallocated": "400.00", "refunded": "0.00"}
    assert [(a["document"], a["invoice_number"], a["amount"]) for a in data["allocations"]] == [
        (doc.pk, doc.number, "600.00")]
    before = counts()
    again = post(api, "/api/v1/payments/", body, key="k-1")
    assert (again.status_code, again.json()["id"]) == (201, data["id"]) and counts() == before
    by_id = post(api, "/api/v1/payments/", body)  # no key: the external id makes it once
    assert by_id.json()["id"] == data["id"] and counts() == before
    assert [p["id"] for p in api.get(f"/api/v1/payments/?client={buyer.pk}&status=credited").json()["results"]] == [
        data["id"]]
    assert api.get("/api/v1/payments/?status=unidentified").json()["results"] == []
    assert api.get("/api/v1/payments/?status=nonsense").status_code == 400
    assert api.get(f"/api/v1/payments/{data['id']}/").json()["allocations"][0]["amount"] == "600.00"
    assert api.get(f"/api/v1/documents/{doc.pk}/").json()["payment_status"] == "paid"


def test_refusals_are_problems_and_write_nothing(api: APIClient, buyer: Client, clock: FixedClock) -> None:
    before = counts()
    r = post(api, "/api/v1/payments/", {"client": buyer.pk, "amount": "0", "method": "barter"})
    assert r.status_code == 400
    assert errors(r) == {"amount": ["The amount must be greater than zero."], "method": [
        "Choose one of: bank, cloudpayments, manual, paypal, qiwi, robokassa, yookassa, yoomoney."]}
    assert post(api, "/api/v1/payments/", {"client": 999999, "amount": "1.00"}).status_code == 404
    assert counts() == before
    pay = post(api, "/api/v1/payments/", {"client": buyer.pk, "amount": "100.00"}).json()
    before = counts()
    r = post(api, f"/api/v1/payments/{pay['id']}/refund/", {"amount": "100.01", "reason": "x"})
    assert (r.status_code, errors(r)) == (400, {"amount": ["At most what is left of the payment, 100.00."]})
    assert post(api, f"/api/v1/payments/{pay['id']}/refund/", {"amount": "1.00"}).status_code == 400
    assert post(api, f"/api/v1/payments/{pay['id']}/assign/", {"client": buyer.pk}).status_code == 409
    assert counts() == before


def test_unidentified_assign_refund_reverse(api: APIClient, buyer: Client, clock: FixedClock,
                                            invoice: Invoice) -> None:
    PaymentSettings.objects.update_or_create(pk=1, defaults={"auto_allocate": False})
    doc = invoice("300.00")
    unknown = post(api, "/api/v1/payments/", {"amount": "500.00", "payer_name": "Неизвестный"}).json()
    assert (unknown["status"], unknown["client"]) == ("unidentified", None)
    r = post(api, f"/api/v1/payments/{unknown['id']}/assign/", {"client": buyer.pk})
    assert (r.status_code, r.json()["status"], r.json()["match_rule"]) == (200, "credited", "assigned")
    assert r.json()["allocations"] == []  # auto-allocation is off
    r = post(api, f"/api/v1/payments/{unknown['id']}/allocate/", {"document": doc.pk, "amount": "100.00"})
    assert (r.status_code, r.json()["allocated"]) == (200, "100.00")
    r = post(api, f"/api/v1/payments/{unknown['id']}/reallocate/", {"reason": "Весь счёт", "document": doc.pk})
    assert [(a["amount"], a["released_at"] is None) for a in r.json()["allocations"]] == [
        ("100.00", False), ("300.00", True)]
    allocation = r.json()["allocations"][1]["id"]
    r = post(api, f"/api/v1/payments/{unknown['id']}/release/", {"allocation": allocation, "reason": "Ошибка"})
    assert (r.status_code, r.json()["allocated"]) == (200, "0.00")
    r = post(api, f"/api/v1/payments/{unknown['id']}/refund/", {"amount": "200.00", "reason": "Переплата"})
    assert (r.status_code, r.json()["amount"]) == (201, "200.00")
    r = post(api, f"/api/v1/payments/{unknown['id']}/reverse/", {"reason": "x"})
    assert r.status_code == 409  # refunded money did leave
    other = post(api, "/api/v1/payments/", {"client": buyer.pk, "amount": "10.00"}).json()
    r = post(api, f"/api/v1/payments/{other['id']}/reverse/", {"reason": "Ошибочно"})
    assert (r.status_code, r.json()["status"]) == (200, "reversed")
    assert Payment.objects.get(pk=other["id"]).reverse_reason == "Ошибочно"


def test_read_only_keys_cannot_record(api_as: Any, buyer: Client, clock: FixedClock) -> None:
    r = post(api_as("ledger:read"), "/api/v1/payments/", {"client": buyer.pk, "amount": "1.00"})
    assert r.status_code == 403
    assert api_as("ledger:read").get("/api/v1/payments/").status_code == 200
