"""Credit-control refusals in Russian: through the API (``Accept-Language: ru``) and in the
installation's language (KOPECK_LANGUAGE, ru) for a service called from the back office or a task."""

from __future__ import annotations

import datetime as dt

import pytest
from rest_framework.test import APIClient

from kopeck.audit.models import AuditEntry
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.configuration.services import billing_settings_update
from kopeck.credit.models import Block, Promise, PromiseStatus
from kopeck.credit.services import block_lift, block_place, credit_policy_set, promise_grant
from kopeck.events.models import Event
from tests.credit.conftest import World

D = dt.date


def written() -> tuple[int, int, int, int]:
    return Block.objects.count(), Promise.objects.count(), AuditEntry.objects.count(), Event.objects.count()


def test_a_promise_refused_through_the_api_in_russian_and_in_english(world: World, api: APIClient) -> None:
    world.day(D(2026, 11, 20))
    before = written()
    body = {"client": world.client.pk, "amount": "100.005", "days": 30}
    ru = api.post("/api/v1/promises/", body, format="json", HTTP_ACCEPT_LANGUAGE="ru")
    assert (ru.status_code, ru.json()["detail"], ru.json()["errors"]) == (
        400, "Неверные данные обещанного платежа.",
        [{"field": "amount", "detail": "Положительная сумма в валюте RUB, не больше 2 знаков после точки."}])
    en = api.post("/api/v1/promises/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert (en.status_code, en.json()["detail"], en.json()["errors"]) == (
        400, "The promised payment is invalid.",
        [{"field": "amount", "detail": "A positive amount in RUB with at most 2 decimal places."}])
    days = api.post("/api/v1/promises/", {**body, "amount": "100.00"}, format="json", HTTP_ACCEPT_LANGUAGE="ru")
    assert days.json()["errors"] == [{"field": "days", "detail": "Не больше 5 дней."}]
    no_client = api.post("/api/v1/blocks/", {"client": 999999, "reason": "fraud"}, format="json",
                         HTTP_ACCEPT_LANGUAGE="ru")
    assert no_client.json()["errors"] == [{"field": "client", "detail": "Такого клиента нет."}]
    assert written() == before


@pytest.mark.parametrize(("days", "text"), [
    (1, "Обещанный платёж — не чаще одного раза в 1 день."),
    (3, "Обещанный платёж — не чаще одного раза в 3 дня."),
    (21, "Обещанный платёж — не чаще одного раза в 21 день."),
    (30, "Обещанный платёж — не чаще одного раза в 30 дней."),
])
def test_the_promise_interval_in_the_three_plural_forms(world: World, installation_language: None, days: int,
                                                        text: str) -> None:
    on = world.day(D(2026, 11, 20))
    Promise.objects.create(client=world.client, amount_minor=10000, currency="RUB", granted_on=on, until=on,
                           status=PromiseStatus.KEPT, ended_on=on, granted_by="tests",
                           created_at=world.clock.now())
    billing_settings_update(actor=world.actor, promise_interval_days=days)
    before = written()
    with pytest.raises(Conflict) as refused:
        promise_grant(actor=world.actor, client=world.client, amount="100.00", days=3)
    assert (str(refused.value), refused.value.errors) == (text, {"client": [text]})
    assert written() == before


def test_blocks_and_credit_terms_refused_in_russian(world: World, installation_language: None) -> None:
    before = written()
    with pytest.raises(ValidationFailed) as refused:
        block_place(actor=world.actor, client=world.client, reason="boredom", comment="x" * 501)
    assert (str(refused.value), refused.value.errors) == ("Неверные данные блокировки.", {
        "reason": ["Допустимые значения: non_payment, client_request, abuse, fraud, legal."],
        "comment": ["Не более 500 символов."]})
    with pytest.raises(ValidationFailed) as refused:
        credit_policy_set(actor=world.actor, client=world.client, grace_days=400, credit_limit="-1")
    assert (str(refused.value), refused.value.errors) == ("Неверные кредитные условия.", {
        "credit_limit": ["Неотрицательная сумма, не больше двух знаков после точки, или пустое значение."],
        "grace_days": ["Целое число дней от 0 до 365 или пустое значение."]})
    assert written() == before
    block = block_place(actor=world.actor, client=world.client, reason="fraud")
    block_lift(actor=world.actor, block=block)
    lifted = written()
    with pytest.raises(Conflict) as refused:
        block_lift(actor=world.actor, block=block)
    assert (str(refused.value), refused.value.errors) == ("Блокировка уже снята.", {"block": ["Уже снята."]})
    assert written() == lifted
