"""Edges of ``ledger_operation_post`` and ``ledger_transaction_reverse`` where a wrong branch would
move money to the wrong account or record the wrong thing: a client whose currency changed, the
payments app's internal operations, what is stored by default, the actor and the reversal's record,
two reversals of one transaction at once."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from kopeck.audit.models import AuditEntry
from kopeck.clients.models import Client
from kopeck.common.actor import Actor, ActorKind
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.core.money import Money
from kopeck.ledger.models import Account, JournalTransaction, Posting
from kopeck.ledger.selectors import client_balance
from kopeck.ledger.services import (
    ledger_operation_post,
    ledger_suspense_post,
    ledger_system_accounts_ensure,
    ledger_transaction_reverse,
)
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
OPERATIONS = "payment, bonus, refund_reversal, correction_credit, charge, one_off_charge, correction_debit, refund"


def post(client: Client, operation: str, amount: str, **kw: Any) -> JournalTransaction:
    return ledger_operation_post(actor=kw.pop("actor", ACTOR), client=client, operation=operation, amount=amount,
                                 reason=kw.pop("reason", "test"), **kw)


def counts() -> tuple[int, int, int]:
    return JournalTransaction.objects.count(), Posting.objects.count(), AuditEntry.objects.count()


def client_leg(txn: JournalTransaction) -> tuple[str, int]:
    (leg,) = Posting.objects.filter(transaction=txn, account__role="client").select_related("account")
    return leg.account.code, leg.amount_minor


def test_a_client_whose_currency_changed_keeps_each_balance_on_its_account(clock: FixedClock) -> None:
    """A client paid in USD, then its account currency became RUB: RUB postings go to the RUB account,
    and each currency's balance counts its own postings only."""
    client = ClientFactory(currency="USD")
    post(client, "payment", "5.00")
    client.currency = "RUB"
    client.save(update_fields=["currency"])
    paid = post(client, "payment", "100.00")
    charged = post(client, "charge", "30.00", vat_rate="exempt")
    assert client_leg(paid) == (f"client:{client.pk}:RUB", -10000)
    assert client_leg(charged) == (f"client:{client.pk}:RUB", 3000)
    assert client_balance(client) == Money("70.00", "RUB")
    assert client_balance(client, currency="usd") == Money("5.00", "USD")
    assert Account.objects.filter(client=client).count() == 2


def test_what_a_payment_stores_by_default(clock: FixedClock) -> None:
    txn = post(ClientFactory(), "payment", "10.00", vat_rate="")
    stored = JournalTransaction.objects.get(pk=txn.pk)
    assert (stored.source_ref, stored.vat_rate, stored.vat_minor, stored.reverses_id) == ("", "", 0, None)


def test_an_empty_rate_on_a_charge_takes_the_settings_rate(clock: FixedClock) -> None:
    txn = post(ClientFactory(), "charge", "122.00", vat_rate="")
    assert (txn.vat_rate, txn.vat_minor) == ("22", 2200)


def test_the_actor_is_recorded(clock: FixedClock) -> None:
    client = ClientFactory()
    operator = Actor(ActorKind.OPERATOR, "42", "Иванова")
    txn = post(client, "payment", "10.00", actor=operator)
    rev = ledger_transaction_reverse(actor=operator, transaction_id=txn.pk, reason="ошибка")
    for t in (txn, rev):
        stored = JournalTransaction.objects.get(pk=t.pk)
        assert (stored.actor_kind, stored.actor_id, stored.actor_label) == ("operator", "42", "Иванова")
    audit = AuditEntry.objects.get(object_type="transaction", object_id=str(rev.pk))
    assert (audit.action, audit.actor_id, audit.after) == ("ledger.reversal", "42", {
        "client": client.pk, "operation": "reversal", "amount": "10.00", "currency": "RUB", "reason": "ошибка",
        "source_ref": f"reversal of #{txn.pk}", "reverses": txn.pk})


def test_an_unidentified_payment_is_assigned_only_by_the_payments_app(clock: FixedClock) -> None:
    client = ClientFactory()
    ledger_suspense_post(actor=ACTOR, operation="suspense_receipt", amount=Money("50.00", "RUB"), reason="r")
    before = counts()
    with pytest.raises(ValidationFailed) as info:
        post(client, "suspense_assign", "50.00")
    assert info.value.errors == {"operation": [f"Choose one of: {OPERATIONS}."]}
    assert counts() == before
    txn = post(client, "suspense_assign", "50.00", internal=True)
    assert sorted((p.account.code, p.amount_minor) for p in txn.postings.select_related("account")) == [
        (f"client:{client.pk}:RUB", -5000), ("suspense:RUB", 5000)]
    assert client_balance(client) == Money("50.00", "RUB")


@pytest.mark.parametrize("operation", ["reversal", "suspense_receipt", "suspense_return"])
def test_operations_without_a_client_or_with_their_own_writer_are_refused_even_internally(
        clock: FixedClock, operation: str) -> None:
    before = counts()
    with pytest.raises(ValidationFailed) as info:
        post(ClientFactory(), operation, "1.00", internal=True)
    assert info.value.errors == {"operation": [f"Choose one of: {OPERATIONS}."]}
    assert counts() == before


def test_an_unknown_operation_is_the_only_error_a_rate_or_a_gateway_adds_nothing_to(clock: FixedClock) -> None:
    with pytest.raises(ValidationFailed) as info:
        post(ClientFactory(), "gift", "1.00", vat_rate="22", via_gateway=True)
    assert info.value.errors == {"operation": [f"Choose one of: {OPERATIONS}."]}


@pytest.mark.parametrize(("currency", "amount", "message"), [
    ("RUB", "1.005", "Для валюты RUB допускается 2 знака после запятой."),
    ("KWD", "1.0005", "Для валюты KWD допускается 3 знака после запятой."),
    ("JPY", "1.5", "Для валюты JPY допускается 0 знаков после запятой."),
])
def test_too_many_decimals_are_refused_in_russian(clock: FixedClock, currency: str, amount: str, message: str) -> None:
    client = ClientFactory(currency=currency)
    with translation.override("ru"), pytest.raises(ValidationFailed) as info:
        post(client, "payment", amount)
    assert info.value.errors == {"amount": [message]}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_reversals_of_an_unidentified_payment_at_once_give_one_and_a_conflict(clock: FixedClock) -> None:
    """The second reversal waits for the first (the transaction's row is locked), then sees it and is
    refused as a conflict — it does not run into the unique key of ``reverses``."""
    receipt = ledger_suspense_post(actor=ACTOR, operation="suspense_receipt", amount=Money("70.00", "RUB"),
                                   reason="r")
    ledger_system_accounts_ensure(currencies=["RUB"])
    reversed_, release = threading.Event(), threading.Event()
    outcomes: dict[int, object] = {}

    def reverse(n: int) -> None:
        from django.db import connections

        try:
            with translation.override("en"), transaction.atomic():
                outcomes[n] = ledger_transaction_reverse(actor=ACTOR, transaction_id=receipt.pk, reason=f"r{n}")
                if n == 1:
                    reversed_.set()
                    release.wait(10)
        except BaseException as exc:
            outcomes[n] = exc
        finally:
            connections.close_all()

    first = threading.Thread(target=reverse, args=(1,))
    first.start()
    assert reversed_.wait(10)
    second = threading.Thread(target=reverse, args=(2,))
    second.start()
    time.sleep(1)  # the second reversal reaches the lock and waits for the first
    release.set()
    first.join()
    second.join()
    assert isinstance(outcomes[1], JournalTransaction)
    assert isinstance(outcomes[2], Conflict) and str(outcomes[2]) == f"Transaction {receipt.pk} has already been reversed."
    assert JournalTransaction.objects.filter(reverses=receipt).count() == 1


def test_a_reversal_reads_the_postings_in_one_query_whatever_their_number(clock: FixedClock) -> None:
    client = ClientFactory()
    payment = post(client, "payment", "100.00")  # two postings
    charge = post(client, "charge", "122.00", vat_rate="22")  # three

    def queries_of(txn: JournalTransaction) -> int:
        with CaptureQueriesContext(connection) as queries:
            ledger_transaction_reverse(actor=ACTOR, transaction_id=txn.pk, reason="r")
        return len(queries.captured_queries)

    assert queries_of(charge) == queries_of(payment)
    assert client_balance(client) == Money("0.00", "RUB")
