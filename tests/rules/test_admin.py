"""The execution log in the back office says what happened in the operator's language: action results,
condition errors and loop protection in Russian on Russian pages (the English text stays for the API)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from kopeck.clients.services import client_update
from kopeck.events.models import Event
from kopeck.events.services import events_dispatch_all
from kopeck.rules.models import RuleExecution
from tests.rules.conftest import ACTOR, make_client, make_rule

pytestmark = pytest.mark.django_db


def text_of(page: bytes) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page.decode()))


def test_an_execution_is_told_in_russian(operator_as: Any, settings: Any) -> None:
    settings.KOPECK_RULES_MAX_DEPTH = 1
    tagging = make_rule("метка", actions=[{"type": "add_tag", "tag": "vip"}, {"type": "block_client"}], priority=1)
    broken = make_rule("сломанное", condition='client.fields.missing == "x"', priority=2)
    client = make_client()
    client_update(actor=ACTOR, client=client, name="Пётр")
    events_dispatch_all()
    first, *later = RuleExecution.objects.order_by("id")
    admin = operator_as("administrator")
    page = text_of(admin.get(f"/admin/rules/ruleexecution/{first.pk}/change/",
                             headers={"accept-language": "ru"}).content)
    assert f"Добавление метки «vip» клиенту №{client.pk}" in page
    assert f"Блокировка клиента №{client.pk}, причина «неуплата» («активен» → «заблокирован»)" in page
    assert "В данных нет поля «missing» (сначала проверьте его наличие через has(…))." in page
    for english in ("Add tag", "Block client", "No field", "active →"):
        assert english not in page
    loop = [e for e in later if e.status == "loop"]
    assert loop
    page = text_of(admin.get(f"/admin/rules/ruleexecution/{loop[0].pk}/change/",
                             headers={"accept-language": "ru"}).content)
    assert "Событие вызвано цепочкой действий правил глубиной 1; предел — 1." in page
    assert f"#{tagging.pk}" in page and f"#{broken.pk}" in page
    assert "The event was caused" not in page


def test_the_test_button_answers_in_russian(operator_as: Any) -> None:
    rule = make_rule("метка", actions=[{"type": "add_tag", "tag": "vip"}])
    broken = make_rule("сломанное", condition='client.fields.missing == "x"')
    client = make_client()
    client_update(actor=ACTOR, client=client, name="Пётр")
    event = Event.objects.filter(type="client.changed").latest("id")
    admin = operator_as("administrator")
    page = text_of(admin.post(f"/admin/rules/rule/{rule.pk}/test/", {"event_id": event.pk},
                              headers={"accept-language": "ru"}).content)
    assert f"Добавление метки «vip» клиенту №{client.pk}" in page
    assert "(добавление метки)" in page
    assert "Add tag" not in page and "add_tag" not in page
    page = text_of(admin.post(f"/admin/rules/rule/{broken.pk}/test/", {"event_id": event.pk},
                              headers={"accept-language": "ru"}).content)
    assert "В данных нет поля «missing»" in page
    assert "No field" not in page


def test_a_wrong_rule_is_refused_in_russian_and_nothing_written(operator_as: Any) -> None:
    from kopeck.rules.models import Rule

    response = operator_as("administrator").post("/admin/rules/rule/add/", {
        "name": "плохое", "description": "", "triggers": ["client.changed"], "condition": 'os.environ["HOME"]',
        "actions": '[{"type": "add_tag", "tag": "vip", "colour": "red"}, {"type": "explode"}]', "priority": "1"},
        headers={"accept-language": "ru"})
    page = text_of(response.content)
    assert "Неизвестное имя «os»: в условии можно использовать только client, event, now, subscription, vars." in page
    assert "действие 1: Неизвестный параметр «colour»." in page
    assert "действие 2: Выберите тип из списка:" in page
    for english in ("Unknown name", "Unknown parameter", "Choose a type"):
        assert english not in page
    assert not Rule.objects.exists()
