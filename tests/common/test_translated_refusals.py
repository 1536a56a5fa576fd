"""Every refusal message is translatable: services pass a gettext call, never a bare literal.

The back office shows a refusal's message on its pages and the API returns it in the caller's language,
so a message written as a string literal or an f-string would reach a Russian operator in English. This
test parses the converted modules with ``ast`` and names every literal message it finds.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "kopeck"

# The modules whose refusals are translated.
CONVERTED = (
    "configuration/services.py",
    "configuration/admin.py",
    "configuration/api.py",
    "clients/services.py",
    "clients/fieldsets.py",
    "clients/admin.py",
    "clients/api.py",
    "catalog/services.py",
    "catalog/admin.py",
    "catalog/api.py",
    "catalog/preview.py",
    "catalog/preview_api.py",
    "subscriptions/services/*.py",
    "subscriptions/admin.py",
    "subscriptions/api.py",
    "ledger/services.py",
    "ledger/admin.py",
    "ledger/api.py",
    "billing/services/*.py",
    "billing/admin.py",
    "billing/api.py",
    "operators/services.py",
    "operators/admin.py",
    "operators/api.py",
    "outbox/services.py",
    "outbox/admin.py",
    "outbox/api.py",
    "credit/services/*.py",
    "credit/admin.py",
    "credit/api.py",
    "payments/services/*.py",
    "payments/statements/*.py",
    "payments/exchange/*.py",
    "payments/admin.py",
    "payments/api.py",
    "usage/services/*.py",
    "usage/admin.py",
    "usage/api.py",
    "documents/services/*.py",
    "documents/numbering.py",
    "documents/rendering.py",
    "documents/admin.py",
    "documents/api.py",
    "documents/variables_api.py",
    "common/*.py",
    "common/http/*.py",
    "cli/*.py",
    "cli/management/commands/*.py",
    "rules/services.py",
    "rules/actions.py",
    "rules/templates.py",
    "rules/admin.py",
    "rules/api.py",
    "events/services.py",
    "events/admin.py",
    "events/api.py",
    "webhooks/services.py",
    "webhooks/admin.py",
    "webhooks/api.py",
    "gateways/services.py",
    "gateways/api.py",
    "gateways/admin.py",
    "gateways/views.py",
    "gateways/handlers.py",
    "gateways/autopay.py",
    "gateways/crediting.py",
    "gateways/offsets.py",
    "gateways/receipts.py",
    "gateways/notifications.py",
    "gateways/tasks.py",
    "gateways/providers/*.py",
)
REFUSALS = {"ValidationFailed", "Conflict", "NotFound", "NotAllowed", "KopeckError", "CommandError",
            "GatewayUnavailable"}
GETTEXT = {"_", "gettext", "ngettext", "pgettext", "npgettext"}


def _modules() -> list[Path]:
    return sorted(p for pattern in CONVERTED for p in SRC.glob(pattern))


def _is_literal(node: ast.expr) -> bool:
    """A message written out instead of translated: "…", f"…", "…" % x, "…" + x, ["…"], "…" if c else "…"."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and node.value.strip() != ""
    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.BinOp):
        return _is_literal(node.left) or (isinstance(node.op, ast.Add) and _is_literal(node.right))
    if isinstance(node, ast.IfExp):
        return _is_literal(node.body) or _is_literal(node.orelse)
    if isinstance(node, ast.List | ast.Tuple):
        return any(_is_literal(e) for e in node.elts)
    if isinstance(node, ast.ListComp):
        return _is_literal(node.elt)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in {"join", "format"}:
        return _is_literal(node.func.value) or any(_is_literal(a) for a in node.args)
    return False


def _callee(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.attr == "field":
        return f"{func.value.id}.field"
    return ""


def _is_errors(target: ast.expr) -> bool:
    """``errors``, ``errors[...]``, ``problems`` and the like: a collection of per-field messages."""
    while isinstance(target, ast.Subscript | ast.Attribute):
        target = target.value
    return isinstance(target, ast.Name) and target.id.endswith(("errors", "problems"))


def _messages(args: list[ast.expr]) -> list[ast.expr]:
    """What an ``errors.append(…)`` adds that is a message: a ``(field, message, …)`` tuple's field name
    is a code, not a message (the usage intake's errors are such pairs)."""
    return [e for a in args for e in (a.elts[1:] if isinstance(a, ast.Tuple) and len(a.elts) > 1 else [a])]


def _errors_values(node: ast.expr) -> list[ast.expr]:
    """The messages of an errors mapping written in place: ``{"f": ["…"]}`` or ``{k: ["…"] for k in …}``."""
    if isinstance(node, ast.Dict):
        return [v for v in node.values if v is not None]
    if isinstance(node, ast.DictComp):
        return [node.value]
    return []


def offenders(source: str, name: str) -> list[str]:
    found = []

    def hit(node: ast.AST, why: str) -> None:
        found.append(f"{name}:{getattr(node, 'lineno', '?')} {why}")

    tree = ast.parse(source, name)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            callee = _callee(node)
            if callee in REFUSALS and node.args and _is_literal(node.args[0]):
                hit(node, f"{callee}() with a literal message")
            if callee == "ValidationFailed.field" and len(node.args) > 1 and _is_literal(node.args[1]):
                hit(node, "ValidationFailed.field() with a literal message")
            if callee in REFUSALS or callee == "ValidationFailed.field":
                for kw in node.keywords:
                    if kw.arg == "errors" and any(_is_literal(v) for v in _errors_values(kw.value)):
                        hit(node, f"{callee}(errors=...) with a literal message")
            if (isinstance(node.func, ast.Attribute) and node.func.attr in {"append", "extend", "setdefault"}
                    and _is_errors(node.func.value)
                    and any(_is_literal(a) for a in _messages(node.args[node.func.attr == "setdefault":]))):
                hit(node, f"{node.func.attr}() of a literal message into an errors list")
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if node.value is None or not any(_is_errors(t) for t in targets):
                continue
            direct = [t for t in targets if isinstance(t, ast.Subscript)]
            if direct and _is_literal(node.value):
                hit(node, "a literal message assigned into an errors list")
            if any(_is_literal(v) for v in _errors_values(node.value)):
                hit(node, "an errors mapping with a literal message")
    for func in ast.walk(tree):  # the mappings returned by the ``…_errors`` helpers
        if isinstance(func, ast.FunctionDef) and func.name.endswith("errors"):
            for node in ast.walk(func):
                if (isinstance(node, ast.Return) and node.value is not None
                        and any(_is_literal(v) for v in _errors_values(node.value))):
                    hit(node, "an errors mapping with a literal message returned")
    return found


def test_the_converted_modules_exist() -> None:
    missing = [p for p in CONVERTED if "*" not in p and not (SRC / p).exists()]
    globbed = [p for p in CONVERTED if "*" in p and not list(SRC.glob(p))]
    assert len(_modules()) >= 20
    assert globbed == []
    # an app without an admin.py or api.py is fine; a listed services module must exist
    assert [p for p in missing if "services" in p or p.endswith("fieldsets.py")] == []


def test_no_refusal_message_is_a_bare_literal() -> None:
    found = [hit for path in _modules() for hit in offenders(path.read_text(), str(path.relative_to(ROOT)))]
    assert found == []


@pytest.mark.parametrize(
    ("source", "why"),
    [
        ('raise ValidationFailed("Invalid input.")', "ValidationFailed() with a literal message"),
        ('raise Conflict(f"Run {n} is running.")', "Conflict() with a literal message"),
        ('raise NotFound("No such client %s." % pk)', "NotFound() with a literal message"),
        ('raise NotAllowed("No." + reason)', "NotAllowed() with a literal message"),
        ('raise CommandError(f"Client {pk} does not exist.")', "CommandError() with a literal message"),
        ('raise ValidationFailed.field("date", "Enter a date.")', "ValidationFailed.field() with a literal message"),
        ('raise ValidationFailed(_("Bad."), errors={"a": ["Required."]})',
         "ValidationFailed(errors=...) with a literal message"),
        ('errors["name"] = ["This field is required."]', "a literal message assigned into an errors list"),
        ('errors[f"tags.{i}"] = [f"At most {n} tags."]', "a literal message assigned into an errors list"),
        ('errors = {k: ["Unknown attribute."] for k in unknown}', "an errors mapping with a literal message"),
        ('problems.append(f"Not an e-mail address: {a!r}.")', "append() of a literal message into an errors list"),
        ('errors.append(("timestamp", "in the future"))', "append() of a literal message into an errors list"),
        ('errors.append((key, f"unknown field {key}"))', "append() of a literal message into an errors list"),
        ('def _length_errors(v): return {k: [f"At most {n} characters."] for k in v}',
         "an errors mapping with a literal message returned"),
    ],
)
def test_the_check_finds_a_literal_message(source: str, why: str) -> None:
    assert offenders(source, "m.py") == [f"m.py:1 {why}"]


@pytest.mark.parametrize(
    "source",
    [
        'raise ValidationFailed(_("Invalid input."))',
        'raise Conflict(_("Run %(id)s is running.") % {"id": n})',
        'raise ValidationFailed.field("date", _("Enter a date."))',
        'errors["name"] = [_("This field is required.")]',
        'errors["n"] = [ngettext("%(n)d tag.", "%(n)d tags.", n) % {"n": n}]',
        'errors = {k: [_("Unknown attribute.")] for k in unknown}',
        'raise ValidationFailed(_("Bad."), errors=errors)',
        'raise ValidationFailed(str(exc))',
        'errors.append(("timestamp", _("in the future")))',
        'problems.append(("metric", NO_SUCH_COMPONENT, {"metric": m}))',
        'def state(v):\n    return {"kind": "charge", "currency": "RUB"}',
    ],
)
def test_the_check_lets_a_translated_message_pass(source: str) -> None:
    assert offenders(source, "m.py") == []
