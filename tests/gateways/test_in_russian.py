"""Gateways in the operator's language: a refusal reaches an API caller in Russian with
``Accept-Language: ru`` (in English with ``en``), and what is stored in English for the logs — a
notification's detail, a payment's failure reason, an autopayment charge's last error — is told in
Russian on a Russian back-office page (kopeck.gateways.messages)."""

from __future__ import annotations

import json
import re
from typing import Any

import polib
import pytest
from django.test import Client as HttpClient
from django.utils import translation

from kopeck.clients.models import Client
from kopeck.core.clock import FixedClock
from kopeck.gateways import messages, receipts
from kopeck.gateways.messages import told, told_html
from kopeck.gateways.models import GatewayPayment, Notification
from kopeck.gateways.services import online_payment_create
from kopeck.operators.models import Operator
from tests.gateways.conftest import ACTOR, last_note, post_notification
from tests.gateways.fakes import FakeProviders
from tests.gateways.test_cloudpayments import pay_fields, send

pytestmark = pytest.mark.django_db
CATALOGUE = "src/kopeck/gateways/locale/ru/LC_MESSAGES/django.po"


@pytest.fixture
def admin_http(db: Any) -> HttpClient:
    http = HttpClient()
    http.force_login(Operator.objects.create(username="boss", role="administrator", is_staff=True))
    return http


@pytest.mark.parametrize(("language", "title", "detail"), [
    ("ru", "Неверные данные", "Лицевой счёт клиента ведётся в валюте RUB."),
    ("en", "Invalid input", "The client's account is in RUB."),
])
def test_a_refusal_reaches_the_api_caller_in_their_language(api: Any, make_setting: Any, payer: Client,
                                                             language: str, title: str, detail: str) -> None:
    body = {"client": payer.pk, "amount": "990.00", "currency": "USD", "gateway": make_setting("yookassa").pk}
    answer = api.post("/api/v1/payments/online/", body, format="json", HTTP_ACCEPT_LANGUAGE=language)
    assert answer.status_code == 400
    problem = answer.json()
    assert (problem["title"], problem["detail"], problem["errors"]) == (
        title, f"currency: {detail}", [{"field": "currency", "detail": detail}])
    assert not GatewayPayment.objects.exists()


def test_a_lookup_refusal_in_russian(api: Any, payer: Client) -> None:
    answer = api.post("/api/v1/payments/online/", {"client": payer.pk, "amount": "10.00", "gateway": 999_999},
                      format="json", HTTP_ACCEPT_LANGUAGE="ru")
    assert answer.status_code == 400
    assert answer.json()["errors"] == [{"field": "gateway", "detail": "Такого агрегатора нет."}]
    assert not GatewayPayment.objects.exists()


@pytest.mark.parametrize(("language", "title", "detail"), [
    ("ru", "Платёжный агрегатор недоступен",
     "Агрегатор не создал платёж: ЮKassa, запрос API: ответ 0 — {'error': 'down'}"),
    ("en", "Payment gateway unavailable",
     "The gateway did not create the payment: ЮKassa API answered 0: {'error': 'down'}"),
])
def test_an_unreachable_provider_is_told_in_the_callers_language(
        api: Any, make_setting: Any, payer: Client, fake: FakeProviders, language: str, title: str,
        detail: str) -> None:
    fake.down = True
    body = {"client": payer.pk, "amount": "10.00", "gateway": make_setting("yookassa").pk}
    answer = api.post("/api/v1/payments/online/", body, format="json", HTTP_ACCEPT_LANGUAGE=language)
    assert answer.status_code == 502
    assert (answer.json()["title"], answer.json()["detail"]) == (title, detail)
    # the order record stays, failed, with the provider's answer in English for the logs
    assert list(GatewayPayment.objects.values_list("status", "failure_reason")) == [
        ("failed", "ЮKassa API answered 0: {'error': 'down'}")]


def test_a_receipt_problem_in_russian(make_setting: Any, clock: FixedClock) -> None:
    from kopeck.common.errors import ValidationFailed
    from tests.factories import ClientFactory

    nobody = ClientFactory()  # no e-mail, no phone: no receipt can be sent
    with translation.override("ru"), pytest.raises(ValidationFailed) as refused:
        online_payment_create(actor=ACTOR, client=nobody, setting=make_setting("yookassa"), amount="10.00")
    assert refused.value.errors == {"receipt": ["Для чека нужен адрес электронной почты или телефон клиента."]}
    assert not GatewayPayment.objects.exists()


def test_a_refused_notification_is_told_in_russian_on_a_russian_page(
        admin_http: HttpClient, http: Any, make_setting: Any, clock: FixedClock) -> None:
    setting = make_setting("yookassa")
    post_notification(http, setting, "{broken", content_type="application/json")
    note = last_note()
    assert (note.verdict, note.reason) == ("refused", "malformed")
    assert note.detail == "Not a ЮKassa notification: Expecting property name enclosed in double quotes: " \
                          "line 1 column 2 (char 1)"  # stored in English
    ru = admin_http.get(f"/admin/gateways/notification/{note.pk}/change/").content.decode()
    assert 'Это не уведомление ЮKassa: <code class="kopeck-code">Expecting property name' in ru
    assert "отклонено" in ru and "тело запроса не разобрано" in ru
    en = admin_http.get(f"/en/admin/gateways/notification/{note.pk}/change/").content.decode()
    assert 'Not a ЮKassa notification: <code class="kopeck-code">Expecting property name' in en
    assert "Это не уведомление" not in en


def test_a_duplicate_and_a_wrong_amount_are_told_in_russian(
        admin_http: HttpClient, http: Any, make_setting: Any, payer: Client, clock: FixedClock) -> None:
    order = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("cloudpayments"), amount="1500.00")
    for _copy in range(2):
        send(http, order, "pay", pay_fields(order))
    send(http, order, "pay", pay_fields(order, TransactionId="1211507", Amount="1499.00"))
    stored = dict(Notification.objects.exclude(verdict="accepted").values_list("verdict", "detail"))
    assert stored == {"duplicate": "This transaction was already taken.", "refused": "1499.00 instead of 1500.00."}
    page = admin_http.get("/admin/gateways/notification/").content.decode()
    assert "повтор" in page and "сумма не совпадает с заказом" in page
    for note in Notification.objects.exclude(verdict="accepted"):
        page = admin_http.get(f"/admin/gateways/notification/{note.pk}/change/").content.decode()
        assert {"duplicate": "Эта операция уже принята.", "refused": "1\xa0499,00 вместо 1\xa0500,00."}[note.verdict] in page


def test_the_event_is_told_by_its_meaning_with_the_providers_code_beside_it(
        admin_http: HttpClient, http: Any, make_setting: Any, payer: Client, clock: FixedClock) -> None:
    order = online_payment_create(actor=ACTOR, client=payer, setting=make_setting("cloudpayments"), amount="1500.00")
    send(http, order, "pay", pay_fields(order))
    ru = admin_http.get("/admin/gateways/notification/").content.decode()
    assert 'оплата <code class="kopeck-code">pay</code>' in ru
    en = admin_http.get("/en/admin/gateways/notification/").content.decode()
    assert 'payment <code class="kopeck-code">pay</code>' in en


def test_every_event_a_provider_stores_has_its_meaning_in_russian() -> None:
    from kopeck.gateways.providers.cloudpayments import KINDS

    assert set(KINDS) <= set(messages.EVENTS)  # CloudPayments' event is the kind of its URL
    with translation.override("ru"):
        told_ru = {code: messages.event_label(code) for code in messages.EVENTS}
    with translation.override("en"):
        told_en = {code: messages.event_label(code) for code in messages.EVENTS}
    assert [code for code in messages.EVENTS if told_ru[code] == told_en[code]] == []
    assert [code for code, text in told_ru.items() if re.search("[A-Za-z]", text)] == []
    assert messages.event_label("SOMETHING.NEW") == "SOMETHING.NEW"  # an unknown event as it came


# --- the stored forms ----------------------------------------------------------------------------

SAMPLES = {"provider": "Robokassa", "call": "OpStateExt", "code": "500", "message": messages.ORDER_GONE,
           "kind": "RuntimeError"}


@pytest.mark.parametrize("form", messages.FORMS)
def test_each_stored_form_is_told_in_russian(form: str) -> None:
    """Every form is recognised as itself (no earlier, looser form takes it) and has its Russian."""
    params = {name: SAMPLES.get(name, f"x{n}") for n, name in enumerate(re.findall(r"%\((\w+)\)s", form))}
    stored = form % params
    with translation.override("ru"):
        russian = translation.gettext(form)
        shown = {**params, "provider": "Робокасса", "message": "Заказ не найден."}
        assert russian != form
        assert told(stored) == russian % {k: v for k, v in shown.items() if k in params}
    with translation.override("en"):
        assert told(stored) == stored


def test_told_examples() -> None:
    with translation.override("ru"):
        assert [told(t) for t in (
            "1499.00 instead of 1500.00.",
            "No amount; the order is for 1500.00.",
            "USD instead of RUB.",
            "No order 'abc' on this gateway.",
            "provider unreachable: CloudPayments /payments/get failed: timed out",
            "Robokassa OpStateExt answered 3: Счёт не найден",
            "RuntimeError: no space left on device",
            "insufficient_funds",
            "Сумма возврата превышает доступную",
            "",
        )] == [
            "1\xa0499,00 вместо 1\xa0500,00.",  # amounts as Russian writes them
            "Сумма не указана; сумма заказа — 1\xa0500,00.",
            "USD вместо RUB.",
            "У этого агрегатора нет заказа 'abc'.",
            "агрегатор недоступен: CloudPayments, запрос /payments/get не выполнен: timed out",
            "Робокасса, запрос OpStateExt: ответ 3 — Счёт не найден",
            "Зачисление не удалось, будет повторено позже: RuntimeError: no space left on device",
            "недостаточно средств",
            "Сумма возврата превышает доступную",  # the provider's own words, as they are
            "",
        ]


def test_on_a_page_the_values_that_are_not_kopecks_words_are_marked_as_code() -> None:
    with translation.override("ru"):
        assert told_html("provider unreachable: Robokassa OpStateExt answered 3: <b>нет</b>") == (
            'агрегатор недоступен: Робокасса, запрос <code class="kopeck-code">OpStateExt</code>: ответ '
            '<code class="kopeck-code">3</code> — <code class="kopeck-code">&lt;b&gt;нет&lt;/b&gt;</code>')
        assert told_html("1499.00 instead of 1500.00.") == "1\xa0499,00 вместо 1\xa0500,00."
        assert told_html("insufficient_funds") == "недостаточно средств"
        assert told_html("Card <declined>") == '<code class="kopeck-code">Card &lt;declined&gt;</code>'
    with translation.override("en"):
        assert told("1499.00 instead of 1500.00.") == "1,499.00 instead of 1,500.00."


def test_every_yookassa_reason_and_receipt_problem_is_in_russian() -> None:
    assert messages.RECEIPT_PROBLEMS == receipts.PROBLEMS
    with translation.override("ru"):
        untranslated = [t for t in (*messages.YOOKASSA_REASONS.values(), *messages.RECEIPT_PROBLEMS)
                        if translation.gettext(t) == t]
    assert untranslated == []


def test_the_catalogue_is_complete() -> None:
    po = polib.pofile(CATALOGUE)
    assert [e.msgid for e in po if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)] == []
    assert [e.msgid for e in po.obsolete_entries()] == []
    assert json.dumps(po.metadata["Language"]) == '"ru"'
