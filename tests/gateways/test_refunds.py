"""A refund of a payment that came through a gateway, asked of kopeck.payments (its API, its back office),
goes back to the card through the provider — never only a ledger entry while the money stays with the
client's card. A refusal changes nothing in the books."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest

from kopeck.clients.models import Client
from kopeck.core.clock import FixedClock
from kopeck.gateways.models import GatewayRefund, RefundStatus
from kopeck.gateways.services import online_payment_create
from kopeck.ledger.models import JournalTransaction
from kopeck.payments import services as payments
from kopeck.payments.models import Payment, Refund
from tests.gateways.conftest import ACTOR, balance, fresh, post_notification
from tests.gateways.fakes import FakeProviders
from tests.gateways.test_cloudpayments import pay_fields, send
from tests.gateways.test_robokassa import result_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def credited(http: Any, make_setting: Any, payer: Client, clock: FixedClock) -> Payment:
    """A CloudPayments payment of 1500.00, paid and credited: its payment in kopeck.payments."""
    order = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("cloudpayments"), amount="1500.00")
    assert send(http, order, "pay", pay_fields(order)).json() == {"code": 0}
    return Payment.objects.get(pk=int(fresh(order).credit_ref.split(":")[1]))


def refund_calls(fake: FakeProviders) -> list[dict[str, Any]]:
    return [json.loads(c.body) for c in fake.calls if c.path == "/cp/payments/refund"]


def test_a_refund_over_the_payments_api_goes_to_the_provider(api: Any, credited: Payment, payer: Client,
                                                             fake: FakeProviders) -> None:
    answer = api.post(f"/api/v1/payments/{credited.pk}/refund/", {"amount": "500.00", "reason": "Отказ от услуги"},
                      format="json", HTTP_IDEMPOTENCY_KEY="refund-1")
    assert answer.status_code == 201, answer.content
    assert refund_calls(fake) == [{"TransactionId": 1211506, "Amount": 500.0}]
    refund = Refund.objects.get()
    assert (answer.json()["id"], answer.json()["amount"]) == (refund.pk, "500.00")
    assert (refund.amount_minor, refund.external_id, refund.reason) == (50000, "cloudpayments:1211507",
                                                                         "Отказ от услуги")
    made = GatewayRefund.objects.get()
    assert (made.status, made.amount_minor, made.provider_refund_id) == (RefundStatus.SUCCEEDED, 50000, "1211507")
    assert balance(payer) == Decimal("1000.00")
    # the rest, with no amount: all that is left, through the provider again
    rest = api.post(f"/api/v1/payments/{credited.pk}/refund/", {"reason": "Закрытие договора"}, format="json")
    assert rest.status_code == 201, rest.content
    assert refund_calls(fake)[1] == {"TransactionId": 1211506, "Amount": 1000.0}
    assert balance(payer) == Decimal("0.00")
    credited.refresh_from_db()
    assert (credited.status, credited.refunded_minor) == ("refunded", 150000)


def test_a_refusal_by_the_provider_changes_nothing_in_the_books(api: Any, credited: Payment, payer: Client,
                                                                fake: FakeProviders) -> None:
    fake.cp_refund_decline = True
    transactions = JournalTransaction.objects.count()
    answer = api.post(f"/api/v1/payments/{credited.pk}/refund/", {"amount": "500.00", "reason": "Отказ"},
                      format="json")
    assert answer.status_code == 502
    assert "Сумма возврата превышает доступную" in answer.json()["detail"]
    assert len(refund_calls(fake)) == 1
    assert not Refund.objects.exists() and JournalTransaction.objects.count() == transactions
    assert balance(payer) == Decimal("1500.00")
    credited.refresh_from_db()
    assert (credited.status, credited.refunded_minor) == ("credited", 0)
    # the attempt is kept, clearly failed
    assert list(GatewayRefund.objects.values_list("status", "amount_minor")) == [(RefundStatus.FAILED, 50000)]


def test_the_back_office_refund_goes_to_the_provider_too(credited: Payment, payer: Client, fake: FakeProviders) -> None:
    refund = payments.payment_refund(actor=ACTOR, payment=credited, reason="Ошибка тарифа", amount="100.00")
    assert refund_calls(fake) == [{"TransactionId": 1211506, "Amount": 100.0}]
    assert refund.external_id == "cloudpayments:1211507" and balance(payer) == Decimal("1400.00")


def test_a_refund_made_in_the_providers_dashboard_is_recorded_in_the_books_only(
        api: Any, credited: Payment, payer: Client, fake: FakeProviders) -> None:
    answer = api.post(f"/api/v1/payments/{credited.pk}/refund/",
                      {"amount": "200.00", "reason": "Возврат из личного кабинета", "external_id": "cp-dash-77"},
                      format="json")
    assert answer.status_code == 201, answer.content
    assert refund_calls(fake) == [] and not GatewayRefund.objects.exists()
    assert Refund.objects.get().external_id == "cp-dash-77"
    assert balance(payer) == Decimal("1300.00")


def test_robokassa_refunds_are_made_in_its_dashboard_so_the_api_refuses_and_writes_nothing(
        api: Any, http: Any, make_setting: Any, payer: Client, clock: FixedClock) -> None:
    order = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("robokassa"), amount="1500.00")
    assert post_notification(http, order.setting, result_body(order)).status_code == 200
    pay = Payment.objects.get(method="robokassa")
    transactions = JournalTransaction.objects.count()
    answer = api.post(f"/api/v1/payments/{pay.pk}/refund/", {"reason": "Отказ"}, format="json")
    assert answer.status_code == 400
    assert answer.json()["errors"] == [{"field": "payment",
                                        "detail": "Этот агрегатор делает возвраты только в своём личном кабинете."}]
    assert not Refund.objects.exists() and JournalTransaction.objects.count() == transactions
    assert balance(payer) == Decimal("1500.00")


def test_a_gateway_payment_entered_by_hand_is_not_refunded_in_the_books_alone(api: Any, payer: Client,
                                                                              clock: FixedClock) -> None:
    pay = payments.payment_record(actor=ACTOR, client=payer, amount="300.00", method="yookassa",
                                  external_id="yk-statement-5")
    transactions = JournalTransaction.objects.count()
    answer = api.post(f"/api/v1/payments/{pay.pk}/refund/", {"reason": "Отказ"}, format="json")
    assert answer.status_code == 409
    assert answer.json()["detail"] == (
        f"Платёж № {pay.pk} не был принят Kopeck онлайн через yookassa, поэтому вернуть его через агрегатора Kopeck "
        "не может: сделайте возврат в личном кабинете агрегатора, затем запишите его здесь, указав в external_id "
        "номер возврата у агрегатора.")
    assert not Refund.objects.exists() and JournalTransaction.objects.count() == transactions
    assert balance(payer) == Decimal("300.00")
