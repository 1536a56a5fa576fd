"""The PostgreSQL fast path of ``ledger_operation_post``: once the system accounts of a currency are
remembered (after the transaction that first used them committed), a posting on a client that has an
account is one statement. Production takes it for every posting after an account's first, so it is
checked here as such: one statement, and exactly the rows the ORM path writes (PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from kopeck.audit.models import AuditEntry
from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.core.money import Money
from kopeck.ledger.models import Account, JournalTransaction
from kopeck.ledger.selectors import client_balance
from kopeck.ledger.services import (
    forget_system_accounts,
    ledger_operation_post,
    ledger_system_accounts_ensure,
    ledger_transaction_reverse,
)
from tests.factories import ClientFactory

pytestmark = pytest.mark.postgres
ACTOR = Actor.system("tests")
FAST = "WITH a AS ("  # the fast path's single statement starts so

OnCommit = Callable[..., AbstractContextManager[Any]]


def post(client: Client, operation: str, amount: str, **kw: Any) -> JournalTransaction:
    return ledger_operation_post(actor=ACTOR, client=client, operation=operation, amount=amount,
                                 reason=kw.pop("reason", "test"), **kw)


def rows(txn: JournalTransaction) -> dict[str, Any]:
    """What a posting wrote, without ids: the transaction, its postings by account, its audit entry."""
    client_code = f"client:{txn.client_id}:{txn.currency}"
    fields = ("operation", "currency", "amount_minor", "vat_rate", "vat_minor", "reason", "source_ref",
              "recorded_at", "actor_kind", "actor_id", "actor_label", "explanation")
    stored = JournalTransaction.objects.get(pk=txn.pk)
    audit = AuditEntry.objects.get(object_type="transaction", object_id=str(txn.pk))
    after = {**audit.after, "client": "CLIENT"}
    return {
        "transaction": {f: getattr(stored, f) for f in fields},
        "postings": sorted(("CLIENT" if p.account.code == client_code else p.account.code, p.amount_minor,
                            p.currency, p.recorded_at) for p in stored.postings.select_related("account")),
        "audit": (audit.action, audit.actor_kind, audit.actor_label, audit.at, after),
    }


@pytest.fixture
def remembered(db: Any, clock: FixedClock, django_capture_on_commit_callbacks: OnCommit) -> Iterator[Client]:
    """A client whose first payment committed after RUB's system accounts were created (as billing runs
    do first): its account exists and every system account of RUB is remembered."""
    client = ClientFactory()
    with django_capture_on_commit_callbacks(execute=True):
        ledger_system_accounts_ensure(currencies=["RUB"])
        post(client, "payment", "1000.00", source_ref="п/п 1")
    yield client


def test_a_posting_after_the_first_commit_is_one_statement(remembered: Client, clock: FixedClock) -> None:
    with CaptureQueriesContext(connection) as queries:
        charge = post(remembered, "charge", "122.00", vat_rate="22", source_ref="сч. 7")
    assert [q["sql"].lstrip()[:len(FAST)] for q in queries.captured_queries] == [FAST]
    assert rows(charge)["postings"] == [
        ("CLIENT", 12200, "RUB", clock.now()), ("revenue:RUB", -10000, "RUB", clock.now()),
        ("vat_payable:RUB", -2200, "RUB", clock.now())]
    assert client_balance(remembered) == Money("878.00", "RUB")
    assert (charge.pk, charge.amount_minor, charge.vat_minor) == (
        JournalTransaction.objects.latest("id").pk, 12200, 2200)


@pytest.mark.parametrize(("operation", "amount", "vat_rate", "balance"), [
    ("payment", "250.50", None, "1250.50"),
    ("bonus", "0.01", None, "1000.01"),
    ("refund_reversal", "10.00", None, "1010.00"),
    ("correction_credit", "3.33", None, "1003.33"),
    ("charge", "100.00", None, "900.00"),  # the settings' VAT rate (22 %): 18.03 of VAT
    ("one_off_charge", "99.99", "10", "900.01"),
    ("correction_debit", "0.02", None, "999.98"),
    ("refund", "1000.00", None, "0.00"),
])
def test_the_fast_path_writes_what_the_orm_path_writes(remembered: Client, clock: FixedClock, operation: str,
                                                       amount: str, vat_rate: str | None, balance: str) -> None:
    with CaptureQueriesContext(connection) as queries:
        fast = post(remembered, operation, amount, vat_rate=vat_rate, source_ref="ref")
    assert sum(q["sql"].lstrip().startswith(FAST) for q in queries.captured_queries) == 1
    slow_client = ClientFactory()
    post(slow_client, "payment", "1000.00", source_ref="п/п 1")  # the same history
    forget_system_accounts()  # nothing remembered: the ORM path
    with CaptureQueriesContext(connection) as queries:
        slow = post(slow_client, operation, amount, vat_rate=vat_rate, source_ref="ref")
    assert not any(q["sql"].lstrip().startswith(FAST) for q in queries.captured_queries)
    assert rows(fast) == rows(slow)
    assert client_balance(remembered) == client_balance(slow_client) == Money(balance, "RUB")


def test_a_client_without_an_account_gets_one_through_the_orm_path(remembered: Client, clock: FixedClock) -> None:
    newcomer = ClientFactory()
    with CaptureQueriesContext(connection) as queries:
        txn = post(newcomer, "payment", "10.00")
    sql = [q["sql"].lstrip() for q in queries.captured_queries]
    assert sql[0].startswith(FAST) and not any(s.startswith(FAST) for s in sql[1:])  # tried, inserted nothing
    assert JournalTransaction.objects.filter(client=newcomer).count() == 1
    assert rows(txn)["postings"] == [("CLIENT", -1000, "RUB", clock.now()), ("cash:RUB", 1000, "RUB", clock.now())]
    assert Account.objects.filter(client=newcomer, currency="RUB").count() == 1
    assert client_balance(newcomer) == Money("10.00", "RUB")


def test_a_reversal_on_the_fast_path_undoes_the_postings(remembered: Client) -> None:
    charge = post(remembered, "charge", "244.00", vat_rate="22")
    with CaptureQueriesContext(connection) as queries:
        rev = ledger_transaction_reverse(actor=ACTOR, transaction_id=charge.pk, reason="ошибка")
    assert sum(q["sql"].lstrip().startswith(FAST) for q in queries.captured_queries) == 1
    assert sorted(p[:2] for p in rows(rev)["postings"]) == sorted(
        (code, -units) for code, units, *_ in rows(charge)["postings"])
    assert client_balance(remembered) == Money("1000.00", "RUB")
    assert JournalTransaction.objects.get(pk=rev.pk).reverses_id == charge.pk


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_on_the_fast_path_give_the_exact_balance(clock: FixedClock) -> None:
    client = ClientFactory()
    ledger_system_accounts_ensure(currencies=["RUB"])
    post(client, "payment", "0.01")  # committed: every writer below takes the fast path
    ops = [("payment", Decimal("100.01") + i) if i % 2 == 0 else ("charge", Decimal("33.33") + i) for i in range(30)]
    barrier = threading.Barrier(len(ops))
    errors: list[BaseException] = []
    statements: list[str] = []

    def worker(op: str, amount: Decimal) -> None:
        try:
            barrier.wait()
            with CaptureQueriesContext(connections["default"]) as queries:
                post(client, op, str(amount), vat_rate="22" if op == "charge" else None)
            statements.extend(q["sql"].lstrip()[:len(FAST)] for q in queries.captured_queries
                              if q["sql"].lstrip().startswith("WITH"))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=o) for o in ops]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert statements == [FAST] * len(ops)
    expected = Decimal("0.01") + sum((a if op == "payment" else -a for op, a in ops), Decimal(0))
    assert client_balance(client) == Money(expected, "RUB")
    assert JournalTransaction.objects.filter(client=client).count() == 31
    assert AuditEntry.objects.filter(object_type="transaction").count() == 31
