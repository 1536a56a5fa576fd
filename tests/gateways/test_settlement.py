"""Notifications are stored in one insert and answered; the settlement worker credits them: the
statements of the request path, the verdict as the admin shows it, a worker that fails or dies, the
embedded default's settlement thread and the periodic backstop."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
from decimal import Decimal
from typing import Any

import pytest
from django.db import OperationalError, connection
from django.test import Client as HttpClient
from django.test.utils import CaptureQueriesContext

from kopeck.audit.models import AuditEntry
from kopeck.cli.scheduler import PERIODIC_TASKS, run_task
from kopeck.clients.models import Client
from kopeck.core.clock import FixedClock
from kopeck.events.models import Event
from kopeck.gateways import crediting
from kopeck.gateways.models import GatewayPayment, Notification, PaymentStatus
from kopeck.gateways.notifications import notifications_settle
from kopeck.gateways.services import online_payment_create, settle
from kopeck.ledger.models import JournalTransaction
from kopeck.operators.models import Operator
from kopeck.payments.models import Payment
from tests.gateways.conftest import ACTOR, balance, credits, fresh, last_note, post_notification
from tests.gateways.test_cloudpayments import pay_fields, signed
from tests.gateways.test_robokassa import result_body
from tests.payments.conftest import buyer, entity, invoice  # noqa: F401 — the payments' fixtures


def _pay(http: HttpClient, order: GatewayPayment, txn: str = "1211506", **fields: str) -> Any:
    body, mac = signed(pay_fields(order, DateTime="", TransactionId=txn, **fields))
    return post_notification(http, order.setting, body, kind="pay", settle=False, **{"Content-HMAC": mac})


@pytest.mark.django_db(transaction=True)
def test_the_request_path_is_three_statements_and_one_commit(make_setting: Any, payer: Client) -> None:
    """Outside any transaction (as in the server): the setting, the order (read, not locked), the insert
    — autocommit, so one commit; a copy adds the insert the unique index refused and the duplicate's."""
    order = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("cloudpayments"), amount="1500.00")
    http = HttpClient(REMOTE_ADDR="127.0.0.1")
    assert order.setting.is_enabled  # read by the test before counting
    with CaptureQueriesContext(connection) as first:
        assert _pay(http, order).json() == {"code": 0}
    statements = [q["sql"].split()[0] + " " + re.findall(r'"?(gateways_[a-z]+)', q["sql"])[0]
                  for q in first.captured_queries]
    assert statements == ["SELECT gateways_gatewaysetting", "SELECT gateways_gatewaypayment",
                          "INSERT gateways_notification"]
    with CaptureQueriesContext(connection) as copy:
        assert _pay(http, order).json() == {"code": 0}
    assert [q["sql"].split()[0] for q in copy.captured_queries] == ["SELECT", "SELECT", "INSERT", "INSERT"]
    assert sorted(order.notifications.values_list("verdict", flat=True)) == ["duplicate", "queued"]
    assert balance(payer) == 0 and not JournalTransaction.objects.filter(operation="payment").exists()
    assert notifications_settle() == {"accepted": 1}
    assert balance(payer) == Decimal("1500.00") and credits(order) == 1


@pytest.mark.django_db
def test_the_admin_shows_awaiting_settlement_then_credited(http: Any, make_setting: Any, payer: Client,
                                                           clock: FixedClock) -> None:
    order = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("cloudpayments"), amount="1500.00")
    _pay(http, order)
    note = last_note()
    assert (note.verdict, note.payment_id) == ("queued", order.pk)
    assert note.verified == {"outcome": "paid", "amount": "1500.00", "currency": "RUB", "is_test": True,
                             "provider_payment_id": "1211506", "order_id": order.order_id}  # no token: not saved
    admin = HttpClient()
    admin.force_login(Operator.objects.create(username="boss", role="administrator", is_staff=True))
    page = admin.get(f"/admin/gateways/notification/{note.pk}/change/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "принято, ожидает зачисления" in page and "проверенные данные" in page.lower() and "1500.00" in page
    assert notifications_settle() == {"accepted": 1}
    note.refresh_from_db()
    assert (note.verdict, note.reason) == ("accepted", "credited")
    page = admin.get(f"/admin/gateways/notification/{note.pk}/change/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "зачислено" in page and "ожидает зачисления" not in page


@pytest.mark.django_db
def test_synchronous_refusals_are_answered_at_once_and_never_queued(http: Any, make_setting: Any,
                                                                     payer: Client, clock: FixedClock) -> None:
    """What never changes once the order exists — the order, its amount and currency — is refused
    when the notification arrives (Robokassa is not told OK, CloudPayments' Check gets its code)."""
    order = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("robokassa"), amount="1500.00")
    answer = post_notification(http, order.setting, result_body(order, out_sum="1499.00"), settle=False)
    assert (answer.status_code, answer.content) == (200, b"refused")
    assert (last_note().verdict, last_note().reason, last_note().verified) == ("refused", "amount", {})
    assert notifications_settle() == {}
    assert balance(payer) == 0 and fresh(order).status == PaymentStatus.PENDING


@pytest.mark.django_db
def test_a_failure_while_crediting_rolls_back_that_notification_only(http: Any, make_setting: Any, payer: Client,
                                                                      clock: FixedClock, monkeypatch: Any) -> None:
    """``bad`` is credited one by one (it saves the card); ``good`` with the batch's bulk writers."""
    setting = make_setting("cloudpayments")
    good = online_payment_create(actor=ACTOR, client=payer, setting=setting, amount="100.00")
    bad = online_payment_create(actor=ACTOR, client=payer, setting=setting, amount="200.00", save_method=True)
    _pay(http, bad, "501", Amount="200.00")
    _pay(http, good, "502", Amount="100.00")
    real = crediting.credit

    def failing(payment: GatewayPayment, **kw: Any) -> str:
        if payment.pk == bad.pk:
            raise RuntimeError("the disk is full")
        return real(payment, **kw)

    monkeypatch.setattr(crediting, "credit", failing)
    assert notifications_settle() == {"accepted": 1, "retry": 1}
    held = bad.notifications.get()
    assert (held.verdict, held.detail) == ("queued", "RuntimeError: the disk is full")
    assert fresh(bad).status == PaymentStatus.PENDING and credits(bad) == 0
    assert fresh(good).status == PaymentStatus.SUCCEEDED and balance(payer) == Decimal("100.00")
    monkeypatch.setattr(crediting, "credit", real)
    assert notifications_settle() == {}  # retried a minute later, not in a loop
    clock.advance(dt.timedelta(minutes=1))
    assert notifications_settle() == {"accepted": 1}
    assert credits(bad) == 1 and balance(payer) == Decimal("300.00")
    assert fresh(bad).saved_method is not None


@pytest.mark.django_db
def test_top_ups_are_credited_together_and_a_failure_keeps_them_all_queued(
        http: Any, make_setting: Any, payer: Client, clock: FixedClock, monkeypatch: Any) -> None:
    setting = make_setting("cloudpayments")
    orders = [online_payment_create(actor=ACTOR, client=payer, setting=setting, amount="100.00") for _ in range(3)]
    for n, order in enumerate(orders):
        _pay(http, order, str(700 + n), Amount="100.00")
    _pay(http, orders[0], "700", Amount="100.00")  # a copy: refused by the unique index when received

    def broken(*args: Any, **kw: Any) -> dict[int, str]:
        raise RuntimeError("no space left on device")

    monkeypatch.setattr(crediting, "credit_many", broken)
    assert notifications_settle() == {"retry": 3}
    assert [fresh(o).status for o in orders] == [PaymentStatus.PENDING] * 3 and balance(payer) == 0
    assert set(Notification.objects.values_list("verdict", "detail")) == {
        ("queued", "RuntimeError: no space left on device"), ("duplicate", "This transaction was already taken.")}
    monkeypatch.undo()
    clock.advance(dt.timedelta(minutes=1))
    assert notifications_settle() == {"accepted": 3}
    assert [credits(o) for o in orders] == [1, 1, 1] and balance(payer) == Decimal("300.00")
    paid = [fresh(o) for o in orders]
    assert all(p.status == PaymentStatus.SUCCEEDED and p.credit_ref.startswith("payment:") for p in paid)
    booked = Payment.objects.get(pk=int(paid[0].credit_ref.split(":")[1]))
    assert (booked.method, booked.external_id, booked.amount_minor, booked.status) == (
        "cloudpayments", f"cloudpayments:{orders[0].order_id}", 10000, "credited")
    assert booked.transaction is not None and booked.transaction.source_ref == f"payment:{booked.pk}"
    legs = sorted(booked.transaction.postings.values_list("account__role", "amount_minor"))
    assert legs == [("client", -10000), ("gateway_clearing", 10000)]  # Dr gateway clearing / Cr client
    assert Event.objects.filter(type="payment.received").count() == 3
    assert AuditEntry.objects.filter(action="gateway_payment.credit").count() == 3


@pytest.mark.django_db
def test_a_notification_left_queued_by_a_dead_worker_is_settled_by_the_periodic_job(
        http: Any, make_setting: Any, payer: Client, clock: FixedClock) -> None:
    """Nothing is lost when the worker dies: what it had not committed is still queued, and the
    periodic job (every 10 s; Celery beat or the embedded scheduler) settles it."""
    assert PERIODIC_TASKS["kopeck.gateways.settle"] == 10
    order = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("cloudpayments"), amount="1500.00")
    _pay(http, order)
    assert Notification.objects.get().verdict == "queued"
    assert run_task("kopeck.gateways.settle") == {"accepted": 1}
    assert balance(payer) == Decimal("1500.00")


@pytest.mark.django_db(transaction=True)
def test_the_embedded_default_settles_in_a_thread_of_the_receiving_process(
        make_setting: Any, payer: Client, settings: Any) -> None:
    """No broker: the notification is answered, and a settlement thread woken after the insert commits
    credits it moments later."""
    settings.KOPECK_GATEWAY_SETTLE = "auto"
    order = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("cloudpayments"), amount="1500.00")
    assert _pay(HttpClient(REMOTE_ADDR="127.0.0.1"), order).json() == {"code": 0}

    def settled() -> bool:
        try:
            return fresh(order).status == PaymentStatus.SUCCEEDED
        except OperationalError:  # the tests' in-memory SQLite: a table locked by the settling thread's write
            return False  # (a database file in WAL mode, as deployed, lets readers read meanwhile)

    deadline = time.monotonic() + 20
    while not settled() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert fresh(order).status == PaymentStatus.SUCCEEDED
    assert order.notifications.get().verdict == "accepted" and credits(order) == 1


@pytest.mark.django_db
def test_a_top_up_credited_in_a_batch_is_booked_as_one_credited_alone(
        http: Any, make_setting: Any, buyer: Client, invoice: Any, clock: FixedClock) -> None:  # noqa: F811
    """The batch's bulk writers and the one-by-one path (:func:`settle`, as reconciliation uses it)
    write the same payment, ledger transaction, audit entry, allocation and event."""
    older, newer = invoice("1500.00"), invoice("1500.00")
    setting = make_setting("cloudpayments", receipts=False)
    batch, alone = (online_payment_create(actor=ACTOR, client=buyer, setting=setting, amount="1500.00")
                    for _ in range(2))
    _pay(http, batch, "801")
    assert notifications_settle() == {"accepted": 1}
    assert settle(payment_id=alone.pk, outcome="paid", amount=Decimal("1500.00"), currency="RUB", is_test=True,
                  transaction_id="802", provider_payment_id="802").reason == "credited"
    booked = [Payment.objects.get(pk=int(fresh(p).credit_ref.split(":")[1])) for p in (batch, alone)]

    def shape(p: Payment) -> dict[str, Any]:
        row = {f.attname: getattr(p, f.attname) for f in Payment._meta.concrete_fields
               if f.attname not in ("id", "external_id", "transaction_id", "created_at")}
        txn = p.transaction
        assert txn is not None
        row["ledger"] = (txn.operation, txn.amount_minor, re.sub(r"№ \d+", "№ N", txn.reason), txn.source_ref ==
                         f"payment:{p.pk}", sorted(txn.postings.values_list("account__role", "amount_minor")))
        audit = AuditEntry.objects.get(action="payment.record", object_id=str(p.pk)).after
        row["audit"] = {k: v for k, v in audit.items() if k != "external_id"}
        event = Event.objects.get(type="payment.received", subject_id=p.pk)
        row["event"] = {k: v for k, v in event.data["payment"].items() if k not in ("id", "external_id", "invoice_ids")}
        row["invoices"] = len(event.data["payment"]["invoice_ids"])
        return row

    assert shape(booked[0]) == shape(booked[1])
    assert booked[0].allocated_minor == booked[1].allocated_minor == 150000
    assert [d.refresh_from_db() or d.status for d in (older, newer)] == ["paid", "paid"]
    assert balance(buyer) == Decimal("3000.00")  # issued invoices post no charge here


@pytest.mark.django_db(transaction=True)
def test_with_a_broker_the_stored_notification_sends_the_settle_task(
        make_setting: Any, payer: Client, settings: Any, monkeypatch: Any) -> None:
    from kopeck.gateways import notifications, tasks

    sent: list[Any] = []
    monkeypatch.setattr(tasks.settle, "apply_async", lambda **options: sent.append(options))
    monkeypatch.setattr(notifications, "_sent_at", -1e9)
    settings.KOPECK_GATEWAY_SETTLE, settings.KOPECK_GATEWAY_SETTLE_GATHER = "celery", 30.0
    setting = make_setting("cloudpayments")
    order, other = (online_payment_create(actor=ACTOR, client=payer, setting=setting, amount="1500.00")
                    for _ in range(2))
    http = HttpClient(REMOTE_ADDR="127.0.0.1")
    _pay(http, order)
    _pay(http, order)  # a copy: nothing new to settle, no task
    _pay(http, other, "1211507")  # within the 30 s the sent task waits: it settles this one too
    assert sent == [{"countdown": 30.0}]
    assert tasks.settle.apply().get() == {"accepted": 2}  # what the Celery worker runs
    assert credits(order) == credits(other) == 1
    settings.KOPECK_GATEWAY_SETTLE_GATHER = 0.0  # the window passed: the next stored notification sends a task
    third = online_payment_create(actor=ACTOR, client=payer, setting=setting, amount="1500.00")
    _pay(http, third, "1211508")
    assert sent == [{"countdown": 30.0}, {"countdown": 0.0}]


def test_the_settlement_thread_gathers_a_burst_into_one_batch() -> None:
    """One notification is settled after one gathering step; a burst keeps the thread gathering until a
    batch's worth is waiting or the first has waited the longest allowed."""
    from kopeck.gateways.notifications import BATCH, _Settler

    def waited(woken: int, gather_max: float, *, arriving: int = 0) -> float:
        settler = _Settler()
        settler.woken = woken
        settler.pending.set()
        if arriving:  # ten notifications stored every 40 ms while the thread gathers

            def burst() -> None:
                for _ in range(arriving // 10):
                    time.sleep(0.04)
                    settler.woken += 10

            threading.Thread(target=burst, daemon=True).start()
        started = time.monotonic()
        settler._gathered(0.05, gather_max)
        took = time.monotonic() - started
        if not arriving:
            assert settler.woken == 0 and not settler.pending.is_set()
        return took

    assert waited(1, 0.6) < 0.3  # alone: one step (0.05 s)
    assert 0.5 <= waited(2, 0.6) < 1.0  # a burst that stops: up to the longest wait (0.6 s)
    assert waited(BATCH, 0.6) < 0.3  # a full batch already waiting: at once after one step
    fills = BATCH / 10 * 0.04  # a batch's worth has arrived after this long (0.4 s), long before 5 s
    assert 0.75 * fills <= waited(2, 5.0, arriving=BATCH) < fills + 2


@pytest.mark.django_db
def test_an_order_of_another_gateway_is_unknown_to_this_one(make_setting: Any, payer: Client) -> None:
    """Looked up by its unique order id, the order is then compared with the gateway the notification came
    to: signed with this gateway's secret for another gateway's order, it credits nothing."""
    mine, theirs = make_setting("cloudpayments"), make_setting("cloudpayments")
    order = online_payment_create(actor=ACTOR, client=payer, setting=theirs, amount="1500.00")
    body, mac = signed(pay_fields(order, DateTime="", TransactionId="77"))
    answer = post_notification(HttpClient(REMOTE_ADDR="127.0.0.1"), mine, body, kind="pay", settle=False,
                               **{"Content-HMAC": mac})
    assert answer.json() == {"code": 0}  # Pay is answered 0 whatever the verdict (CloudPayments' protocol)
    note = last_note()
    assert (note.setting_id, note.verdict, note.reason, note.payment_id) == (mine.pk, "refused", "unknown_order", None)
    assert notifications_settle() == {}
    assert fresh(order).status == PaymentStatus.PENDING and credits(order) == 0 and balance(payer) == 0


@pytest.mark.django_db(transaction=True)
def test_a_notification_through_the_wsgi_application_is_stored_and_answered(make_setting: Any, payer: Client) -> None:
    """What a provider reaches in production: ``kopeck.wsgi.application``, whose /gateways/ paths run the
    short middleware list (kopeck.common.http.lean) — verified, stored and answered the same."""
    from tests.common.http.test_lean import call

    order = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("cloudpayments"), amount="1500.00")
    body, mac = signed(pay_fields(order, DateTime="", TransactionId="4242"))
    status, headers, content = call(f"/gateways/cloudpayments/{order.setting_id}/pay/", "POST", body.encode(), **{
        "Content-Type": "application/x-www-form-urlencoded", "Content-HMAC": mac})
    assert (status, content, headers["Content-Type"]) == ("200 OK", b'{"code": 0}', "application/json")
    note = last_note()
    assert (note.verdict, note.transaction_id, note.payment_id) == ("queued", "4242", order.pk)
    assert notifications_settle() == {"accepted": 1}
    assert balance(payer) == Decimal("1500.00") and credits(order) == 1
