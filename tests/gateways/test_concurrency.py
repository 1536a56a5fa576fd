"""Ten copies of one notification delivered at once (PostgreSQL): the payment is credited once."""

from __future__ import annotations

import threading
import urllib.parse
from decimal import Decimal
from typing import Any

import pytest
from django.db import connections
from django.test import Client as HttpClient

from kopeck.clients.models import Client
from kopeck.gateways.models import GatewayPayment, PaymentStatus
from kopeck.gateways.services import online_payment_create
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
