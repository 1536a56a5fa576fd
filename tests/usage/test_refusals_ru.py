"""Usage intake refusals in the caller's language: each refused item's reason and field messages, and the
envelope's, in Russian with ``Accept-Language: ru`` (counted nouns in their plural forms)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.subscriptions.models import Subscription
from kopeck.usage.models import MeterReading, UsageEvent, UsageThreshold
from tests.usage.conftest import post

pytestmark = pytest.mark.django_db
TS = "2026-11-20T12:00:00+03:00"


def ru(client: APIClient, path: str, body: Any) -> Any:
    return post(client, path, body, HTTP_ACCEPT_LANGUAGE="ru")


def test_refused_events_in_russian(usage_api: APIClient, sub: Subscription) -> None:
    r = ru(usage_api, "/api/v1/usage/events/", [
        {"id": "e1", "external_id": "sub-1", "metric": "storage", "timestamp": TS},
        {"id": "e2", "external_id": "nobody", "metric": "api_calls", "timestamp": "вчера"},
        {"id": "e3", "external_id": "sub-1", "metric": "traffic", "timestamp": TS, "properties": {"gb": "1e3"}},
        {"id": "e4", "subscription": sub.pk, "external_id": "sub-1", "metric": "api_calls", "timestamp": TS},
    ])
    assert r.status_code == 200
    assert [(x["id"], x["reason"]) for x in r.json()["results"]] == [
        ("e1", "metric: в тарифе подписки нет компонента «storage», который считается по событиям "
               "(есть: api_calls, traffic)"),
        ("e2", "timestamp: не дата и время в формате ISO 8601: «вчера»"),
        ("e3", 'properties.gb: не десятичное число вида "1500.00": «1e3»'),
        ("e4", "subscription: укажите subscription или external_id, но не оба сразу"),
    ]
    assert UsageEvent.objects.count() == 0


def test_refused_readings_in_russian(usage_api: APIClient, sub: Subscription) -> None:
    r = ru(usage_api, "/api/v1/usage/readings/", [
        {"id": "r1", "external_id": "sub-1", "meter": "power", "value": "5", "timestamp": TS, "kind": "rollover"},
        {"id": "r2", "external_id": "sub-1", "meter": "power", "value": "-1", "timestamp": TS, "old_final": "3"},
        {"id": "r3", "external_id": "sub-1", "meter": "api_calls", "value": "1", "timestamp": TS},
    ])
    assert [(x["id"], x["errors"]) for x in r.json()["results"]] == [
        ("r1", [{"field": "kind", "detail": "первое показание счётчика не может быть переходом через ноль"}]),
        ("r2", [{"field": "value", "detail": "не может быть отрицательным"},
                {"field": "old_final", "detail": "указывается только для показания при замене счётчика (replacement)"}]),
        ("r3", [{"field": "meter", "detail": "«api_calls» считается по событиям: отправляйте их в /api/v1/usage/events/"}]),
    ]
    assert MeterReading.objects.count() == 0


@pytest.mark.parametrize(("limit", "text"), [
    (1, "не более 1 события за запрос, получено 2"),
    (5, "не более 5 событий за запрос, получено 6"),
    (21, "не более 21 события за запрос, получено 22"),
])
def test_a_batch_too_large_in_russian(usage_api: APIClient, sub: Subscription, settings: Any, limit: int,
                                      text: str) -> None:
    settings.KOPECK_USAGE_BATCH_MAX = limit
    r = ru(usage_api, "/api/v1/usage/events/", [{}] * (limit + 1))
    assert (r.status_code, r.json()["errors"]) == (400, [{"field": "body", "detail": text}])
    assert UsageEvent.objects.count() == 0


def test_a_threshold_refused_in_russian(usage_api: APIClient, sub: Subscription) -> None:
    body = {"subscription": sub.pk, "metric": "api_calls", "amount": "100"}
    assert post(usage_api, "/api/v1/usage/thresholds/", body).status_code == 201
    again = ru(usage_api, "/api/v1/usage/thresholds/", body)
    assert (again.status_code, again.json()["detail"]) == (409, "У подписки уже есть порог 100 для компонента 'api_calls'.")
    nothing = ru(usage_api, "/api/v1/usage/thresholds/", {**body, "subscription": 999999})
    assert (nothing.status_code, nothing.json()["errors"]) == (400, [{"field": "subscription",
                                                                       "detail": "Подписки № 999999 нет."}])
    assert UsageThreshold.objects.count() == 1
