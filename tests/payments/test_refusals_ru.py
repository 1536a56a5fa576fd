"""Payment refusals in Russian: through the API (``Accept-Language: ru``) and in the installation's
language (KOPECK_LANGUAGE, ru) for a service called from the back office — a payment's status by its
Russian name, never its code; counted digits and characters in the three plural forms."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.payments import services
from kopeck.payments.models import BankStatement, StatementLine
from kopeck.payments.statements.preview import StatementRefused, bank_statement_preview
from tests.payments.bankfiles import Order, statement
from tests.payments.conftest import counts


def post(api: APIClient, url: str, body: dict[str, Any]) -> Any:
    return api.post(url, body, format="json", HTTP_ACCEPT_LANGUAGE="ru")


def test_an_invalid_payment_is_refused_in_russian(api: APIClient, buyer: Client, clock: FixedClock) -> None:
    before = counts()
    r = post(api, "/api/v1/payments/", {"client": buyer.pk, "amount": "1.005", "payer_inn": "12x", "payer_bik": "1",
                                        "payer_account": "4070"})
    assert (r.status_code, r.json()["detail"]) == (400, "Неверные данные платежа.")
    assert {e["field"]: e["detail"] for e in r.json()["errors"]} == {
        "amount": "Для валюты RUB допускается 2 знака после запятой.",
        "payer_inn": "10 или 12 цифр.",
        "payer_bik": "9 цифр.",
        "payer_account": "20 цифр."}
    assert counts() == before


def test_refund_and_assign_refused_in_russian(api: APIClient, buyer: Client, clock: FixedClock) -> None:
    pay = post(api, "/api/v1/payments/", {"client": buyer.pk, "amount": "100.00"}).json()
    before = counts()
    r = post(api, f"/api/v1/payments/{pay['id']}/refund/", {"amount": "100.01", "reason": "Переплата"})
    assert (r.status_code, r.json()["errors"]) == (400, [{"field": "amount",
                                                          "detail": "Не больше остатка платежа: 100.00."}])
    r = post(api, f"/api/v1/payments/{pay['id']}/assign/", {"client": buyer.pk})
    assert (r.status_code, r.json()["detail"], r.json()["errors"]) == (
        409, "Привязать к клиенту можно только невыясненный платёж, а статус этого — «Зачислен».",
        [{"field": "status", "detail": "Статус: «Зачислен»."}])
    assert counts() == before


def test_a_reversed_payment_names_its_status_in_russian(buyer: Client, actor: Actor, clock: FixedClock,
                                                         installation_language: None) -> None:
    pay = services.payment_record(actor=actor, client=buyer, amount="10.00")
    services.payment_reverse(actor=actor, payment=pay, reason="Ошибочно")
    before = counts()
    with pytest.raises(Conflict) as refused:
        services.payment_refund(actor=actor, payment=pay, amount="1.00", reason="Возврат")
    assert (str(refused.value), refused.value.errors) == (
        "Платёж в статусе «Сторнирован» вернуть нельзя.", {"status": ["Статус: «Сторнирован»."]})
    with pytest.raises(ValidationFailed) as invalid:
        services.payment_record(actor=actor, client=buyer, amount="1.00", payer_kpp="7707010011", payer_bik="1")
    assert (str(invalid.value), invalid.value.errors) == ("Неверные данные платежа.", {
        "payer_kpp": ["Не более 9 символов."], "payer_bik": ["9 цифр."]})
    assert counts() == before


@pytest.mark.parametrize(("data", "message"), [
    (statement([Order("1", "01.12.2026", "10.00", "40702810100000000101")], end=False),
     "строка 57: файл заканчивается без КонецФайла (файл обрезан?)"),
    (statement([Order("1", "01.12.2026", "10.00", "40702810100000000101")])[:-60],
     "строка 55: файл заканчивается внутри секции, начатой на строке 21 (файл обрезан?)"),
    (statement([Order("1", "31.11.2026", "10.00", "40702810100000000101")]),
     "строка 23: Дата: даты «31.11.2026» не существует"),
    (statement([Order("1", "01.12.2026", "10.00", "40702810100000000101")], version="2.00"),
     "строка 12: ВерсияФормата 2.00 не поддерживается (поддерживаются версии 1.02 и 1.03)"),
])
def test_a_malformed_bank_file_is_refused_in_russian(entity: object, actor: Actor, clock: FixedClock,
                                                     installation_language: None, data: bytes, message: str) -> None:
    before = counts()
    with pytest.raises(StatementRefused) as refused:
        bank_statement_preview(actor=actor, stream=io.BytesIO(data), file_name="kl_to_1c.txt")
    assert (str(refused.value), refused.value.errors) == (f"kl_to_1c.txt: {message}", {"file": [message]})
    assert counts() == before and BankStatement.objects.count() == StatementLine.objects.count() == 0
