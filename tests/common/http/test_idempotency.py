from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from kopeck.common.models import IdempotencyRecord
from kopeck.core.clock import FixedClock
from kopeck.ledger.models import JournalTransaction
from tests.factories import ClientFactory

PAYMENT = {"operation": "payment", "amount": "100.00", "reason": "Оплата"}


@pytest.mark.django_db
def test_same_key_ten_times_creates_one_transaction(api: APIClient, clock: FixedClock) -> None:
    client = ClientFactory()
    url = f"/api/v1/clients/{client.pk}/operations/"
    first = api.post(url, PAYMENT, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
    assert first.status_code == 201
    for _ in range(9):
        again = api.post(url, PAYMENT, format="json", HTTP_IDEMPOTENCY_KEY="pay-1")
        assert again.status_code == 201
        assert again.json() == first.json()
        assert again["Idempotent-Replayed"] == "true"
    assert JournalTransaction.objects.count() == 1
    assert IdempotencyRecord.objects.count() == 1


@pytest.mark.django_db
def test_same_key_with_another_body_is_refused(api: APIClient, clock: FixedClock) -> None:
    client = ClientFactory()
    url = f"/api/v1/clients/{client.pk}/operations/"
    assert api.post(url, PAYMENT, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    r = api.post(url, {**PAYMENT, "amount": "200.00"}, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert r.status_code == 422 and r["Content-Type"] == "application/problem+json"
    assert r.json()["type"] == "urn:kopeck:problem:idempotency-key-reused"
    assert JournalTransaction.objects.count() == 1


@pytest.mark.django_db
def test_failed_requests_are_not_remembered(api: APIClient, clock: FixedClock) -> None:
    client = ClientFactory()
    url = f"/api/v1/clients/{client.pk}/operations/"
    bad = api.post(url, {**PAYMENT, "amount": "-1"}, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert bad.status_code == 400
    assert IdempotencyRecord.objects.count() == 0 and JournalTransaction.objects.count() == 0
    good = api.post(url, {**PAYMENT, "amount": "-1"}, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert good.status_code == 400  # still invalid, still nothing written
    assert JournalTransaction.objects.count() == 0


@pytest.mark.django_db
def test_keys_are_scoped_per_principal(make_key: Any, clock: FixedClock) -> None:
    client = ClientFactory()
    url = f"/api/v1/clients/{client.pk}/operations/"
    for _ in range(2):
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key('ledger:write')}")
        assert c.post(url, PAYMENT, format="json", HTTP_IDEMPOTENCY_KEY="shared").status_code == 201
    assert JournalTransaction.objects.count() == 2


@pytest.mark.django_db
def test_invalid_key_is_refused(api: APIClient, clock: FixedClock) -> None:
    client = ClientFactory()
    r = api.post(f"/api/v1/clients/{client.pk}/operations/", PAYMENT, format="json",
                 HTTP_IDEMPOTENCY_KEY="x" * 256)
    assert r.status_code == 400 and r.json()["errors"][0]["field"] == "Idempotency-Key"
    assert JournalTransaction.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres  # concurrent requests are tested on PostgreSQL
def test_concurrent_requests_with_one_key_create_one_transaction(make_key: Any) -> None:
    client = ClientFactory()
    token = make_key("ledger:write")
    url = f"/api/v1/clients/{client.pk}/operations/"
    barrier = threading.Barrier(10)
    results: list[tuple[int, Any]] = []

    def send() -> None:
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
        barrier.wait()
        r = c.post(url, PAYMENT, format="json", HTTP_IDEMPOTENCY_KEY="race")
        results.append((r.status_code, r.json()))
        connections.close_all()

    threads = [threading.Thread(target=send) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [s for s, _ in results] == [201] * 10
    assert len({b["id"] for _, b in results}) == 1
    assert JournalTransaction.objects.count() == 1


@pytest.mark.django_db
def test_a_forged_key_cannot_replay_another_callers_response(make_key: Any, clock: FixedClock) -> None:
    client = ClientFactory()
    url = f"/api/v1/clients/{client.pk}/operations/"
    token = make_key("ledger:write")
    victim = APIClient()
    victim.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    assert victim.post(url, PAYMENT, format="json", HTTP_IDEMPOTENCY_KEY="secret-op").status_code == 201
    prefix = token.split("_", 2)[1]
    forger = APIClient()
    forger.credentials(HTTP_AUTHORIZATION=f"Bearer kpk_{prefix}_not-the-secret")
    r = forger.post(url, PAYMENT, format="json", HTTP_IDEMPOTENCY_KEY="secret-op")
    assert r.status_code == 401 and "Idempotent-Replayed" not in r
    assert "amount" not in r.json()
    assert JournalTransaction.objects.count() == 1
