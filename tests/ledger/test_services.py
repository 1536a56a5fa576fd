from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase as HypothesisTestCase

from kopeck.audit.models import AuditEntry
from kopeck.common import clock as clock_mod
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, NotFound, ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.core.money import Money
from kopeck.ledger.models import Account, JournalTransaction, Posting
from kopeck.ledger.selectors import client_balance, client_statement
from kopeck.ledger.services import (
    SYSTEM_ROLES,
    ledger_operation_post,
    ledger_system_accounts_ensure,
    ledger_transaction_reverse,
)
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


def rub(x: str) -> Money:
    return Money(x, "RUB")


def post(client, operation: str, amount: str, **kw):  # type: ignore[no-untyped-def]
    return ledger_operation_post(actor=ACTOR, client=client, operation=operation, amount=amount,
                                 reason=kw.pop("reason", "test"), **kw)


def counts() -> tuple[int, int, int, int]:
    return (JournalTransaction.objects.count(), Posting.objects.count(), Account.objects.count(),
            AuditEntry.objects.count())


def test_payment_and_charge_move_the_balance(clock: FixedClock) -> None:
    client = ClientFactory()
    post(client, "payment", "1000.00", source_ref="п/п 1")
    txn = post(client, "charge", "122.00", vat_rate="22")
    assert client_balance(client) == rub("878.00")
    legs = {p.account.code: p.amount_minor for p in txn.postings.select_related("account")}
    assert legs == {f"client:{client.pk}:RUB": 12200, "revenue:RUB": -10000, "vat_payable:RUB": -2200}
    assert txn.vat_rate == "22" and txn.vat_minor == 2200
    assert txn.explanation["en"].startswith("Charge: debited 122.00 RUB")
    assert txn.recorded_at == clock.now()
    assert AuditEntry.objects.filter(action="ledger.charge", object_id=str(txn.pk)).count() == 1


def test_charge_without_rate_uses_the_vat_regime(clock: FixedClock) -> None:
    client = ClientFactory()
    txn = post(client, "one_off_charge", "100.00")
    assert txn.vat_rate == "22" and txn.vat_minor == 1803  # 100 × 22/122 = 18.03


def test_every_transaction_sums_to_zero(clock: FixedClock) -> None:
    client = ClientFactory()
    for op, amount in [("payment", "10.00"), ("bonus", "1.50"), ("refund_reversal", "2.00"),
                       ("correction_credit", "0.01"), ("charge", "3.33"), ("one_off_charge", "7.77"),
                       ("correction_debit", "0.02"), ("refund", "1.00")]:
        txn = post(client, op, amount)
        assert sum(p.amount_minor for p in txn.postings.all()) == 0
    # 10 + 1.5 + 2 + 0.01 − 3.33 − 7.77 − 0.02 − 1 = 1.39
    assert client_balance(client) == rub("1.39")


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"operation": "gift", "amount": "1.00"}, "operation"),
    ({"operation": "reversal", "amount": "1.00"}, "operation"),
    ({"operation": "payment", "amount": "0"}, "amount"),
    ({"operation": "payment", "amount": "-5.00"}, "amount"),
    ({"operation": "payment", "amount": "1.005"}, "amount"),
    ({"operation": "payment", "amount": "abc"}, "amount"),
    ({"operation": "payment", "amount": 1.5}, "amount"),
    ({"operation": "payment", "amount": "1.00", "currency": "USD"}, "currency"),
    ({"operation": "payment", "amount": "1.00", "currency": "XYZ"}, "currency"),
    ({"operation": "payment", "amount": "1.00", "reason": " "}, "reason"),
    ({"operation": "payment", "amount": "1.00", "vat_rate": "22"}, "vat_rate"),
    ({"operation": "charge", "amount": "1.00", "vat_rate": "18"}, "vat_rate"),
    ({"operation": "charge", "amount": "1.00", "via_gateway": True}, "via_gateway"),
])
def test_refusals_write_nothing(clock: FixedClock, kwargs: dict[str, object], field: str) -> None:
    client = ClientFactory()
    before = counts()
    kwargs = dict(kwargs)  # the parameters are shared by every run of the test in this process (mutmut)
    with pytest.raises(ValidationFailed) as err:
        ledger_operation_post(actor=ACTOR, client=client, reason=kwargs.pop("reason", "r"), **kwargs)  # type: ignore[arg-type]
    assert field in err.value.errors
    assert counts() == before


def test_reversal_restores_the_balance_and_happens_once(clock: FixedClock) -> None:
    client = ClientFactory()
    post(client, "payment", "500.00")
    charge = post(client, "charge", "244.00", vat_rate="22")
    assert client_balance(client) == rub("256.00")
    rev = ledger_transaction_reverse(actor=ACTOR, transaction_id=charge.pk, reason="ошибка")
    assert client_balance(client) == rub("500.00")
    assert rev.reverses_id == charge.pk and rev.operation == "reversal"
    assert sorted(p.amount_minor for p in rev.postings.all()) == sorted(-p.amount_minor for p in charge.postings.all())
    before = counts()
    with pytest.raises(Conflict, match="already been reversed"):
        ledger_transaction_reverse(actor=ACTOR, transaction_id=charge.pk, reason="again")
    with pytest.raises(Conflict, match="cannot be reversed"):
        ledger_transaction_reverse(actor=ACTOR, transaction_id=rev.pk, reason="again")
    with pytest.raises(NotFound):
        ledger_transaction_reverse(actor=ACTOR, transaction_id=999999, reason="x")
    with pytest.raises(ValidationFailed):
        ledger_transaction_reverse(actor=ACTOR, transaction_id=charge.pk, reason="")
    assert counts() == before


def test_balance_as_of_and_statement_use_provider_local_days(clock: FixedClock) -> None:
    client = ClientFactory()
    # 2026-11-30 22:30 UTC is already 2026-12-01 01:30 in Moscow.
    clock.set(dt.datetime(2026, 11, 10, 9, 0, tzinfo=dt.UTC))
    post(client, "payment", "1000.00", reason="November payment")
    clock.set(dt.datetime(2026, 11, 30, 22, 30, tzinfo=dt.UTC))
    post(client, "charge", "300.00", reason="December charge", vat_rate="exempt")
    clock.set(dt.datetime(2026, 12, 15, 9, 0, tzinfo=dt.UTC))
    post(client, "bonus", "50.00", reason="December bonus")

    assert client_balance(client, as_of=dt.date(2026, 11, 9)) == rub("0")
    assert client_balance(client, as_of=dt.date(2026, 11, 30)) == rub("1000.00")
    assert client_balance(client, as_of=dt.date(2026, 12, 1)) == rub("700.00")
    assert client_balance(client) == rub("750.00")

    st_dec = client_statement(client, date_from=dt.date(2026, 12, 1), date_to=dt.date(2026, 12, 31))
    assert st_dec.opening == rub("1000.00")
    assert [(ln.transaction.reason, ln.credit, ln.debit, ln.balance) for ln in st_dec.lines] == [
        ("December charge", rub("0"), rub("300.00"), rub("700.00")),
        ("December bonus", rub("50.00"), rub("0"), rub("750.00")),
    ]
    assert (st_dec.total_credit, st_dec.total_debit, st_dec.closing) == (rub("50.00"), rub("300.00"), rub("750.00"))


class TestLedgerProperties(HypothesisTestCase):
    """Properties of the persisted ledger, on whichever database the suite runs."""

    # differing_executors: mutmut runs the tests several times in one process, each run with a new instance
    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors])
    @given(st.lists(st.tuples(
        st.sampled_from(["payment", "bonus", "refund_reversal", "correction_credit", "charge", "one_off_charge",
                         "correction_debit", "refund"]),
        st.decimals(min_value=Decimal("0.01"), max_value=Decimal("1000000"), places=2),
        st.booleans()), min_size=1, max_size=12))
    def test_sums_balances_and_reversals(self, ops: list[tuple[str, Decimal, bool]]) -> None:
        with clock_mod.use_clock(FixedClock(dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC))):
            client = ClientFactory()
            expected = Decimal(0)
            txns = []
            for op, amount, _reverse in ops:
                txns.append(post(client, op, str(amount)))
                credit = op in ("payment", "bonus", "refund_reversal", "correction_credit")
                expected += amount if credit else -amount
            for txn in JournalTransaction.objects.all():
                assert sum(p.amount_minor for p in txn.postings.all()) == 0
            balance = client_balance(client)
            client_postings = Posting.objects.filter(account__client=client)
            assert balance == rub(str(expected))
            assert balance.amount == -Decimal(sum(p.amount_minor for p in client_postings)) / 100
            for txn, (_op, _amount, reverse) in zip(txns, ops, strict=True):
                if reverse:
                    before = client_balance(client)
                    moved = -Decimal(sum(p.amount_minor for p in txn.postings.filter(account__client=client))) / 100
                    ledger_transaction_reverse(actor=ACTOR, transaction_id=txn.pk, reason="undo")
                    assert client_balance(client) == before - rub(str(moved))
            reversed_ids = [t.pk for t, o in zip(txns, ops, strict=True) if o[2]]
            kept = Decimal(0)
            for _t, (op, amount, rev) in zip(txns, ops, strict=True):
                if not rev:
                    kept += amount if op in ("payment", "bonus", "refund_reversal", "correction_credit") else -amount
            assert client_balance(client) == rub(str(kept))
            assert JournalTransaction.objects.filter(reverses_id__in=reversed_ids).count() == len(reversed_ids)


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_first_use_leaves_no_remembered_account_behind(clock: FixedClock) -> None:
    client = ClientFactory(currency="USD")
    with pytest.raises(RuntimeError), transaction.atomic():
        post(client, "payment", "1.00")
        raise RuntimeError("the caller fails after the posting")
    assert not Account.objects.filter(code="cash:USD").exists()
    post(client, "payment", "2.00")  # would break on a foreign key if the rolled-back id were remembered
    assert client_balance(client, currency="USD") == Money("2.00", "USD")
    assert Account.objects.filter(code="cash:USD").count() == 1


@pytest.mark.django_db
def test_system_accounts_ensure_creates_the_missing_ones_once() -> None:
    ledger_system_accounts_ensure(currencies=["USD", "RUB", "USD"])
    codes = sorted(Account.objects.exclude(role="client").values_list("code", flat=True))
    assert codes == sorted(f"{role}:{cur}" for role in SYSTEM_ROLES for cur in ("RUB", "USD"))
    ledger_system_accounts_ensure(currencies=["RUB"])
    assert Account.objects.count() == len(codes)
