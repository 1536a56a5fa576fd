"""The offset receipt (зачёт аванса) under 54-ФЗ, produced automatically when the act or УПД of a prepaid
period is issued — through the events consumer and the outbox, once per prepayment — for the providers
that fiscalise: ЮKassa's ``/receipts``, Robokassa's ``RoboFiscal/Receipt/Attach``, CloudPayments'
``kkt/receipt``, each against its local counterpart."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kopeck.clients.models import Client
from kopeck.core.clock import FixedClock
from kopeck.documents import services as documents
from kopeck.documents.models import Document, LegalEntity
from kopeck.events.services import events_dispatch_all
from kopeck.gateways.models import GatewayPayment
from kopeck.gateways.offsets import TOPIC
from kopeck.gateways.services import online_payment_create
from kopeck.ledger.services import ledger_operation_post
from kopeck.outbox.models import OutboxMessage
from kopeck.outbox.services import outbox_deliver_all
from tests.gateways.conftest import ACTOR, fresh, post_notification
from tests.gateways.fakes import FakeProviders
from tests.gateways.test_autopay import entity  # noqa: F401  (the provider's legal entity)
from tests.gateways.test_cloudpayments import pay_fields, send
from tests.gateways.test_robokassa import result_body

pytestmark = pytest.mark.django_db
LINE = {"name": "Хостинг, тариф «Старт», декабрь 2026", "price": "1220.00", "quantity": "1", "vat_rate": "22"}


def charged_invoice(client: Client) -> tuple[Document, int]:
    """December's charge of 1220.00 (VAT 22 %) and the invoice billing it in advance."""
    txn = ledger_operation_post(actor=ACTOR, client=client, operation="charge", amount="1220.00",
                                reason="Хостинг, декабрь 2026", vat_rate="22")
    draft = documents.document_create_draft(actor=ACTOR, type="invoice", client=client, lines=[LINE],
                                            transactions=[txn.pk])
    return documents.document_issue(actor=ACTOR, document=draft), txn.pk


def issue_act(client: Client, txn: int, kind: str = "act") -> Document:
    draft = documents.document_create_draft(actor=ACTOR, type=kind, client=client, lines=[LINE], transactions=[txn])
    return documents.document_issue(actor=ACTOR, document=draft)


def pay(provider: str, http: Any, make_setting: Any, client: Client, fake: FakeProviders, doc: Document) -> GatewayPayment:
    setting = make_setting(provider)
    setting.legal_entity = LegalEntity.objects.get()  # the cash register's owner (its ИНН for CloudPayments)
    setting.save(update_fields=["legal_entity"])
    payment = online_payment_create(actor=ACTOR, client=client, setting=setting, invoice=doc)
    if provider == "yookassa":
        fake.yk_pay(payment.provider_payment_id)
        post_notification(http, payment.setting, json.dumps({
            "type": "notification", "event": "payment.succeeded", "object": {"id": payment.provider_payment_id}}),
            content_type="application/json")
    elif provider == "robokassa":
        post_notification(http, payment.setting, result_body(payment, out_sum="1220.000000"))
    else:
        assert send(http, payment, "pay", pay_fields(payment, Amount="1220.00")).json() == {"code": 0}
    payment = fresh(payment)
    assert payment.status == "succeeded"
    assert [i["payment_method"] for i in payment.receipt["items"]] == ["full_prepayment"]
    return payment


def deliver() -> None:
    events_dispatch_all()
    outbox_deliver_all()


def test_issuing_the_act_sends_cloudpayments_offset_receipt_once(entity: Any, http: Any, make_setting: Any,  # noqa: F811
                                                                 payer: Client, fake: FakeProviders,
                                                                 clock: FixedClock) -> None:
    doc, txn = charged_invoice(payer)
    payment = pay("cloudpayments", http, make_setting, payer, fake, doc)
    deliver()
    assert fake.cp_receipts == {}  # paid in advance: nothing to offset before the service is delivered
    act = issue_act(payer, txn)
    deliver()
    assert list(fake.cp_receipts) == [f"final-{payment.order_id}"]
    sent = fake.cp_receipts[f"final-{payment.order_id}"]
    assert (sent["Type"], sent["Inn"]) == ("Income", "7707083893")
    receipt = sent["CustomerReceipt"]
    assert [(i["label"], i["amount"], i["vat"], i["method"], i["object"]) for i in receipt["Items"]] == [
        (LINE["name"], 1220.0, 22, 4, 4)]  # full payment (4) at the plain 22 %, a service
    assert receipt["amounts"] == {"electronic": 0.0, "advancePayment": 1220.0, "credit": 0.0, "provision": 0.0}
    assert receipt["email"] == "buh@romashka.ru"
    final = fresh(payment).receipt["final"]
    assert (final["id"], final["act"]) == (f"rc-final-{payment.order_id}", act.pk)
    # a second act or УПД over the same charges, the events again: no second receipt
    issue_act(payer, txn, kind="upd")
    deliver()
    assert len([c for c in fake.calls if c.path == "/cp/kkt/receipt"]) == 1
    assert OutboxMessage.objects.filter(topic=TOPIC).count() == 1


def test_robokassa_second_receipt_is_signed_and_offsets_the_prepayment(entity: Any, http: Any,  # noqa: F811
                                                                       make_setting: Any, payer: Client,
                                                                       fake: FakeProviders, clock: FixedClock) -> None:
    doc, txn = charged_invoice(payer)
    payment = pay("robokassa", http, make_setting, payer, fake, doc)
    act = issue_act(payer, txn)
    deliver()
    assert len(fake.robo_receipts) == 1  # the fake checked the signature (Password #1, the shop's sha256)
    sent = fake.robo_receipts[0]
    assert (sent["merchantId"], sent["id"], sent["originId"], sent["operation"], sent["sno"], sent["total"]) == (
        "kopeck-shop", str(10**18 + payment.pk), str(payment.pk), "sell", "osn", 1220.0)
    assert sent["items"] == [{"name": LINE["name"], "quantity": 1.0, "sum": 1220.0, "tax": "vat22",
                              "payment_method": "full_payment", "payment_object": "service"}]
    assert sent["payments"] == [{"type": 2, "sum": 1220.0}]
    assert sent["vats"] == [{"type": "vat22", "sum": 220.0}]
    assert sent["client"] == {"email": "buh@romashka.ru"}
    assert fresh(payment).receipt["final"]["id"] == f"op-{payment.pk}"
    assert fresh(payment).receipt["final"]["act"] == act.pk


def test_yookassa_offset_receipt_settles_against_the_prepayment(entity: Any, http: Any, make_setting: Any,  # noqa: F811
                                                                payer: Client, fake: FakeProviders,
                                                                clock: FixedClock) -> None:
    doc, txn = charged_invoice(payer)
    payment = pay("yookassa", http, make_setting, payer, fake, doc)
    issue_act(payer, txn, kind="upd")
    deliver()
    calls = [c for c in fake.calls if c.path == "/v3/receipts"]
    assert len(calls) == 1 and calls[0].headers["idempotence-key"] == f"final-{payment.order_id}"
    sent = json.loads(calls[0].body)
    assert [(i["vat_code"], i["payment_mode"]) for i in sent["items"]] == [(11, "full_payment")]
    assert sent["settlements"] == [{"type": "prepayment", "amount": {"value": "1220.00", "currency": "RUB"}}]


def test_no_offset_receipt_for_a_payment_receipted_as_full_payment_or_an_unpaid_invoice(
        entity: Any, http: Any, make_setting: Any, payer: Client, fake: FakeProviders,  # noqa: F811
        clock: FixedClock) -> None:
    doc, txn = charged_invoice(payer)
    payment = online_payment_create(actor=ACTOR, client=payer, invoice=doc,
                                    setting=make_setting("cloudpayments", receipt_mode="full_payment"))
    assert [i["payment_method"] for i in payment.receipt["items"]] == ["full_payment"]
    issue_act(payer, txn)  # the invoice is not even paid yet
    deliver()
    assert fake.cp_receipts == {} and not OutboxMessage.objects.filter(topic=TOPIC).exists()
    assert "final" not in fresh(payment).receipt


def top_up(http: Any, make_setting: Any, client: Client, amount: str = "1220.00", txn: str = "1211506") -> GatewayPayment:
    setting = make_setting("cloudpayments")
    setting.legal_entity = LegalEntity.objects.get()
    setting.save(update_fields=["legal_entity"])
    payment = online_payment_create(actor=ACTOR, client=client, setting=setting, amount=amount)
    assert send(http, payment, "pay", pay_fields(payment, Amount=amount, TransactionId=txn)).json() == {"code": 0}
    payment = fresh(payment)
    assert payment.status == "succeeded"
    assert [(i["name"], i["payment_method"]) for i in payment.receipt["items"]] == [("Предоплата за услуги", "advance")]
    return payment


def charge(client: Client, amount: str = "1220.00") -> int:
    return ledger_operation_post(actor=ACTOR, client=client, operation="charge", amount=amount,
                                 reason="Хостинг, декабрь 2026", vat_rate="22").pk


def test_a_top_up_receipted_as_an_advance_is_offset_when_an_act_covers_it(
        entity: Any, http: Any, make_setting: Any, payer: Client, fake: FakeProviders,  # noqa: F811
        clock: FixedClock) -> None:
    payment = top_up(http, make_setting, payer)
    deliver()
    assert fake.cp_receipts == {}  # nothing delivered yet: the advance stays an advance
    act = issue_act(payer, charge(payer))
    deliver()
    assert list(fake.cp_receipts) == [f"final-{payment.order_id}"]
    receipt = fake.cp_receipts[f"final-{payment.order_id}"]["CustomerReceipt"]
    assert [(i["label"], i["amount"], i["vat"], i["method"]) for i in receipt["Items"]] == [
        ("Оплата услуг", 1220.0, 22, 4)]  # full payment (4) at the plain rate
    assert receipt["amounts"]["advancePayment"] == 1220.0
    assert fresh(payment).receipt["final"]["act"] == act.pk
    issue_act(payer, charge(payer))  # a later act: the advance is offset already
    deliver()
    assert len([c for c in fake.calls if c.path == "/cp/kkt/receipt"]) == 1


def test_advances_are_offset_in_the_order_the_money_came(
        entity: Any, http: Any, make_setting: Any, payer: Client, fake: FakeProviders,  # noqa: F811
        clock: FixedClock) -> None:
    """A bank transfer received before the top-up is offset first: the first act (1220.00) takes the
    bank's 1000.00 and 220.00 of the top-up, so the top-up is offset only by the second act."""
    from kopeck.payments.services import payment_record

    payment_record(actor=ACTOR, client=payer, amount="1000.00", method="bank", allocate=False)
    payment = top_up(http, make_setting, payer)
    issue_act(payer, charge(payer))
    deliver()
    assert fake.cp_receipts == {} and "final" not in fresh(payment).receipt
    second = issue_act(payer, charge(payer, "1000.00"))
    deliver()
    assert list(fake.cp_receipts) == [f"final-{payment.order_id}"]
    assert fresh(payment).receipt["final"]["act"] == second.pk


def test_an_invoice_paid_after_its_act_is_receipted_as_full_payment_with_no_offset(
        entity: Any, http: Any, make_setting: Any, payer: Client, fake: FakeProviders,  # noqa: F811
        clock: FixedClock) -> None:
    """The service was delivered (the act issued) before the online payment: the payment is no advance —
    its receipt says full payment at the plain rate, and no offset receipt follows."""
    doc, txn = charged_invoice(payer)
    issue_act(payer, txn)
    deliver()
    setting = make_setting("cloudpayments")
    payment = online_payment_create(actor=ACTOR, client=payer, setting=setting, invoice=doc)
    assert [(i["name"], i["payment_method"], i["vat"]) for i in payment.receipt["items"]] == [
        (LINE["name"], "full_payment", "22")]
    items = payment.widget["data"]["CloudPayments"]["CustomerReceipt"]["Items"]
    assert [(i["method"], i["vat"]) for i in items] == [(4, 22)]  # full payment at 22 %, not 22/122
    assert send(http, payment, "pay", pay_fields(payment, Amount="1220.00")).json() == {"code": 0}
    assert fresh(payment).status == "succeeded"
    issue_act(payer, txn, kind="upd")  # another document over the same charges
    deliver()
    assert fake.cp_receipts == {} and not OutboxMessage.objects.filter(topic=TOPIC).exists()


def test_a_part_of_an_invoice_paid_after_its_act_is_one_full_payment_line(
        entity: Any, make_setting: Any, payer: Client, clock: FixedClock) -> None:  # noqa: F811
    doc, txn = charged_invoice(payer)
    issue_act(payer, txn)
    payment = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("cloudpayments"), invoice=doc,
                                    amount="500.00")
    assert [(i["name"], i["amount"], i["payment_method"], i["vat"]) for i in payment.receipt["items"]] == [
        (f"Оплата услуг по счёту № {doc.number}", "500.00", "full_payment", "22")]
    before = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("cloudpayments"),
                                   invoice=charged_invoice(payer)[0], amount="500.00")  # not delivered yet
    assert [(i["name"], i["payment_method"]) for i in before.receipt["items"]] == [("Предоплата за услуги", "advance")]
