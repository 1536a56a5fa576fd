"""Four processes, each with its own database connection, issue 500 documents at once: the numbers
are 1..500, contiguous and unique, and follow the issue dates (PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import multiprocessing
from typing import Any

import pytest
from django.db import connections

from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict
from kopeck.core.clock import FixedClock
from kopeck.documents import services
from kopeck.documents.models import Document, DocumentStatus, NumberCounter
from tests.documents.conftest import ENTITY
from tests.factories import ClientFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

TOTAL, WORKERS, PER_DAY = 500, 4, 25
BASE = dt.date(2026, 11, 1)



def _worker(ids: list[int], issued: Any, conflicts: Any, errors: Any) -> None:
    """Issue ``ids``; each date comes from how many were issued so far (all workers), so a worker
    that read a stale count is refused (Conflict) and tries again with a fresh date."""
    connections.close_all()  # never use the parent's connection: open our own
    actor = Actor.system("worker")
    try:
        for pk in ids:
            while True:
                day = BASE + dt.timedelta(days=issued.value // PER_DAY)
                try:
                    services.document_issue(actor=actor, document=Document(pk=pk), issue_date=day)
                except Conflict:
                    with conflicts.get_lock():
                        conflicts.value += 1
                    continue
                with issued.get_lock():
                    issued.value += 1
                break
    except BaseException as exc:  # reported to the parent
        with errors.get_lock():
            errors.value += 1
        print(f"worker failed: {type(exc).__name__}: {exc}")
        raise
    finally:
        connections.close_all()


def test_four_processes_issue_500_gapless_numbers_in_date_order(clock: FixedClock, actor: Actor) -> None:
    services.legal_entity_create(actor=actor, **ENTITY)
    client = ClientFactory()
    drafts = [services.document_create_draft(actor=actor, type="invoice", client=client,
                                             lines=[{"name": f"Услуга {i}", "price": "100.00"}]).pk
              for i in range(TOTAL)]
    assert NumberCounter.objects.count() == 0
    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    issued, conflicts, errors = ctx.Value("i", 0), ctx.Value("i", 0), ctx.Value("i", 0)
    procs = [ctx.Process(target=_worker, args=(drafts[w::WORKERS], issued, conflicts, errors))
             for w in range(WORKERS)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0] * WORKERS and errors.value == 0
    rows = list(Document.objects.filter(pk__in=drafts).order_by("number_seq")
                .values_list("number_seq", "number", "issue_date", "status"))
    assert [r[0] for r in rows] == list(range(1, TOTAL + 1))  # contiguous, unique
    assert [r[1] for r in rows] == [str(n) for n in range(1, TOTAL + 1)]
    assert all(r[3] == DocumentStatus.ISSUED for r in rows)
    dates = [r[2] for r in rows]
    assert dates == sorted(dates)  # numbers follow the issue dates
    assert dates[0] == BASE and dates[-1] == BASE + dt.timedelta(days=(TOTAL - 1) // PER_DAY)
    assert list(NumberCounter.objects.values_list("period_key", "last_number")) == [("2026", TOTAL)]
