from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kopeck.core.clock import FixedClock
from kopeck.ledger.models import JournalTransaction, Posting
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def ops_url(client_id: int) -> str:
    return f"/api/v1/clients/{client_id}/operations/"


def test_post_list_reverse_balance_statement(api: Any, clock: FixedClock) -> None:
    client = ClientFactory()
    r = api.post(ops_url(client.pk), {"operation": "payment", "amount": "1500.00", "reason": "Оплата",
                                      "source_ref": "п/п 5"}, format="json")
    assert r.status_code == 201, r.content
    assert r.json()["direction"] == "credit" and r.json()["amount"] == "1500.00"
    r = api.post(ops_url(client.pk), {"operation": "charge", "amount": "1220.00", "vat_rate": "22",
                                      "reason": "Хостинг"}, format="json")
    body = r.json()
    assert r.status_code == 201
    assert (body["direction"], body["vat_amount"], body["vat_rate"]) == ("debit", "220.00", "22")
    assert sorted(p["amount"] for p in body["postings"]) == ["-1000.00", "-220.00", "1220.00"]

    assert api.get(f"/api/v1/clients/{client.pk}/balance/").json()["balance"] == "280.00"
    listing = api.get(ops_url(client.pk)).json()
    assert listing["count"] == 2 and listing["results"][0]["id"] == body["id"]

    r = api.post(f"/api/v1/transactions/{body['id']}/reverse/", {"reason": "ошибка"}, format="json")
    assert r.status_code == 201 and r.json()["reverses"] == body["id"]
    assert api.get(f"/api/v1/transactions/{body['id']}/").json()["reversed_by"] == r.json()["id"]
    assert api.get(f"/api/v1/clients/{client.pk}/balance/").json()["balance"] == "1500.00"

    today = dt.date(2026, 11, 25)
    st = api.get(f"/api/v1/clients/{client.pk}/statement/", {"date_from": today.isoformat(),
                                                           "date_to": today.isoformat()}).json()
    assert (st["opening_balance"], st["total_credit"], st["total_debit"], st["closing_balance"]) == (
        "0.00", "2720.00", "1220.00", "1500.00")
    assert [ln["balance"] for ln in st["lines"]] == ["1500.00", "280.00", "1500.00"]
    assert api.get(f"/api/v1/clients/{client.pk}/balance/", {"as_of": "2026-11-24"}).json()["balance"] == "0.00"


@pytest.mark.parametrize(("body", "field"), [
    ({"operation": "payment", "amount": "-1", "reason": "x"}, "amount"),
    ({"operation": "payment", "amount": "1.001", "reason": "x"}, "amount"),
    ({"operation": "payment", "amount": "ten", "reason": "x"}, "amount"),
    ({"operation": "steal", "amount": "1", "reason": "x"}, "operation"),
    ({"operation": "payment", "amount": "1"}, "reason"),
    ({"operation": "payment", "amount": "1", "reason": "x", "currency": "EUR"}, "currency"),
    ({"operation": "charge", "amount": "1", "reason": "x", "vat_rate": "20"}, "vat_rate"),
])
def test_bad_operations_are_problems_and_write_nothing(api: Any, clock: FixedClock, body: dict[str, str],
                                                       field: str) -> None:
    client = ClientFactory()
    r = api.post(ops_url(client.pk), body, format="json")
    assert r.status_code == 400
    assert r["Content-Type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == 400 and problem["type"] == "urn:kopeck:problem:validation-error"
    assert field in [e["field"] for e in problem["errors"]]
    assert JournalTransaction.objects.count() == 0 and Posting.objects.count() == 0


def test_unknown_client_and_bad_dates(api: Any, clock: FixedClock) -> None:
    r = api.post(ops_url(424242), {"operation": "payment", "amount": "1", "reason": "x"}, format="json")
    assert r.status_code == 404 and r["Content-Type"] == "application/problem+json"
    client = ClientFactory()
    r = api.get(f"/api/v1/clients/{client.pk}/statement/", {"date_from": "2026-13-01", "date_to": "2026-11-01"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "date_from"
    r = api.get(f"/api/v1/clients/{client.pk}/statement/", {"date_from": "2026-11-02", "date_to": "2026-11-01"})
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "date_to"
    r = api.get(f"/api/v1/clients/{client.pk}/statement/")
    assert r.status_code == 400
    assert JournalTransaction.objects.count() == 0
