"""Autopayments end to end: saved method → invoice → charge → credit; a declined charge → retry on the
schedule → the client told by e-mail → given up after the last retry. Receipts of invoices."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict
from kopeck.core.clock import FixedClock
from kopeck.documents import services as documents
from kopeck.documents.models import Document
from kopeck.gateways.autopay import autopay_enable, autopay_run
from kopeck.gateways.models import AttemptStatus, AutopayCharge, GatewaySetting, PaymentStatus, SavedMethod
from kopeck.gateways.services import final_receipt_send, online_payment_create, saved_method_remove
from kopeck.ledger.services import ledger_operation_post
from kopeck.outbox.models import OutboxMessage
from kopeck.payments.models import Payment
from tests.documents.conftest import ENTITY
from tests.gateways.conftest import ACTOR, balance, post_notification
from tests.gateways.fakes import FakeProviders

pytestmark = pytest.mark.django_db


def invoice(client: Client, price: str = "1220.00") -> Document:
    draft = documents.document_create_draft(actor=ACTOR, type="invoice", client=client, lines=[
        {"name": "Хостинг, тариф «Старт», декабрь 2026", "price": price, "quantity": "1", "vat_rate": "22"}])
    return documents.document_issue(actor=ACTOR, document=draft)


@pytest.fixture
def entity(db: Any, clock: FixedClock) -> Any:
    return documents.legal_entity_create(actor=Actor.system("tests"), **ENTITY)


@pytest.fixture
def saved(http: Any, make_setting: Any, payer: Client, fake: FakeProviders, clock: FixedClock) -> SavedMethod:
    """The client paid once and ticked "pay automatically": ЮKassa saved the card."""
    first = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("yookassa"), amount="10.00",
                                  save_method=True)
    fake.yk_pay(first.provider_payment_id, save=True)
    body = json.dumps({"type": "notification", "event": "payment.succeeded", "object": {"id": first.provider_payment_id}})
    post_notification(http, first.setting, body, content_type="application/json")
    return SavedMethod.objects.get()


def emails(to: str) -> list[dict[str, Any]]:
    return [m.payload for m in OutboxMessage.objects.filter(topic="email.send").order_by("id") if m.payload["to"] == [to]]


def test_an_invoice_is_paid_by_the_saved_method(entity: Any, saved: SavedMethod, payer: Client,
                                                fake: FakeProviders) -> None:
    autopay_enable(actor=ACTOR, client=payer, method=saved)
    doc = invoice(payer)
    assert autopay_run() == {"scheduled": 1, "credited": 1}
    charge = AutopayCharge.objects.get()
    assert (charge.status, charge.attempts, charge.invoice) == (AttemptStatus.SUCCEEDED, 1, doc)
    assert charge.payment is not None and charge.payment.status == PaymentStatus.SUCCEEDED
    sent = json.loads([c for c in fake.calls if c.path == "/v3/payments"][-1].body)
    first = saved.payments.order_by("id").first()
    assert first is not None and sent["payment_method_id"] == f"pm-{first.provider_payment_id}"
    assert sent["amount"] == {"value": "1220.00", "currency": "RUB"}
    # the invoice's lines, prepaid: 22/122 is vat_code 12
    assert [(i["description"], i["vat_code"], i["payment_mode"]) for i in sent["receipt"]["items"]] == [
        ("Хостинг, тариф «Старт», декабрь 2026", 12, "full_prepayment")]
    assert balance(payer) == Decimal("1230.00")
    doc.refresh_from_db()
    assert (doc.status, doc.paid_minor) == ("paid", 122000)  # derived by kopeck.payments from the allocation
    pay = Payment.objects.get(external_id=f"yookassa:{charge.payment.order_id}")
    assert (pay.method, pay.amount_minor, charge.payment.credit_ref) == ("yookassa", 122000, f"payment:{pay.pk}")
    assert autopay_run() == {"scheduled": 0}  # the invoice is charged once


def test_a_declined_charge_is_retried_and_the_client_told(entity: Any, saved: SavedMethod, payer: Client,
                                                          fake: FakeProviders, clock: FixedClock) -> None:
    autopay_enable(actor=ACTOR, client=payer, method=saved)
    invoice(payer)
    fake.yk_decline_saved = True
    assert autopay_run() == {"scheduled": 1, "declined": 1}
    charge = AutopayCharge.objects.get()
    assert (charge.status, charge.attempts) == (AttemptStatus.SCHEDULED, 1)
    assert charge.next_attempt_at == clock.now() + dt.timedelta(hours=24)
    assert charge.payment is not None and charge.payment.failure_reason == "insufficient_funds"
    [told] = emails("buh@romashka.ru")
    assert "не прошёл: недостаточно средств." in told["body"] and "Мы повторим попытку 26.11.2026 09:00" in told["body"]
    assert autopay_run() == {"scheduled": 0}  # not due yet
    clock.advance(dt.timedelta(hours=24))
    assert autopay_run() == {"scheduled": 0, "declined": 1}
    assert len(emails("buh@romashka.ru")) == 2
    fake.yk_decline_saved = False
    clock.advance(dt.timedelta(hours=72))
    assert autopay_run() == {"scheduled": 0, "credited": 1}
    charge.refresh_from_db()
    assert (charge.status, charge.attempts) == (AttemptStatus.SUCCEEDED, 3)
    assert balance(payer) == Decimal("1230.00")


def test_after_the_last_retry_the_charge_is_given_up(entity: Any, saved: SavedMethod, payer: Client,
                                                     fake: FakeProviders, clock: FixedClock) -> None:
    autopay_enable(actor=ACTOR, client=payer, method=saved)
    invoice(payer)
    fake.yk_decline_saved = True
    for hours in (0, 24, 72, 120):
        clock.advance(dt.timedelta(hours=hours))
        autopay_run()
    charge = AutopayCharge.objects.get()
    assert (charge.status, charge.attempts, charge.next_attempt_at) == (AttemptStatus.GAVE_UP, 4, None)
    told = emails("buh@romashka.ru")
    assert len(told) == 4 and "Автоплатёж отключён для этого счёта" in told[-1]["body"]
    assert balance(payer) == Decimal("10.00")


def test_low_balance_tops_up_with_cloudpayments_tokens(http: Any, make_setting: Any, payer: Client,
                                                       fake: FakeProviders, clock: FixedClock) -> None:
    setting: GatewaySetting = make_setting("cloudpayments")
    method = SavedMethod.objects.create(client=payer, setting=setting, token_encrypted=__import__(
        "kopeck.common.secrets", fromlist=["encrypt"]).encrypt("tk_477b3f5b"), title="Visa •••• 4242",
        created_at=clock.now())
    autopay_enable(actor=ACTOR, client=payer, method=method, on_invoice=False, threshold="100.00", top_up="500.00")
    ledger_operation_post(actor=ACTOR, client=payer, operation="one_off_charge", amount="300.00", reason="Услуги")
    assert autopay_run() == {"scheduled": 1, "credited": 1}
    call = [c for c in fake.calls if c.path == "/cp/payments/tokens/charge"][-1]
    assert json.loads(call.body)["Token"] == "tk_477b3f5b" and json.loads(call.body)["Amount"] == 500.0
    assert balance(payer) == Decimal("200.00")
    assert autopay_run() == {"scheduled": 0}  # above the threshold now


def test_a_removed_method_is_never_charged(entity: Any, saved: SavedMethod, payer: Client) -> None:
    autopay = autopay_enable(actor=ACTOR, client=payer, method=saved)
    saved_method_remove(actor=ACTOR, method=saved)
    invoice(payer)
    assert autopay_run() == {"scheduled": 0}
    autopay.refresh_from_db()
    saved.refresh_from_db()
    assert (autopay.is_enabled, saved.is_active, saved.title) == (False, False, "Visa •••• 4242")


def test_the_offset_of_a_prepayment_gets_a_full_payment_receipt(entity: Any, http: Any, make_setting: Any,
                                                                payer: Client, fake: FakeProviders) -> None:
    doc = invoice(payer)
    payment = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("yookassa"), invoice=doc)
    assert [i["payment_method"] for i in payment.receipt["items"]] == ["full_prepayment"]
    fake.yk_pay(payment.provider_payment_id)
    body = json.dumps({"type": "notification", "event": "payment.succeeded",
                       "object": {"id": payment.provider_payment_id}})
    post_notification(http, payment.setting, body, content_type="application/json")
    payment.refresh_from_db()
    final_receipt_send(actor=ACTOR, payment=payment)
    call = [c for c in fake.calls if c.path == "/v3/receipts"][-1]
    sent = json.loads(call.body)
    assert call.headers["idempotence-key"] == f"final-{payment.order_id}"
    assert (sent["type"], sent["payment_id"], sent["send"]) == ("payment", payment.provider_payment_id, True)
    assert [(i["vat_code"], i["payment_mode"]) for i in sent["items"]] == [(11, "full_payment")]  # 22 %, not 22/122
    assert sent["settlements"] == [{"type": "prepayment", "amount": {"value": "1220.00", "currency": "RUB"}}]
    payment.refresh_from_db()
    assert payment.receipt["final"]["id"].startswith("rt-")
    with pytest.raises(Conflict, match=r"^Чек полного расчёта уже отправлен\.$"):
        final_receipt_send(actor=ACTOR, payment=payment)
