"""``--help`` in the installation's language: every Kopeck command's description and argument help,
argparse's own words (usage, section titles, the -h line) and Django's common options."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import get_commands, load_command_class
from django.utils import translation

from kopeck.cli.command import KopeckCommand

KOPECK = str(Path(sys.executable).parent / "kopeck")
COMMANDS = sorted(name for name, app in get_commands().items() if app == "kopeck.cli")


def kopeck(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k != "KOPECK_LANGUAGE"}
    return subprocess.run([KOPECK, *args], capture_output=True, text=True, timeout=120, check=False,
                          env={**base, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
                               "KOPECK_VAR_DIR": str(tmp_path), "COLUMNS": "100", **env})


def helps(name: str) -> list[str]:
    """The description and every help text of ``name``'s parser and its subcommands' parsers."""
    def walk(parser: argparse.ArgumentParser) -> list[str]:
        found = [str(parser.description)] if parser.description else []
        for action in parser._actions:
            found += [action.help] if action.help else []
            if isinstance(action, argparse._SubParsersAction):
                found += [str(a.help) for a in action._choices_actions]
                for sub in action.choices.values():
                    found += walk(sub)
        return found

    command = load_command_class("kopeck.cli", name)
    assert isinstance(command, KopeckCommand)
    parser = command.create_parser("kopeck", name)
    formatter = parser._get_formatter()
    return [formatter._get_help_string(argparse.Action([], "x", help=text)) or "" for text in walk(parser)]


def test_every_kopeck_command_is_listed() -> None:
    assert COMMANDS == ["apikey", "bank", "billing", "credit", "demo", "documents", "ensure_operator", "outbox",
                        "price", "scheduler", "serve", "tick"]


@pytest.mark.parametrize("name", COMMANDS)
def test_every_help_text_of_a_command_has_its_russian(name: str) -> None:
    with translation.override("en"):
        english = helps(name)
    with translation.override("ru"):
        russian = helps(name)
    assert len(english) == len(russian) > 9
    assert [en for en, ru in zip(english, russian, strict=True) if en == ru] == []


def test_kopeck_price_help_is_russian_on_a_russian_installation(tmp_path: Path) -> None:
    done = kopeck(["price", "--help"], tmp_path)
    assert (done.returncode, done.stderr) == (0, "")
    text = done.stdout
    assert text.startswith("использование: kopeck price [-h] [--format {json,text}] [--lang {ru,en}]")
    assert ("Рассчитать стоимость компонента или тарифа по количеству, событиям, показаниям счётчика или\n"
            "транзакциям (JSON запроса POST /api/v1/price-preview/, см. docs/pricing.md) и объяснить каждую\n"
            "сумму. Ничего не записывает.\n") in text
    assert ("позиционные аргументы:\n"
            "  file                  Файл JSON или - (по умолчанию) — стандартный ввод.\n") in text
    assert ("параметры:\n"
            "  -h, --help            показать эту справку и выйти\n"
            "  --format {json,text}  json (по умолчанию) или text — таблица с пояснениями.\n") in text
    assert "  --skip-checks         Пропустить системные проверки.\n" in text
    english = kopeck(["price", "--help"], tmp_path, KOPECK_LANGUAGE="en").stdout
    assert english.startswith("usage: kopeck price [-h]")
    assert ("options:\n"
            "  -h, --help            show this help message and exit\n"
            "  --format {json,text}  json (default) or text: a table with the explanations.\n") in english


def test_a_subcommands_help_is_russian_too(tmp_path: Path) -> None:
    done = kopeck(["billing", "run", "--help"], tmp_path)
    assert done.returncode == 0
    assert done.stdout.startswith("использование: kopeck billing run [-h] --date DATE --mode {sandbox,auto,confirm}")
    assert ("параметры:\n"
            "  -h, --help            показать эту справку и выйти\n"
            "  --date DATE           Дата расчёта, ГГГГ-ММ-ДД (сегодня или раньше).\n") in done.stdout
    listing = kopeck(["help", "billing"], tmp_path).stdout
    assert "    run                 Создать и выполнить запуск биллинга.\n" in listing
