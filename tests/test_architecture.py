"""The architecture rules that tools alone do not check."""

from __future__ import annotations

import ast
import pkgutil
import re
import tomllib
from pathlib import Path

import kopeck

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "kopeck"


def test_import_contract_forbids_every_kopeck_package_to_the_core() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = config["tool"]["importlinter"]["contracts"][0]
    assert contract["source_modules"] == ["kopeck.core"]
    forbidden = set(contract["forbidden_modules"])
    packages = {f"kopeck.{m.name}" for m in pkgutil.iter_modules(kopeck.__path__) if m.name != "core"}
    assert packages <= forbidden, f"add {sorted(packages - forbidden)} to the import-linter contract"
    assert {"django", "rest_framework", "celery"} <= forbidden


def test_every_app_has_a_place_in_the_layers() -> None:
    """A new package must be placed in the layers contract, so that no import of it goes unchecked."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = next(c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "layers")
    placed = {name.strip() for layer in contract["layers"] for name in layer.split("|")}
    packages = {f"kopeck.{m.name}" for m in pkgutil.iter_modules(kopeck.__path__)} - {"kopeck.settings"}
    assert packages - placed == set(), f"add {sorted(packages - placed)} to the layers contract"


def _calls_now(path: Path) -> list[str]:
    hits = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Attribute) and node.attr in {"now", "utcnow", "today"}:
            base = node.value
            name = base.id if isinstance(base, ast.Name) else getattr(base, "attr", "")
            if name in {"datetime", "date", "timezone"}:
                hits.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return hits


def test_nothing_reads_the_time_except_the_clock() -> None:
    allowed = {SRC / "core" / "clock.py"}
    paths = [p for p in SRC.rglob("*.py") if p not in allowed and "migrations" not in p.parts]
    offenders = [hit for path in paths for hit in _calls_now(path)]
    assert offenders == []


def test_no_model_uses_auto_now() -> None:
    offenders = [str(p.relative_to(ROOT)) for p in SRC.rglob("models.py") if "auto_now" in p.read_text()]
    assert offenders == []


def test_no_module_grows_past_600_lines() -> None:
    """Modules are split along their seams before they grow (services into a ``services/`` package)."""
    offenders = {str(p.relative_to(ROOT)): n for p in SRC.rglob("*.py") if "migrations" not in p.parts
                 and (n := len(p.read_text().splitlines())) > 600}
    assert offenders == {}


def test_only_the_audit_app_writes_audit_rows() -> None:
    """Audit entries are written by kopeck.audit's own code — raw SQL included: another app that
    records them inside a statement of its own takes the SQL from the audit app."""
    audit = SRC / "audit"
    offenders = []
    for path in SRC.rglob("*.py"):
        if audit in path.parents or "migrations" in path.parts:
            continue
        text = path.read_text()
        if re.search(r"INSERT\s+INTO\s+\"?audit_auditentry", text, re.IGNORECASE):
            offenders.append(f"{path.relative_to(ROOT)}: INSERT INTO audit_auditentry")
        for needle in ("AuditEntry.objects.create", "AuditEntry.objects.bulk_create", "AuditEntry(",
                       "insert_rows(AuditEntry", "bulk_insert(AuditEntry"):
            if needle in text:
                offenders.append(f"{path.relative_to(ROOT)}: {needle}")
    assert offenders == []
