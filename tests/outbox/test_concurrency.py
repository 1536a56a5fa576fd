"""Concurrent deliverers on PostgreSQL never run the same message at once, and each message once."""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import connections, transaction

from kopeck.outbox import registry
from kopeck.outbox.models import MessageStatus, OutboxMessage
from kopeck.outbox.services import outbox_deliver, outbox_enqueue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]



def test_concurrent_deliverers_never_run_one_message_twice() -> None:
    with transaction.atomic():
        ids = [outbox_enqueue(topic="tests.concurrent", payload={"n": n}).pk for n in range(60)]
    lock = threading.Lock()
    running: set[int] = set()
    overlaps: list[int] = []
    runs: Counter[int] = Counter()
    by_worker: dict[int, list[int]] = {}

    def handler(message: OutboxMessage) -> None:
        with lock:
            if message.pk in running:
                overlaps.append(message.pk)
            running.add(message.pk)
            runs[message.pk] += 1
            by_worker.setdefault(threading.get_ident(), []).append(message.pk)
        time.sleep(0.005)
        with lock:
            running.discard(message.pk)

    workers = 4
    barrier = threading.Barrier(workers)
    errors: list[BaseException] = []
    totals: list[dict[str, int]] = []

    def worker() -> None:
        try:
            barrier.wait()
            while True:
                counts = outbox_deliver(limit=5)
                if not sum(counts.values()):
                    break
                with lock:
                    totals.append(counts)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    with registry.override("tests.concurrent", handler):
        threads = [threading.Thread(target=worker) for _ in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert errors == []
    assert overlaps == []
    assert runs == Counter(dict.fromkeys(ids, 1))
    assert sum(c["delivered"] for c in totals) == 60
    assert len(by_worker) > 1  # the work really was shared
    assert OutboxMessage.objects.filter(status=MessageStatus.DELIVERED).count() == 60


def test_concurrent_writers_of_one_key_write_one_message() -> None:
    """The second writer of a key waits for the first: it gets the first's message once that commits, or
    writes its own once that rolls back."""
    started, release = threading.Event(), threading.Event()
    seen: list[int] = []

    def first(commit: bool) -> None:
        try:
            with transaction.atomic():
                seen.append(outbox_enqueue(topic="tests.once", payload={"by": "first"}, key=f"once-{commit}").pk)
                started.set()
                release.wait(10)
                if not commit:
                    transaction.set_rollback(True)
        finally:
            connections.close_all()

    for commit in (False, True):
        started.clear()
        release.clear()
        t = threading.Thread(target=first, args=(commit,))
        t.start()
        assert started.wait(10)
        threading.Timer(0.2, release.set).start()  # the writer below waits on the key meanwhile
        with transaction.atomic():
            second = outbox_enqueue(topic="tests.once", payload={"by": "second"}, key=f"once-{commit}")
        t.join()
        rows = list(OutboxMessage.objects.filter(key=f"once-{commit}").values_list("pk", "payload"))
        if commit:  # the first's message, once it committed
            assert second.pk == seen[-1]
            assert rows == [(seen[-1], {"by": "first"})]
        else:  # the first rolled back: the second's message is written
            assert rows == [(second.pk, {"by": "second"})]
            assert second.pk != seen[-1]
