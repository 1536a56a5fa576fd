"""Syntax errors of a rule's condition (CEL) and of its templates (Jinja), said by Kopeck.

The CEL parser and Jinja word their syntax errors in English. Here the common ones are read apart —
where (line, column), what kind of mistake, the offending fragment — and said as a :class:`Said`
(language-neutral: English text that keeps its msgid and parameters), so a Russian operator reads
«Ошибка в условии, строка 1, позиция 7: неожиданный символ «&».» An error of a kind not recognised
keeps the parser's own English text after the translated framing. Templates: see
:mod:`kopeck.common.jinja_syntax` (Jinja's names of tokens are parameters named ``token…``, which
:func:`kopeck.rules.said.say` shows as the operator types them, «}}»)."""

from __future__ import annotations

import re

from kopeck.common.jinja_syntax import jinja_syntax
from kopeck.rules.said import Said

# ERROR: <input>:1:17: Syntax error: mismatched input '<EOF>' expecting {…} | source line | ....^
_CEL_ERROR = re.compile(r"ERROR: <input>:(\d+):(\d+): Syntax error: (.*?)(?: \| |$)")
_CEL_KINDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"token recognition error at: '(.*)'$"), "token"),
    (re.compile(r"mismatched input '<EOF>' expecting"), "eof"),
    (re.compile(r"extraneous input '(.*)' expecting <EOF>$"), "trailing"),
    (re.compile(r"(?:mismatched|extraneous) input '(.*)' expecting"), "unexpected"),
    (re.compile(r"missing '?(.*?)'? at '(.*)'$"), "missing"),
    (re.compile(r"no viable alternative at input '(.*)'$"), "unreadable"),
)


def condition_syntax_error(message: str, source: str) -> Said:
    """The CEL parser's ``message`` about ``source`` (the condition as typed; the parser was given it
    stripped) said with its line, column and fragment; its first error only (the rest follow from it)."""
    found = _CEL_ERROR.search(" ".join(message.split()))
    if found is None:
        return Said("Syntax error: %(detail)s", detail=" ".join(message.split()))
    line, column, detail = int(found.group(1)), int(found.group(2)), found.group(3).strip()
    lead = source[:len(source) - len(source.lstrip())]
    if line == 1:
        column += len(lead) - (lead.rfind("\n") + 1)
    line += lead.count("\n")
    at = {"line": line, "column": column}
    for pattern, kind in _CEL_KINDS:
        match = pattern.search(detail)
        if match is None:
            continue
        if kind == "token":
            text = match.group(1).strip() or match.group(1)
            if len(text) == 1:
                return Said("Error in the condition, line %(line)s, column %(column)s: unexpected character "
                            "'%(text)s'.", **at, text=text)
            return Said("Error in the condition, line %(line)s, column %(column)s: cannot read '%(text)s'.",
                        **at, text=text)
        if kind == "eof":
            return Said("Error in the condition, line %(line)s, column %(column)s: the condition ends too early.",
                        **at)
        if kind == "trailing":
            return Said("Error in the condition, line %(line)s, column %(column)s: '%(text)s' after the end of "
                        "the condition.", **at, text=match.group(1))
        if kind == "unexpected":
            return Said("Error in the condition, line %(line)s, column %(column)s: unexpected '%(text)s'.",
                        **at, text=match.group(1))
        if kind == "missing":
            return Said("Error in the condition, line %(line)s, column %(column)s: '%(missing)s' is missing "
                        "before '%(text)s'.", **at, missing=match.group(1), text=match.group(2))
        return Said("Error in the condition, line %(line)s, column %(column)s: cannot read '%(text)s'.",
                    **at, text=match.group(1))
    return Said("Error in the condition, line %(line)s, column %(column)s: %(detail)s", **at, detail=detail)


def template_syntax_error(message: str, line: int) -> Said:
    """Jinja's syntax error ``message`` at ``line`` said with its line and what is wrong
    (:func:`kopeck.common.jinja_syntax.jinja_syntax`)."""
    msgid, params = jinja_syntax(message, line)
    return Said(msgid, **params)
