"""Several dispatchers at once on PostgreSQL: every event is processed once — its rules run once, its
consumers see it once — whether the dispatchers queue on the advisory lock or (the lock bypassed) claim
their batches side by side from the queue (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence

import pytest
from django.db import connections, transaction

from kopeck.clients.models import Client
from kopeck.common import clock
from kopeck.events import ports, services
from kopeck.events.models import Event, PendingEvent
from kopeck.events.services import NewEvent, event_record_many, events_dispatch_all
from kopeck.outbox.models import OutboxMessage
from kopeck.rules.models import RuleExecution
from tests.rules.conftest import ACTOR, make_rule

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.mark.parametrize("advisory_lock", [True, False])
def test_concurrent_dispatchers_never_run_a_rule_twice_for_an_event(advisory_lock: bool,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    if not advisory_lock:  # what stays: the queue rows each dispatcher locks and skips
        monkeypatch.setattr(services, "_take_dispatch_lock", lambda: True)
    first = make_rule("first", priority=1, actions=[{"type": "notify", "to": ["ops@provider.ru"],
                                                     "subject": "{{ event.id }}", "body": "{{ client.name }}"}])
    second = make_rule("second", priority=2, condition='event.data.changed[0] != "tags"',
                       actions=[{"type": "notify", "to": ["buh@provider.ru"], "subject": "{{ event.id }}",
                                 "body": "-"}])
    now = clock.now()  # clients as rows: a transactional test has no seeded field definitions to validate against
    clients = [c.pk for c in Client.objects.bulk_create([
        Client(type="legal", name=f"ООО «Клиент {n}»", currency="RUB", created_at=now, updated_at=now)
        for n in range(5)])]
    with transaction.atomic():
        ids = event_record_many([NewEvent("client.changed", {"client": {"id": c, "type": "individual", "name": "x",
                                                                        "status": "active", "currency": "RUB"},
                                                             "changed": ["name"]}, client_id=c)
                                 for c in clients * 40], actor=ACTOR)
    seen: list[int] = []  # the events the consumers' committed transactions took
    lock = threading.Lock()

    def slow(events: Sequence[Event]) -> None:
        time.sleep(0.01)  # the dispatchers overlap
        taken = [e.pk for e in events]

        def committed() -> None:
            with lock:
                seen.extend(taken)

        transaction.on_commit(committed)

    ports.register_consumer("slow", slow, order=0)
    errors: list[BaseException] = []
    totals: list[dict[str, int]] = []

    def dispatcher() -> None:
        try:
            for _ in range(50):
                counts = events_dispatch_all(limit=7)
                totals.append(counts)
                if not PendingEvent.objects.filter(event_id__in=ids).exists():
                    break
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    try:
        threads = [threading.Thread(target=dispatcher) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
    finally:
        ports.unregister_consumer("slow")
    assert errors == []
    assert sum(t["failed"] for t in totals) == 0
    counted = Counter(seen)
    assert set(ids) <= set(counted) and max(counted.values()) == 1
    assert not PendingEvent.objects.exists()
    runs = Counter(RuleExecution.objects.filter(event_id__in=ids).values_list("event_id", flat=True))
    assert runs == Counter(ids)  # one execution per event
    assert all(r == f",{first.pk},{second.pk}," for r in
               RuleExecution.objects.filter(event_id__in=ids).values_list("matched", flat=True))
    mails = Counter(OutboxMessage.objects.filter(topic="email.send").values_list("payload__subject", flat=True))
    assert mails == Counter({str(i): 2 for i in ids})  # each rule's e-mail once per event
    if not advisory_lock:
        assert sum(t["busy"] for t in totals) == 0  # they did run side by side
