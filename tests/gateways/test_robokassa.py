"""Robokassa: the signed link, ResultURL with Password #2 and the answer OK{InvId}, test passwords,
the Receipt, OpStateExt for reconciliation, recurring charges — against a local Robokassa."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import urllib.parse
from decimal import Decimal
from typing import Any

import pytest

from kopeck.clients.models import Client
from kopeck.core.clock import FixedClock
from kopeck.gateways.models import GatewayPayment, PaymentStatus
from kopeck.gateways.services import gateways_reconcile, online_payment_create
from kopeck.ledger.models import JournalTransaction
from tests.gateways.conftest import ACTOR, balance, fresh, last_note, post_notification
from tests.gateways.fakes import FakeProviders

pytestmark = pytest.mark.django_db


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def result_body(payment: GatewayPayment, *, out_sum: str = "1500.000000", password: str = "test-p2",
                test: bool = True, **extra: str) -> str:
    inv = str(payment.pk)
    shp = f"Shp_order={payment.order_id}"
    fields = {"OutSum": out_sum, "InvId": inv, "Fee": "58.50", "EMail": "buh@romashka.ru", "PaymentMethod": "BankCard",
              "IncCurrLabel": "BankCardPSR", "Shp_order": payment.order_id,
              "SignatureValue": sha256(f"{out_sum}:{inv}:{password}:{shp}").upper()}
    if test:
        fields["IsTest"] = "1"
    fields.update(extra)
    return urllib.parse.urlencode(fields)


@pytest.fixture
def order(make_setting: Any, payer: Client, clock: FixedClock) -> GatewayPayment:
    return online_payment_create(actor=ACTOR, client=payer, setting=make_setting("robokassa"), amount="1500.00")


def test_the_link_is_signed_with_password_1_receipt_and_sorted_shp(order: GatewayPayment) -> None:
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(order.confirmation_url).query))
    assert order.confirmation_url.startswith("https://auth.robokassa.ru/Merchant/Index.aspx?")
    assert query["MerchantLogin"] == "kopeck-shop" and query["OutSum"] == "1500.00"
    assert query["InvId"] == str(order.pk) and query["IsTest"] == "1"
    receipt = json.loads(urllib.parse.unquote(query["Receipt"]))
    assert receipt == {"sno": "osn", "items": [{"name": "Предоплата за услуги", "quantity": 1.0, "sum": 1500.0,
                                                "tax": "vat122", "payment_method": "advance",
                                                "payment_object": "service"}]}
    base = f"kopeck-shop:1500.00:{order.pk}:{query['Receipt']}:test-p1:Shp_order={order.order_id}"
    assert query["SignatureValue"] == sha256(base)


def test_result_url_credits_once_and_answers_ok_invid(http: Any, order: GatewayPayment, payer: Client) -> None:
    answers = [post_notification(http, order.setting, result_body(order)) for _ in range(10)]
    assert {a.content.decode() for a in answers} == {f"OK{order.pk}"}
    assert balance(payer) == Decimal("1500.00")
    assert sorted(order.notifications.values_list("verdict", flat=True)) == ["accepted"] + ["duplicate"] * 9


def test_the_exact_out_sum_string_is_signed(http: Any, order: GatewayPayment, payer: Client) -> None:
    # signed over "1500.000000" but sent as "1500.00": the signature does not match
    body = result_body(order).replace("OutSum=1500.000000", "OutSum=1500.00")
    answer = post_notification(http, order.setting, body)
    assert answer.status_code == 400 and answer.content == b"bad sign"
    assert (last_note().verdict, last_note().reason) == ("refused", "signature")
    assert balance(payer) == 0


@pytest.mark.parametrize(("case", "reason"), [
    ("signature", "signature"), ("live_password_on_test", "signature"), ("amount", "amount"),
    ("order", "unknown_order"), ("test_on_live", "test_on_live"), ("malformed", "malformed"),
])
def test_refusals_credit_nothing_and_are_logged(http: Any, order: GatewayPayment, payer: Client, case: str,
                                                reason: str) -> None:
    body = {"signature": lambda: result_body(order, password="guess"),
            "live_password_on_test": lambda: result_body(order, password="live-p2"),
            "amount": lambda: result_body(order, out_sum="15.00"),
            "order": lambda: result_body(order).replace(order.order_id, "0" * 32),
            "test_on_live": lambda: result_body(order),
            "malformed": lambda: "OutSum=1&InvId"}[case]()
    if case == "order":  # re-signed by someone holding the password, for an order that is not ours
        inv = str(order.pk)
        body = urllib.parse.urlencode({"OutSum": "1500.00", "InvId": inv, "IsTest": "1", "Shp_order": "0" * 32,
                                       "SignatureValue": sha256(f"1500.00:{inv}:test-p2:Shp_order={'0' * 32}")})
    if case == "test_on_live":
        order.setting.is_live = True
        order.setting.save(update_fields=["is_live"])
    post_notification(http, order.setting, body)
    note = last_note()
    assert (note.verdict, note.reason) == ("refused", reason)
    assert note.body == body
    assert balance(payer) == 0 and fresh(order).status == PaymentStatus.PENDING
    assert not JournalTransaction.objects.exists()


def test_live_payments_use_the_live_passwords(http: Any, make_setting: Any, payer: Client, clock: FixedClock) -> None:
    payment = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("robokassa", is_live=True),
                                    amount="1500.00")
    assert "IsTest" not in payment.confirmation_url
    post_notification(http, payment.setting, result_body(payment, password="live-p2", test=False))
    assert last_note().verdict == "accepted"
    assert balance(payer) == Decimal("1500.00")


def test_a_lost_result_is_recovered_through_op_state(order: GatewayPayment, payer: Client, fake: FakeProviders,
                                                     clock: FixedClock) -> None:
    fake.robo_states[str(order.pk)] = ("50", "1500.00")  # money received, not yet paid out to the shop
    clock.advance(dt.timedelta(hours=1))
    assert gateways_reconcile() == {"status": 1}  # still pending there: nothing credited
    assert balance(payer) == 0
    fake.robo_states[str(order.pk)] = ("100", "1500.00")
    assert gateways_reconcile() == {"credited": 1}
    assert balance(payer) == Decimal("1500.00")
    call = [c for c in fake.calls if c.path.startswith("/robokassa/OpStateExt")][-1]
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(call.path).query))
    assert query["Signature"] == sha256(f"kopeck-shop:{order.pk}:test-p2")


def test_recurring_charge_is_credited_by_result_url(http: Any, make_setting: Any, payer: Client, fake: FakeProviders,
                                                    clock: FixedClock) -> None:
    from kopeck.common import secrets
    from kopeck.gateways.autopay import autopay_enable, autopay_run
    from kopeck.gateways.models import AttemptStatus, AutopayCharge, SavedMethod

    first = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("robokassa"), amount="100.00",
                                  save_method=True)
    assert "Recurring=true" in first.confirmation_url and "Shp_recurring=1" in first.confirmation_url
    inv = str(first.pk)
    shp = f"Shp_order={first.order_id}:Shp_recurring=1"
    body = urllib.parse.urlencode({"OutSum": "100.00", "InvId": inv, "IsTest": "1", "Shp_order": first.order_id,
                                   "Shp_recurring": "1", "PaymentMethod": "BankCard",
                                   "SignatureValue": sha256(f"100.00:{inv}:test-p2:{shp}")})
    post_notification(http, first.setting, body)
    method = SavedMethod.objects.get()
    assert secrets.decrypt(method.token_encrypted) == inv
    autopay_enable(actor=ACTOR, client=payer, method=method, on_invoice=False, threshold="50.00", top_up="300.00")
    from kopeck.ledger.services import ledger_operation_post

    ledger_operation_post(actor=ACTOR, client=payer, operation="one_off_charge", amount="80.00", reason="Услуги")
    assert autopay_run() == {"scheduled": 1, "status": 1}  # accepted by Robokassa, not paid yet
    call = [c for c in fake.calls if c.path == "/robokassa/Recurring"][-1]
    sent = dict(urllib.parse.parse_qsl(call.body.decode()))
    charge = AutopayCharge.objects.get()
    assert charge.payment is not None
    assert (sent["PreviousInvoiceID"], sent["InvId"], sent["OutSum"]) == (inv, str(charge.payment.pk), "300.00")
    paid = charge.payment
    post_notification(http, paid.setting, result_body(paid, out_sum="300.00"))
    charge.refresh_from_db()
    assert charge.status == AttemptStatus.SUCCEEDED
    assert balance(payer) == Decimal("320.00")
