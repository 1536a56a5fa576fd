"""Rule conditions: CEL (Common Expression Language) — a small, non-Turing-complete expression
language with no loops, no assignment, no I/O and no access to the host: an expression sees only the
plain data it is given and the functions of the CEL standard library. Kopeck uses the
``common-expression-language`` package (Python bindings of the Rust ``cel`` interpreter): an
expression is parsed and compiled once (:func:`compile_condition`) and executed for each event in
about a microsecond.

Compilation refuses, besides syntax errors:

* a name other than the variables of the context (``event``, ``client``, ``subscription``, ``vars``,
  ``now``) — so nothing outside the data given can be named;
* a function outside the CEL standard functions listed in :data:`FUNCTIONS` — no Python callable is
  ever registered, so ``__import__('os')``, ``open('/etc/passwd')`` or ``http.get(…)`` cannot compile;
* a name or field starting with ``_`` (``event.__class__``): there is nothing behind such names but
  the refusal is explicit;
* an expression longer than :data:`MAX_LENGTH` characters.

A runtime error (a missing field, a type mismatch such as ``1 + 2.5``) makes the condition neither
true nor false: the rule does not run, and the execution log says why.

What a condition reads (:func:`reads`): the paths of the context it names (``client.fields.inn``,
``event.data.balance``), found once when it is compiled. The engine gives the interpreter only those
parts of the context (:func:`project`): the interpreter converts every value it is given and copies a
map each time a field of it is read, so a client with fifty fields read for one of them costs fifty
conversions per event. A path ends where the expression does something other than read a named field
(an index, a method, a macro, a comparison): from there the whole value is given, so the projection
holds everything the expression can reach; a missing field stays missing (``has()`` gives the same).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import cel

from kopeck.rules.said import Said
from kopeck.rules.syntax import condition_syntax_error

VARIABLES: Final = frozenset({"event", "client", "subscription", "vars", "now"})
OPERATORS: Final = frozenset({
    "_&&_", "_||_", "!_", "-_", "_==_", "_!=_", "_<_", "_<=_", "_>_", "_>=_", "_+_", "_-_", "_*_", "_/_", "_%_",
    "_[_]", "_?_:_", "@in", "@not_strictly_false",
})
FUNCTIONS: Final = OPERATORS | frozenset({
    "size", "contains", "startsWith", "endsWith", "matches", "int", "uint", "double", "string", "bytes",
    "duration", "timestamp", "type", "dyn", "getFullYear", "getMonth", "getDayOfMonth", "getDate",
    "getDayOfWeek", "getDayOfYear", "getHours", "getMinutes", "getSeconds", "getMilliseconds",
})
MAX_LENGTH: Final = 4000
MACRO_VARIABLE = re.compile(r"\.\s*(?:all|exists|exists_one|map|filter)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*,")
STRING_LITERAL = re.compile(r"""[rR]?[bB]?("{3}[\s\S]*?"{3}|'{3}[\s\S]*?'{3}|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')""")
UNDERSCORE_NAME = re.compile(r"(?<![A-Za-z0-9_])_[A-Za-z0-9_]*")


# a path tree: True = the whole value; a dict = only these fields (each a path tree)
Reads = dict[str, "Reads | bool"]
WHOLE: Final = True


class ConditionError(ValueError):
    """A condition that cannot be used; the message says why (in English, shown to the operator)."""


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled condition; ``source`` empty means "always"."""

    source: str
    program: Any
    reads: Reads = field(default_factory=dict)

    def evaluate(self, context: Any) -> bool:
        """True or False; raises :class:`ConditionError` when the expression fails on this data or
        does not give a boolean."""
        if self.program is None:
            return True
        try:
            result = self.program.execute(context)
        except Exception as exc:  # the interpreter's errors: KeyError, TypeError, RuntimeError, …
            raise ConditionError(_runtime_message(exc)) from None
        if not isinstance(result, bool):
            raise ConditionError(Said("The condition gave %(value)s, not true or false.",
                                      value=f"{type(result).__name__} {result!r}"))
        return result


def _runtime_message(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return Said("No field '%(field)s' in the data (test for it with has(…) first).", field=exc.args[0])
    text = str(exc).split(". ")[0].strip()
    return Said("The condition cannot be evaluated on this data: %(detail)s", detail=f"{type(exc).__name__}: {text}")


_TOKEN = re.compile(r"""
    (?P<space>\s+|//[^\n]*)
  | (?P<raw>(?:[rR][bB]?|[bB][rR])(?:"{3}[\s\S]*?"{3}|'{3}[\s\S]*?'{3}|"[^"\n]*"|'[^'\n]*'))
  | (?P<string>[bB]?(?:"{3}(?:\\[\s\S]|[^\\])*?"{3}|'{3}(?:\\[\s\S]|[^\\])*?'{3}|"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*'))
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<number>[0-9][0-9A-Za-z]*(?:\.[0-9][0-9A-Za-z+-]*)?)
  | (?P<other>.)
""", re.VERBOSE)


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or "other"
        if kind != "space":
            out.append((kind, match.group(0)))
    return out


def merge_reads(a: Reads | bool, b: Reads | bool) -> Reads | bool:
    """The paths read by either."""
    if a is True or b is True:
        return True
    assert isinstance(a, dict) and isinstance(b, dict)
    merged: Reads = dict(a)
    for key, sub in b.items():
        merged[key] = merge_reads(merged[key], sub) if key in merged else sub
    return merged


def reads(source: str, program: Any = None) -> Reads:
    """The parts of the context ``source`` reads: ``{"client": {"fields": {"inn": True}}, "vars": True}``
    (True: the whole value). A variable name the scan cannot follow is read whole."""
    found: Reads = {}
    try:
        tokens = _tokens(source)
    except re.error:  # pragma: no cover - the pattern matches any text
        return dict.fromkeys(VARIABLES, WHOLE)
    for n, (kind, text) in enumerate(tokens):
        if kind != "name" or text not in VARIABLES or (n > 0 and tokens[n - 1] == ("other", ".")):
            continue
        path = [text]
        i = n + 1
        while (i + 1 < len(tokens) and tokens[i] == ("other", ".") and tokens[i + 1][0] == "name"
               and not (i + 2 < len(tokens) and tokens[i + 2] == ("other", "("))):
            path.append(tokens[i + 1][1])
            i += 2
        tree: Reads | bool = True
        for name in reversed(path[1:]):
            tree = {name: tree}
        found = merge_reads(found, {path[0]: tree})  # type: ignore[assignment]
    if program is not None:  # the interpreter's own list of the names: what the scan missed is read whole
        for name in set(program.variables()) & VARIABLES - found.keys():
            found[name] = WHOLE
    return found


def project(value: Any, tree: Reads | bool) -> Any:
    """``value`` reduced to the paths of ``tree`` (what a condition reads); the rest left out."""
    if not isinstance(tree, dict) or not isinstance(value, Mapping):
        return value
    return {key: project(value[key], sub) for key, sub in tree.items() if key in value}


def compile_condition(source: str) -> Condition:
    """Compile ``source`` once, or raise :class:`ConditionError` with the reason."""
    if not isinstance(source, str):
        raise ConditionError(Said("The condition must be text."))
    text = source.strip()
    if not text:
        return Condition("", None)
    if len(text) > MAX_LENGTH:
        raise ConditionError(Said("The condition is too long (at most %(count)s characters).", count=MAX_LENGTH))
    try:
        program = cel.compile(text)
    except Exception as exc:
        raise ConditionError(condition_syntax_error(str(exc), source)) from None
    code = STRING_LITERAL.sub('""', text)
    bound = set(MACRO_VARIABLE.findall(code))
    unknown_names = sorted(set(program.variables()) - VARIABLES - bound)
    if unknown_names:
        raise ConditionError(Said("Unknown name '%(name)s': a condition can use only %(names)s.",
                                  name=unknown_names[0], names=", ".join(sorted(VARIABLES))))
    unknown_functions = sorted(set(program.functions()) - FUNCTIONS)
    if unknown_functions:
        raise ConditionError(Said("Unknown function '%(name)s': a condition can call only the CEL standard functions "
                                  "(size, contains, startsWith, endsWith, matches, int, double, string, timestamp, "
                                  "duration, …).", name=unknown_functions[0]))
    internal = UNDERSCORE_NAME.search(code)
    if internal:
        raise ConditionError(Said("Names starting with '_' are not allowed ('%(name)s'): a condition reads the data it "
                                  "is given, nothing else.", name=internal.group(0)))
    return Condition(text, program, reads(text, program))


def context(variables: Mapping[str, Any]) -> Any:
    """The evaluation context of one event, built once and shared by every rule's condition."""
    return cel.Context(variables=dict(variables))
