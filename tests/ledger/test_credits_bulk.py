"""``ledger_credits_post_bulk`` (bank statement imports): payments to clients and unidentified receipts
onto the suspense account, the rows one-by-one postings would write, and refusals of the whole batch —
naming the credit — before anything is written."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction

from kopeck.audit.models import AuditEntry
from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.common.errors import ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.core.money import Money
from kopeck.ledger.models import Account, JournalTransaction, Posting
from kopeck.ledger.selectors import client_balance
from kopeck.ledger.services import (
    BulkCredit,
    ledger_credits_post_bulk,
    ledger_operation_post,
    ledger_suspense_post,
)
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("bank import")


def counts() -> tuple[int, int, int, int]:
    return (JournalTransaction.objects.count(), Posting.objects.count(), Account.objects.count(),
            AuditEntry.objects.count())


def rows(txn_id: int, client: Client | None) -> dict[str, Any]:
    """A transaction as written, without ids: the client's account as CLIENT, the client as C."""
    txn = JournalTransaction.objects.get(pk=txn_id)
    fields = ("operation", "currency", "amount_minor", "vat_rate", "vat_minor", "reason", "source_ref",
              "recorded_at", "actor_kind", "actor_id", "actor_label", "reverses_id", "explanation")
    audit = AuditEntry.objects.get(object_type="transaction", object_id=str(txn_id))
    assert txn.client_id == (client.pk if client else None)
    assert audit.after["client"] == (client.pk if client else None)
    return {
        "transaction": {f: getattr(txn, f) for f in fields},
        "postings": sorted((f"CLIENT:{p.account.currency}" if p.account.client_id == (client and client.pk)
                            and p.account.client_id else p.account.code, p.amount_minor, p.currency, p.recorded_at)
                           for p in txn.postings.select_related("account")),
        "audit": (audit.action, audit.actor_kind, audit.actor_label, audit.at, audit.before,
                  {**audit.after, "client": "C"}),
    }


def post_bulk(credits: list[BulkCredit]) -> list[int]:
    with transaction.atomic():
        return ledger_credits_post_bulk(actor=ACTOR, credits=credits)


def test_a_batch_writes_what_one_by_one_postings_write(clock: FixedClock) -> None:
    amounts = ["1000.00", "1000.00", "0.01", "250.50"]  # the same payment twice: computed once per batch
    bulk_clients = [ClientFactory() for _ in amounts]
    single_clients = [ClientFactory() for _ in amounts]
    ids = post_bulk([
        BulkCredit(client_id=c.pk, currency="RUB", amount=Decimal(a), reason=f" п/п {n} ", source_ref=f" line:{n} ")
        for n, (c, a) in enumerate(zip(bulk_clients, amounts, strict=True))])
    singles = [ledger_operation_post(actor=ACTOR, client=c, operation="payment", amount=a, reason=f" п/п {n} ",
                                     source_ref=f" line:{n} ")
               for n, (c, a) in enumerate(zip(single_clients, amounts, strict=True))]
    assert ids == sorted(ids) and len(set(ids)) == len(amounts)
    assert [rows(i, c) for i, c in zip(ids, bulk_clients, strict=True)] == [
        rows(t.pk, c) for t, c in zip(singles, single_clients, strict=True)]
    assert [client_balance(c) for c in bulk_clients] == [Money(a, "RUB") for a in amounts]
    assert rows(ids[0], bulk_clients[0])["postings"] == [
        ("CLIENT:RUB", -100000, "RUB", clock.now()), ("cash:RUB", 100000, "RUB", clock.now())]
    assert rows(ids[0], bulk_clients[0])["audit"][4:] == (None, {
        "client": "C", "operation": "payment", "amount": "1000.00", "currency": "RUB", "reason": "п/п 0",
        "source_ref": "line:0", "reverses": None})


def test_an_unidentified_receipt_goes_to_the_suspense_account(clock: FixedClock) -> None:
    client = ClientFactory()
    ids = post_bulk([BulkCredit(None, "RUB", Decimal("70.00"), " не опознан ", " line:1 ", "suspense_receipt"),
                     BulkCredit(client.pk, "RUB", Decimal("70.00"), "п/п 2", "line:2"),
                     BulkCredit(None, "RUB", Decimal("70.00"), "не опознан 2", "line:3", "suspense_receipt")])
    single = ledger_suspense_post(actor=ACTOR, operation="suspense_receipt", amount=Money("70.00", "RUB"),
                                  reason=" не опознан ", source_ref=" line:1 ")
    assert rows(ids[0], None) == rows(single.pk, None)
    assert rows(ids[0], None)["postings"] == [("cash:RUB", 7000, "RUB", clock.now()),
                                              ("suspense:RUB", -7000, "RUB", clock.now())]
    assert rows(ids[0], None)["audit"][0] == "ledger.suspense_receipt"
    assert rows(ids[1], client)["postings"] == [("CLIENT:RUB", -7000, "RUB", clock.now()),
                                                ("cash:RUB", 7000, "RUB", clock.now())]
    assert rows(ids[2], None)["transaction"]["reason"] == "не опознан 2"
    assert client_balance(client) == Money("70.00", "RUB")
    assert Account.objects.filter(client__isnull=False).count() == 1


def test_currencies_and_clients_of_one_batch(clock: FixedClock) -> None:
    """Payments of one client add up on one account; a USD client's payment and a USD receipt with no
    client sit beside RUB ones, each on its currency's accounts."""
    rub_client, usd_client = ClientFactory(), ClientFactory(currency="USD")
    ledger_operation_post(actor=ACTOR, client=rub_client, operation="charge", amount="50.00", reason="x")
    ids = post_bulk([BulkCredit(rub_client.pk, "RUB", Decimal("30.00"), "a", "a"),
                     BulkCredit(usd_client.pk, "USD", Decimal("12.34"), "b", "b"),
                     BulkCredit(None, "USD", Decimal("5.00"), "c", "c", "suspense_receipt"),
                     BulkCredit(rub_client.pk, "RUB", Decimal("30.00"), "d", "d")])
    assert client_balance(rub_client) == Money("10.00", "RUB")
    assert client_balance(usd_client) == Money("12.34", "USD")
    assert Account.objects.filter(client=rub_client).count() == 1
    assert [(t.operation, t.client_id, t.currency, t.amount_minor) for t in
            JournalTransaction.objects.filter(pk__in=ids).order_by("pk")] == [
        ("payment", rub_client.pk, "RUB", 3000), ("payment", usd_client.pk, "USD", 1234),
        ("suspense_receipt", None, "USD", 500), ("payment", rub_client.pk, "RUB", 3000)]
    assert rows(ids[2], None)["postings"] == [("cash:USD", 500, "USD", clock.now()),
                                              ("suspense:USD", -500, "USD", clock.now())]
    assert rows(ids[1], usd_client)["postings"] == [("CLIENT:USD", -1234, "USD", clock.now()),
                                                    ("cash:USD", 1234, "USD", clock.now())]


def test_receipts_alone_need_no_client_account(clock: FixedClock) -> None:
    ids = post_bulk([BulkCredit(None, "RUB", Decimal("1.00"), "a", "a", "suspense_receipt")])
    assert rows(ids[0], None)["postings"] == [("cash:RUB", 100, "RUB", clock.now()),
                                              ("suspense:RUB", -100, "RUB", clock.now())]
    assert sorted(Account.objects.values_list("code", flat=True)) == ["cash:RUB", "suspense:RUB"]


def _refused(credits: list[BulkCredit]) -> tuple[str, dict[str, list[str]]]:
    before = counts()
    with pytest.raises(ValidationFailed) as exc, transaction.atomic():
        ledger_credits_post_bulk(actor=ACTOR, credits=credits)
    assert counts() == before
    return str(exc.value), exc.value.errors


@pytest.mark.parametrize(("change", "message"), [
    ({"client_id": 999999}, "client 999999 has no account in RUB"),
    ({"currency": "USD"}, "client {client} has no account in USD"),
    ({"reason": "  "}, "a reason is required"),
    ({"amount": Decimal("0")}, "amount must be positive"),
    ({"amount": Decimal("-5.00")}, "amount must be positive"),
    ({"amount": Decimal("1.005")}, "amount 1.005 has more decimals than RUB allows"),
    ({"operation": "refund"}, "refund with client {client}"),
    ({"operation": "suspense_return"}, "suspense_return with client {client}"),
    ({"operation": "suspense_receipt"}, "suspense_receipt with client {client}"),
    ({"client_id": None}, "payment with client None"),
    ({"operation": "gift"}, "'gift' is not a valid Operation"),
])
def test_an_invalid_credit_refuses_the_whole_batch(clock: FixedClock, change: dict[str, Any], message: str) -> None:
    client, other = ClientFactory(), ClientFactory()
    good = BulkCredit(client.pk, "RUB", Decimal("10.00"), "ok", "ok")
    bad = dataclasses.replace(BulkCredit(other.pk, "RUB", Decimal("20.00"), "bad", "bad"), **change)
    problem = message.format(client=other.pk)
    assert _refused([good, good, bad]) == (f"Credit 2 is invalid: {problem}", {"credits.2": [problem]})


def test_a_receipt_with_a_client_or_a_payment_without_one_is_refused(clock: FixedClock) -> None:
    client = ClientFactory()
    receipt = BulkCredit(None, "RUB", Decimal("10.00"), "ok", "ok", "suspense_receipt")
    assert _refused([receipt, dataclasses.replace(receipt, operation="payment")]) == (
        "Credit 1 is invalid: payment with client None", {"credits.1": ["payment with client None"]})
    assert _refused([dataclasses.replace(receipt, client_id=client.pk)]) == (
        f"Credit 0 is invalid: suspense_receipt with client {client.pk}",
        {"credits.0": [f"suspense_receipt with client {client.pk}"]})
    assert _refused([dataclasses.replace(receipt, reason="")]) == (
        "Credit 0 is invalid: a reason is required", {"credits.0": ["a reason is required"]})


def test_nothing_to_post_is_nothing(db: Any) -> None:
    assert ledger_credits_post_bulk(actor=ACTOR, credits=[]) == []


@pytest.mark.django_db(transaction=True)
def test_a_batch_runs_only_in_the_callers_transaction(clock: FixedClock) -> None:
    client: Client = ClientFactory()
    with pytest.raises(RuntimeError, match=r"^ledger_credits_post_bulk must run inside the caller's transaction$"):
        ledger_credits_post_bulk(actor=ACTOR, credits=[BulkCredit(client.pk, "RUB", Decimal("1.00"), "x", "x")])
    assert counts() == (0, 0, 0, 0)


def test_a_currency_with_receipts_only_comes_before_one_with_clients(clock: FixedClock) -> None:
    """EUR (receipts with no client) sorts before RUB: the RUB clients' accounts are still opened."""
    client = ClientFactory()
    ids = post_bulk([BulkCredit(None, "EUR", Decimal("3.00"), "a", "a", "suspense_receipt"),
                     BulkCredit(client.pk, "RUB", Decimal("4.00"), "b", "b")])
    assert rows(ids[1], client)["postings"] == [("CLIENT:RUB", -400, "RUB", clock.now()),
                                                ("cash:RUB", 400, "RUB", clock.now())]
    assert client_balance(client) == Money("4.00", "RUB")
