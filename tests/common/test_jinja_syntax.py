"""Jinja's syntax errors said by Kopeck: the line and the kind of mistake read from Jinja's English
message, the token names shown as typed («}}»), in the active language."""

from __future__ import annotations

import pytest
from django.utils import translation
from jinja2 import Environment, TemplateSyntaxError

from kopeck.common.jinja_syntax import jinja_syntax, jinja_told, token_shown


def told(source: str, language: str) -> str:
    with pytest.raises(TemplateSyntaxError) as info:
        Environment().parse(source)
    with translation.override(language):
        return jinja_told(info.value.message or "", info.value.lineno)


def test_jinjas_message_becomes_a_text_and_its_parameters() -> None:
    assert jinja_syntax("expected token 'end of print statement', got 'b'", 3) == (
        "Error in the template, line %(line)s: %(token_expected)s expected, got %(token_got)s.",
        {"line": 3, "token_expected": "'end of print statement'", "token_got": "'b'"})
    assert jinja_syntax("unexpected char '\"' at 7", 1) == (
        "Error in the template, line %(line)s: unexpected character '%(text)s'.", {"line": 1, "text": '"'})
    assert jinja_syntax("Block 'x' defined twice", 2) == (
        "Error in the template, line %(line)s: %(detail)s", {"line": 2, "detail": "Block 'x' defined twice"})


@pytest.mark.parametrize(("source", "russian", "english"), [
    ("Итого: {{ total ", "Ошибка в шаблоне, строка 1: шаблон обрывается, ожидалось «}}».",
     "Error in the template, line 1: the template ends too early, 'end of print statement' expected."),
    ("<p>\n{% for line in lines %}\n{{ line.name }}", "Ошибка в шаблоне, строка 3: блок «for» не закрыт.",
     "Error in the template, line 3: the 'for' block is not closed."),
    ("{{ 1 + }}", "Ошибка в шаблоне, строка 1: неожиданный фрагмент «}}».",
     "Error in the template, line 1: unexpected 'end of print statement'."),
    ("{% macro %}{% endmacro %}", "Ошибка в шаблоне, строка 1: ожидалось имя, а стоит «%}».",
     "Error in the template, line 1: 'name' expected, got 'end of statement block'."),
])
def test_a_syntax_error_in_russian_and_in_english(source: str, russian: str, english: str) -> None:
    assert told(source, "ru") == russian
    assert told(source, "en") == english


@pytest.mark.parametrize(("token", "russian"), [
    ("'end of print statement'", "«}}»"), ("'begin of statement block'", "«{%»"), ("'end of template'",
                                                                                    "конец шаблона"),
    ("'name'", "имя"), ("')'", "«)»"), ("'endfor'", "«endfor»")])
def test_a_token_is_shown_as_the_operator_types_it(token: str, russian: str) -> None:
    with translation.override("ru"):
        assert token_shown(token) == russian
    with translation.override("en"):
        assert token_shown(token) == token
