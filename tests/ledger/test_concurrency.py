"""50 concurrent credits and debits on one client give the exact balance (PostgreSQL)."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connections

from kopeck.common.actor import Actor
from kopeck.core.money import Money
from kopeck.ledger.models import JournalTransaction, Posting
from kopeck.ledger.selectors import client_balance
from kopeck.ledger.services import ledger_operation_post
from tests.factories import ClientFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]



def test_fifty_concurrent_writers_on_one_client() -> None:
    client = ClientFactory()
    ops = [("payment", Decimal("100.01") + i) if i % 2 == 0 else ("charge", Decimal("33.33") + i) for i in range(50)]
    barrier = threading.Barrier(len(ops))
    errors: list[BaseException] = []

    def worker(op: str, amount: Decimal) -> None:
        try:
            barrier.wait()
            ledger_operation_post(actor=Actor.system("t"), client=client, operation=op, amount=str(amount),
                                  reason="concurrent", vat_rate="22" if op == "charge" else None)
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
    expected = sum((a if op == "payment" else -a for op, a in ops), Decimal(0))
    assert client_balance(client) == Money(expected, "RUB")
    assert JournalTransaction.objects.filter(client=client).count() == 50
    assert Posting.objects.filter(transaction__client=client).count() == 25 * 2 + 25 * 3
