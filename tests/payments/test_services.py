"""Payments: recording (identified and unidentified), idempotency, assignment, refunds, reversals,
allocation to invoices and the invoices' derived status."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import IntegrityError, transaction

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.documents import services as documents
from kopeck.documents.models import DocumentStatus
from kopeck.documents.selectors import invoice_payment_status
from kopeck.events.models import Event
from kopeck.ledger.models import Account, Posting
from kopeck.ledger.selectors import client_balance
from kopeck.payments import selectors, services
from kopeck.payments.models import Allocation, MatchRule, PaymentSettings, PaymentStatus
from tests.factories import ClientFactory
from tests.payments.conftest import Invoice, counts, paid

pytestmark = pytest.mark.django_db


def balance_of(role: str) -> int:
    return sum(Posting.objects.filter(account__role=role).values_list("amount_minor", flat=True))


def test_a_payment_credits_the_clients_account_in_its_transaction(buyer: Client, actor: Actor,
                                                                 clock: FixedClock) -> None:
    pay = services.payment_record(actor=actor, client=buyer, amount="1500.00", method="bank",
                                  payer_inn="7707083893", purpose="Аванс")
    assert (pay.status, pay.amount_minor, pay.currency, pay.date, pay.match_rule) == (
        PaymentStatus.CREDITED, 150000, "RUB", dt.date(2026, 11, 25), MatchRule.GIVEN)
    assert pay.transaction is not None and pay.transaction.operation == "payment"
    assert pay.transaction.source_ref == f"payment:{pay.pk}"
    assert client_balance(buyer).to_str() == "1500.00"
    assert balance_of("cash") == 150000
    assert selectors.client_advance(buyer).to_str() == "1500.00"
    assert list(Event.objects.filter(subject_id=pay.pk).values_list("type", flat=True)) == ["payment.received"]


def test_the_same_external_id_is_recorded_once(buyer: Client, actor: Actor, clock: FixedClock) -> None:
    first = services.payment_record(actor=actor, client=buyer, amount="100.00", external_id="pp-1")
    before = counts()
    again = services.payment_record(actor=actor, client=buyer, amount="100.00", external_id="pp-1")
    assert again.pk == first.pk and counts() == before
    with pytest.raises(Conflict) as exc:
        services.payment_record(actor=actor, client=buyer, amount="100.01", external_id="pp-1")
    assert exc.value.errors == {"external_id": [f"Used by payment {first.pk}."]}
    assert counts() == before
    # another method may use the same id
    other = services.payment_record(actor=actor, client=buyer, amount="100.00", method="bank", external_id="pp-1")
    assert other.pk != first.pk


def test_a_new_external_id_skips_the_lookup_and_the_unique_constraint_still_refuses_a_second(
        buyer: Client, actor: Actor, clock: FixedClock) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():  # no external id to be unique: refused, nothing written
        services.payment_record(actor=actor, client=buyer, amount="100.00", new=True)
    empty = counts()
    assert empty["Payment"] == 0 and empty["JournalTransaction"] == 0
    with transaction.atomic():
        first = services.payment_record(actor=actor, client=buyer, amount="100.00", external_id="gw-1", new=True)
    before = counts()
    with pytest.raises(IntegrityError), transaction.atomic():
        services.payment_record(actor=actor, client=buyer, amount="100.00", external_id="gw-1", new=True)
    assert counts() == before and client_balance(buyer).to_str() == "100.00"
    assert services.payment_record(actor=actor, client=buyer, amount="100.00", external_id="gw-1").pk == first.pk
    event = Event.objects.get(subject_id=first.pk, type="payment.received")
    assert event.data["payment"]["invoice_ids"] == []


def test_invalid_payments_are_refused_and_nothing_is_written(buyer: Client, actor: Actor, clock: FixedClock) -> None:
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.payment_record(actor=actor, client=buyer, amount="-1", method="cash-in-hand", currency="USD",
                                payer_inn="12x")
    assert exc.value.errors == {"amount": ["The amount must be greater than zero."],
                                "currency": ["The client's account is in RUB."],
                                "method": ["Choose one of: bank, cloudpayments, manual, paypal, qiwi, robokassa, yookassa, yoomoney."],
                                "payer_inn": ["10 or 12 digits."]}
    with pytest.raises(ValidationFailed) as exc:
        services.payment_record(actor=actor, client=buyer, amount="1.005")
    assert exc.value.errors == {"amount": ["RUB allows 2 decimal places."]}
    assert counts() == before


def test_an_unidentified_payment_waits_on_the_suspense_account_until_assigned(
        buyer: Client, actor: Actor, clock: FixedClock, invoice: Invoice) -> None:
    doc = invoice("700.00")
    pay = services.payment_record(actor=actor, amount="1000.00", method="bank", payer_name="ИП Неизвестный",
                                  purpose=f"Оплата по счету № {doc.number}")
    assert (pay.status, pay.client_id, pay.transaction.operation) == (PaymentStatus.UNIDENTIFIED, None,
                                                                      "suspense_receipt")
    assert (balance_of("cash"), balance_of("suspense")) == (100000, -100000)
    assert list(selectors.unidentified_payments()) == [pay]
    assert Event.objects.get(subject_id=pay.pk, type="payment.unidentified").client_id is None

    pay = services.payment_assign(actor=actor, payment=pay, client=buyer)
    assert (pay.status, pay.client_id, pay.match_rule) == (PaymentStatus.CREDITED, buyer.pk, MatchRule.ASSIGNED)
    assert (balance_of("cash"), balance_of("suspense")) == (100000, 0)  # nothing lost: the money moved
    assert client_balance(buyer).to_str() == "1000.00"
    assert paid(doc) == (DocumentStatus.PAID, "700.00")
    assert selectors.client_advance(buyer).to_str() == "300.00"
    with pytest.raises(Conflict):
        services.payment_assign(actor=actor, payment=pay, client=buyer)


def test_refunds_partial_several_never_beyond_what_is_left(buyer: Client, actor: Actor, clock: FixedClock,
                                                           invoice: Invoice) -> None:
    doc = invoice("600.00")
    pay = services.payment_record(actor=actor, client=buyer, amount="1000.00")
    assert paid(doc) == (DocumentStatus.PAID, "600.00")
    r1 = services.payment_refund(actor=actor, payment=pay, amount="300.00", reason="Переплата")
    pay.refresh_from_db()
    assert (pay.status, pay.refunded_minor, pay.allocated_minor) == (PaymentStatus.PARTLY_REFUNDED, 30000, 60000)
    assert r1.transaction.operation == "refund"
    assert paid(doc) == (DocumentStatus.PAID, "600.00")  # the free part went first
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.payment_refund(actor=actor, payment=pay, amount="700.01", reason="x")
    assert exc.value.errors == {"amount": ["At most what is left of the payment, 700.00."]}
    assert counts() == before
    # a refund beyond the free part takes it off the invoice (the latest allocation first)
    services.payment_refund(actor=actor, payment=pay, amount="250.00", reason="Частичный возврат")
    pay.refresh_from_db()
    assert (pay.refunded_minor, pay.allocated_minor, pay.unallocated_minor) == (55000, 45000, 0)
    assert paid(doc) == (DocumentStatus.PARTLY_PAID, "450.00")
    services.payment_refund(actor=actor, payment=pay, reason="Остаток")
    pay.refresh_from_db()
    assert (pay.status, pay.refunded_minor, pay.allocated_minor) == (PaymentStatus.REFUNDED, 100000, 0)
    assert paid(doc) == (DocumentStatus.ISSUED, "0.00")
    assert client_balance(buyer).to_str() == "0.00"
    assert pay.refunds.count() == 3
    with pytest.raises(Conflict):
        services.payment_refund(actor=actor, payment=pay, amount="0.01", reason="x")
    assert Event.objects.filter(type="payment.refunded", subject_id=pay.pk).count() == 3


def test_reversal_undoes_a_payment_posted_by_mistake(buyer: Client, actor: Actor, clock: FixedClock,
                                                     invoice: Invoice) -> None:
    doc = invoice("1000.00")
    pay = services.payment_record(actor=actor, client=buyer, amount="1000.00")
    assert paid(doc) == (DocumentStatus.PAID, "1000.00")
    pay = services.payment_reverse(actor=actor, payment=pay, reason="Ошибочно внесён")
    assert pay.status == PaymentStatus.REVERSED
    assert paid(doc) == (DocumentStatus.ISSUED, "0.00")
    assert client_balance(buyer).to_str() == "0.00" and balance_of("cash") == 0
    with pytest.raises(Conflict):
        services.payment_reverse(actor=actor, payment=pay, reason="again")
    with pytest.raises(Conflict):
        services.payment_refund(actor=actor, payment=pay, reason="x")
    # an assigned unidentified payment: both its transactions are reversed
    unknown = services.payment_record(actor=actor, amount="50.00")
    services.payment_assign(actor=actor, payment=unknown, client=buyer)
    services.payment_reverse(actor=actor, payment=unknown, reason="Не наш платёж")
    assert (balance_of("cash"), balance_of("suspense"), client_balance(buyer).to_str()) == (0, 0, "0.00")


def test_allocation_pays_the_invoice_named_in_the_purpose_first_then_the_oldest(
        buyer: Client, actor: Actor, clock: FixedClock, invoice: Invoice) -> None:
    old = invoice("300.00", issue_date=dt.date(2026, 11, 20))
    mid = invoice("400.00", issue_date=dt.date(2026, 11, 21))
    named = invoice("500.00", issue_date=dt.date(2026, 11, 22))
    pay = services.payment_record(actor=actor, client=buyer, amount="1000.00",
                                  purpose=f"Оплата по счету № {named.number} от 22.11.2026, НДС не облагается")
    assert [paid(d) for d in (named, old, mid)] == [(DocumentStatus.PAID, "500.00"), (DocumentStatus.PAID, "300.00"),
                                                   (DocumentStatus.PARTLY_PAID, "200.00")]
    assert list(Allocation.objects.filter(payment=pay).values_list("document_id", "amount_minor")) == [
        (named.pk, 50000), (old.pk, 30000), (mid.pk, 20000)]
    assert list(selectors.open_invoices(buyer)) == [mid]
    assert selectors.client_advance(buyer).to_str() == "0.00"
    event = Event.objects.get(type="payment.received", subject_id=pay.pk)
    assert event.data["payment"]["invoice_ids"] == sorted([old.pk, mid.pk, named.pk])
    assert Event.objects.filter(type="document.paid").count() == 2


def test_auto_allocation_can_be_turned_off_and_done_by_hand(buyer: Client, actor: Actor, clock: FixedClock,
                                                            invoice: Invoice) -> None:
    PaymentSettings.objects.update_or_create(pk=1, defaults={"auto_allocate": False})
    doc = invoice("800.00")
    pay = services.payment_record(actor=actor, client=buyer, amount="1000.00")
    assert paid(doc) == (DocumentStatus.ISSUED, "0.00")
    assert selectors.client_advance(buyer).to_str() == "1000.00"
    with pytest.raises(ValidationFailed) as exc:
        services.payment_allocate(actor=actor, payment=pay, document=doc, amount="800.01")
    assert exc.value.errors == {"amount": ["At most what is left of the payment and unpaid on the invoice, 800.00."]}
    services.payment_allocate(actor=actor, payment=pay, document=doc, amount="100.00")
    assert paid(doc) == (DocumentStatus.PARTLY_PAID, "100.00")
    services.payment_allocate(actor=actor, payment=pay, document=doc)
    assert paid(doc) == (DocumentStatus.PAID, "800.00")
    assert selectors.client_advance(buyer).to_str() == "200.00"
    # re-allocation: everything released, then allocated again to another invoice
    other = invoice("1000.00")
    services.payment_reallocate(actor=actor, payment=pay, reason="Клиент просил", document=other)
    assert paid(doc) == (DocumentStatus.ISSUED, "0.00")
    assert paid(other) == (DocumentStatus.PAID, "1000.00")
    # release one allocation
    allocation = Allocation.objects.get(payment=pay, document=other, released_at__isnull=True)
    services.allocation_release(actor=actor, allocation=allocation, reason="Ошибка")
    assert paid(other) == (DocumentStatus.ISSUED, "0.00")
    with pytest.raises(Conflict):
        services.allocation_release(actor=actor, allocation=allocation, reason="Ошибка")


def test_another_clients_invoice_is_refused(buyer: Client, actor: Actor, clock: FixedClock, invoice: Invoice) -> None:
    stranger = ClientFactory()
    doc = invoice("100.00", client=stranger)
    pay = services.payment_record(actor=actor, client=buyer, amount="100.00", allocate=False)
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.payment_allocate(actor=actor, payment=pay, document=doc)
    assert exc.value.errors == {"document": ["An invoice of the payment's client, in its currency."]}
    assert counts() == before


def test_invoice_status_is_derived_paid_partly_paid_overdue(buyer: Client, actor: Actor, clock: FixedClock,
                                                            invoice: Invoice) -> None:
    doc = invoice("1000.00")
    assert doc.due_date == dt.date(2026, 11, 30)
    assert invoice_payment_status(doc, on=dt.date(2026, 11, 30)) == "unpaid"
    assert invoice_payment_status(doc, on=dt.date(2026, 12, 1)) == "overdue"
    services.payment_record(actor=actor, client=buyer, amount="400.00")
    doc.refresh_from_db()
    assert invoice_payment_status(doc, on=dt.date(2026, 11, 30)) == "partly_paid"
    assert invoice_payment_status(doc, on=dt.date(2026, 12, 1)) == "overdue"
    services.payment_record(actor=actor, client=buyer, amount="600.00")
    doc.refresh_from_db()
    assert invoice_payment_status(doc, on=dt.date(2026, 12, 1)) == "paid"


def test_mark_paid_records_a_real_payment_allocated_to_the_invoice(buyer: Client, actor: Actor,
                                                                   clock: FixedClock, invoice: Invoice) -> None:
    older = invoice("100.00", issue_date=dt.date(2026, 11, 20))
    doc = invoice("1000.00")
    documents.document_mark_paid(actor=actor, document=doc, amount="250.00")
    assert paid(doc) == (DocumentStatus.PARTLY_PAID, "250.00")
    assert paid(older) == (DocumentStatus.ISSUED, "0.00")  # the hand payment pays this invoice only
    pay = buyer.payments.get()
    assert (pay.method, pay.amount_minor, pay.allocated_minor) == ("manual", 25000, 25000)
    assert client_balance(buyer).to_str() == "250.00"
    assert Account.objects.filter(role="client", client=buyer).count() == 1
