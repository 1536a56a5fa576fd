"""Jinja's syntax errors said by Kopeck, in the operator's language.

Jinja words its syntax errors in English ("unexpected end of template, expected 'end of print
statement'."). :func:`jinja_syntax` reads the common ones apart — the line, what kind of mistake, the
offending token — into an English text with named placeholders (a catalogue msgid) and its parameters;
:func:`jinja_told` says them in the active language («Ошибка в шаблоне, строка 1: шаблон обрывается,
ожидалось «}}».»). Jinja's names of tokens ("end of print statement") are parameters named ``token…``,
shown as the operator types them (:func:`token_shown`). An error of a kind not recognised keeps Jinja's
own English words after the translated framing. Used by the rules' templates (which keep the text and
parameters, :class:`kopeck.rules.said.Said`) and the document templates."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext, gettext_noop, pgettext, pgettext_lazy

# Jinja's messages (jinja2.lexer, jinja2.parser) → the kind of mistake and the names of its parts; a
# token is quoted as Jinja quotes it ('name', ')').
_Q = r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
_KINDS: tuple[tuple[re.Pattern[str], str, tuple[str, ...]], ...] = (
    (re.compile(rf"^unexpected end of template, expected {_Q}\.$"), "eof_expected", ("token",)),
    (re.compile(r"^Unexpected end of template\..*The innermost block that needs to be closed is '(\w+)'\.$"),
     "unclosed", ("block",)),
    (re.compile(r"^Unexpected end of template\."), "eof", ()),
    (re.compile(r"^Encountered unknown tag '(end\w+)'\..*The innermost block that needs to be closed is "
                r"'(\w+)'\.$"), "misplaced", ("tag", "block")),
    (re.compile(r"^Encountered unknown tag '(end\w+)'\.$"), "stray_end", ("tag",)),
    (re.compile(r"^Encountered unknown tag '(\w+)'\."), "unknown_tag", ("tag",)),
    (re.compile(rf"^expected token {_Q}, got {_Q}$"), "expected", ("token_expected", "token_got")),
    (re.compile(rf"^Expected an expression, got {_Q}$"), "expression", ("token",)),
    (re.compile(rf"^unexpected char {_Q} at \d+$"), "char", ("text",)),
    (re.compile(r"^unexpected '(.+)', expected '(.+)'$"), "bracket", ("text", "expected")),
    (re.compile(r"^tag name expected$"), "tag_name", ()),
    (re.compile(r"^Missing end of comment tag$"), "comment", ()),
    (re.compile(rf"^unexpected {_Q}$"), "unexpected", ("token",)),
)
_TEXTS = {
    "eof_expected": gettext_noop(
        "Error in the template, line %(line)s: the template ends too early, %(token)s expected."),
    "unclosed": gettext_noop("Error in the template, line %(line)s: the '%(block)s' block is not closed."),
    "eof": gettext_noop("Error in the template, line %(line)s: the template ends too early."),
    "misplaced": gettext_noop(
        "Error in the template, line %(line)s: '%(tag)s' is out of place: the '%(block)s' block is not closed yet."),
    "stray_end": gettext_noop("Error in the template, line %(line)s: '%(tag)s' closes no open block."),
    "unknown_tag": gettext_noop("Error in the template, line %(line)s: unknown tag '%(tag)s'."),
    "expected": gettext_noop(
        "Error in the template, line %(line)s: %(token_expected)s expected, got %(token_got)s."),
    "expression": gettext_noop("Error in the template, line %(line)s: an expression expected, got %(token)s."),
    "char": gettext_noop("Error in the template, line %(line)s: unexpected character '%(text)s'."),
    "bracket": gettext_noop("Error in the template, line %(line)s: unexpected '%(text)s', '%(expected)s' expected."),
    "tag_name": gettext_noop("Error in the template, line %(line)s: a tag name expected after '{%%'."),
    "comment": gettext_noop("Error in the template, line %(line)s: the comment is not closed with '#}'."),
    "unexpected": gettext_noop("Error in the template, line %(line)s: unexpected %(token)s."),
    "other": gettext_noop("Error in the template, line %(line)s: %(detail)s"),
}


def _unquoted(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text


def jinja_syntax(message: str, line: int) -> tuple[str, dict[str, Any]]:
    """Jinja's syntax error ``message`` at ``line``: the English text (a catalogue msgid) that says it
    with its line and what is wrong, and its parameters."""
    for pattern, kind, names in _KINDS:
        match = pattern.search(message)
        if match is not None:
            params: dict[str, Any] = {"line": line, **dict(zip(names, match.groups(), strict=True))}
            if kind == "char":
                params["text"] = _unquoted(params["text"])
            return _TEXTS[kind], params
    return _TEXTS["other"], {"line": line, "detail": message}


# Jinja's descriptions of tokens, quoted as in its messages: Russian shows what the operator types.
_TOKENS = {
    "begin of print statement": pgettext_lazy("template token", "'begin of print statement'"),
    "end of print statement": pgettext_lazy("template token", "'end of print statement'"),
    "begin of statement block": pgettext_lazy("template token", "'begin of statement block'"),
    "end of statement block": pgettext_lazy("template token", "'end of statement block'"),
    "begin of comment": pgettext_lazy("template token", "'begin of comment'"),
    "end of comment": pgettext_lazy("template token", "'end of comment'"),
    "end of template": pgettext_lazy("template token", "'end of template'"),
    "template data / text": pgettext_lazy("template token", "'template data / text'"),
    "name": pgettext_lazy("template token", "'name'"),
    "string": pgettext_lazy("template token", "'string'"),
    "integer": pgettext_lazy("template token", "'integer'"),
    "float": pgettext_lazy("template token", "'float'"),
}


def token_shown(value: str) -> str:
    """A token as Jinja quotes it (``'end of print statement'``, ``')'``) in the active language."""
    described = _unquoted(value)
    known = _TOKENS.get(described)
    if known is not None:
        return str(known)
    return pgettext("template token", "'%(token)s'") % {"token": described}


def jinja_told(message: str, line: int) -> str:
    """Jinja's syntax error ``message`` at ``line`` in the active language."""
    msgid, params = jinja_syntax(message, line)
    return gettext(msgid) % {k: token_shown(v) if k.startswith("token") else v for k, v in params.items()}
