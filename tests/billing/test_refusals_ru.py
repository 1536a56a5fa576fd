"""Billing-run refusals through the API in the caller's language."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from kopeck.billing.models import BillingRun
from tests.billing.conftest import Book

pytestmark = pytest.mark.django_db

URL = "/api/v1/billing-runs/"


def test_an_invalid_run_is_refused_in_russian_and_in_english(api: APIClient, book: Book) -> None:
    body = {"billing_date": "2026-11-26", "mode": "sandbox", "scope": {"plans": ["gold"], "clients": [999999]}}
    ru = api.post(URL, body, format="json", HTTP_ACCEPT_LANGUAGE="ru")
    assert (ru.status_code, ru.json()["detail"], ru.json()["errors"]) == (400, "Неверные параметры запуска биллинга.", [
        {"field": "billing_date", "detail": "Нельзя выставить начисления на дату позже сегодняшней (2026-11-25)."},
        {"field": "scope.clients", "detail": "Нет клиентов с номерами: 999999."},
        {"field": "scope.plans", "detail": "Неизвестные тарифы: gold."}])
    en = api.post(URL, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert (en.status_code, en.json()["detail"], en.json()["errors"]) == (400, "The billing run is invalid.", [
        {"field": "billing_date", "detail": "Cannot bill ahead of today (2026-11-25)."},
        {"field": "scope.clients", "detail": "Unknown clients: 999999."},
        {"field": "scope.plans", "detail": "Unknown plans: gold."}])
    assert BillingRun.objects.count() == 0
