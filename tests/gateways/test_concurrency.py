"""Ten copies of one notification delivered at once (PostgreSQL): stored once as queued (the unique
index refuses the other nine, stored as duplicates), settled by workers running at once: credited once."""

from __future__ import annotations

import threading
import urllib.parse
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test import Client as HttpClient

from kopeck.clients.models import Client
from kopeck.gateways.models import GatewayPayment, Notification, PaymentStatus
from kopeck.gateways.notifications import notifications_settle
from kopeck.gateways.services import _locked, online_payment_create
from tests.gateways.conftest import ACTOR, balance, credits, fresh
from tests.gateways.test_cloudpayments import pay_fields, signed
from tests.gateways.test_robokassa import result_body

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


def _fire(path: str, body: str, headers: dict[str, str], copies: int = 10) -> list[int]:
    barrier = threading.Barrier(copies)
    codes: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            http = HttpClient(REMOTE_ADDR="127.0.0.1")
            barrier.wait()
            codes.append(http.post(path, data=body.encode(), content_type="application/x-www-form-urlencoded",
                                   headers=headers).status_code)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(copies)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return codes


def _settle_at_once(workers: int, limit: int = 1) -> list[dict[str, int]]:
    """``workers`` settlement workers started together (each its own connection), ``limit`` a batch."""
    barrier = threading.Barrier(workers)
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(notifications_settle(limit=limit))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    return results


def _paid(orders: list[GatewayPayment], amount: str, *, first_transaction: int) -> None:
    """A CloudPayments Pay notification for each order, one after the other, each queued."""
    http = HttpClient(REMOTE_ADDR="127.0.0.1")
    for n, order in enumerate(orders):
        body, mac = signed(pay_fields(order, DateTime="", Amount=amount, TransactionId=str(first_transaction + n)))
        assert http.post(f"/gateways/cloudpayments/{order.setting_id}/pay/", data=body.encode(),
                         content_type="application/x-www-form-urlencoded", headers={"Content-HMAC": mac}).json() \
            == {"code": 0}


def test_workers_running_at_once_settle_each_notification_once(make_setting: Any, payer: Client) -> None:
    """Twenty orders paid, three workers taking one notification at a time together (SKIP LOCKED):
    every order credited exactly once, every notification decided once."""
    setting = make_setting("cloudpayments")
    orders = [online_payment_create(actor=ACTOR, client=payer, setting=setting, amount="100.00") for _ in range(20)]
    _paid(orders, "100.00", first_transaction=3000)
    results = _settle_at_once(3)
    assert sum(r.get("accepted", 0) for r in results) == 20
    assert balance(payer) == Decimal("2000.00")
    assert [credits(o) for o in orders] == [1] * 20
    assert set(Notification.objects.values_list("verdict", "reason")) == {("accepted", "credited")}


def test_workers_crediting_the_same_clients_in_batches_wait_for_each_other_and_never_deadlock(
        make_setting: Any) -> None:
    """Sixty top-ups of five clients, interleaved so that every batch of ten holds every client, settled
    by three workers at once: each batch locks the client accounts, the event counters and the payments
    in id order, so the workers queue behind each other — no deadlock, no batch retried, each order
    credited once and each client's balance the sum of its orders."""
    from tests.factories import ClientFactory

    setting = make_setting("cloudpayments", receipts=False)  # the factory's clients have no e-mail for a receipt
    clients = [ClientFactory() for _ in range(5)]
    orders = [online_payment_create(actor=ACTOR, client=clients[(n * 3) % 5], setting=setting, amount="10.00")
              for n in range(60)]
    _paid(orders, "10.00", first_transaction=5000)
    results = _settle_at_once(3, limit=10)
    assert sum(r.get("accepted", 0) for r in results) == 60 and not any("retry" in r for r in results)
    assert [credits(o) for o in orders] == [1] * 60
    assert [balance(c) for c in clients] == [Decimal("120.00")] * 5
    assert Notification.objects.exclude(verdict="accepted").count() == 0


@pytest.mark.parametrize("provider", ["robokassa", "cloudpayments"])
def test_ten_concurrent_copies_credit_once(make_setting: Any, payer: Client, provider: str) -> None:
    payment: GatewayPayment = online_payment_create(actor=ACTOR, client=payer, setting=make_setting(provider),
                                                    amount="1500.00")
    if provider == "robokassa":
        body, headers, path = result_body(payment), {}, f"/gateways/robokassa/{payment.setting_id}/"
    else:
        fields = pay_fields(payment, DateTime="")
        body, mac = signed(fields)
        headers, path = {"Content-HMAC": mac}, f"/gateways/cloudpayments/{payment.setting_id}/pay/"
    assert urllib.parse.parse_qs(body)
    assert _fire(path, body, headers) == [200] * 10
    assert sorted(payment.notifications.values_list("verdict", flat=True)) == ["duplicate"] * 9 + ["queued"]
    assert balance(payer) == 0  # answered before anything is credited
    _settle_at_once(3)
    assert balance(payer) == Decimal("1500.00")
    assert fresh(payment).status == PaymentStatus.SUCCEEDED
    assert credits(payment) == 1
    verdicts = sorted(payment.notifications.values_list("verdict", flat=True))
    assert verdicts == ["accepted"] + ["duplicate"] * 9


def test_a_payment_being_settled_holds_up_no_other_order_of_the_gateway(make_setting: Any, payer: Client) -> None:
    """Receiving locks nothing, and settlement locks the order's row only: while one order of a gateway
    is locked (being credited), a notification of another order of the same gateway is stored, answered
    and settled without waiting (a lock on the shared setting row or the client's row would make it
    wait: lock_timeout fails it)."""
    setting = make_setting("cloudpayments")
    busy = online_payment_create(actor=ACTOR, client=payer, setting=setting, amount="1500.00")
    other = online_payment_create(actor=ACTOR, client=payer, setting=setting, amount="1500.00")
    locked, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def holder() -> None:
        try:
            with transaction.atomic():
                _locked(GatewayPayment.objects.filter(pk=busy.pk)).get()
                locked.set()
                release.wait(30)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert locked.wait(30)
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")
        body, mac = signed(pay_fields(other, DateTime="", TransactionId="2211506"))
        response = HttpClient(REMOTE_ADDR="127.0.0.1").post(
            f"/gateways/cloudpayments/{setting.pk}/pay/", data=body.encode(),
            content_type="application/x-www-form-urlencoded", headers={"Content-HMAC": mac})
        assert notifications_settle() == {"accepted": 1}
    finally:
        release.set()
        thread.join()
        with connection.cursor() as cursor:
            cursor.execute("RESET lock_timeout")
    assert errors == []
    assert (response.status_code, response.content) == (200, b'{"code": 0}')
    assert fresh(other).status == PaymentStatus.SUCCEEDED and credits(other) == 1
    assert fresh(busy).status == PaymentStatus.PENDING and credits(busy) == 0
    assert balance(payer) == Decimal("1500.00")
