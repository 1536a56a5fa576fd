"""The command line speaks the installation's language (KOPECK_LANGUAGE, Russian by default), one
language per run: its refusals, summaries and counts in Russian with the three plural forms."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from django.utils.translation import ngettext

from kopeck.clients.models import Client
from kopeck.ledger.models import JournalTransaction
from kopeck.outbox.models import OutboxMessage

KOPECK = str(Path(sys.executable).parent / "kopeck")


def kopeck(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The ``kopeck`` program with a database of its own and the installation's default language."""
    base = {k: v for k, v in os.environ.items() if k != "KOPECK_LANGUAGE"}
    return subprocess.run([KOPECK, *args], capture_output=True, text=True, timeout=120, check=False,
                          env={**base, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}",
                               "KOPECK_VAR_DIR": str(tmp_path), **env})


def test_a_refusal_on_the_command_line_is_russian_and_exits_non_zero(tmp_path: Path) -> None:
    done = kopeck(["outbox", "deliver", "--limit", "0"], tmp_path)
    assert (done.returncode, done.stdout, done.stderr) == (1, "", "Ошибка: --limit: нужно целое число больше нуля.\n")
    english = kopeck(["outbox", "deliver", "--limit", "0"], tmp_path, KOPECK_LANGUAGE="en")
    assert (english.returncode, english.stderr) == (1, "Error: --limit: must be a positive integer.\n")


def test_a_file_that_cannot_be_read_is_said_in_russian(tmp_path: Path) -> None:
    done = kopeck(["price", str(tmp_path / "нет.json")], tmp_path)
    assert done.returncode == 1
    assert done.stderr == f"Ошибка: не удалось прочитать {tmp_path / 'нет.json'}: нет такого файла или каталога\n"


@pytest.mark.django_db
def test_refusals_in_process_in_russian(installation_language: None) -> None:
    with pytest.raises(CommandError) as exc:
        call_command("billing", "reject", "999999")
    assert str(exc.value) == "запуск биллинга 999999 не найден"
    with pytest.raises(CommandError) as exc:
        call_command("credit", "check", "--client", "999998", "--client", "999999")
    assert str(exc.value) == "--client: нет клиентов 999998, 999999."
    with pytest.raises(CommandError) as exc:
        call_command("credit", "check", "--client", "999999")
    assert str(exc.value) == "--client: нет клиента 999999."
    with pytest.raises(CommandError) as exc:
        call_command("outbox", "requeue", "999999")
    assert str(exc.value) == "Исходящего сообщения №999999 нет."
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db
def test_the_demo_summary_counts_in_russian(installation_language: None) -> None:
    out = io.StringIO()
    call_command("demo", stdout=out)
    assert out.getvalue() == ("Демонстрационные данные: создано 4 клиента, 0 уже было; каталог услуг создан; "
                              "выставлено 3 акта.\n")
    txns = JournalTransaction.objects.count()
    out = io.StringIO()
    call_command("demo", stdout=out)
    assert out.getvalue() == ("Демонстрационные данные: создано 0 клиентов, 4 уже было; каталог услуг уже был; "
                              "выставлено 0 актов.\n")
    assert (Client.objects.count(), JournalTransaction.objects.count()) == (4, txns)


@pytest.mark.parametrize(("n", "checked", "issued"), [
    (1, "проверен 1 клиент", "Выставлен 1 счёт-фактура на аванс."),
    (2, "проверено 2 клиента", "Выставлено 2 счёта-фактуры на аванс."),
    (5, "проверено 5 клиентов", "Выставлено 5 счетов-фактур на аванс."),
    (11, "проверено 11 клиентов", "Выставлено 11 счетов-фактур на аванс."),
    (21, "проверен 21 клиент", "Выставлен 21 счёт-фактура на аванс."),
    (24, "проверено 24 клиента", "Выставлено 24 счёта-фактуры на аванс."),
])
def test_counts_take_the_three_russian_plural_forms(n: int, checked: str, issued: str) -> None:
    with translation.override("ru"):
        assert ngettext("%(count)d client checked", "%(count)d clients checked", n) % {"count": n} == checked
        assert ngettext("Issued %(count)d advance invoice-factura.", "Issued %(count)d advance invoices-factura.",
                        n) % {"count": n} == issued
