"""Ten copies of one notification delivered at once (PostgreSQL): the payment is credited once."""

from __future__ import annotations

import threading
import urllib.parse
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection, connections, transaction
from django.test import Client as HttpClient

from kopeck.clients.models import Client
from kopeck.gateways.models import GatewayPayment, PaymentStatus
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
    assert balance(payer) == Decimal("1500.00")
    assert fresh(payment).status == PaymentStatus.SUCCEEDED
    assert credits(payment) == 1
    verdicts = sorted(payment.notifications.values_list("verdict", flat=True))
    assert verdicts == ["accepted"] + ["duplicate"] * 9


def test_a_payment_being_settled_holds_up_no_other_order_of_the_gateway(make_setting: Any, payer: Client) -> None:
    """Settlement locks the order's row only: while one order of a gateway is locked (being credited), a
    notification of another order of the same gateway is stored, checked and credited without waiting
    (a lock on the shared setting row or the client's row would make it wait: lock_timeout fails it)."""
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
