"""10 concurrent batches with overlapping event ids: every id is stored once and reported accepted
exactly once (PostgreSQL: INSERT … ON CONFLICT DO NOTHING on the unique constraint)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connections
from rest_framework.test import APIClient

from kopeck.usage.models import UsageEvent
from tests.usage.conftest import make_subscription

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]



def test_ten_concurrent_batches_with_overlapping_ids(make_key: Any, clock: Any) -> None:
    make_subscription()
    token = make_key("usage:write")
    # worker k sends ids 50k … 50k+199: each id is sent by up to 4 workers; 650 distinct ids
    batches = [[{"id": f"e{n}", "external_id": "sub-1", "metric": "api_calls",
                 "timestamp": "2026-11-20T12:00:00+03:00"} for n in range(50 * k, 50 * k + 200)] for k in range(10)]
    barrier = threading.Barrier(len(batches))
    replies: list[dict[str, Any]] = []
    errors: list[BaseException] = []

    def worker(batch: list[dict[str, Any]]) -> None:
        try:
            client = APIClient()
            client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
            barrier.wait()
            r = client.post("/api/v1/usage/events/", batch, format="json")
            assert r.status_code == 200, r.content
            replies.append(r.json())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(b,)) for b in batches]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    distinct = {e["id"] for b in batches for e in b}
    assert len(distinct) == 650
    assert UsageEvent.objects.count() == 650
    accepted = [r["id"] for reply in replies for r in reply["results"] if r["status"] == "accepted"]
    assert sorted(accepted) == sorted(distinct)  # each id accepted exactly once, the rest duplicates
    assert sum(reply["duplicates"] for reply in replies) == 2000 - 650
