"""HTML of documents: Jinja2 in an immutable sandbox.

* The environment is :class:`jinja2.sandbox.ImmutableSandboxedEnvironment` with autoescape on and
  ``StrictUndefined``; its only loader is a ``DictLoader`` with Kopeck's own base templates
  (``base.html``, ``macros.html``) — there is no filesystem loader, so ``include`` / ``import`` /
  ``extends`` reach nothing else.
* The context is plain data only (dicts, lists, strings, numbers as strings, booleans): the frozen
  ``data`` of a document, never a model instance, never settings.
* Saving an operator template validates it (:func:`template_problems`): the syntax; no names outside
  the context; no attribute starting with ``_`` nor known internals (``mro``, ``__subclasses__``,
  ``__globals__``…); only the base templates may be included or imported; and it must render against
  sample data. At render time the sandbox refuses the same things again.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import functools
import re
import time
from collections.abc import Mapping
from decimal import Decimal
from importlib import resources
from typing import Any, Final

from django.conf import settings
from django.utils.translation import gettext as _
from jinja2 import DictLoader, StrictUndefined, TemplateError, TemplateSyntaxError, nodes, pass_context
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, markup_join
from jinja2.sandbox import ImmutableSandboxedEnvironment
from markupsafe import Markup, escape

from kopeck.common.jinja_syntax import jinja_told
from kopeck.core.documents import format_amount
from kopeck.documents.models import DocumentType, TemplateForm

FORM_OF_TYPE: Final[dict[str, str]] = {
    DocumentType.INVOICE: TemplateForm.INVOICE,
    DocumentType.ACT: TemplateForm.ACT,
    DocumentType.INVOICE_FACTURA: TemplateForm.INVOICE_FACTURA,
    DocumentType.ADVANCE_INVOICE_FACTURA: TemplateForm.INVOICE_FACTURA,
    DocumentType.CORRECTIVE_INVOICE_FACTURA: TemplateForm.CORRECTIVE_INVOICE_FACTURA,
    DocumentType.UPD: TemplateForm.UPD,
    DocumentType.RECONCILIATION: TemplateForm.RECONCILIATION,
    # a corrected document is printed on the form of the document it corrects (see form_of)
}
BASE_TEMPLATES: Final = ("base.html", "macros.html")
CONTEXT_KEYS: Final = frozenset({"document", "provider", "client", "lines", "totals", "amount_in_words", "vars",
                                 "reconciliation", "correction", "prices_include_vat"})
ALLOWED_GLOBALS: Final = frozenset({"range", "dict", "namespace", "loop", "caller", "varargs", "kwargs",
                                    "__kopeck_loop__", "__kopeck_concat__"})
FORBIDDEN_ATTRS: Final = frozenset({
    "mro", "func_globals", "func_code", "f_globals", "f_locals", "f_back", "f_builtins", "gi_frame", "gi_code",
    "cr_frame", "cr_code", "ag_frame", "ag_code", "tb_frame", "tb_next", "im_func", "im_self", "im_class",
    "environment", "globals", "module", "blocks", "root_render_func", "new_context", "make_module",
    "format", "format_map", "load", "loader",
})


class TemplateRefused(ValueError):
    """An operator template that may not be used; ``problems`` say why (one line each)."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _read(name: str) -> str:
    return resources.files("kopeck.documents").joinpath("default_templates", name).read_text(encoding="utf-8")


@functools.cache
def default_source(form: str, language: str) -> str:
    """The shipped default template of ``form`` in ``language``."""
    return _read(f"{form}.{language}.html")


MONTHS_RU: Final = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
                    "октября", "ноября", "декабря")
MONTHS_EN: Final = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                    "October", "November", "December")


def _date(value: object) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and value:
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def filter_date(value: object) -> str:
    """"2026-11-25" → "25.11.2026" (empty when not a date)."""
    day = _date(value)
    return day.strftime("%d.%m.%Y") if day else ""


def filter_date_text(value: object, language: str = "ru") -> str:
    """"2026-11-25" → "25 ноября 2026 г." / "25 November 2026"."""
    day = _date(value)
    if day is None:
        return ""
    if language.startswith("en"):
        return f"{day.day} {MONTHS_EN[day.month - 1]} {day.year}"
    return f"{day.day:02d} {MONTHS_RU[day.month - 1]} {day.year} г."


def filter_money(value: object, language: str = "ru") -> str:
    """"1234.5" → "1 234,50" (ru) / "1,234.50" (en)."""
    if value in (None, ""):
        return ""
    try:
        return format_amount(Decimal(str(value)), language)
    except ArithmeticError:
        return str(value)


def _language(ctx: Context) -> str:
    document = ctx.get("document")
    language = document.get("language") if isinstance(document, dict) else None
    return language if isinstance(language, str) else "ru"


LONG_NAME: Final = 30
"""A signed name longer than this is printed smaller, so that it fits on its line unbroken."""


def filter_signature(name: object, slashes: bool = True) -> Markup:
    """A signed name as a signature line prints it: ``/ Иванов И. И. /`` (or without the slashes),
    never broken across lines; a long one in a smaller size."""
    text = "" if name is None else str(name)
    body = Markup("/ {} /").format(text) if slashes else escape(text)
    return Markup('<span class="{}">{}</span>').format("sig long" if len(text) > LONG_NAME else "sig", body)


@pass_context
def _money(ctx: Context, value: object) -> str:
    return filter_money(value, _language(ctx))


@pass_context
def _date_text(ctx: Context, value: object) -> str:
    return filter_date_text(value, _language(ctx))


# -- bounds: every render (previews and real documents) gets a budget ---------------------------------


class RenderBudget:
    """What one render may spend: wall time, loop iterations, output and intermediate size, integer
    size (``settings.KOPECK_TEMPLATE_*``). Checked by the guarded loops, operators and output."""

    def __init__(self) -> None:
        self.deadline = time.monotonic() + float(settings.KOPECK_TEMPLATE_MAX_SECONDS)
        self.iterations = int(settings.KOPECK_TEMPLATE_MAX_ITERATIONS)
        self.max_size = int(settings.KOPECK_TEMPLATE_MAX_OUTPUT)
        self.max_int_bits = int(int(settings.KOPECK_TEMPLATE_MAX_INT_DIGITS) * 3.33) + 1

    def tick(self, n: int = 1) -> None:
        self.iterations -= n
        if self.iterations < 0:
            raise SecurityError(_("the template loops more than %(count)s times")
                                % {"count": settings.KOPECK_TEMPLATE_MAX_ITERATIONS})
        if self.iterations % 256 == 0:
            self.time()

    def time(self) -> None:
        if time.monotonic() > self.deadline:
            raise SecurityError(_("the template takes longer than %(count)s seconds")
                                % {"count": settings.KOPECK_TEMPLATE_MAX_SECONDS})

    def size(self, length: int) -> None:
        if length > self.max_size:
            raise SecurityError(_("the template makes a text longer than %(count)s characters") % {"count": self.max_size})

    def integer(self, value: int) -> None:
        if value.bit_length() > self.max_int_bits:
            raise SecurityError(_("the template makes a number of more than %(count)s digits")
                                % {"count": settings.KOPECK_TEMPLATE_MAX_INT_DIGITS})


_budget: contextvars.ContextVar[RenderBudget | None] = contextvars.ContextVar("kopeck_render_budget", default=None)


def _current() -> RenderBudget:
    budget = _budget.get()
    if budget is None:  # rendering outside _render (e.g. a test's own call): a fresh budget
        budget = RenderBudget()
        _budget.set(budget)
    return budget


def _guarded_loop(iterable: Any) -> Any:
    budget = _current()
    for item in iterable:
        budget.tick()
        yield item


def _guarded_concat(*parts: Any) -> Any:
    budget = _current()
    budget.size(sum(len(str(p)) for p in parts))
    budget.time()
    return markup_join(parts)


_WIDTH = re.compile(r"%[-+ #0]*(\d+|\*)?(?:\.(\d+|\*))?")


def _check_format(fmt: str, budget: RenderBudget) -> None:
    for width, precision in _WIDTH.findall(fmt):
        if "*" in (width, precision) or len(width) > 4 or len(precision) > 4:
            raise SecurityError(_("a format width or precision over 9999 is not allowed in a template"))


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The document sandbox with bounds: ``*``, ``**``, ``+`` and ``%`` are checked before they
    run (sizes of texts and lists, sizes of integers, format widths); every ``for`` loop counts its
    iterations and ``~`` its result against the render's budget (the template's syntax tree is
    rewritten for that before compiling)."""

    intercepted_binops = frozenset({"*", "**", "+", "%", "//", "/"})

    def call_binop(self, context: Context, operator_: str, left: Any, right: Any) -> Any:
        budget = _current()
        budget.time()
        if operator_ == "**":
            if isinstance(left, int) and isinstance(right, int) and abs(left) > 1 and (
                    right > budget.max_int_bits or abs(left).bit_length() * max(right, 0) > budget.max_int_bits):
                raise SecurityError(_("the template makes a number of more than %(count)s digits")
                                    % {"count": settings.KOPECK_TEMPLATE_MAX_INT_DIGITS})
        elif operator_ == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(n, int):
                    budget.size(len(seq) * max(n, 0))
            if isinstance(left, int) and isinstance(right, int) and (
                    abs(left).bit_length() + abs(right).bit_length() > budget.max_int_bits):
                raise SecurityError(_("the template makes a number of more than %(count)s digits")
                                    % {"count": settings.KOPECK_TEMPLATE_MAX_INT_DIGITS})
        elif operator_ == "+" and isinstance(left, str | list | tuple) and hasattr(right, "__len__"):
            budget.size(len(left) + len(right))
        elif operator_ == "%" and isinstance(left, str):
            _check_format(left, budget)
        result = super().call_binop(context, operator_, left, right)
        if isinstance(result, int) and not isinstance(result, bool):
            budget.integer(result)
        return result

    def call(self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        _current().time()
        return super().call(__context, __obj, *args, **kwargs)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        return _bound_tree(super()._parse(source, name, filename))


def _bound_tree(tree: nodes.Template) -> nodes.Template:
    """Wrap every loop's iterable in the counting guard and every ``~`` in the size guard."""
    for loop in tree.find_all(nodes.For):
        loop.iter = nodes.Call(nodes.Name("__kopeck_loop__", "load"), [loop.iter], [], None, None,
                               lineno=loop.lineno)
    for parent in list(tree.find_all(nodes.Node)):
        for field_name, value in parent.iter_fields():
            if isinstance(value, nodes.Concat):
                setattr(parent, field_name, _concat_call(value))
            elif isinstance(value, list):
                for i, child in enumerate(value):
                    if isinstance(child, nodes.Concat):
                        value[i] = _concat_call(child)
    return tree


def _concat_call(node: nodes.Concat) -> nodes.Call:
    return nodes.Call(nodes.Name("__kopeck_concat__", "load"), list(node.nodes), [], None, None, lineno=node.lineno)


def _bounded_filter(name: str, func: Any) -> Any:
    """A filter whose arguments can grow its output (``center``, ``indent``, ``format``, ``replace``,
    ``wordwrap``, ``truncate``): the output size is checked before it is made."""

    def check(value: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _current()
        budget.time()
        text = str(value)
        if name == "format":
            _check_format(text, budget)
        elif name == "replace" and len(args) >= 2:
            old, new = str(args[0]), str(args[1])
            growth = max(len(new) - len(old), 0) * (text.count(old) if old else len(text) + 1)
            budget.size(len(text) + growth)
        else:
            sizes = [a for a in (*args, *kwargs.values()) if isinstance(a, int) and not isinstance(a, bool)]
            budget.size(len(text) * (1 + text.count("\n")) + sum(max(s, 0) for s in sizes))
        return func(value, *args, **kwargs)

    functools.update_wrapper(check, func)
    return check


@functools.cache
def environment() -> ImmutableSandboxedEnvironment:
    env = BoundedEnvironment(
        loader=DictLoader({name: _read(name) for name in BASE_TEMPLATES}),
        autoescape=True, undefined=StrictUndefined, auto_reload=False, cache_size=200,
    )
    for name in ("lipsum", "cycler", "joiner"):
        env.globals.pop(name, None)
    env.globals["__kopeck_loop__"] = _guarded_loop
    env.globals["__kopeck_concat__"] = _guarded_concat
    for name in ("center", "indent", "format", "replace", "wordwrap", "truncate"):
        if name in env.filters:
            env.filters[name] = _bounded_filter(name, env.filters[name])
    env.filters["money"] = _money
    env.filters["date"] = filter_date
    env.filters["date_text"] = _date_text
    env.filters["signature"] = filter_signature
    return env


def _plain(value: Any, path: str = "context") -> Any:
    """A deep copy of ``value`` made of plain data only; anything else is a programming error."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _plain(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise TypeError(f"{path}: only plain data may reach a template, not {type(value).__name__}")


def template_name_problems(ast: nodes.Template) -> list[str]:
    problems = []
    for node in ast.find_all((nodes.Include, nodes.Import, nodes.FromImport, nodes.Extends)):
        target = getattr(node, "template", None)
        names = []
        if isinstance(target, nodes.Const):
            names = [target.value]
        elif isinstance(target, (nodes.List, nodes.Tuple)) and all(isinstance(i, nodes.Const) for i in target.items):
            names = [i.value for i in target.items]  # type: ignore[attr-defined]
        else:
            problems.append(_("line %(line)d: only the base templates (%(names)s) may be included, imported or "
                              "extended, by their literal name") % {"line": node.lineno, "names": ", ".join(BASE_TEMPLATES)})
            continue
        for name in names:
            if name not in BASE_TEMPLATES:
                problems.append(_("line %(line)d: unknown template %(name)r; only %(names)s may be included, imported "
                                  "or extended") % {"line": node.lineno, "name": name, "names": ", ".join(BASE_TEMPLATES)})
    return problems


def _attr_problem(name: object, lineno: int) -> str | None:
    if not isinstance(name, str):
        return None
    if name.startswith("_"):
        return _("line %(line)d: %(name)r — object internals (names starting with '_') are not accessible") % {
            "line": lineno, "name": name}
    if name in FORBIDDEN_ATTRS:
        return _("line %(line)d: %(name)r is not accessible in a document template") % {"line": lineno, "name": name}
    return None


def template_problems(source: str, sample: Mapping[str, Any]) -> list[str]:
    """Why ``source`` cannot be an operator template (empty: it can). Renders it with ``sample``."""
    env = environment()
    if len(source) > int(settings.KOPECK_TEMPLATE_MAX_SOURCE):
        return [_("the template is longer than %(count)s characters") % {"count": settings.KOPECK_TEMPLATE_MAX_SOURCE}]
    if "__kopeck" in source:
        return [_("names starting with __kopeck are reserved")]
    try:
        ast = env.parse(source)
    except TemplateSyntaxError as exc:
        return [jinja_told(exc.message or "", exc.lineno)]
    problems = template_name_problems(ast)
    from jinja2 import meta

    bound = {n.name for n in ast.find_all(nodes.Name) if n.ctx in ("store", "param")}
    bound |= {n.target for n in ast.find_all(nodes.Import)}
    bound |= {name if isinstance(name, str) else name[1] for n in ast.find_all(nodes.FromImport) for name in n.names}
    bound |= {n.name for n in ast.find_all(nodes.Macro)}
    unknown = sorted(meta.find_undeclared_variables(ast) - CONTEXT_KEYS - ALLOWED_GLOBALS - bound)
    for name in unknown:
        problems.append(_("%(name)r is not available to templates; use: %(names)s")
                        % {"name": name, "names": ", ".join(sorted(CONTEXT_KEYS))})
    for node in ast.find_all((nodes.Getattr, nodes.Getitem)):
        arg = getattr(node, "arg", None)
        key = getattr(node, "attr", None) if isinstance(node, nodes.Getattr) else (
            arg.value if isinstance(arg, nodes.Const) else None)
        problem = _attr_problem(key, node.lineno)
        if problem:
            problems.append(problem)
    if problems:
        return problems
    try:
        _render(env.from_string(source), _plain(sample))
    except SecurityError as exc:
        return [_("refused by the sandbox: %(problem)s") % {"problem": exc}]
    except Exception as exc:  # a TemplateError, or anything a template may raise (e.g. a division by zero)
        return [_("does not render with sample data: %(error)s: %(problem)s")
                % {"error": type(exc).__name__, "problem": exc}]
    return []


@functools.lru_cache(maxsize=64)
def _compiled(source: str) -> Any:
    return environment().from_string(source)


def render_source(source: str, context: Mapping[str, Any]) -> str:
    """Render a template source (already validated, or a default) with plain ``context``."""
    plain = _plain(context)  # anything else is a programming error: it raises TypeError as is
    try:
        return _render(_compiled(source), plain)
    except SecurityError as exc:
        raise TemplateRefused([f"refused by the sandbox: {exc}"]) from exc
    except TemplateError as exc:
        raise TemplateRefused([f"{type(exc).__name__}: {exc}"]) from exc
    except Exception as exc:  # a template may raise anything (a recursion, a division by zero)
        raise TemplateRefused([f"{type(exc).__name__}: {exc}"]) from exc


def _render(template: Any, context: Mapping[str, Any]) -> str:
    """Render under a fresh :class:`RenderBudget`: the output is collected piece by piece, its size
    and the time checked at each piece."""
    budget = RenderBudget()
    token = _budget.set(budget)
    try:
        parts: list[str] = []
        size = 0
        for piece in template.generate(context):
            size += len(piece)
            budget.size(size)
            budget.time()
            parts.append(piece)
        return "".join(parts)
    finally:
        _budget.reset(token)
