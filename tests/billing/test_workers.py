"""Billing runs on real Celery workers (Redis on this machine, PostgreSQL), killed with SIGKILL at
several points and resumed: every client's ledger ends exactly as after an uninterrupted run.

Five identical "worlds" of clients and subscriptions are created. World A is billed by a worker
that is left alone; each other world by a worker that kills itself (``KOPECK_FAULT``, see
kopeck.common.faults) at one point — inside a chunk's transaction after the ledger writes, just
before a chunk commits, right after a chunk committed, and while the run is being finished — and
is then resumed by dispatching the run again to a fresh worker. Ledgers, billed periods and run
items are compared world against world with the ids taken out."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from kopeck.billing import services
from kopeck.billing.models import BillingRun, RunChunk, RunItem, RunMode, RunStatus
from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.documents.models import Document
from kopeck.documents.services import legal_entity_create
from kopeck.ledger.models import JournalTransaction, Posting
from kopeck.subscriptions.models import BilledPeriod, Subscription
from kopeck.subscriptions.services import subscription_create
from tests.documents.conftest import ENTITY
from tests.required_services import redis_url
from tests.subscriptions.helpers import at, make_client, make_plan

# workers share the database with the test: PostgreSQL only
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres, pytest.mark.redis,
              pytest.mark.celery_worker]
ROOT = Path(__file__).resolve().parents[2]
D = dt.date
BILLING_DATE = D(2026, 11, 25)
CLIENTS = 5


def world(actor: Actor, clock: FixedClock) -> list[Client]:
    clients = []
    for i in range(CLIENTS):
        client = make_client()
        at(clock, D(2026, 10, 10))
        subscription_create(actor=actor, client=client, plan="pro", quantity=i + 1)
        at(clock, D(2026, 11, 1))
        subscription_create(actor=actor, client=client, plan="lite", anchor_kind="calendar", billing_day=1)
        clients.append(client)
    at(clock, BILLING_DATE)
    return clients


def outcome(clients: list[Client]) -> list[Any]:
    """Everything a run wrote for ``clients``, per client, without ids and instants."""
    result = []
    for client in clients:
        subs = {pk: n for n, pk in enumerate(Subscription.objects.filter(client=client).order_by("pk")
                                             .values_list("pk", flat=True))}

        def scrub(text: str, subs: dict[int, int] = subs) -> str:
            return re.sub(r"(#|subscription:)(\d+)", lambda m: f"{m[1]}S{subs.get(int(m[2]), '?')}", text)

        txns = JournalTransaction.objects.filter(client=client)
        result.append({
            "ledger": sorted((scrub(t.source_ref), t.operation, t.amount_minor, t.vat_rate, t.vat_minor,
                              scrub(t.reason), str(t.explanation)) for t in txns),
            "postings": sorted((p.account.role, p.amount_minor) for p in Posting.objects.filter(
                transaction__client=client).select_related("account")),
            "billed": sorted((subs[b.subscription_id], b.component, b.period_start, b.period_end, b.amount_minor)
                             for b in BilledPeriod.objects.filter(subscription__client=client)),
            "items": sorted((subs[i.subscription_id], i.status, str(i.items), len(i.transaction_ids),
                             i.applied_at is not None) for i in RunItem.objects.filter(client=client)),
            "documents": sorted((d.type, d.status, d.amount_minor, d.vat_minor, d.transactions.count())
                                for d in Document.objects.filter(client=client)),
        })
    return result


class Worker:
    def __init__(self, env: dict[str, str], queue: str, fault: str = "") -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "kopeck.celery", "worker", "--pool=solo", "-Q", queue,
             "-n", f"{uuid.uuid4().hex[:6]}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-l", "WARNING"], env={**env, "KOPECK_FAULT": fault}, cwd=ROOT, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)

    def died(self, timeout: float = 90) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            pytest.fail(f"the worker did not die: {self.proc.stdout.read() if self.proc.stdout else ''}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def dispatch(env: dict[str, str], queue: str, run: BillingRun) -> None:
    """Dispatch (or resume) ``run`` from another process, as an operator's command would."""
    code = ("import django; django.setup()\n"
            "from kopeck.billing.models import BillingRun\n"
            "from kopeck.billing.services import billing_run_dispatch\n"
            "from kopeck.common.actor import Actor\n"
            f"billing_run_dispatch(actor=Actor.system('tests'), run=BillingRun.objects.get(pk={run.pk}), "
            f"queue={queue!r})\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=120, check=False)
    assert out.returncode == 0, out.stderr


def wait_for(run: BillingRun, *statuses: str, timeout: float = 120) -> BillingRun:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status in statuses:
            return run
        time.sleep(0.2)
    pytest.fail(f"run #{run.pk} is still {run.status}")


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    db = connection.settings_dict
    redis_db = uuid.uuid4().int % 15 + 1
    url = redis_url(redis_db)
    return {**os.environ, "CELERY_BROKER_URL": url, "CELERY_RESULT_BACKEND": "", "KOPECK_VAR_DIR": str(tmp_path),
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
            "KOPECK_LOG_LEVEL": "WARNING", "KOPECK_BILLING_CHUNK": "3"}


CRASHES = ["chunk.posted@2", "chunk.before_commit@1", "chunk.after_commit@2", "finish.before_documents@1"]


def test_runs_killed_at_any_point_resume_to_the_uninterrupted_result(
        actor: Actor, clock: FixedClock, env: dict[str, str]) -> None:
    # KOPECK_BILLING_CHUNK=3 (env): 2 subscriptions per client, so chunks of 2, 2 and 1 clients
    at(clock, D(2026, 10, 10))
    make_plan(actor, clock, "pro")
    make_plan(actor, clock, "lite", base="490.00", seat="100.00")
    legal_entity_create(actor=actor, **ENTITY)  # runs issue an invoice per client
    worlds = {name: world(actor, clock) for name in ["uninterrupted", *CRASHES]}
    queue = f"q-{uuid.uuid4().hex[:8]}"
    runs = {name: services.billing_run_create(actor=actor, billing_date=BILLING_DATE, mode=RunMode.AUTO,
                                              scope={"clients": [c.pk for c in clients]})
            for name, clients in worlds.items()}

    # the uninterrupted run, on a real worker
    worker = Worker(env, queue)
    try:
        dispatch(env, queue, runs["uninterrupted"])
        done = wait_for(runs["uninterrupted"], RunStatus.COMPLETED, RunStatus.FAILED)
    finally:
        worker.stop()
    assert done.status == RunStatus.COMPLETED
    assert RunChunk.objects.filter(run=done).count() == 3
    expected = outcome(worlds["uninterrupted"])
    # pro from 10 October: two periods × (base, seats); lite from 1 November: one period × (base, seats)
    assert [len(c["ledger"]) for c in expected] == [6] * CLIENTS
    assert all(c["items"] and all(applied for *_, applied in c["items"]) for c in expected)
    assert all(len(c["documents"]) == 1 for c in expected)

    for fault in CRASHES:
        run = runs[fault]
        doomed = Worker(env, queue, fault=fault)
        dispatch(env, queue, run)
        assert doomed.died() == -9, fault  # SIGKILL
        run.refresh_from_db()
        assert run.status != RunStatus.COMPLETED, fault
        worker = Worker(env, queue)
        try:
            dispatch(env, queue, run)  # resume
            run = wait_for(run, RunStatus.COMPLETED, RunStatus.FAILED)
        finally:
            worker.stop()
        assert run.status == RunStatus.COMPLETED, fault
        assert (run.processed, run.applied) == (done.processed, done.applied), fault
        assert outcome(worlds[fault]) == expected, fault
        assert run.summary["totals_by_currency"] == done.summary["totals_by_currency"], fault
    # invoice numbers stayed gapless through every crash: 1 … N, one per client, in order of issue
    numbers = list(Document.objects.order_by("number_seq").values_list("number_seq", flat=True))
    assert numbers == list(range(1, len(worlds) * CLIENTS + 1))
