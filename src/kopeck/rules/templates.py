"""Text templates of rule actions (notification subject and body, a field's new value): Jinja2 in an
immutable sandbox with ``StrictUndefined`` and no loader (no ``include``/``import``/``extends``),
over plain data only — ``event``, ``client``, ``subscription``, ``vars`` (the documents' variables) and
``now``. Saving a rule checks the syntax, that no other name is used and that no attribute starting
with ``_`` is reached; the sandbox refuses the same again when rendering."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any, Final

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

from kopeck.rules.said import Said
from kopeck.rules.syntax import template_syntax_error

CONTEXT: Final = frozenset({"event", "client", "subscription", "vars", "now"})
ALLOWED_GLOBALS: Final = frozenset({"range", "loop", "namespace"})
MAX_LENGTH: Final = 20_000


class TemplateProblem(ValueError):
    pass


@functools.cache
def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
    return env


def template_problems(source: object) -> list[str]:
    """What is wrong with ``source`` (empty: usable): each a :class:`Said` — English text that keeps its
    msgid and parameters, told in the active language where a rule is refused
    (:func:`kopeck.rules.said.told`) and logged as it is when a saved template fails to render. A syntax
    error is said by :func:`kopeck.rules.syntax.template_syntax_error` (line and what is wrong)."""
    if not isinstance(source, str):
        return [Said("Enter text.")]
    if len(source) > MAX_LENGTH:
        return [Said("At most 20 000 characters.")]
    env = _environment()
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        return [template_syntax_error(exc.message or "", exc.lineno)]
    except TemplateError as exc:
        return [Said("Template syntax error: %(detail)s", detail=str(exc))]
    problems: list[str] = []
    for stmt in ast.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
        problems.append(Said("Line %(line)s: include, import and extends are not available.", line=stmt.lineno))
    for attr in ast.find_all(nodes.Getattr):
        if attr.attr.startswith("_"):
            problems.append(Said("Line %(line)s: attributes starting with '_' are not allowed.", line=attr.lineno))
    for item in ast.find_all(nodes.Getitem):
        if isinstance(item.arg, nodes.Const) and isinstance(item.arg.value, str) and item.arg.value.startswith("_"):
            problems.append(Said("Line %(line)s: keys starting with '_' are not allowed.", line=item.lineno))
    from jinja2 import meta

    unknown = sorted(meta.find_undeclared_variables(ast) - CONTEXT - ALLOWED_GLOBALS)
    if unknown:
        problems.append(Said("Unknown name '%(name)s': use event, client, subscription, vars or now.",
                             name=unknown[0]))
    return problems


@functools.lru_cache(maxsize=2048)
def _compiled(source: str) -> Any:
    """The checked and compiled template of ``source`` (compiled once per process)."""
    problems = template_problems(source)
    if problems:
        raise TemplateProblem("; ".join(problems))
    return _environment().from_string(source)


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render ``source`` against the plain ``context``; raises TemplateProblem with the reason."""
    template = _compiled(source)
    try:
        return str(template.render(dict(context)))
    except Exception as exc:  # StrictUndefined, the sandbox's SecurityError, a filter's error
        raise TemplateProblem(f"The template cannot be filled: {exc}") from None
