"""Rule refusals in Russian: through the API (``Accept-Language: ru``) and in the installation's
language (KOPECK_LANGUAGE, ru) for a service called from the back office."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.audit.models import AuditEntry
from kopeck.common.errors import NotFound, ValidationFailed
from kopeck.events.services import events_dispatch_all
from kopeck.rules import services
from kopeck.rules.models import Rule, RuleExecution
from kopeck.rules.services import rule_create, rule_test, rule_update
from tests.rules.conftest import ACTOR, make_client, make_rule

pytestmark = pytest.mark.django_db

BAD = {"name": "Должники", "triggers": ["client.exploded"], "condition": "open('x')",
       "actions": [{"type": "notify", "to": ["client", "buh@"], "subject": "{{ _x }}", "body": "{{ secret }}"},
                   {"type": "block_client", "reason": "boredom", "colour": "red"}]}
FUNCTIONS = "(size, contains, startsWith, endsWith, matches, int, double, string, timestamp, duration, …)"


def text_of(page: bytes) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page.decode()))


def written() -> tuple[int, int]:
    return Rule.objects.count(), AuditEntry.objects.count()


def test_a_rule_refused_through_the_api_in_russian_and_in_english(api: APIClient) -> None:
    before = written()
    ru = api.post("/api/v1/rules/", BAD, format="json", HTTP_ACCEPT_LANGUAGE="ru")
    assert (ru.status_code, ru.json()["detail"], ru.json()["errors"]) == (400, "Неверные данные правила.", [
        {"field": "triggers", "detail": "Неизвестный тип события «client.exploded»."},
        {"field": "condition", "detail": "Неизвестная функция «open»: в условии можно вызывать только стандартные "
                                         f"функции CEL {FUNCTIONS}."},
        {"field": "actions.0", "detail": "Это не адрес электронной почты: «buh@»."},
        {"field": "actions.0", "detail": "тема письма: Неизвестное имя «_x»: используйте event, client, "
                                         "subscription, vars или now."},
        {"field": "actions.0", "detail": "текст письма: Неизвестное имя «secret»: используйте event, client, "
                                         "subscription, vars или now."},
        {"field": "actions.1", "detail": "Неизвестный параметр «colour»."},
        {"field": "actions.1", "detail": "Выберите причину из списка: non_payment, client_request, abuse, fraud, "
                                         "legal."}])
    en = api.post("/api/v1/rules/", BAD, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert (en.status_code, en.json()["detail"], en.json()["errors"]) == (400, "The rule is invalid.", [
        {"field": "triggers", "detail": "Unknown event type 'client.exploded'."},
        {"field": "condition", "detail": "Unknown function 'open': a condition can call only the CEL standard "
                                         f"functions {FUNCTIONS}."},
        {"field": "actions.0", "detail": "Not an e-mail address: 'buh@'."},
        {"field": "actions.0", "detail": "subject: Unknown name '_x': use event, client, subscription, vars or now."},
        {"field": "actions.0", "detail": "body: Unknown name 'secret': use event, client, subscription, vars or now."},
        {"field": "actions.1", "detail": "Unknown parameter 'colour'."},
        {"field": "actions.1", "detail": "Choose a reason of: non_payment, client_request, abuse, fraud, legal."}])
    log = api.get("/api/v1/rule-executions/?rule=first", HTTP_ACCEPT_LANGUAGE="ru")
    assert (log.status_code, log.json()["errors"]) == (400, [{"field": "rule", "detail": "Нужно целое число."}])
    assert written() == before


@pytest.mark.parametrize(("limit", "text"), [
    (1, "Не более 1 действия."),
    (3, "Не более 3 действий."),
    (5, "Не более 5 действий."),
    (21, "Не более 21 действия."),
    (22, "Не более 22 действий."),
])
def test_too_many_actions_in_the_three_plural_forms(installation_language: None, monkeypatch: pytest.MonkeyPatch,
                                                    limit: int, text: str) -> None:
    monkeypatch.setattr(services, "MAX_ACTIONS", limit)
    before = written()
    with pytest.raises(ValidationFailed) as refused:
        rule_create(actor=ACTOR, name="много", triggers=["client.changed"],
                    actions=[{"type": "add_tag", "tag": "x"}] * (limit + 1))
    assert (str(refused.value), refused.value.errors) == ("Неверные данные правила.", {"actions": [text]})
    assert written() == before


def test_the_test_and_the_changes_refused_in_russian(installation_language: None) -> None:
    rule = make_rule("vip")
    before = written()
    with pytest.raises(ValidationFailed) as refused:
        rule_test(actor=ACTOR, rule=rule)
    assert (str(refused.value), refused.value.errors) == (
        "Укажите либо event_id, либо event.", {"event": ["Укажите либо event_id, либо event."]})
    with pytest.raises(ValidationFailed) as refused:
        rule_test(actor=ACTOR, rule=rule, event_id=999999)
    assert refused.value.errors == {"event_id": ["События №999999 не существует."]}
    with pytest.raises(ValidationFailed) as refused:
        rule_test(actor=ACTOR, rule=rule, event={"type": "client.exploded", "data": [], "client_id": "7"})
    assert (str(refused.value), refused.value.errors) == ("Неверные данные проверочного события.", {
        "event.type": ["Выберите тип события из каталога."], "event.data": ["Нужен объект JSON."],
        "event.client_id": ["Нужно целое число."]})
    with pytest.raises(ValidationFailed) as refused:
        rule_update(actor=ACTOR, rule=rule, triggers=[], colour="red",
                    actions=[{"type": "set_client_field", "field": "shoe_size", "value": "{% include 'x' %}"}])
    assert (str(refused.value), refused.value.errors) == ("Неверные данные правила.", {
        "colour": ["Неизвестный атрибут."], "triggers": ["Выберите хотя бы одно событие."],
        "actions.0": ["Укажите код действующего поля клиента.",
                      "значение: Строка 1: include, import и extends недоступны."]})
    assert written() == before
    Rule.objects.filter(pk=rule.pk).delete()
    with pytest.raises(NotFound) as missing:
        rule_update(actor=ACTOR, rule=rule, priority=1)
    assert str(missing.value) == f"Правила №{rule.pk} не существует."


def test_a_service_refusal_is_logged_in_english_and_told_in_russian(installation_language: None,
                                                                     operator_as: Any) -> None:
    """The dispatcher runs in the installation's language (ru); a service's refusal inside an action is
    still logged as English text (the API's), which the back office tells in Russian."""
    make_rule("дата", triggers=["client.created"],
              actions=[{"type": "set_client_field", "field": "birth_date", "value": "not a date"}])
    make_client()
    events_dispatch_all()
    execution = RuleExecution.objects.get()
    assert execution.results[0]["actions"][0] == {
        "type": "set_client_field", "status": "failed",
        "detail": "The client has invalid data. fields.birth_date: Enter a date as YYYY-MM-DD.",
        "said": {"text": "The client has invalid data.", "params": {},
                 "errors": {"fields.birth_date": ["Enter a date as YYYY-MM-DD."]}}}
    page = text_of(operator_as("administrator").get(f"/admin/rules/ruleexecution/{execution.pk}/change/",
                                                     headers={"accept-language": "ru"}).content)
    assert ("поле клиента: ошибка — Данные клиента заполнены неверно. Введите дату в формате ГГГГ-ММ-ДД."
            in re.sub(r"\s+", " ", page))
    assert "birth_date" not in page


def test_the_test_button_refuses_in_russian_without_field_names(operator_as: Any) -> None:
    rule = make_rule("метка")
    page = text_of(operator_as("administrator").post(f"/admin/rules/rule/{rule.pk}/test/", {"event_id": 999999},
                                                     headers={"accept-language": "ru"}).content)
    assert "События №999999 не существует." in page
    assert "event_id:" not in page and "does not exist" not in page
