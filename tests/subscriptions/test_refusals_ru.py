"""Refusals through the API in the caller's language: Russian with ``Accept-Language: ru``, English with ``en``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from tests.subscriptions.helpers import at, counts, make_client, make_plan

pytestmark = pytest.mark.django_db

URL = "/api/v1/subscriptions/"


def problem(api: APIClient, path: str, body: dict[str, Any], language: str) -> dict[str, Any]:
    reply = api.post(path, body, format="json", HTTP_ACCEPT_LANGUAGE=language)
    assert reply["Content-Type"] == "application/problem+json"
    return {"status": reply.status_code, "detail": reply.json()["detail"], "errors": reply.json().get("errors")}


def test_an_unknown_plan_is_refused_in_russian_and_in_english(api: APIClient, clock: FixedClock, actor: Actor) -> None:
    at(clock, dt.date(2027, 1, 1))
    make_plan(actor, clock, "basic", base="1000.00")
    client = make_client()
    before = counts()
    body = {"client": client.pk, "plan": "nope"}
    assert problem(api, URL, body, "ru") == {"status": 400, "detail": "Неверные данные подписки.", "errors": [
        {"field": "plan", "detail": "Неизвестный тариф «nope»."}]}
    assert problem(api, URL, body, "en") == {"status": 400, "detail": "The subscription is invalid.", "errors": [
        {"field": "plan", "detail": "Unknown plan 'nope'."}]}
    assert counts() == before


def test_an_action_in_a_status_that_forbids_it_is_refused_in_russian(api: APIClient, clock: FixedClock,
                                                                    actor: Actor) -> None:
    at(clock, dt.date(2027, 1, 1))
    make_plan(actor, clock, "basic", base="1000.00")
    created = api.post(URL, {"client": make_client().pk, "plan": "basic"}, format="json")
    assert created.status_code == 201, created.content
    before = counts()
    assert problem(api, f"{URL}{created.json()['id']}/resume/", {}, "ru") == {
        "status": 409,
        "detail": "Нельзя возобновить подписку в статусе «Активна» (допустимые статусы: «Приостановлена»).",
        "errors": [{"field": "status", "detail": "Недоступно в статусе «Активна»."}]}
    assert counts() == before
