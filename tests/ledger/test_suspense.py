"""``ledger_suspense_post``: unidentified payments received onto the suspense account (no client) and
returned to the payer, their reversal, and the ledger's readers of transactions."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kopeck.audit.models import AuditEntry
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.core.money import Money
from kopeck.ledger.models import Account, JournalTransaction, Posting
from kopeck.ledger.selectors import client_transactions, transaction_get
from kopeck.ledger.services import ledger_operation_post, ledger_suspense_post, ledger_transaction_reverse
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("payments")


def counts() -> tuple[int, int, int, int]:
    return (JournalTransaction.objects.count(), Posting.objects.count(), Account.objects.count(),
            AuditEntry.objects.count())


def legs(txn: JournalTransaction) -> list[tuple[str, int]]:
    return sorted((p.account.code, p.amount_minor) for p in txn.postings.select_related("account"))


def suspense_balance() -> int:
    return sum(Posting.objects.filter(account__code="suspense:RUB").values_list("amount_minor", flat=True))


def test_a_receipt_and_its_return(clock: FixedClock) -> None:
    receipt = ledger_suspense_post(actor=ACTOR, operation="suspense_receipt", amount=Money("1500.00", "RUB"),
                                   reason=" Платёж № 7 ", source_ref=" payment:7 ")
    stored = JournalTransaction.objects.get(pk=receipt.pk)
    assert (stored.operation, stored.client_id, stored.currency, stored.amount_minor, stored.vat_rate,
            stored.vat_minor, stored.reason, stored.source_ref, stored.recorded_at, stored.reverses_id) == (
        "suspense_receipt", None, "RUB", 150000, "", 0, "Платёж № 7", "payment:7", clock.now(), None)
    assert stored.explanation == {"ru": "Невыясненный платёж: 1500.00 RUB", "en": "Unidentified payment: 1500.00 RUB",
                                  "formula": ""}
    assert legs(stored) == [("cash:RUB", 150000), ("suspense:RUB", -150000)]
    audit = AuditEntry.objects.get(object_type="transaction", object_id=str(receipt.pk))
    assert (audit.action, audit.actor_label, audit.before, audit.after) == (
        "ledger.suspense_receipt", "payments", None,
        {"client": None, "operation": "suspense_receipt", "amount": "1500.00", "currency": "RUB",
         "reason": "Платёж № 7", "source_ref": "payment:7", "reverses": None})
    assert suspense_balance() == -150000

    back = ledger_suspense_post(actor=ACTOR, operation="suspense_return", amount=Money("500.00", "RUB"),
                                reason="Возврат", source_ref="refund:1")
    assert legs(back) == [("cash:RUB", -50000), ("suspense:RUB", 50000)]
    assert (back.operation, back.client_id, back.amount_minor) == ("suspense_return", None, 50000)
    assert suspense_balance() == -100000


def test_a_receipt_through_a_gateway(clock: FixedClock) -> None:
    txn = ledger_suspense_post(actor=ACTOR, operation="suspense_receipt", amount=Money("10.00", "RUB"),
                               reason="r", via_gateway=True)
    assert legs(txn) == [("gateway_clearing:RUB", 1000), ("suspense:RUB", -1000)]
    assert JournalTransaction.objects.get(pk=txn.pk).source_ref == ""  # none given
    back = ledger_suspense_post(actor=ACTOR, operation="suspense_return", amount=Money("10.00", "RUB"),
                                reason="r", via_gateway=True)
    assert legs(back) == [("gateway_clearing:RUB", -1000), ("suspense:RUB", 1000)]


@pytest.mark.parametrize(("call", "errors"), [
    ({"operation": "payment"}, {"operation": ["Choose suspense_receipt or suspense_return."]}),
    ({"operation": "suspense_assign"}, {"operation": ["Choose suspense_receipt or suspense_return."]}),
    ({"reason": " "}, {"reason": ["A reason is required."]}),
    ({"reason": None}, {"reason": ["A reason is required."]}),
    ({"amount": Money("0", "RUB")}, {"amount": ["amount must be positive"]}),
    ({"amount": Money("-1.00", "RUB")}, {"amount": ["amount must be positive"]}),
    ({"amount": Money("1.001", "RUB")}, {"amount": ["amount 1.001 has more decimals than RUB allows"]}),
])
def test_each_refusal_says_why_and_writes_nothing(clock: FixedClock, call: dict[str, Any],
                                                  errors: dict[str, list[str]]) -> None:
    before = counts()
    with pytest.raises(ValidationFailed) as info:
        ledger_suspense_post(actor=ACTOR, **{"operation": "suspense_receipt", "amount": Money("1.00", "RUB"),
                                             "reason": "r", **call})
    assert info.value.errors == errors
    assert counts() == before


def test_a_receipt_is_reversed_once(clock: FixedClock) -> None:
    receipt = ledger_suspense_post(actor=ACTOR, operation="suspense_receipt", amount=Money("70.00", "RUB"),
                                   reason="r")
    rev = ledger_transaction_reverse(actor=ACTOR, transaction_id=receipt.pk, reason=" ошибка ")
    stored = JournalTransaction.objects.get(pk=rev.pk)
    assert (stored.operation, stored.client_id, stored.reverses_id, stored.amount_minor, stored.reason,
            stored.source_ref) == ("reversal", None, receipt.pk, 7000, "ошибка", f"reversal of #{receipt.pk}")
    assert legs(stored) == [("cash:RUB", -7000), ("suspense:RUB", 7000)]
    assert suspense_balance() == 0
    before = counts()
    with pytest.raises(Conflict, match=f"^Transaction {receipt.pk} has already been reversed.$"):
        ledger_transaction_reverse(actor=ACTOR, transaction_id=receipt.pk, reason="again")
    assert counts() == before


def test_the_transactions_of_a_client_newest_first(clock: FixedClock) -> None:
    client, other = ClientFactory(), ClientFactory()
    start = clock.now()
    clock.set(start + dt.timedelta(hours=1))
    later = ledger_operation_post(actor=ACTOR, client=client, operation="payment", amount="10.00", reason="a")
    clock.set(start)  # recorded earlier, written after: the time decides, not the id
    first = ledger_operation_post(actor=ACTOR, client=client, operation="payment", amount="10.00", reason="b")
    second = ledger_operation_post(actor=ACTOR, client=client, operation="charge", amount="5.00", reason="c")
    ledger_operation_post(actor=ACTOR, client=other, operation="payment", amount="1.00", reason="d")
    ledger_suspense_post(actor=ACTOR, operation="suspense_receipt", amount=Money("1.00", "RUB"), reason="e")
    assert list(client_transactions(client)) == [later, second, first]  # at the same time: the later id first
    clock.set(start + dt.timedelta(hours=2))
    rev = ledger_transaction_reverse(actor=ACTOR, transaction_id=first.pk, reason="f")
    assert list(client_transactions(client)) == [rev, later, second, first]
    with CaptureQueriesContext(connection) as queries:  # the client and the reversed transaction with it
        found = transaction_get(rev.pk)
        assert found is not None and (found.pk, found.client, found.reverses) == (rev.pk, client, first)
    assert len(queries.captured_queries) == 1
    assert transaction_get(999999) is None


def test_a_transaction_without_a_client_other_than_a_suspense_one_is_not_reversed(clock: FixedClock) -> None:
    """The services write no such row (only suspense operations have no client), but a row inserted
    otherwise (a data migration, an import) is refused rather than reversed onto no account."""
    stray = JournalTransaction.objects.create(
        operation="payment", client=None, currency="RUB", amount_minor=100, reason="import", recorded_at=clock.now(),
        actor_kind="system", actor_label="import", explanation={})
    before = counts()
    with pytest.raises(Conflict) as info:
        ledger_transaction_reverse(actor=ACTOR, transaction_id=stray.pk, reason="x")
    assert str(info.value) == "Only client-account transactions can be reversed here."
    assert counts() == before
