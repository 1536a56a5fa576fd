"""ЮKassa through the official SDK against a local ЮKassa API on loopback."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from kopeck.clients.models import Client
from kopeck.common import secrets
from kopeck.common.errors import ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.gateways.models import GatewayPayment, GatewayRefund, PaymentStatus, SavedMethod
from kopeck.gateways.notifications import notifications_settle
from kopeck.gateways.services import gateways_reconcile, online_payment_create, online_refund
from kopeck.ledger.models import JournalTransaction
from tests.gateways.conftest import ACTOR, balance, credits, fresh, last_note, post_notification
from tests.gateways.fakes import FakeProviders

pytestmark = pytest.mark.django_db


def notification(obj_id: str, event: str = "payment.succeeded", **obj: Any) -> str:
    return json.dumps({"type": "notification", "event": event, "object": {"id": obj_id, "status": "succeeded", **obj}})


@pytest.fixture
def paid(make_setting: Any, payer: Client, fake: FakeProviders, clock: FixedClock) -> GatewayPayment:
    setting = make_setting("yookassa")
    payment = online_payment_create(actor=ACTOR, client=payer, setting=setting, amount="1500.00",
                                    return_url="https://my.example.ru/back")
    fake.yk_pay(payment.provider_payment_id)
    return payment


def test_create_goes_through_the_sdk_with_an_idempotence_key_and_a_receipt(
        make_setting: Any, payer: Client, fake: FakeProviders, clock: FixedClock) -> None:
    payment = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("yookassa"), amount="1500.00",
                                    return_url="https://my.example.ru/back")
    call = next(c for c in fake.calls if c.method == "POST" and c.path == "/v3/payments")
    assert call.headers["idempotence-key"] == payment.order_id
    sent = json.loads(call.body)
    assert sent["amount"] == {"value": "1500.00", "currency": "RUB"}
    assert sent["metadata"]["order_id"] == payment.order_id
    assert sent["confirmation"] == {"type": "redirect", "return_url": "https://my.example.ru/back"}
    # a top-up is an advance: the calculated rate 22/122 is vat_code 12
    assert sent["receipt"]["items"] == [{"description": "Предоплата за услуги", "quantity": "1.0",
                                         "amount": {"value": "1500.00", "currency": "RUB"}, "vat_code": 12,
                                         "payment_mode": "advance", "payment_subject": "service"}]
    assert sent["receipt"]["customer"] == {"email": "buh@romashka.ru"}
    assert payment.status == PaymentStatus.PENDING
    assert payment.confirmation_url == f"{fake.url}/pay/{payment.provider_payment_id}"
    assert balance(payer) == 0


def test_the_api_creates_a_payment_and_answers_the_redirect(
        api: Any, make_setting: Any, payer: Client, fake: FakeProviders, clock: FixedClock) -> None:
    setting = make_setting("yookassa")
    body = {"client": payer.pk, "amount": "990.00", "gateway": setting.pk}
    first = api.post("/api/v1/payments/online/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/v1/payments/online/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201, first.content
    assert again.json() == first.json()
    assert GatewayPayment.objects.count() == 1
    assert first.json()["confirmation_url"].startswith(f"{fake.url}/pay/")
    assert first.json()["status"] == "pending" and first.json()["amount"] == "990.00"
    bad = api.post("/api/v1/payments/online/", {"client": payer.pk}, format="json")
    assert bad.status_code == 400
    assert bad.json()["errors"] == [{"field": "amount", "detail": "Укажите сумму или счёт."}]


def test_a_good_notification_credits_once_even_sent_ten_times(http: Any, paid: GatewayPayment, payer: Client) -> None:
    body = notification(paid.provider_payment_id)
    answers = [post_notification(http, paid.setting, body, content_type="application/json") for _ in range(10)]
    assert [a.status_code for a in answers] == [200] * 10
    assert balance(payer) == Decimal("1500.00")
    assert fresh(paid).status == PaymentStatus.SUCCEEDED
    verdicts = sorted(paid.notifications.values_list("verdict", flat=True))
    assert verdicts == ["accepted"] + ["duplicate"] * 9
    assert credits(paid) == 1


def test_the_body_is_not_trusted_the_fetched_object_is(http: Any, paid: GatewayPayment, payer: Client,
                                                       fake: FakeProviders) -> None:
    fake.yk_payments[paid.provider_payment_id]["status"] = "pending"
    lie = notification(paid.provider_payment_id, amount={"value": "1500.00", "currency": "RUB"})
    fetch = f"/v3/payments/{paid.provider_payment_id}"
    answer = post_notification(http, paid.setting, lie, content_type="application/json", settle=False)
    assert answer.status_code == 200 and last_note().verdict == "queued"  # answered before ЮKassa is asked
    assert not any(c.path == fetch for c in fake.calls)
    notifications_settle()  # the worker re-fetches the object: only what ЮKassa's API says counts
    assert balance(payer) == 0
    assert last_note().verdict == "ignored"
    assert any(c.method == "GET" and c.path == fetch for c in fake.calls)


@pytest.mark.parametrize(("case", "reason"), [
    ("address", "ip"), ("forged", "not_found"), ("amount", "amount"), ("currency", "currency"),
    ("order", "unknown_order"), ("test_on_live", "test_on_live"), ("malformed", "malformed"),
])
def test_refusals_credit_nothing_and_are_logged(http: Any, paid: GatewayPayment, payer: Client, fake: FakeProviders,
                                                case: str, reason: str) -> None:
    obj = fake.yk_payments[paid.provider_payment_id]
    body = notification(paid.provider_payment_id)
    client = http
    if case == "address":
        from django.test import Client as HttpClient

        client = HttpClient(REMOTE_ADDR="203.0.113.9")
    elif case == "forged":
        body = notification("2f5a0000-000f-5000-8000-000000000000")
    elif case == "amount":
        obj["amount"] = {"value": "15.00", "currency": "RUB"}
    elif case == "currency":
        obj["amount"] = {"value": "1500.00", "currency": "USD"}
    elif case == "order":
        obj["metadata"] = {"order_id": "someone-elses"}
    elif case == "test_on_live":
        paid.setting.is_live = True
        paid.setting.save(update_fields=["is_live"])
    elif case == "malformed":
        body = '{"type": "notification", "event": '
    answer = post_notification(client, paid.setting, body, content_type="application/json")
    note = last_note()
    assert (note.verdict, note.reason) == ("refused", reason)
    assert note.body == body and note.detail
    assert answer.status_code == (400 if reason in ("ip", "malformed") else 200)
    assert balance(payer) == 0
    assert fresh(paid).status == PaymentStatus.PENDING
    assert not JournalTransaction.objects.exists()


def test_a_lost_notification_is_recovered_by_reconciliation(paid: GatewayPayment, payer: Client,
                                                            clock: FixedClock) -> None:
    assert gateways_reconcile(older_than=dt.timedelta(minutes=15)) == {}  # too young yet
    clock.advance(dt.timedelta(minutes=16))
    assert gateways_reconcile(older_than=dt.timedelta(minutes=15)) == {"credited": 1}
    assert balance(payer) == Decimal("1500.00")
    assert gateways_reconcile(older_than=dt.timedelta(minutes=15)) == {}  # nothing pending any more


def test_refund_through_the_provider(http: Any, paid: GatewayPayment, payer: Client, fake: FakeProviders) -> None:
    post_notification(http, paid.setting, notification(paid.provider_payment_id), content_type="application/json")
    refund = online_refund(actor=ACTOR, payment=fresh(paid), amount="500.00", reason="Клиент отказался")
    call = next(c for c in fake.calls if c.path == "/v3/refunds")
    assert call.headers["idempotence-key"] == f"refund-{refund.pk}"
    assert json.loads(call.body)["amount"] == {"value": "500.00", "currency": "RUB"}
    assert balance(payer) == Decimal("1000.00")
    with pytest.raises(ValidationFailed) as refused:
        online_refund(actor=ACTOR, payment=paid, amount="1000.01", reason="too much")
    assert refused.value.errors == {"amount": ["Сумма должна быть больше нуля и не больше остатка, доступного к возврату."]}
    assert GatewayRefund.objects.count() == 1


def test_refund_over_the_api(api: Any, http: Any, paid: GatewayPayment, payer: Client) -> None:
    post_notification(http, paid.setting, notification(paid.provider_payment_id), content_type="application/json")
    answer = api.post(f"/api/v1/payments/online/{paid.pk}/refund/", {"amount": "1500.00", "reason": "Отказ"},
                      format="json")
    assert answer.status_code == 201, answer.content
    assert answer.json()["amount"] == "1500.00" and answer.json()["status"] == "succeeded"
    assert balance(payer) == 0
    again = api.post(f"/api/v1/payments/online/{paid.pk}/refund/", {"amount": "0.01", "reason": "x"}, format="json")
    assert again.status_code == 400


def test_a_saved_method_is_kept_encrypted_and_shown_masked(
        http: Any, make_setting: Any, payer: Client, fake: FakeProviders, clock: FixedClock) -> None:
    payment = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("yookassa"), amount="10.00",
                                    save_method=True)
    assert json.loads(fake.calls[-1].body)["save_payment_method"] is True
    fake.yk_pay(payment.provider_payment_id, save=True)
    post_notification(http, payment.setting, notification(payment.provider_payment_id),
                      content_type="application/json")
    method = SavedMethod.objects.get()
    assert method.title == "Visa •••• 4242"
    assert "pm-" not in method.token_encrypted
    assert secrets.decrypt(method.token_encrypted) == f"pm-{payment.provider_payment_id}"
    assert fresh(payment).saved_method == method


def test_when_yookassa_cannot_be_asked_the_worker_asks_again_later(
        http: Any, paid: GatewayPayment, payer: Client, fake: FakeProviders, clock: FixedClock) -> None:
    """The re-fetch is the worker's: ЮKassa is answered 200 once the notification is stored, and a fetch
    that fails is retried a minute later — nothing is credited before ЮKassa's API confirmed it."""
    body = notification(paid.provider_payment_id)
    fake.down = True
    answer = post_notification(http, paid.setting, body, content_type="application/json")
    assert answer.status_code == 200
    note = last_note()
    assert (note.verdict, note.reason, note.settle_after) == ("queued", "", clock.now() + dt.timedelta(minutes=1))
    assert note.detail == "provider unreachable: ЮKassa API answered 0: {'error': 'down'}"  # stored in English
    assert balance(payer) == 0 and fresh(paid).status == PaymentStatus.PENDING
    fake.down = False
    assert notifications_settle() == {}  # not before its time
    clock.advance(dt.timedelta(minutes=1))
    assert notifications_settle() == {"confirmed": 1, "accepted": 1}
    note.refresh_from_db()
    assert (note.verdict, note.reason, note.payment_id, note.settle_after) == ("accepted", "credited", paid.pk, None)
    assert balance(payer) == Decimal("1500.00") and credits(paid) == 1


def test_two_stage_payment_is_credited_when_captured(http: Any, make_setting: Any, payer: Client, fake: FakeProviders,
                                                     clock: FixedClock) -> None:
    payment = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("yookassa", two_stage=True),
                                    amount="700.00")
    assert json.loads(fake.calls[-1].body)["capture"] is False
    obj = fake.yk_payments[payment.provider_payment_id]
    obj["status"] = "waiting_for_capture"
    post_notification(http, payment.setting, notification(payment.provider_payment_id, "payment.waiting_for_capture"),
                      content_type="application/json")
    assert (fresh(payment).status, balance(payer)) == (PaymentStatus.AUTHORIZED, 0)
    obj["status"] = "succeeded"  # captured in ЮKassa's dashboard
    post_notification(http, payment.setting, notification(payment.provider_payment_id), content_type="application/json")
    assert (fresh(payment).status, balance(payer)) == (PaymentStatus.SUCCEEDED, Decimal("700.00"))
