"""The HTTP plumbing's own refusals in the caller's language: the Idempotency-Key's (a counted limit in
its plural form), the JSON parser's, the amount field's."""

from __future__ import annotations

import pytest
from django.utils import translation
from rest_framework.exceptions import ValidationError
from rest_framework.test import APIClient

from kopeck.common.http.fields import AmountField
from kopeck.common.http.idempotency import MAX_KEY_LENGTH
from kopeck.core.clock import FixedClock
from kopeck.ledger.models import JournalTransaction
from tests.factories import ClientFactory

PAYMENT = {"operation": "payment", "amount": "100.00", "reason": "Оплата"}


@pytest.mark.django_db
def test_idempotency_key_refusals_in_russian_and_in_english(api: APIClient, clock: FixedClock) -> None:
    url = f"/api/v1/clients/{ClientFactory().pk}/operations/"
    long_key = "x" * (MAX_KEY_LENGTH + 1)
    ru = api.post(url, PAYMENT, format="json", HTTP_IDEMPOTENCY_KEY=long_key, HTTP_ACCEPT_LANGUAGE="ru")
    assert (ru.status_code, ru.json()["title"], ru.json()["detail"]) == (
        400, "Неверный ключ идемпотентности", f"Ключ идемпотентности (Idempotency-Key) — от 1 до {MAX_KEY_LENGTH} символов.")
    en = api.post(url, PAYMENT, format="json", HTTP_IDEMPOTENCY_KEY=long_key, HTTP_ACCEPT_LANGUAGE="en")
    assert (en.status_code, en.json()["title"], en.json()["detail"]) == (
        400, "Invalid Idempotency-Key", f"The Idempotency-Key must be 1 to {MAX_KEY_LENGTH} characters.")
    assert api.post(url, PAYMENT, format="json", HTTP_IDEMPOTENCY_KEY="k").status_code == 201
    reused = api.post(url, {**PAYMENT, "amount": "200.00"}, format="json", HTTP_IDEMPOTENCY_KEY="k",
                      HTTP_ACCEPT_LANGUAGE="ru")
    assert (reused.status_code, reused.json()["title"], reused.json()["detail"]) == (
        422, "Ключ идемпотентности уже использован",
        "Этот ключ идемпотентности (Idempotency-Key) уже использован для другого запроса.")
    assert JournalTransaction.objects.count() == 1


@pytest.mark.parametrize(("places", "ru", "en"), [
    (1, "Не больше 1 знака после точки.", "At most 1 decimal place."),
    (2, "Не больше 2 знаков после точки.", "At most 2 decimal places."),
])
def test_the_amount_fields_places_in_both_languages(places: int, ru: str, en: str) -> None:
    field = AmountField(max_places=places)
    for language, text in (("ru", ru), ("en", en)):
        with translation.override(language), pytest.raises(ValidationError) as refused:
            field.to_internal_value("1.123")
        assert refused.value.detail == [text]
