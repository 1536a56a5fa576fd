"""ЮMoney quickpay (sha1_hash, codepro and unaccepted refused), PayPal Orders v2 with webhook signature
verification, Qiwi P2P (X-Api-Signature-SHA256; shipped disabled)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import urllib.parse
from decimal import Decimal
from typing import Any

import pytest

from kopeck.clients.models import Client
from kopeck.common.errors import ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.gateways.models import GatewayPayment, PaymentStatus
from kopeck.gateways.services import gateways_reconcile, online_payment_create
from kopeck.ledger.models import JournalTransaction
from tests.gateways.conftest import ACTOR, balance, fresh, last_note, post_notification
from tests.gateways.fakes import FakeProviders

pytestmark = pytest.mark.django_db


# ------------------------------------------------------------------ ЮMoney


def ym_body(payment: GatewayPayment, *, secret: str = "ym-secret", **extra: str) -> str:
    fields = {"notification_type": "card-incoming", "operation_id": "1234567", "amount": "1455.00",
              "withdraw_amount": "1500.00", "currency": "643", "datetime": "2026-11-25T08:58:00Z", "sender": "",
              "codepro": "false", "label": payment.order_id, "test_notification": "false", "unaccepted": "false"}
    fields.update(extra)
    base = "&".join([fields["notification_type"], fields["operation_id"], fields["amount"], fields["currency"],
                     fields["datetime"], fields["sender"], fields["codepro"], secret, fields["label"]])
    fields["sha1_hash"] = hashlib.sha1(base.encode()).hexdigest()
    return urllib.parse.urlencode(fields)


@pytest.fixture
def ym_order(make_setting: Any, payer: Client, clock: FixedClock) -> GatewayPayment:
    return online_payment_create(actor=ACTOR, client=payer, setting=make_setting("yoomoney"), amount="1500.00")


def test_yoomoney_form_and_a_good_notification_credit_once(http: Any, ym_order: GatewayPayment, payer: Client) -> None:
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(ym_order.confirmation_url).query))
    assert query == {"receiver": "4100111111111111", "quickpay-form": "button", "paymentType": "AC", "sum": "1500.00",
                     "label": ym_order.order_id, "targets": "Пополнение баланса"}
    for _ in range(10):
        assert post_notification(http, ym_order.setting, ym_body(ym_order)).status_code == 200
    assert balance(payer) == Decimal("1500.00")
    assert sorted(ym_order.notifications.values_list("verdict", flat=True)) == ["accepted"] + ["duplicate"] * 9


@pytest.mark.parametrize(("extra", "reason"), [
    ({"secret": "wrong"}, "signature"), ({"codepro": "true"}, "protection"), ({"unaccepted": "true"}, "unaccepted"),
    ({"withdraw_amount": "150.00"}, "amount"), ({"label": "nope"}, "unknown_order"),
    ({"test_notification": "true"}, "test_on_live"), ({"datetime": "2026-11-20T08:58:00Z"}, "replay"),
])
def test_yoomoney_refusals(http: Any, ym_order: GatewayPayment, payer: Client, extra: dict[str, str],
                           reason: str) -> None:
    if reason == "test_on_live":
        ym_order.setting.is_live = True
        ym_order.setting.save(update_fields=["is_live"])
    post_notification(http, ym_order.setting, ym_body(ym_order, **extra))
    assert (last_note().verdict, last_note().reason) == ("refused", reason)
    assert balance(payer) == 0 and not JournalTransaction.objects.exists()


def test_yoomoney_malformed_body(http: Any, ym_order: GatewayPayment, payer: Client) -> None:
    answer = post_notification(http, ym_order.setting, "notification_type=p2p-incoming&&&=")
    assert answer.status_code == 400
    assert (last_note().verdict, last_note().reason, last_note().body) == (
        "refused", "malformed", "notification_type=p2p-incoming&&&=")
    assert balance(payer) == 0


# ------------------------------------------------------------------ PayPal


def pp_send(http: Any, fake: FakeProviders, payment: GatewayPayment, event: dict[str, Any], *,
            when: str = "2026-11-25T08:59:00Z", tamper: bool = False) -> Any:
    body = json.dumps(event)
    canonical = json.dumps(event, separators=(",", ":"), sort_keys=True).encode()
    sig = fake.paypal_sig("tx-1", when, "WH-1", canonical)
    if tamper:
        body = body.replace(payment.order_id, "0" * 32)
    return post_notification(http, payment.setting, body, content_type="application/json", **{
        "PAYPAL-TRANSMISSION-ID": "tx-1", "PAYPAL-TRANSMISSION-TIME": when, "PAYPAL-TRANSMISSION-SIG": sig,
        "PAYPAL-CERT-URL": "https://api.paypal.com/v1/notifications/certs/CERT-1", "PAYPAL-AUTH-ALGO": "SHA256withRSA"})


def capture_event(payment: GatewayPayment, value: str = "25.00", currency: str = "EUR") -> dict[str, Any]:
    return {"id": "WH-EVT-1", "event_type": "PAYMENT.CAPTURE.COMPLETED", "resource": {
        "id": "CAP-1", "status": "COMPLETED", "amount": {"currency_code": currency, "value": value},
        "invoice_id": payment.order_id, "supplementary_data": {"related_ids": {"order_id": payment.provider_payment_id}}}}


@pytest.fixture
def pp_order(make_setting: Any, payer: Client, clock: FixedClock) -> GatewayPayment:
    payer.currency = "EUR"
    payer.save(update_fields=["currency"])
    return online_payment_create(actor=ACTOR, client=payer, setting=make_setting("paypal"), amount="25.00",
                                 currency="EUR")


def test_paypal_order_and_a_verified_capture_webhook(http: Any, fake: FakeProviders, payer: Client,
                                                     pp_order: GatewayPayment) -> None:
    order = pp_order
    created = next(c for c in fake.calls if c.path == "/paypal/v2/checkout/orders")
    assert created.headers["paypal-request-id"] == order.order_id
    assert order.confirmation_url == f"{fake.url}/checkoutnow?token={order.provider_payment_id}"
    for _ in range(3):
        assert pp_send(http, fake, order, capture_event(order)).status_code == 200
    assert balance(payer) == Decimal("25.00")
    assert sorted(order.notifications.values_list("verdict", flat=True)) == ["accepted", "duplicate", "duplicate"]


@pytest.mark.parametrize(("case", "reason"), [("tampered", "signature"), ("amount", "amount"),
                                              ("replay", "replay"), ("currency", "currency")])
def test_paypal_refusals(http: Any, fake: FakeProviders, pp_order: GatewayPayment, payer: Client, case: str,
                         reason: str) -> None:
    event = capture_event(pp_order, value="2.50" if case == "amount" else "25.00",
                          currency="USD" if case == "currency" else "EUR")
    pp_send(http, fake, pp_order, event, tamper=case == "tampered",
            when="2026-11-20T08:59:00Z" if case == "replay" else "2026-11-25T08:59:00Z")
    assert (last_note().verdict, last_note().reason) == ("refused", reason)
    assert not JournalTransaction.objects.exists()


def test_paypal_approved_order_is_captured_server_to_server(fake: FakeProviders, pp_order: GatewayPayment,
                                                            clock: FixedClock) -> None:
    fake.pp_orders[pp_order.provider_payment_id]["status"] = "APPROVED"  # the payer approved; no webhook came
    clock.advance(dt.timedelta(minutes=30))
    assert gateways_reconcile() == {"credited": 1}
    assert fresh(pp_order).status == PaymentStatus.SUCCEEDED
    assert any(c.path.endswith("/capture") and c.headers["paypal-request-id"] for c in fake.calls)


# ------------------------------------------------------------------ Qiwi


def qiwi_body(payment: GatewayPayment, status: str = "PAID", value: str = "1500.00") -> tuple[str, str]:
    bill = {"siteId": "site-1", "billId": payment.order_id, "amount": {"value": value, "currency": "RUB"},
            "status": {"value": status, "changedDateTime": "2026-11-25T11:58:00+03"}, "customFields": {}}
    base = f"RUB|{value}|{payment.order_id}|site-1|{status}"
    return json.dumps({"bill": bill, "version": "1"}), hmac.new(b"qiwi-secret", base.encode(),
                                                                  hashlib.sha256).hexdigest()


def test_qiwi_ships_disabled_with_the_licence_note(make_setting: Any, payer: Client, clock: FixedClock) -> None:
    setting = make_setting("qiwi", legacy_override=False)
    with pytest.raises(ValidationFailed, match="лицензию"):  # the active language is Russian by default
        online_payment_create(actor=ACTOR, client=payer, setting=setting, amount="10.00")


def test_qiwi_protocol_still_verified(http: Any, make_setting: Any, payer: Client, clock: FixedClock) -> None:
    order = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("qiwi"), amount="1500.00")
    body, sig = qiwi_body(order)
    assert post_notification(http, order.setting, body, content_type="application/json",
                             **{"X-Api-Signature-SHA256": "0" * 64}).status_code == 400
    assert last_note().reason == "signature" and balance(payer) == 0
    answer = post_notification(http, order.setting, body, content_type="application/json",
                               **{"X-Api-Signature-SHA256": sig})
    assert answer.json() == {"error": "0"}
    assert balance(payer) == Decimal("1500.00")
