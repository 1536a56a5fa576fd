"""``kopeck price``: the calculator on the command line (file or stdin, JSON or text, clear errors)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

KOPECK = str(Path(sys.executable).parent / "kopeck")

WATER: dict[str, Any] = {
    "component": {"code": "water", "name": "Cold water, m³", "model": "standard", "unit_price": "3.20",
                  "included_units": "40", "aggregation": {"type": "meter_reading", "max_value": "100000"}},
    "currency": "RUB",
    "readings": [
        {"id": "w1", "timestamp": "2026-03-01T00:00:00+03:00", "value": "99870"},
        {"id": "w2", "timestamp": "2026-03-11T00:00:00+03:00", "value": "99990"},
        {"id": "w3", "timestamp": "2026-03-21T00:00:00+03:00", "value": "150", "kind": "rollover"},
        {"id": "w4", "timestamp": "2026-04-01T00:00:00+03:00", "value": "410"}],
    "vat_rate": "22", "prices_include_vat": True,
}
PLAN: dict[str, Any] = {
    "plan": {"code": "vps", "billing_period": {"unit": "month"}, "currencies": ["RUB"],
             "setup_fee": {"RUB": "1000.00"}, "components": [
                 {"code": "base", "kind": "fixed", "prices": {"RUB": {"model": "standard", "unit_price": "990.00"}}}]},
    "period": {"start": "2026-03-01", "end": "2026-04-01"}, "used": {"start": "2026-03-11", "end": "2026-04-01"},
    "setup_fee": True, "vat_rate": "22", "prices_include_vat": False,
}


def run(*args: str, stdin: str | None = None, monkeypatch: pytest.MonkeyPatch | None = None) -> str:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    out = io.StringIO()
    call_command("price", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_file_to_json(tmp_path: Path) -> None:
    path = tmp_path / "water.json"
    path.write_text(json.dumps(WATER), encoding="utf-8")
    result = json.loads(run(str(path)))
    # 540 m³ (120 + rollover 160 + 260), 40 included: 500 × 3.20
    assert (result["amount"], result["quantity"], result["vat"]["vat"]) == ("1600.00", "540", "288.52")


def test_stdin_to_json(monkeypatch: pytest.MonkeyPatch) -> None:
    result = json.loads(run("-", stdin=json.dumps(WATER), monkeypatch=monkeypatch))
    assert result["amount"] == "1600.00"
    result = json.loads(run(stdin=json.dumps(PLAN), monkeypatch=monkeypatch))  # "-" is the default
    # 990.00 × 21/31 = 670.65 + setup fee 1000.00; VAT on top 147.54 + 220.00
    assert (result["amount"], result["vat"]["vat"], result["vat"]["gross"]) == ("1670.65", "367.54", "2038.19")


def test_text_in_english_and_russian(monkeypatch: pytest.MonkeyPatch) -> None:
    text = run("--format", "text", stdin=json.dumps(WATER), monkeypatch=monkeypatch)
    assert "Component water (standard), RUB" in text
    assert "rollover: (100000 − 99990) + 150 = 160" in text
    assert "500 units × 3.20 = 1600.00 RUB" in text
    assert "Total:" in text and "1600.00 RUB" in text and "VAT 22% (included):" in text and "288.52 RUB" in text
    text = run("--format", "text", "--lang", "ru", stdin=json.dumps(WATER), monkeypatch=monkeypatch)
    assert "Компонент water" in text and "500 ед. × 3.20 = 1600.00 RUB" in text
    assert "Итого:" in text and "НДС 22% (в том числе):" in text and "Без НДС:" in text


def test_text_of_a_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    text = run("--format", "text", stdin=json.dumps(PLAN), monkeypatch=monkeypatch)
    assert "Plan vps, RUB, period 2026-03-01 – 2026-04-01, used 2026-03-11 – 2026-04-01" in text
    assert "* base (fixed, standard): 670.65 RUB" in text
    assert "Prorated by days: 990.00 RUB × 21/31 days = 670.65 RUB" in text
    assert "* setup_fee: 1000.00 RUB" in text and "VAT 22% (on top):" in text


def test_bad_input_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = {**WATER, "readings": [*WATER["readings"], {"id": "w5", "timestamp": "2026-04-02T00:00:00+03:00",
                                                      "value": "300"}]}
    with pytest.raises(CommandError) as info:
        run(stdin=json.dumps(bad), monkeypatch=monkeypatch)
    assert str(info.value).startswith("invalid input: readings[4]: reading w5 (300 at ")
    gap = {**PLAN, "plan": {**PLAN["plan"], "components": [{"code": "base", "kind": "fixed", "prices": {"RUB": {
        "model": "volume", "tiers": [{"from": "0", "up_to": "5", "unit_price": "1"},
                                     {"from": "6", "up_to": None, "unit_price": "1"}]}}}]}}
    with pytest.raises(CommandError, match=r"plan\.components\[0\]\.prices\.RUB\.tiers\[1\]\.from: gap"):
        run(stdin=json.dumps(gap), monkeypatch=monkeypatch)


def test_unreadable_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(CommandError, match="standard input is not valid JSON: Expecting value at line 1 column 1"):
        run(stdin="nope", monkeypatch=monkeypatch)
    with pytest.raises(CommandError, match=r"cannot read .*missing\.json"):
        run(str(tmp_path / "missing.json"))


def subprocess_env(tmp_path: Path) -> dict[str, str]:
    # an empty database of its own: the command must not need (or touch) the real one
    return {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "KOPECK_LANGUAGE": "en"}


def test_the_kopeck_command_reads_stdin_and_exits_non_zero_on_bad_input(tmp_path: Path) -> None:
    env = subprocess_env(tmp_path)
    ok = subprocess.run([KOPECK, "price", "-"], input=json.dumps(WATER), capture_output=True, text=True,
                        env=env, timeout=120, check=False)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["amount"] == "1600.00"
    bad = subprocess.run([KOPECK, "price"], input=json.dumps({**WATER, "currency": "RUR"}), capture_output=True,
                         text=True, env=env, timeout=120, check=False)
    assert bad.returncode != 0
    assert "currency: unknown currency 'RUR'" in bad.stderr and bad.stdout == ""


def test_without_a_database_the_defaults_are_said(tmp_path: Path) -> None:
    data = {key: value for key, value in WATER.items() if key not in ("vat_rate", "prices_include_vat")}
    r = subprocess.run([KOPECK, "price"], input=json.dumps(data), capture_output=True, text=True,
                       env=subprocess_env(tmp_path), timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert "billing settings are unavailable" in r.stderr
    assert json.loads(r.stdout)["vat"]["vat"] == "288.52"
