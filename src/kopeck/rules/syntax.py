"""Syntax errors of a rule's condition (CEL) and of its templates (Jinja), said by Kopeck.

The CEL parser and Jinja word their syntax errors in English. Here the common ones are read apart —
where (line, column), what kind of mistake, the offending fragment — and said as a :class:`Said`
(language-neutral: English text that keeps its msgid and parameters), so a Russian operator reads
«Ошибка в условии, строка 1, позиция 7: неожиданный символ «&».» An error of a kind not recognised
keeps the parser's own English text after the translated framing. Jinja's names of tokens ("end of
print statement") are parameters named ``token…``: :func:`kopeck.rules.said.say` shows them as the
operator types them («}}»)."""

from __future__ import annotations

import re

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


# Jinja's messages (jinja2.lexer, jinja2.parser); a token is quoted as Jinja quotes it ('name').
_Q = r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
_JINJA_KINDS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(rf"^unexpected end of template, expected {_Q}\.$"), "eof_expected"),
    (re.compile(r"^Unexpected end of template\..*The innermost block that needs to be closed is '(\w+)'\.$"),
     "unclosed"),
    (re.compile(r"^Unexpected end of template\."), "eof"),
    (re.compile(r"^Encountered unknown tag '(end\w+)'\..*The innermost block that needs to be closed is '(\w+)'\.$"),
     "misplaced"),
    (re.compile(r"^Encountered unknown tag '(end\w+)'\.$"), "stray_end"),
    (re.compile(r"^Encountered unknown tag '(\w+)'\."), "unknown_tag"),
    (re.compile(rf"^expected token {_Q}, got {_Q}$"), "expected"),
    (re.compile(rf"^Expected an expression, got {_Q}$"), "expression"),
    (re.compile(rf"^unexpected char {_Q} at \d+$"), "char"),
    (re.compile(r"^unexpected '(.+)', expected '(.+)'$"), "bracket"),
    (re.compile(r"^tag name expected$"), "tag_name"),
    (re.compile(r"^Missing end of comment tag$"), "comment"),
    (re.compile(rf"^unexpected {_Q}$"), "unexpected"),
)


def _unquoted(text: str) -> str:
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"" else text


def template_syntax_error(message: str, line: int) -> Said:
    """Jinja's syntax error ``message`` at ``line`` said with its line and what is wrong."""
    for pattern, kind in _JINJA_KINDS:
        match = pattern.search(message)
        if match is None:
            continue
        if kind == "eof_expected":
            return Said("Error in the template, line %(line)s: the template ends too early, %(token)s expected.",
                        line=line, token=match.group(1))
        if kind == "unclosed":
            return Said("Error in the template, line %(line)s: the '%(block)s' block is not closed.",
                        line=line, block=match.group(1))
        if kind == "eof":
            return Said("Error in the template, line %(line)s: the template ends too early.", line=line)
        if kind == "misplaced":
            return Said("Error in the template, line %(line)s: '%(tag)s' is out of place: the '%(block)s' block "
                        "is not closed yet.", line=line, tag=match.group(1), block=match.group(2))
        if kind == "stray_end":
            return Said("Error in the template, line %(line)s: '%(tag)s' closes no open block.", line=line,
                        tag=match.group(1))
        if kind == "unknown_tag":
            return Said("Error in the template, line %(line)s: unknown tag '%(tag)s'.", line=line,
                        tag=match.group(1))
        if kind == "expected":
            return Said("Error in the template, line %(line)s: %(token_expected)s expected, got %(token_got)s.",
                        line=line, token_expected=match.group(1), token_got=match.group(2))
        if kind == "expression":
            return Said("Error in the template, line %(line)s: an expression expected, got %(token)s.",
                        line=line, token=match.group(1))
        if kind == "char":
            return Said("Error in the template, line %(line)s: unexpected character '%(text)s'.", line=line,
                        text=_unquoted(match.group(1)))
        if kind == "bracket":
            return Said("Error in the template, line %(line)s: unexpected '%(text)s', '%(expected)s' expected.",
                        line=line, text=match.group(1), expected=match.group(2))
        if kind == "tag_name":
            return Said("Error in the template, line %(line)s: a tag name expected after '{%%'.", line=line)
        if kind == "comment":
            return Said("Error in the template, line %(line)s: the comment is not closed with '#}'.", line=line)
        return Said("Error in the template, line %(line)s: unexpected %(token)s.", line=line,
                    token=match.group(1))
    return Said("Error in the template, line %(line)s: %(detail)s", line=line, detail=message)
