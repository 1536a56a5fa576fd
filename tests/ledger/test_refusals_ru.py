"""Ledger refusals through the API in the caller's language (``Accept-Language: ru`` / ``en``)."""

from __future__ import annotations

from typing import Any

import pytest

from kopeck.core.clock import FixedClock
from kopeck.ledger.models import JournalTransaction, Posting
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def written() -> tuple[int, int]:
    return JournalTransaction.objects.count(), Posting.objects.count()


def test_an_invalid_operation_is_refused_in_russian_and_in_english(api: Any, clock: FixedClock) -> None:
    client = ClientFactory()
    url = f"/api/v1/clients/{client.pk}/operations/"
    body = {"operation": "payment", "amount": "1.005", "currency": "USD", "reason": "Оплата"}
    ru = api.post(url, body, format="json", HTTP_ACCEPT_LANGUAGE="ru")
    assert (ru.status_code, ru.json()["detail"], ru.json()["errors"]) == (400, "Операция заполнена неверно.", [
        {"field": "currency", "detail": "Лицевой счёт клиента ведётся в валюте RUB."},
        {"field": "amount", "detail": "Для валюты USD допускается 2 знака после запятой."}])
    en = api.post(url, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert (en.status_code, en.json()["detail"], en.json()["errors"]) == (400, "The operation is invalid.", [
        {"field": "currency", "detail": "The client's account is in RUB."},
        {"field": "amount", "detail": "USD allows 2 decimal places."}])
    assert written() == (0, 0)


def test_a_second_reversal_is_refused_in_russian(api: Any, clock: FixedClock) -> None:
    client = ClientFactory()
    paid = api.post(f"/api/v1/clients/{client.pk}/operations/",
                    {"operation": "payment", "amount": "100.00", "reason": "Оплата"}, format="json").json()
    assert api.post(f"/api/v1/transactions/{paid['id']}/reverse/", {"reason": "ошибка"},
                    format="json").status_code == 201
    before = written()
    again = api.post(f"/api/v1/transactions/{paid['id']}/reverse/", {"reason": "ошибка"}, format="json",
                     HTTP_ACCEPT_LANGUAGE="ru")
    assert (again.status_code, again.json()["title"], again.json()["detail"]) == (
        409, "Конфликт", f"Операция №{paid['id']} уже сторнирована.")
    missing = api.post(f"/api/v1/transactions/{paid['id'] + 1000}/reverse/", {"reason": "ошибка"}, format="json",
                       HTTP_ACCEPT_LANGUAGE="ru")
    assert (missing.status_code, missing.json()["detail"]) == (404, f"Операции №{paid['id'] + 1000} нет.")
    assert written() == before
