"""Syntax errors of a rule's condition (CEL) and templates (Jinja) in the operator's language: the
line, the column and the offending fragment kept, the explanation translated."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from kopeck.audit.models import AuditEntry
from kopeck.common.errors import ValidationFailed
from kopeck.rules.conditions import ConditionError, compile_condition
from kopeck.rules.models import Rule
from kopeck.rules.said import Said, told
from kopeck.rules.services import rule_create
from kopeck.rules.syntax import condition_syntax_error, template_syntax_error
from kopeck.rules.templates import template_problems
from tests.rules.conftest import ACTOR


def condition_in(language: str, source: str) -> str:
    with pytest.raises(ConditionError) as info:
        compile_condition(source)
    with translation.override(language):
        return told(info.value.args[0])


@pytest.mark.parametrize(("source", "russian", "english"), [
    ("client.status = 'blocked'", "Ошибка в условии, строка 1, позиция 15: неожиданный символ «=».",
     "Error in the condition, line 1, column 15: unexpected character '='."),
    ("client.balance > 0 &&& true", "Ошибка в условии, строка 1, позиция 22: неожиданный символ «&».",
     "Error in the condition, line 1, column 22: unexpected character '&'."),
    ("client.balance > 0)", "Ошибка в условии, строка 1, позиция 19: лишнее «)» после конца условия.",
     "Error in the condition, line 1, column 19: ')' after the end of the condition."),
    ("client.balance >", "Ошибка в условии, строка 1, позиция 17: условие обрывается, не хватает продолжения.",
     "Error in the condition, line 1, column 17: the condition ends too early."),
    ("client.tags == ['a' 'b']", "Ошибка в условии, строка 1, позиция 21: неожиданный фрагмент «'b'».",
     "Error in the condition, line 1, column 21: unexpected ''b''."),
    ("client.name == 'Иван", "Ошибка в условии, строка 1, позиция 16: не удаётся разобрать «'Иван».",
     "Error in the condition, line 1, column 16: cannot read ''Иван'."),
    ("\n  client.balance > 0 &&\n  @", "Ошибка в условии, строка 3, позиция 3: неожиданный символ «@».",
     "Error in the condition, line 3, column 3: unexpected character '@'."),
])
def test_a_conditions_syntax_error_keeps_its_place_and_is_told_in_russian(source: str, russian: str,
                                                                           english: str) -> None:
    assert condition_in("ru", source) == russian
    assert condition_in("en", source) == english


def test_a_leading_indent_on_the_first_line_counts_in_the_column() -> None:
    assert condition_in("ru", "   client.balance >") == ("Ошибка в условии, строка 1, позиция 20: условие обрывается, "
                                                           "не хватает продолжения.")


def test_an_error_of_a_kind_not_recognised_keeps_the_parsers_words_after_the_framing() -> None:
    said = condition_syntax_error("ERROR: <input>:1:3: Syntax error: something new | a b | ..^", "a b")
    with translation.override("ru"):
        assert told(said) == "Ошибка в условии, строка 1, позиция 3: something new"
    assert told(condition_syntax_error("boom", "x")) == "Syntax error: boom"


def template_in(language: str, source: str) -> list[str]:
    with translation.override(language):
        return [told(p) for p in template_problems(source)]


@pytest.mark.parametrize(("source", "russian", "english"), [
    ("Долг {{ client.balance ", "Ошибка в шаблоне, строка 1: шаблон обрывается, ожидалось «}}».",
     "Error in the template, line 1: the template ends too early, 'end of print statement' expected."),
    ("{% if client.balance %}долг", "Ошибка в шаблоне, строка 1: блок «if» не закрыт.",
     "Error in the template, line 1: the 'if' block is not closed."),
    ("Здравствуйте!\n{% for t in %}", "Ошибка в шаблоне, строка 2: ожидалось выражение, а стоит «%}».",
     "Error in the template, line 2: an expression expected, got 'end of statement block'."),
    ("{{ client.name | }}", "Ошибка в шаблоне, строка 1: ожидалось имя, а стоит «}}».",
     "Error in the template, line 1: 'name' expected, got 'end of print statement'."),
    ("{{ client.name client.inn }}", "Ошибка в шаблоне, строка 1: ожидалось «}}», а стоит «client».",
     "Error in the template, line 1: 'end of print statement' expected, got 'client'."),
    ("{% if client.inn %}{% endfor %}",
     "Ошибка в шаблоне, строка 1: тег «endfor» стоит не на своём месте: блок «if» ещё не закрыт.",
     "Error in the template, line 1: 'endfor' is out of place: the 'if' block is not closed yet."),
    ("{% endif %}", "Ошибка в шаблоне, строка 1: тег «endif» не закрывает ни одного открытого блока.",
     "Error in the template, line 1: 'endif' closes no open block."),
    ("{{ client.balance + }}", "Ошибка в шаблоне, строка 1: неожиданный фрагмент «}}».",
     "Error in the template, line 1: unexpected 'end of print statement'."),
    ("{% frobnicate %}", "Ошибка в шаблоне, строка 1: неизвестный тег «frobnicate».",
     "Error in the template, line 1: unknown tag 'frobnicate'."),
    ("{{ 'долг }}", "Ошибка в шаблоне, строка 1: неожиданный символ «'».",
     "Error in the template, line 1: unexpected character '''."),
    ("{{ (client.balance] }}", "Ошибка в шаблоне, строка 1: неожиданная скобка «]», ожидалась «)».",
     "Error in the template, line 1: unexpected ']', ')' expected."),
    ("{{ client.balance ) }}", "Ошибка в шаблоне, строка 1: неожиданный фрагмент «)».",
     "Error in the template, line 1: unexpected ')'."),
    ("{% %}", "Ошибка в шаблоне, строка 1: после «{%» ожидалось имя тега.",
     "Error in the template, line 1: a tag name expected after '{%'."),
    ("{# заметка", "Ошибка в шаблоне, строка 1: комментарий не закрыт: нет «#}».",
     "Error in the template, line 1: the comment is not closed with '#}'."),
])
def test_a_templates_syntax_error_keeps_its_line_and_is_told_in_russian(source: str, russian: str,
                                                                         english: str) -> None:
    assert template_in("ru", source) == [russian]
    assert template_in("en", source) == [english]


def test_a_template_error_of_a_kind_not_recognised_keeps_jinjas_words_after_the_framing() -> None:
    said = template_syntax_error("Block 'x' defined twice", 4)
    assert isinstance(said, Said) and str(said) == "Error in the template, line 4: Block 'x' defined twice"
    with translation.override("ru"):
        assert told(said) == "Ошибка в шаблоне, строка 4: Block 'x' defined twice"


BROKEN: dict[str, Any] = {
    "name": "Должники", "triggers": ["client.changed"], "condition": "client.balance < 0 &&& true",
    "actions": [{"type": "notify", "to": ["client"], "subject": "Долг {{ client.balance ", "body": "{% if x %}"}]}


@pytest.mark.django_db
def test_a_rule_with_syntax_errors_is_refused_in_russian_and_nothing_is_written(api: APIClient) -> None:
    before = (Rule.objects.count(), AuditEntry.objects.count())
    with translation.override("ru"), pytest.raises(ValidationFailed) as info:
        rule_create(actor=ACTOR, **BROKEN)
    assert info.value.errors == {
        "condition": ["Ошибка в условии, строка 1, позиция 22: неожиданный символ «&»."],
        "actions.0": ["тема письма: Ошибка в шаблоне, строка 1: шаблон обрывается, ожидалось «}}».",
                      "текст письма: Ошибка в шаблоне, строка 1: блок «if» не закрыт."]}
    ru = api.post("/api/v1/rules/", BROKEN, format="json", HTTP_ACCEPT_LANGUAGE="ru")
    assert ru.status_code == 400
    assert [e["detail"] for e in ru.json()["errors"]] == [
        "Ошибка в условии, строка 1, позиция 22: неожиданный символ «&».",
        "тема письма: Ошибка в шаблоне, строка 1: шаблон обрывается, ожидалось «}}».",
        "текст письма: Ошибка в шаблоне, строка 1: блок «if» не закрыт."]
    assert (Rule.objects.count(), AuditEntry.objects.count()) == before
