"""``ledger_charges_post_bulk`` (billing runs): the rows one-by-one postings would write, and refusals of
the whole batch — naming the charge — before anything is written."""

from __future__ import annotations

import dataclasses
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from django.db import OperationalError, connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from kopeck.audit.models import AuditEntry
from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.common.errors import ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.core.money import Money
from kopeck.ledger.models import Account, JournalTransaction, Posting
from kopeck.ledger.selectors import client_balance
from kopeck.ledger.services import BulkCharge, ledger_charges_post_bulk, ledger_operation_post
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("billing run")


def counts() -> tuple[int, int, int, int]:
    return (JournalTransaction.objects.count(), Posting.objects.count(), Account.objects.count(),
            AuditEntry.objects.count())


def rows(txn_id: int) -> dict[str, Any]:
    """A transaction as written, without ids (the client's account as CLIENT)."""
    txn = JournalTransaction.objects.get(pk=txn_id)
    fields = ("operation", "currency", "amount_minor", "vat_rate", "vat_minor", "reason", "source_ref",
              "recorded_at", "actor_kind", "actor_id", "actor_label", "reverses_id", "explanation")
    audit = AuditEntry.objects.get(object_type="transaction", object_id=str(txn_id))
    return {
        "transaction": {f: getattr(txn, f) for f in fields},
        "postings": sorted(("CLIENT" if p.account.client_id else p.account.code, p.amount_minor, p.currency,
                            p.recorded_at) for p in txn.postings.select_related("account")),
        "audit": (audit.action, audit.actor_kind, audit.actor_label, audit.at, {**audit.after, "client": "C"}),
    }


CHARGES = [("1220.00", None), ("1220.00", None), ("99.99", "10"), ("0.01", "exempt"), ("1220.00", "22"),
           ("0.05", None)]  # the same charge twice: computed once per batch


def test_a_batch_writes_what_one_by_one_postings_write(clock: FixedClock) -> None:
    bulk_clients = [ClientFactory() for _ in CHARGES]
    single_clients = [ClientFactory() for _ in CHARGES]
    with transaction.atomic():
        ids = ledger_charges_post_bulk(actor=ACTOR, charges=[
            BulkCharge(client_id=c.pk, currency="RUB", amount=Decimal(amount), reason=f" Подписка {n} ",
                       source_ref=f" s:{n} ", vat_rate=rate)
            for n, (c, (amount, rate)) in enumerate(zip(bulk_clients, CHARGES, strict=True))])
    singles = [ledger_operation_post(actor=ACTOR, client=c, operation="charge", amount=amount,
                                     reason=f" Подписка {n} ", source_ref=f" s:{n} ", vat_rate=rate)
               for n, (c, (amount, rate)) in enumerate(zip(single_clients, CHARGES, strict=True))]
    assert ids == sorted(ids) and len(set(ids)) == len(CHARGES)
    assert [rows(i) for i in ids] == [rows(t.pk) for t in singles]
    assert [client_balance(c) for c in bulk_clients] == [-Money(a, "RUB") for a, _ in CHARGES]
    assert [rows(i)["transaction"]["vat_minor"] for i in ids] == [22000, 22000, 909, 0, 22000, 1]


def test_charges_of_one_client_in_one_batch_add_up(clock: FixedClock) -> None:
    client = ClientFactory()
    ledger_operation_post(actor=ACTOR, client=client, operation="payment", amount="100.00", reason="x")
    with transaction.atomic():
        ledger_charges_post_bulk(actor=ACTOR, charges=[
            BulkCharge(client.pk, "RUB", Decimal("33.33"), "a", "a"),
            BulkCharge(client.pk, "RUB", Decimal("33.33"), "b", "b"),
            BulkCharge(client.pk, "RUB", Decimal("0.01"), "c", "c", vat_rate="exempt")])
    assert client_balance(client) == Money("33.33", "RUB")
    assert Account.objects.filter(client=client).count() == 1


def _refused(charges: list[BulkCharge]) -> dict[str, list[str]]:
    before = counts()
    with pytest.raises(ValidationFailed) as exc, transaction.atomic():
        ledger_charges_post_bulk(actor=ACTOR, charges=charges)
    assert counts() == before
    ((field, (problem,)),) = exc.value.errors.items()
    assert str(exc.value) == f"Charge {field.removeprefix('charges.')} is invalid: {problem}"
    return exc.value.errors


@pytest.mark.parametrize(("change", "message"), [
    ({"client_id": 999999}, "client 999999 does not exist"),
    ({"currency": "USD"}, "the client's account is in RUB"),
    ({"reason": "  "}, "a reason is required"),
    ({"amount": Decimal("1000000000000000")}, "the amount is too large"),
    ({"amount": Decimal("-1000000000000000")}, "the amount is too large"),
    ({"vat_rate": "18"}, "unknown VAT rate '18'; use one of 22, 10, 0, 5, 7, exempt"),
])
def test_an_invalid_charge_refuses_the_whole_batch(clock: FixedClock, change: dict[str, Any], message: str) -> None:
    client, other = ClientFactory(), ClientFactory()
    good = BulkCharge(client.pk, "RUB", Decimal("10.00"), "ok", "ok")
    bad = dataclasses.replace(BulkCharge(other.pk, "RUB", Decimal("20.00"), "bad", "bad"), **change)
    assert _refused([good, good, bad]) == {"charges.2": [message]}


@pytest.mark.parametrize("change", [{"client_id": 999999}, {"currency": "USD"}, {"reason": ""}])
def test_a_charge_like_a_valid_one_is_still_checked(clock: FixedClock, change: dict[str, Any]) -> None:
    """The batch computes a repeated (amount, currency, rate) once: the repeat's client, currency and
    reason are checked all the same."""
    client = ClientFactory()
    good = BulkCharge(client.pk, "RUB", Decimal("10.00"), "ok", "ok")
    assert list(_refused([good, dataclasses.replace(good, **change)])) == ["charges.1"]


def test_a_usd_client_is_charged_in_usd(clock: FixedClock) -> None:
    client = ClientFactory(currency="USD")
    with transaction.atomic():
        (txn_id,) = ledger_charges_post_bulk(actor=ACTOR, charges=[
            BulkCharge(client.pk, "USD", Decimal("12.20"), "VPS", "s:1", vat_rate="22")])
    assert client_balance(client) == Money("-12.20", "USD")
    assert rows(txn_id)["postings"] == [("CLIENT", 1220, "USD", clock.now()), ("revenue:USD", -1000, "USD", clock.now()),
                                        ("vat_payable:USD", -220, "USD", clock.now())]


def test_nothing_to_post_is_nothing(db: Any) -> None:
    assert ledger_charges_post_bulk(actor=ACTOR, charges=[]) == []


@pytest.mark.django_db(transaction=True)
def test_a_batch_runs_only_in_the_callers_transaction(clock: FixedClock) -> None:
    client: Client = ClientFactory()
    with pytest.raises(RuntimeError, match=r"^ledger_charges_post_bulk must run inside the caller's transaction$"):
        ledger_charges_post_bulk(actor=ACTOR, charges=[BulkCharge(client.pk, "RUB", Decimal("1.00"), "x", "x")])
    assert counts() == (0, 0, 0, 0)


def test_an_empty_rate_takes_the_settings_rate(clock: FixedClock) -> None:
    client = ClientFactory()
    with transaction.atomic():
        (txn_id,) = ledger_charges_post_bulk(actor=ACTOR, charges=[
            BulkCharge(client.pk, "RUB", Decimal("122.00"), "VPS", "s:1", vat_rate="")])
    assert (rows(txn_id)["transaction"]["vat_rate"], rows(txn_id)["transaction"]["vat_minor"]) == ("22", 2200)


def test_a_charge_like_a_valid_one_in_another_currency_is_refused(clock: FixedClock) -> None:
    """The batch reuses the entry of a repeated (amount, currency, rate) only for a client whose account
    is in that currency: the same USD charge on a RUB client is refused."""
    usd_client, rub_client = ClientFactory(currency="USD"), ClientFactory()
    charge = BulkCharge(usd_client.pk, "USD", Decimal("10.00"), "ok", "ok")
    assert _refused([charge, dataclasses.replace(charge, client_id=rub_client.pk)]) == {
        "charges.1": ["the client's account is in RUB"]}


def test_a_batch_is_written_in_the_same_number_of_queries_whatever_its_size(clock: FixedClock) -> None:
    def queries_of(n: int) -> int:
        clients = [ClientFactory() for _ in range(n)]
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            ledger_charges_post_bulk(actor=ACTOR, charges=[
                BulkCharge(c.pk, "RUB", Decimal("10.00") + i, "r", "s") for i, c in enumerate(clients)])
        return len(queries.captured_queries)

    queries_of(1)  # the system accounts of RUB
    assert queries_of(2) == queries_of(5)


def test_a_client_account_in_another_currency_is_left_alone(clock: FixedClock) -> None:
    """A client whose currency changed keeps its old account: a charge goes to the account of its
    currency, whichever was opened last."""
    client = ClientFactory()
    ledger_operation_post(actor=ACTOR, client=client, operation="payment", amount="100.00", reason="x")
    old = Account.objects.create(role="client", client=client, currency="USD", code=f"client:{client.pk}:USD")
    with transaction.atomic():
        (txn_id,) = ledger_charges_post_bulk(actor=ACTOR, charges=[
            BulkCharge(client.pk, "RUB", Decimal("30.00"), "r", "s")])
    (leg,) = Posting.objects.filter(transaction_id=txn_id, account__client=client).select_related("account")
    assert (leg.account.code, leg.amount_minor) == (f"client:{client.pk}:RUB", 3000)
    assert not Posting.objects.filter(account=old).exists()
    assert client_balance(client) == Money("70.00", "RUB")


def _locked_elsewhere(account_id: int) -> bool:
    """Whether another connection finds the account row locked (NOWAIT: at once)."""
    result: list[bool] = []

    def probe() -> None:
        try:
            with transaction.atomic():
                try:
                    with transaction.atomic(), connection.cursor() as cursor:
                        cursor.execute("SELECT id FROM ledger_account WHERE id = %s FOR UPDATE NOWAIT", [account_id])
                    result.append(False)
                except OperationalError:
                    result.append(True)
        finally:
            connections.close_all()

    thread = threading.Thread(target=probe)
    thread.start()
    thread.join()
    return result[0]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_batch_locks_the_accounts_of_its_clients_only(clock: FixedClock) -> None:
    charged, other = ClientFactory(), ClientFactory()
    for client in (charged, other):
        ledger_operation_post(actor=ACTOR, client=client, operation="payment", amount="1.00", reason="x")
    other_usd = Account.objects.create(role="client", client=charged, currency="USD", code=f"client:{charged.pk}:USD")
    accounts = {c.pk: Account.objects.get(client=c, currency="RUB").pk for c in (charged, other)}
    with transaction.atomic():
        ledger_charges_post_bulk(actor=ACTOR, charges=[BulkCharge(charged.pk, "RUB", Decimal("1.00"), "r", "s")])
        assert _locked_elsewhere(accounts[charged.pk])
        assert not _locked_elsewhere(accounts[other.pk])
        assert not _locked_elsewhere(other_usd.pk)
    assert not _locked_elsewhere(accounts[charged.pk])


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_batch_waits_for_the_account_another_batch_is_opening(clock: FixedClock) -> None:
    """Two batches charge a client with no account yet: the second one's insert of the account waits
    for the first batch, then uses the account it committed (it does not fail on the unique key)."""
    client = ClientFactory()
    ledger_operation_post(actor=ACTOR, client=ClientFactory(), operation="payment", amount="1.00", reason="x")
    opened, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def batch(n: int) -> None:
        try:
            with transaction.atomic():
                ledger_charges_post_bulk(actor=ACTOR, charges=[BulkCharge(client.pk, "RUB", Decimal("5.00"), "r", f"{n}")])
                if n == 1:
                    opened.set()
                    release.wait(10)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    first = threading.Thread(target=batch, args=(1,))
    first.start()
    assert opened.wait(10)
    second = threading.Thread(target=batch, args=(2,))
    second.start()
    time.sleep(1)  # the second batch reaches the insert of the account and waits on the first one's row
    release.set()
    first.join()
    second.join()
    assert errors == []
    assert Account.objects.filter(client=client).count() == 1
    assert client_balance(client) == Money("-10.00", "RUB")
