"""argparse's own errors in the installation's language: each form argparse writes is recognised and
said in Russian (the real messages of this Python's argparse, provoked), with the "error:" framing; a
form not known stays as argparse words it."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation

from kopeck.cli.command import argparse_said
from tests.cli.test_help_ru import kopeck


class Recording(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise LookupError(message)


def argparse_message(args: list[str]) -> str:
    """What this Python's argparse says for ``args`` given to a small parser with every kind of argument."""
    parser = Recording(prog="kopeck x")
    parser.add_argument("kind", choices=["acts", "invoices"])
    parser.add_argument("--days", type=int)
    parser.add_argument("--names", nargs="+")
    parser.add_argument("--dry-run", action="store_true")
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--all", action="store_true")
    group.add_argument("--client")
    with pytest.raises(LookupError) as raised:
        parser.parse_args(args)
    return str(raised.value.args[0])


CASES = {
    (): "не указаны обязательные аргументы: kind",
    ("acts", "--bogus"): "неизвестные аргументы: --bogus",
    ("bills",): "аргумент kind: недопустимое значение 'bills' (допустимые: 'acts', 'invoices')",
    ("acts", "--days", "seven"): "аргумент --days: недопустимое значение 'seven'",
    ("acts", "--days"): "аргумент --days: нужно указать значение",
    ("acts", "--names"): "аргумент --names: нужно указать хотя бы одно значение",
    ("acts", "--all", "--client", "7"): "аргумент --client нельзя указывать вместе с --all",
    ("acts", "--dry-run=yes"): "аргумент --dry-run не принимает значения, указано 'yes'",
    ("acts", "--d", "1"): "неоднозначный параметр --d: подходят --days, --dry-run",
}


@pytest.mark.parametrize(("args", "russian"), CASES.items())
def test_each_argparse_error_is_said_in_russian(args: tuple[str, ...], russian: str) -> None:
    message = argparse_message(list(args))
    with translation.override("ru"):
        assert argparse_said(message) == russian
    with translation.override("en"):
        assert argparse_said(message) == message


def test_a_form_not_known_stays_as_argparse_words_it() -> None:
    with translation.override("ru"):
        assert argparse_said("something new happened") == "something new happened"


def test_on_the_command_line_the_framing_is_russian_too(tmp_path: Path) -> None:
    ru = kopeck(["price", "--bogus"], tmp_path, KOPECK_LANGUAGE="ru")
    assert ru.returncode == 2 and ru.stdout == ""
    assert ru.stderr.splitlines()[-1] == "kopeck price: ошибка: неизвестные аргументы: --bogus"
    en = kopeck(["price", "--bogus"], tmp_path, KOPECK_LANGUAGE="en")
    assert en.returncode == 2 and en.stderr.splitlines()[-1] == "kopeck price: error: unrecognized arguments: --bogus"


def test_a_subcommands_error_too(tmp_path: Path) -> None:
    done = kopeck(["billing", "nosuch"], tmp_path, KOPECK_LANGUAGE="ru")
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1].startswith("kopeck billing: ошибка: аргумент ")
    assert "недопустимое значение 'nosuch' (допустимые: 'run'" in done.stderr


def test_called_from_code_the_refusal_is_a_command_error_in_russian() -> None:
    with translation.override("ru"), pytest.raises(CommandError) as refused:
        call_command("price", "--bogus")
    assert str(refused.value) == "Ошибка: неизвестные аргументы: --bogus"
