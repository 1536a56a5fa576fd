"""Advances for VAT: the advance счёт-фактура issued by the daily job (one per payment, within five
days, 22/122 on the advance, the payment order's number and date), its offset (зачёт аванса) when an
act or УПД is issued, refunds and reversals — with exact amounts; refusals write nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kopeck.audit.models import AuditEntry
from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict
from kopeck.core.clock import FixedClock
from kopeck.documents import services as documents
from kopeck.documents.models import Document, DocumentStatus, DocumentType, NumberCounter
from kopeck.payments import services
from kopeck.payments.models import AdvanceOffset, Payment, PaymentAdvance, PaymentSettings

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 25)
YESTERDAY = TODAY - dt.timedelta(days=1)


@pytest.fixture
def advances_on(db: Any) -> PaymentSettings:
    return PaymentSettings.objects.update_or_create(pk=1, defaults={"advance_invoice_factura": True})[0]


def shipment(actor: Actor, client: Client, amount: str, *, kind: str = "act", day: dt.date = TODAY) -> Document:
    draft = documents.document_create_draft(
        actor=actor, type=kind, client=client, period_start=day.replace(day=1), period_end=day,
        lines=[{"name": "Виртуальный сервер VPS-2", "price": amount, "vat_rate": "22", "unit": "мес",
                "unit_code": "362"}])
    return documents.document_issue(actor=actor, document=draft, issue_date=day)


def rub(units: int) -> str:
    return f"{units // 100}.{units % 100:02d}"


def state(adv: PaymentAdvance) -> tuple[str, str, str, str]:
    adv.refresh_from_db()
    return rub(adv.amount_minor), rub(adv.vat_minor), rub(adv.offset_minor), rub(adv.offset_vat_minor)


def written() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (Document, PaymentAdvance, AdvanceOffset, AuditEntry,
                                                    NumberCounter)}


def test_an_advance_gets_its_invoice_factura_the_next_day_and_acts_offset_it(
        entity: object, buyer: Client, actor: Actor, clock: FixedClock, advances_on: PaymentSettings) -> None:
    pay = services.payment_record(actor=actor, client=buyer, amount="12200.00", date=YESTERDAY, method="bank",
                                  external_id=f"40702810938000000001:{YESTERDAY}:318:40702810100000000101:12200.00")
    assert services.advance_invoices_issue(actor=actor, on=YESTERDAY) == []  # the payment's own day: not yet
    (adv,) = services.advance_invoices_issue(actor=actor, on=TODAY)
    doc = adv.document
    assert doc is not None and adv.payment_id == pay.pk
    assert (doc.type, doc.status, doc.number, doc.issue_date, doc.amount_minor, doc.vat_minor) == (
        DocumentType.ADVANCE_INVOICE_FACTURA, DocumentStatus.ISSUED, "1", TODAY, 1220000, 220000)
    (line,) = doc.data["lines"]
    assert (line["name"], line["rate"], line["gross"], line["vat"], line["net"]) == (
        "Оплата, частичная оплата в счёт предстоящего оказания услуг", "22", "12200.00", "2200.00", "10000.00")
    assert doc.data["document"]["payment_documents"] == [{"number": "318", "date": "2026-11-24"}]
    assert doc.data["document"]["advance"] is True
    assert state(adv) == ("12200.00", "2200.00", "0.00", "0.00")
    # the job again: nothing new (one decision per payment)
    before = written()
    assert services.advance_invoices_issue(actor=actor, on=TODAY) == []
    assert written() == before

    act = shipment(actor, buyer, "5000.00")  # a partial offset: 5000 × 22/122 = 901.64
    (off,) = AdvanceOffset.objects.filter(shipment=act)
    assert (off.advance_id, off.date, rub(off.amount_minor), rub(off.vat_minor)) == (adv.pk, TODAY, "5000.00",
                                                                                     "901.64")
    assert state(adv) == ("12200.00", "2200.00", "5000.00", "901.64")
    upd = shipment(actor, buyer, "8000.00", kind="upd")  # takes the rest, 7200.00, and the VAT left
    (last,) = AdvanceOffset.objects.filter(shipment=upd)
    assert (rub(last.amount_minor), rub(last.vat_minor)) == ("7200.00", "1298.36")
    assert state(adv) == ("12200.00", "2200.00", "12200.00", "2200.00")
    shipment(actor, buyer, "100.00")  # nothing is left to offset
    assert AdvanceOffset.objects.count() == 2


def test_money_paying_for_services_already_shipped_is_no_advance(
        entity: object, buyer: Client, actor: Actor, clock: FixedClock, advances_on: PaymentSettings) -> None:
    shipment(actor, buyer, "5000.00", day=dt.date(2026, 11, 20))  # an act not paid yet
    first = services.payment_record(actor=actor, client=buyer, amount="3000.00", date=dt.date(2026, 11, 22))
    second = services.payment_record(actor=actor, client=buyer, amount="12200.00", date=YESTERDAY)
    made = services.advance_invoices_issue(actor=actor, on=TODAY)
    by_payment = {a.payment_id: a for a in made}
    assert sorted(by_payment) == [first.pk, second.pk]
    # 15200 received − 5000 shipped = 10200 advance: the newest money, all of it from the second payment
    assert by_payment[first.pk].document is None and by_payment[first.pk].amount_minor == 0
    assert by_payment[first.pk].note == "Оплата оказанных услуг: аванса нет"
    assert state(by_payment[second.pk]) == ("10200.00", "1839.34", "0.00", "0.00")  # 10200 × 22/122 = 1839.344
    assert Document.objects.filter(type=DocumentType.ADVANCE_INVOICE_FACTURA).count() == 1


def test_a_shipment_within_the_five_days_leaves_only_the_rest_as_an_advance(
        entity: object, buyer: Client, actor: Actor, clock: FixedClock, advances_on: PaymentSettings) -> None:
    services.payment_record(actor=actor, client=buyer, amount="12200.00", date=dt.date(2026, 11, 21))
    shipment(actor, buyer, "2200.00", day=dt.date(2026, 11, 23))  # before the job: nothing to offset yet
    assert AdvanceOffset.objects.count() == 0
    (adv,) = services.advance_invoices_issue(actor=actor, on=TODAY)
    assert state(adv) == ("10000.00", "1803.28", "0.00", "0.00")


def test_the_job_takes_the_last_five_days_only_and_nothing_when_the_setting_is_off(
        entity: object, buyer: Client, actor: Actor, clock: FixedClock) -> None:
    old = services.payment_record(actor=actor, client=buyer, amount="100.00", date=TODAY - dt.timedelta(days=6))
    services.payment_record(actor=actor, client=buyer, amount="200.00", date=TODAY - dt.timedelta(days=5))
    before = written()
    assert services.advance_invoices_issue(actor=actor, on=TODAY) == []  # the setting is off (the default)
    assert written() == before
    PaymentSettings.objects.update_or_create(pk=1, defaults={"advance_invoice_factura": True})
    (adv,) = services.advance_invoices_issue(actor=actor, on=TODAY)
    assert (rub(adv.amount_minor), adv.payment.date) == ("200.00", TODAY - dt.timedelta(days=5))
    # the older one by hand: all 300.00 received is an advance, 200.00 of it covered already
    late = services.payment_advance_invoice_issue(actor=actor, payment=old)
    assert state(late) == ("100.00", "18.03", "0.00", "0.00")
    assert late.document is not None and late.document.number == "2"


def test_refusals_of_the_advance_by_hand_write_nothing(
        entity: object, buyer: Client, actor: Actor, clock: FixedClock, advances_on: PaymentSettings) -> None:
    pay = services.payment_record(actor=actor, client=buyer, amount="100.00", date=YESTERDAY)
    unknown = services.payment_record(actor=actor, amount="50.00", date=YESTERDAY)
    services.advance_invoices_issue(actor=actor, on=TODAY)
    before = written()
    with pytest.raises(Conflict) as exc:
        services.payment_advance_invoice_issue(actor=actor, payment=pay)
    assert exc.value.errors == {"payment": ["Decided already."]}
    with pytest.raises(Conflict) as exc:
        services.payment_advance_invoice_issue(actor=actor, payment=unknown)
    assert exc.value.errors == {"payment": ["Not credited to a client."]}
    assert written() == before


def test_a_refund_offsets_the_advance_and_a_reversal_cancels_its_invoice_factura(
        entity: object, buyer: Client, actor: Actor, clock: FixedClock, advances_on: PaymentSettings) -> None:
    kept = services.payment_record(actor=actor, client=buyer, amount="12200.00", date=YESTERDAY)
    mistaken = services.payment_record(actor=actor, client=buyer, amount="610.00", date=YESTERDAY)
    made = {a.payment_id: a for a in services.advance_invoices_issue(actor=actor, on=TODAY)}
    refund = services.payment_refund(actor=actor, payment=kept, amount="1220.00", reason="Расторжение договора")
    (off,) = AdvanceOffset.objects.filter(refund=refund)
    assert (off.date, rub(off.amount_minor), rub(off.vat_minor)) == (TODAY, "1220.00", "220.00")
    assert state(made[kept.pk]) == ("12200.00", "2200.00", "1220.00", "220.00")

    services.payment_reverse(actor=actor, payment=mistaken, reason="Ошибочно внесён")
    facture = made[mistaken.pk].document
    assert facture is not None
    facture.refresh_from_db()
    assert (facture.status, facture.cancel_reason) == (DocumentStatus.CANCELLED,
                                                       f"Сторно платежа № {mistaken.pk}: Ошибочно внесён")


def test_a_payment_whose_advance_is_offset_is_not_reversed_and_nothing_changes(
        entity: object, buyer: Client, actor: Actor, clock: FixedClock, advances_on: PaymentSettings) -> None:
    pay = services.payment_record(actor=actor, client=buyer, amount="1220.00", date=YESTERDAY)
    (adv,) = services.advance_invoices_issue(actor=actor, on=TODAY)
    act = shipment(actor, buyer, "610.00")
    before = written()
    with pytest.raises(Conflict) as exc:
        services.payment_reverse(actor=actor, payment=pay, reason="Ошибка")
    assert exc.value.errors == {"status": ["Its advance is offset."]}
    assert str(act.number) in exc.value.detail
    assert written() == before
    pay.refresh_from_db()
    assert pay.status == "credited"
    assert adv.document is not None
    adv.document.refresh_from_db()
    assert adv.document.status == DocumentStatus.ISSUED


def test_an_unidentified_payment_is_taken_once_assigned(
        entity: object, buyer: Client, actor: Actor, clock: FixedClock, advances_on: PaymentSettings) -> None:
    pay = services.payment_record(actor=actor, amount="244.00", date=YESTERDAY)
    assert services.advance_invoices_issue(actor=actor, on=TODAY) == []
    services.payment_assign(actor=actor, payment=pay, client=buyer)
    (adv,) = services.advance_invoices_issue(actor=actor, on=TODAY)
    assert state(adv) == ("244.00", "44.00", "0.00", "0.00")
    assert adv.document is not None
    assert adv.document.data["document"]["payment_documents"] == [{"number": str(pay.pk), "date": "2026-11-24"}]
    assert Payment.objects.get(pk=pay.pk).advance.pk == adv.pk


def test_the_enterprisedata_export_shows_the_advance_invoice_factura_and_its_offset(
        entity: object, buyer: Client, actor: Actor, clock: FixedClock, advances_on: PaymentSettings) -> None:
    import io
    import json
    import zipfile
    from xml.etree import ElementTree as ET

    from kopeck.payments.exchange.enterprisedata import enterprisedata_export, ref

    pay = services.payment_record(actor=actor, client=buyer, amount="12200.00", date=YESTERDAY, method="bank",
                                  external_id=f"40702810938000000001:{YESTERDAY}:318:40702810100000000101:12200.00")
    (adv,) = services.advance_invoices_issue(actor=actor, on=TODAY)
    act = shipment(actor, buyer, "5000.00")
    zf = zipfile.ZipFile(io.BytesIO(enterprisedata_export(date_from=dt.date(2026, 11, 1),
                                                          date_to=dt.date(2026, 11, 30))))
    ns = {"d": json.loads(zf.read("manifest.json"))["namespace"]}
    body = ET.fromstring(zf.read("Message.xml")).find("d:Body", ns)
    assert body is not None
    assert adv.document is not None
    (facture,) = body.findall("d:Документ.СчетФактураВыданный", ns)

    def text(el: ET.Element, path: str) -> str | None:
        return el.findtext("/".join(f"d:{p}" for p in path.split("/")), namespaces=ns)

    assert [text(facture, p) for p in ("КлючевыеСвойства/Номер", "ВидСчетаФактуры", "Сумма", "СуммаНДС", "СтавкаНДС",
                                       "ПлатежноРасчетныйДокумент/Номер", "ПлатежноРасчетныйДокумент/Дата",
                                       "ДокументОснование/Ссылка")] == [
        adv.document.number, "НаАванс", "12200.00", "2200.00", "НДС22_122", "318", "2026-11-24T00:00:00",
        ref("payment", pay.pk)]
    (sale,) = body.findall("d:Документ.РеализацияТоваровУслуг", ns)
    assert text(sale, "КлючевыеСвойства/Номер") == act.number
    rows = sale.findall("d:ЗачетАвансов/d:Строка", ns)
    assert [(text(r, "СчетФактураНаАванс/Ссылка"), text(r, "СчетФактураНаАванс/Номер"), text(r, "Сумма"),
             text(r, "СуммаНДС")) for r in rows] == [
        (ref("document", adv.document.pk), adv.document.number, "5000.00", "901.64")]


def test_the_advance_invoice_factura_prints_with_the_estimated_rate_and_the_payment_order(
        entity: object, buyer: Client, actor: Actor, clock: FixedClock, advances_on: PaymentSettings) -> None:
    import os

    from kopeck.documents.services import document_pdf
    from tests.documents.test_pdf import text_of

    services.payment_record(actor=actor, client=buyer, amount="12200.00", date=YESTERDAY, method="bank",
                            external_id=f"40702810938000000001:{YESTERDAY}:318:40702810100000000101:12200.00")
    (adv,) = services.advance_invoices_issue(actor=actor, on=TODAY)
    assert adv.document is not None
    pdf = document_pdf(adv.document)
    if os.environ.get("KOPECK_KEEP_PDF"):  # to look at it: pdftoppm -png -r 80 the file
        with open(os.environ["KOPECK_KEEP_PDF"], "wb") as out:
            out.write(pdf)
    text = text_of(pdf)
    for expected in ("Счёт-фактура № 1 от 25.11.2026", "К платёжно-расчётному документу № 318 от 24.11.2026",
                     "Оплата, частичная оплата в счёт предстоящего оказания услуг", "22/122", "2 200,00",
                     "12 200,00"):
        assert expected in text, expected


def test_the_monthly_acts_offset_the_advance_in_their_transaction(
        entity: object, buyer: Client, actor: Actor, clock: FixedClock, advances_on: PaymentSettings) -> None:
    from kopeck.ledger.services import ledger_operation_post
    from tests.subscriptions.helpers import at

    at(clock, dt.date(2026, 10, 1))
    services.payment_record(actor=actor, client=buyer, amount="12200.00", date=dt.date(2026, 9, 30))
    (adv,) = services.advance_invoices_issue(actor=actor)
    at(clock, dt.date(2026, 10, 3))
    ledger_operation_post(actor=actor, client=buyer, operation="charge", amount="1220.00", reason="VPS",
                          vat_rate="22")
    at(clock, dt.date(2026, 11, 1))
    (act,) = documents.documents_issue_monthly_acts(actor=actor, month="2026-10", kind="act")  # the batch path
    (off,) = AdvanceOffset.objects.filter(shipment=act)
    assert (off.advance_id, off.date, rub(off.amount_minor), rub(off.vat_minor)) == (
        adv.pk, dt.date(2026, 10, 31), "1220.00", "220.00")
    assert state(adv) == ("12200.00", "2200.00", "1220.00", "220.00")


def test_cancelling_an_act_gives_its_offsets_back(
        entity: object, buyer: Client, actor: Actor, clock: FixedClock, advances_on: PaymentSettings) -> None:
    pay = services.payment_record(actor=actor, client=buyer, amount="12200.00", date=YESTERDAY)
    (adv,) = services.advance_invoices_issue(actor=actor, on=TODAY)
    act = shipment(actor, buyer, "5000.00")
    assert state(adv) == ("12200.00", "2200.00", "5000.00", "901.64")
    documents.document_cancel(actor=actor, document=act, reason="Выставлен ошибочно")
    (off,) = AdvanceOffset.objects.filter(shipment=act)
    assert off.cancelled_at is not None and rub(off.amount_minor) == "5000.00"  # kept, cancelled
    assert state(adv) == ("12200.00", "2200.00", "0.00", "0.00")
    again = shipment(actor, buyer, "6100.00")
    (new,) = AdvanceOffset.objects.filter(shipment=again)
    assert (rub(new.amount_minor), rub(new.vat_minor)) == ("6100.00", "1100.00")
    with pytest.raises(Conflict):
        services.payment_reverse(actor=actor, payment=pay, reason="Ошибка")


def test_the_api_shows_a_payments_advance_and_its_offsets(
        api: Any, entity: object, buyer: Client, actor: Actor, clock: FixedClock, advances_on: PaymentSettings) -> None:
    pay = services.payment_record(actor=actor, client=buyer, amount="12200.00", date=YESTERDAY)
    assert api.get(f"/api/v1/payments/{pay.pk}/").json()["advance"] is None  # not decided yet
    (adv,) = services.advance_invoices_issue(actor=actor, on=TODAY)
    act = shipment(actor, buyer, "5000.00")
    body = api.get(f"/api/v1/payments/{pay.pk}/").json()["advance"]
    (off,) = AdvanceOffset.objects.all()
    assert body == {"amount": "12200.00", "rate": "22", "vat": "2200.00", "document": adv.document_id, "number": "1",
                    "offset": "5000.00", "offset_vat": "901.64", "note": "",
                    "offsets": [{"id": off.pk, "date": "2026-11-25", "shipment": act.pk, "refund": None,
                                 "amount": "5000.00", "vat": "901.64", "cancelled_at": None}]}
