from __future__ import annotations

import pytest
from django.db import DatabaseError, transaction

from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.ledger.models import JournalTransaction, Posting
from kopeck.ledger.services import ledger_operation_post
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


@pytest.mark.postgres  # the append-only trigger exists on PostgreSQL
def test_postgres_refuses_updates_and_deletes_of_the_ledger(clock: FixedClock) -> None:
    txn = ledger_operation_post(actor=Actor.system("t"), client=ClientFactory(), operation="payment",
                                amount="1.00", reason="x")
    for attempt in (lambda: Posting.objects.filter(transaction=txn).update(amount_minor=1),
                    lambda: Posting.objects.filter(transaction=txn).delete(),
                    lambda: JournalTransaction.objects.filter(pk=txn.pk).update(reason="changed")):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            attempt()
    assert JournalTransaction.objects.get(pk=txn.pk).reason == "x"
    assert sorted(Posting.objects.filter(transaction=txn).values_list("amount_minor", flat=True)) == [-100, 100]
