"""Concurrent writers of one client's events on PostgreSQL: numbers without gaps or repeats, in
commit order; and one dispatcher at a time."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections, transaction

from kopeck.common.actor import Actor
from kopeck.events.models import Event
from kopeck.events.services import event_record, events_dispatch
from tests.events.conftest import Collector, client_data

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def test_concurrent_changes_of_one_client_get_contiguous_numbers_in_commit_order() -> None:
    errors: list[BaseException] = []
    committed: list[int] = []  # sequence numbers in the order their transactions committed
    lock = threading.Lock()

    def writer(n: int) -> None:
        try:
            for i in range(15):
                with transaction.atomic():
                    event = event_record("client.changed", actor=Actor.system(f"w{n}"), client_id=5,
                                         data={**client_data(5), "changed": [f"{n}-{i}"]})
                    time.sleep(0.002 * ((n + i) % 3))  # hold the number a little while
                    with lock:  # recorded just before the commit, under the counter row's lock
                        committed.append(int(event.sequence or 0))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    rows = list(Event.objects.filter(client_id=5).order_by("id").values_list("sequence", flat=True))
    assert rows == list(range(1, 61))  # ids follow the numbers: a client's events are handed over in order
    assert committed == list(range(1, 61))


def test_one_dispatcher_at_a_time(consumer: Collector) -> None:
    with transaction.atomic():
        event_record("client.created", actor=Actor.system("t"), client_id=1, data=client_data(1))
    started, release = threading.Event(), threading.Event()
    results: list[dict[str, int]] = []

    def slow(events: object) -> None:
        started.set()
        release.wait(10)

    from kopeck.events import ports

    ports.register_consumer("slow", slow, order=0)

    def first() -> None:
        try:
            results.append(events_dispatch())
        finally:
            connections.close_all()

    t = threading.Thread(target=first)
    t.start()
    assert started.wait(10)
    assert events_dispatch() == {"processed": 0, "failed": 0, "busy": 1}
    release.set()
    t.join()
    assert results == [{"processed": 1, "failed": 0, "busy": 0}]
