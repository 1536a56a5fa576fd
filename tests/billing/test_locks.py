"""What a worker locks (PostgreSQL): a chunk in progress holds its own row only — not the run, not
the other chunks, not the plan or client of the subscriptions it bills — so workers process chunks
side by side. (A lock taken through a model's default ordering once made every chunk wait for the
one before it.)"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction

from kopeck.billing import services
from kopeck.billing.models import BillingRun, ChunkPhase, RunChunk, RunMode
from kopeck.billing.services import engine
from kopeck.catalog.models import Plan, Product
from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.subscriptions.services import common as subscriptions
from tests.billing.conftest import TODAY, Book

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]



def _meanwhile(work: Callable[[], object]) -> list[BaseException]:
    """Run ``work`` in another connection, in a transaction that gives up on any lock after 2 s."""
    errors: list[BaseException] = []

    def other() -> None:
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    cursor.execute("SET LOCAL lock_timeout = '2s'")
                work()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    return errors


def test_a_claimed_chunk_locks_neither_the_run_nor_the_other_chunks(actor: Actor) -> None:
    run = services.billing_run_create(actor=actor, billing_date=TODAY, mode=RunMode.AUTO)
    first, second = (RunChunk.objects.create(run=run, seq=n, first_client=n * 10, last_client=n * 10 + 9, planned=1,
                                             phase=ChunkPhase.BILL) for n in (1, 2))
    with transaction.atomic():
        assert engine._claim(first.pk) == first

        def other_worker() -> None:
            assert engine._claim(second.pk) == second
            BillingRun.objects.select_for_update().get(pk=run.pk)  # what finishing a run takes

        assert _meanwhile(other_worker) == []
        # the claimed chunk itself is held
        errors = _meanwhile(lambda: engine._claim(first.pk))
        assert len(errors) == 1 and "lock timeout" in str(errors[0])


def test_billing_a_subscription_locks_neither_its_plan_nor_its_client(book: Book, actor: Actor) -> None:
    sub, other_sub = book.subs[0], book.subs[3]  # the same client, plans "pro" and "lite"
    with transaction.atomic():
        subscriptions.lock(sub)

        def elsewhere() -> None:
            Plan.objects.select_for_update().get(pk=sub.plan_id)
            Product.objects.select_for_update().get(pk=sub.plan.product_id)
            Client.objects.select_for_update().get(pk=sub.client_id)
            subscriptions.lock(other_sub)

        assert _meanwhile(elsewhere) == []
        errors = _meanwhile(lambda: subscriptions.lock(sub))
        assert len(errors) == 1 and "lock timeout" in str(errors[0])
