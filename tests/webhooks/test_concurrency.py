"""Several workers delivering at once on PostgreSQL: every delivery is claimed by one of them only
(one UPDATE … SKIP LOCKED statement), so each message goes out once and none is left behind."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from django.db import connections, transaction

from kopeck.events.models import Event
from kopeck.events.services import NewEvent, event_record_many
from kopeck.webhooks.models import Attempt, Delivery, DeliveryStatus
from kopeck.webhooks.services import _insert_deliveries, endpoint_create, webhooks_deliver_all
from tests.rules.conftest import ACTOR
from tests.webhooks.receiver import Receiver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres,
              pytest.mark.usefixtures("loopback_allowed")]


def test_concurrent_workers_deliver_each_message_once(receiver: Receiver, settings: Any) -> None:
    settings.KOPECK_WEBHOOK_CONCURRENCY = 3
    endpoint, _secret = endpoint_create(actor=ACTOR, url=receiver.url, event_types=[])
    with transaction.atomic():
        event_record_many([NewEvent("balance.low", {"balance": f"{i}.00", "currency": "RUB", "threshold": "100.00"},
                                    client_id=5) for i in range(120)], actor=ACTOR)
        _insert_deliveries([(endpoint.pk, e) for e in Event.objects.filter(type="balance.low")])
    errors: list[BaseException] = []
    totals: list[dict[str, int]] = []

    def worker() -> None:
        try:
            totals.append(webhooks_deliver_all(limit=7))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert sum(t["delivered"] for t in totals) == 120
    assert Counter(r.headers["webhook-id"] for r in receiver.received) == {
        f"evt_{uid.hex}": 1 for uid in Event.objects.filter(type="balance.low").values_list("uid", flat=True)}
    assert set(Delivery.objects.values_list("status", "attempts", "lease")) == {(DeliveryStatus.DELIVERED, 1, "")}
    assert Attempt.objects.count() == 120
