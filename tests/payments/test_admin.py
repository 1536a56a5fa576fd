"""The payments' back-office pages: record a payment, refund, assign, allocate, reverse; upload a
statement, its preview, apply it; the client page's tab; who may do what."""

from __future__ import annotations

import html

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client as HttpClient

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.documents.models import DocumentStatus
from kopeck.operators.models import Operator
from kopeck.operators.roles import Role
from kopeck.payments import services
from kopeck.payments.models import BankStatement, Payment, PaymentStatus
from tests.payments.bankfiles import Order, statement
from tests.payments.conftest import Invoice, paid

pytestmark = pytest.mark.django_db


def http_as(role: str, lang: str = "en") -> HttpClient:
    http = HttpClient(HTTP_ACCEPT_LANGUAGE=lang)
    http.force_login(Operator.objects.create(username=f"op-{role}-{lang}", role=role, is_staff=True))
    return http


def test_an_accountant_works_payments_in_the_back_office(buyer: Client, clock: FixedClock, invoice: Invoice,
                                                        actor: Actor) -> None:
    http = http_as(Role.ACCOUNTANT)
    doc = invoice("300.00")
    r = http.post("/en/admin/payments/payment/add/", {"client": "", "amount": "500.00", "method": "bank",
                                                      "payer_name": "Неизвестный", "purpose": "Перевод"})
    assert r.status_code == 302, r.content.decode()[:2000]
    pay = Payment.objects.get()
    assert pay.status == PaymentStatus.UNIDENTIFIED
    assert http.get(f"/en/admin/payments/payment/{pay.pk}/change/").status_code == 200
    assert http.post(f"/en/admin/payments/payment/{pay.pk}/assign/", {"client": buyer.pk}).status_code == 302
    pay.refresh_from_db()
    assert (pay.status, pay.allocated_minor) == (PaymentStatus.CREDITED, 30000)
    assert paid(doc) == (DocumentStatus.PAID, "300.00")
    r = http.post(f"/en/admin/payments/payment/{pay.pk}/refund/", {"amount": "900.00", "reason": "x"})
    assert r.status_code == 200 and "At most what is left of the payment, 500.00." in r.content.decode()
    assert http.post(f"/en/admin/payments/payment/{pay.pk}/refund/", {"amount": "100.00", "reason": "Переплата"}
                     ).status_code == 302
    assert http.post(f"/en/admin/payments/payment/{pay.pk}/allocate/", {"again": "on"}).status_code == 302
    other = services.payment_record(actor=actor, client=buyer, amount="10.00")
    assert http.post(f"/en/admin/payments/payment/{other.pk}/reverse/", {"reason": "Ошибка"}).status_code == 302
    other.refresh_from_db()
    assert other.status == PaymentStatus.REVERSED
    page = http.get(f"/en/admin/clients/client/{buyer.pk}/change/").content.decode()
    assert "All payments of the client" in page


def test_upload_preview_and_apply_a_statement(entity: object, buyer: Client, clock: FixedClock) -> None:
    http = http_as(Role.ACCOUNTANT, "ru")
    data = statement([Order("1", "01.12.2026", "500.00", "40702810100000000101", payer_inn=buyer.fields["inn"])])
    r = http.post("/admin/payments/bankstatement/add/", {"file": SimpleUploadedFile("kl_to_1c.txt", data)})
    assert r.status_code == 302
    st = BankStatement.objects.get()
    page = http.get(f"/admin/payments/bankstatement/{st.pk}/change/").content.decode()
    assert "Применить выписку" in page and "Опознан" in page and "ИНН плательщика" in page
    assert http.post(f"/admin/payments/bankstatement/{st.pk}/apply/").status_code == 302
    st.refresh_from_db()
    assert st.status == "applied" and Payment.objects.get().client_id == buyer.pk
    broken = statement([Order("1", "01.12.2026", "5,00", "40702810100000000101")])
    r = http.post("/admin/payments/bankstatement/add/", {"file": SimpleUploadedFile("bad.txt", broken)})
    assert r.status_code == 200 and "строка 24: Сумма: «5,00» — не сумма (нужны цифры и точка, например 1234.56)" \
        in html.unescape(r.content.decode())  # the back office is Russian: the refusal too
    for url in ("/admin/payments/payment/", "/admin/payments/bankstatement/", "/admin/payments/refund/",
                "/admin/payments/allocation/", "/admin/payments/statementline/", "/admin/payments/payment/add/",
                "/admin/payments/bankstatement/add/", "/admin/payments/paymentsettings/1/change/"):
        assert http.get(url).status_code == 200, url


def test_a_manager_may_look_but_not_record(buyer: Client, clock: FixedClock) -> None:
    http = http_as(Role.MANAGER)
    assert http.get("/en/admin/payments/payment/").status_code == 200
    assert http.get("/en/admin/payments/payment/add/").status_code == 403
    assert http.post("/en/admin/payments/bankstatement/add/", {}).status_code == 403


def test_exchange_downloads(entity: object, buyer: Client, clock: FixedClock) -> None:
    http = http_as(Role.ACCOUNTANT, "ru")
    assert "Обмен с 1С и банком" in http.get("/admin/payments/bankstatement/exchange/").content.decode()
    r = http.post("/admin/payments/bankstatement/exchange/", {"what": "enterprisedata", "date_from": "01.11.2026",
                                                              "date_to": "30.11.2026", "version": "1.17"})
    assert r.status_code == 200 and r["Content-Type"] == "application/zip"
    r = http.post("/admin/payments/bankstatement/exchange/", {"what": "refunds", "date_from": "01.11.2026",
                                                              "date_to": "30.11.2026", "version": "1.17"})
    assert r.status_code == 200 and r.content.startswith(b"1CClientBankExchange")


def test_the_advance_of_a_payment_and_its_offsets_in_the_back_office(entity: object, buyer: Client, clock: FixedClock,
                                                                     actor: Actor) -> None:
    import datetime as dt

    from kopeck.documents import services as documents
    from kopeck.payments.models import PaymentAdvance, PaymentSettings

    PaymentSettings.objects.update_or_create(pk=1, defaults={"advance_invoice_factura": True})
    pay = services.payment_record(actor=actor, client=buyer, amount="12200.00", date=dt.date(2026, 11, 24))
    (adv,) = services.advance_invoices_issue(actor=actor)
    act = documents.document_issue(actor=actor, document=documents.document_create_draft(
        actor=actor, type="act", client=buyer, lines=[{"name": "VPS", "price": "5000.00", "vat_rate": "22"}]))
    assert PaymentAdvance.objects.get().offset_minor == 500000
    for lang, prefix, title, vat in (("ru", "", "Авансы полученные", "НДС к вычету"),
                                     ("en", "/en", "Advances", "VAT accepted for deduction")):
        http = http_as(Role.ACCOUNTANT, lang)
        page = http.get(f"{prefix}/admin/payments/payment/{pay.pk}/change/").content.decode()
        assert f'href="{prefix}/admin/payments/paymentadvance/{adv.pk}/change/">№ 1</a>' in page
        listing = http.get(f"{prefix}/admin/payments/paymentadvance/").content.decode()
        assert title in listing
        detail = http.get(f"{prefix}/admin/payments/paymentadvance/{adv.pk}/change/")
        assert detail.status_code == 200
        assert vat in detail.content.decode() and str(act) in detail.content.decode()
