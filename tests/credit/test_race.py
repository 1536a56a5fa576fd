"""A payment racing the credit check (PostgreSQL, two processes): the check evaluates its chunk
without locks, then processes the clients with something to do under their ledger accounts' locks,
computing everything again; payments committed in between are seen — a client who paid is never
blocked. Payments that arrive while the check holds the locks wait for it; the next check lifts
what their client no longer owes."""

from __future__ import annotations

import datetime as dt
import importlib
import multiprocessing
from decimal import Decimal
from typing import Any

import pytest
from django.db import connections

from kopeck.clients.models import Client, ClientStatus
from kopeck.common import clock as clock_mod
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.credit.models import Block
from kopeck.credit.services import check as check_mod
from kopeck.credit.services import credit_check
from kopeck.documents.models import Document, DocumentStatus, DocumentType
from kopeck.documents.services import legal_entity_create
from kopeck.ledger.services import ledger_operation_post
from tests.documents.conftest import ENTITY
from tests.factories import ClientFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

DAY = dt.date(2026, 12, 20)  # the block day of an invoice due on Dec 6 (block_client at +10)
CLIENTS = 40


@pytest.fixture(autouse=True)
def _default_ladder() -> None:
    """A transactional test runs on tables emptied by the ones before it (migration data included):
    the default dunning ladder is put back as its migration writes it."""
    from django.apps import apps

    importlib.import_module("kopeck.credit.migrations.0002_default_ladder").forwards(apps, None)


def _book(actor: Actor) -> list[int]:
    entity = legal_entity_create(actor=actor, **ENTITY)
    ids = []
    for _ in range(CLIENTS):
        client = ClientFactory()
        ledger_operation_post(actor=actor, client=client, operation="charge", amount=Decimal("1300.00"),
                              reason="Абонентская плата, декабрь")
        Document.objects.create(type=DocumentType.INVOICE, client=client, legal_entity=entity, status=DocumentStatus.ISSUED,
                                number=f"C-{client.pk}", issue_date=dt.date(2026, 12, 1),
                                due_date=dt.date(2026, 12, 6), currency="RUB", amount_minor=130000,
                                created_by="tests", created_at=clock_mod.now())
        ids.append(client.pk)
    return ids


def _checker(evaluated: Any, paid: Any, errors: Any, wait: bool) -> None:
    connections.close_all()
    try:
        real = check_mod.credit_check_clients
        first = [True]

        def between(**kwargs: Any) -> Any:  # the chunk is evaluated: let the payments land, then lock
            if first[0] and wait:
                first[0] = False
                evaluated.set()
                assert paid.wait(120)
            return real(**kwargs)

        check_mod.credit_check_clients = between  # type: ignore[assignment]
        evaluated.set() if not wait else None
        credit_check(on=DAY)
    except BaseException as exc:
        with errors.get_lock():
            errors.value += 1
        print(f"checker failed: {type(exc).__name__}: {exc}")
        raise
    finally:
        connections.close_all()


def _payer(ids: list[int], evaluated: Any, paid: Any, errors: Any) -> None:
    connections.close_all()
    try:
        assert evaluated.wait(120)
        actor = Actor.system("bank")
        for pk in ids:
            ledger_operation_post(actor=actor, client=Client.objects.get(pk=pk), operation="payment",
                                  amount=Decimal("1300.00"), reason="Оплата по счёту")
        paid.set()
    except BaseException as exc:
        with errors.get_lock():
            errors.value += 1
        print(f"payer failed: {type(exc).__name__}: {exc}")
        raise
    finally:
        connections.close_all()


def _race(ids: list[int], payers: list[int], *, wait: bool) -> None:
    connections.close_all()
    ctx = multiprocessing.get_context("fork")
    evaluated, paid, errors = ctx.Event(), ctx.Event(), ctx.Value("i", 0)
    procs = [ctx.Process(target=_checker, args=(evaluated, paid, errors, wait)),
             ctx.Process(target=_payer, args=(payers, evaluated, paid, errors))]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=300)
    assert [p.exitcode for p in procs] == [0, 0] and errors.value == 0


def test_a_client_who_paid_after_the_chunk_was_evaluated_is_not_blocked(clock: FixedClock, actor: Actor) -> None:
    clock.set(dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC))
    ids = _book(actor)
    clock.set(dt.datetime(2026, 12, 20, 9, tzinfo=dt.UTC))
    payers = ids[::2]
    _race(ids, payers, wait=True)  # the payments commit after the evaluation, before the locks
    blocked = set(Block.objects.values_list("client_id", flat=True))
    assert blocked == set(ids) - set(payers)  # not one payer was ever blocked, every other client is
    statuses = dict(Client.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert all(statuses[pk] == ClientStatus.ACTIVE for pk in payers)


def test_payments_during_the_check_leave_no_paid_client_blocked_after_the_next_run(clock: FixedClock,
                                                                                 actor: Actor) -> None:
    clock.set(dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC))
    ids = _book(actor)
    clock.set(dt.datetime(2026, 12, 20, 9, tzinfo=dt.UTC))
    _race(ids, ids, wait=False)  # every client pays while the check runs, in no particular order
    early = set(Block.objects.filter(lifted_at__isnull=True).values_list("client_id", flat=True))
    credit_check(on=DAY)  # a block placed before a payment committed is lifted by the next run
    assert set(Block.objects.filter(lifted_at__isnull=True).values_list("client_id", flat=True)) == set()
    assert set(Client.objects.filter(pk__in=ids, status=ClientStatus.BLOCKED).values_list("pk", flat=True)) == set()
    assert early <= set(ids)
