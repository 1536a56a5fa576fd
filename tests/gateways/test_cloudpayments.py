"""CloudPayments: Content-HMAC over the raw body, {"code":0}, Check refusal codes, TestMode, replay by
DateTime, tokens — against a local CloudPayments API."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import urllib.parse
from decimal import Decimal
from typing import Any

import pytest

from kopeck.clients.models import Client
from kopeck.core.clock import FixedClock
from kopeck.gateways.models import GatewayPayment, PaymentStatus, SavedMethod
from kopeck.gateways.services import gateways_reconcile, online_payment_create
from kopeck.ledger.models import JournalTransaction
from tests.gateways.conftest import ACTOR, balance, fresh, last_note, post_notification
from tests.gateways.fakes import FakeProviders

pytestmark = pytest.mark.django_db
SECRET = b"cp-api-secret"


def signed(fields: dict[str, str]) -> tuple[str, str]:
    body = urllib.parse.urlencode(fields)
    return body, base64.b64encode(hmac.new(SECRET, body.encode(), hashlib.sha256).digest()).decode()


def pay_fields(payment: GatewayPayment, **extra: str) -> dict[str, str]:
    fields = {"TransactionId": "1211506", "Amount": "1500.00", "Currency": "RUB", "PaymentAmount": "1500.00",
              "PaymentCurrency": "RUB", "DateTime": "2026-11-25 08:59:30", "CardFirstSix": "424242",
              "CardLastFour": "4242", "CardType": "Visa", "CardExpDate": "12/28", "TestMode": "1",
              "Status": "Completed", "OperationType": "Payment", "InvoiceId": payment.order_id,
              "AccountId": str(payment.client_id), "Email": "buh@romashka.ru", "Token": "tk_477b3f5b"}
    fields.update(extra)
    return fields


def send(http: Any, payment: GatewayPayment, kind: str, fields: dict[str, str], *, hmac_value: str | None = None) -> Any:
    body, mac = signed(fields)
    return post_notification(http, payment.setting, body, kind=kind, **{"Content-HMAC": hmac_value or mac,
                                                                        "X-Content-HMAC": hmac_value or mac})


@pytest.fixture
def order(make_setting: Any, payer: Client, clock: FixedClock) -> GatewayPayment:
    return online_payment_create(actor=ACTOR, client=payer, setting=make_setting("cloudpayments"), amount="1500.00",
                                 save_method=True)


def test_the_widget_parameters_carry_the_order_and_the_receipt(order: GatewayPayment) -> None:
    assert order.confirmation_url == ""
    assert order.widget["publicId"] == "pk_test" and order.widget["invoiceId"] == order.order_id
    assert order.widget["amount"] == 1500.0 and order.widget["currency"] == "RUB"
    receipt = order.widget["data"]["CloudPayments"]["CustomerReceipt"]
    assert receipt["Items"] == [{"label": "Предоплата за услуги", "price": 1500.0, "quantity": 1.0, "amount": 1500.0,
                                 "vat": 122, "method": 3, "object": 4}]
    assert receipt["taxationSystem"] == 0 and receipt["email"] == "buh@romashka.ru"


def test_check_then_pay_credits_once_and_saves_the_token(http: Any, order: GatewayPayment, payer: Client) -> None:
    check = send(http, order, "check", pay_fields(order))
    assert check.json() == {"code": 0}
    assert balance(payer) == 0
    answers = [send(http, order, "pay", pay_fields(order)) for _ in range(10)]
    assert [a.json() for a in answers] == [{"code": 0}] * 10
    assert balance(payer) == Decimal("1500.00")
    verdicts = sorted(order.notifications.filter(kind="pay").values_list("verdict", flat=True))
    assert verdicts == ["accepted"] + ["duplicate"] * 9
    method = SavedMethod.objects.get()
    assert (method.title, fresh(order).saved_method) == ("Visa •••• 4242", method)


@pytest.mark.parametrize(("fields", "code", "reason"), [
    ({"InvoiceId": "unknown"}, 10, "unknown_order"), ({"Amount": "1.00"}, 12, "amount"),
    ({"Currency": "USD"}, 12, "currency"),
])
def test_check_refuses_with_the_documented_codes(http: Any, order: GatewayPayment, fields: dict[str, str], code: int,
                                                 reason: str) -> None:
    assert send(http, order, "check", pay_fields(order, **fields)).json() == {"code": code}
    assert (last_note().verdict, last_note().reason) == ("refused", reason)


@pytest.mark.parametrize(("case", "reason"), [
    ("signature", "signature"), ("amount", "amount"), ("currency", "currency"), ("order", "unknown_order"),
    ("test_on_live", "test_on_live"), ("replay", "replay"), ("malformed", "malformed"),
])
def test_refusals_credit_nothing_and_are_logged(http: Any, order: GatewayPayment, payer: Client, case: str,
                                                reason: str) -> None:
    fields = pay_fields(order)
    mac = None
    if case == "signature":
        mac = base64.b64encode(b"\x00" * 32).decode()
    elif case == "amount":
        fields["Amount"] = "1499.99"
    elif case == "currency":
        fields["Currency"] = "KZT"
    elif case == "order":
        fields["InvoiceId"] = "f" * 32
    elif case == "test_on_live":
        order.setting.is_live = True
        order.setting.save(update_fields=["is_live"])
    elif case == "replay":  # a genuine notification of four days ago, sent again
        fields["DateTime"] = "2026-11-21 08:59:30"
    elif case == "malformed":
        fields.pop("Amount")
    answer = send(http, order, "pay", fields, hmac_value=mac)
    note = last_note()
    assert (note.verdict, note.reason) == ("refused", reason)
    assert note.headers["content-hmac"]
    assert answer.status_code == (400 if reason in ("signature", "malformed") else 200)
    assert balance(payer) == 0 and fresh(order).status == PaymentStatus.PENDING
    assert not JournalTransaction.objects.exists()


def test_json_bodies_are_verified_over_the_raw_bytes(http: Any, order: GatewayPayment, payer: Client) -> None:
    body = json.dumps(pay_fields(order), ensure_ascii=False)
    mac = base64.b64encode(hmac.new(SECRET, body.encode(), hashlib.sha256).digest()).decode()
    post_notification(http, order.setting, body, kind="pay", content_type="application/json", **{"Content-HMAC": mac})
    assert last_note().verdict == "accepted" and balance(payer) == Decimal("1500.00")
    spaced = body.replace(", ", ",  ")  # the same JSON, other bytes: the signature no longer matches
    post_notification(http, order.setting, spaced, kind="pay", content_type="application/json",
                      **{"Content-HMAC": mac})
    assert last_note().reason == "signature"


def test_a_lost_pay_is_recovered_by_reconciliation(order: GatewayPayment, payer: Client, fake: FakeProviders,
                                                   clock: FixedClock) -> None:
    fake.cp_payments[order.order_id] = {"TransactionId": 1211506, "Amount": 1500.0, "Currency": "RUB",
                                        "InvoiceId": order.order_id, "Status": "Completed", "TestMode": True}
    clock.advance(dt.timedelta(minutes=20))
    assert gateways_reconcile() == {"credited": 1}
    assert balance(payer) == Decimal("1500.00")
    assert fresh(order).provider_payment_id == "1211506"
