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
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import cel

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


class ConditionError(ValueError):
    """A condition that cannot be used; the message says why (in English, shown to the operator)."""


@dataclass(frozen=True, slots=True)
class Condition:
    """A compiled condition; ``source`` empty means "always"."""

    source: str
    program: Any

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
            raise ConditionError(f"The condition gave {type(result).__name__} {result!r}, not true or false.")
        return result


def _runtime_message(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"No field {exc.args[0]!r} in the data (test for it with has(…) first)."
    text = str(exc).split(". ")[0].strip()
    return f"{type(exc).__name__}: {text}"


def compile_condition(source: str) -> Condition:
    """Compile ``source`` once, or raise :class:`ConditionError` with the reason."""
    if not isinstance(source, str):
        raise ConditionError("The condition must be text.")
    text = source.strip()
    if not text:
        return Condition("", None)
    if len(text) > MAX_LENGTH:
        raise ConditionError(f"The condition is too long (at most {MAX_LENGTH} characters).")
    try:
        program = cel.compile(text)
    except Exception as exc:
        detail = " ".join(str(exc).split())
        raise ConditionError(f"Syntax error: {detail}") from None
    code = STRING_LITERAL.sub('""', text)
    bound = set(MACRO_VARIABLE.findall(code))
    unknown_names = sorted(set(program.variables()) - VARIABLES - bound)
    if unknown_names:
        raise ConditionError(f"Unknown name {unknown_names[0]!r}: a condition can use only "
                             f"{', '.join(sorted(VARIABLES))}.")
    unknown_functions = sorted(set(program.functions()) - FUNCTIONS)
    if unknown_functions:
        raise ConditionError(f"Unknown function {unknown_functions[0]!r}: a condition can call only the CEL "
                             f"standard functions (size, contains, startsWith, endsWith, matches, int, double, "
                             f"string, timestamp, duration, …).")
    internal = UNDERSCORE_NAME.search(code)
    if internal:
        raise ConditionError(f"Names starting with '_' are not allowed ({internal.group(0)!r}): a condition "
                             f"reads the data it is given, nothing else.")
    return Condition(text, program)


def context(variables: Mapping[str, Any]) -> Any:
    """The evaluation context of one event, built once and shared by every rule's condition."""
    return cel.Context(variables=dict(variables))
