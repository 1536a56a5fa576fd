from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from kopeck.catalog.models import PlanVersion, Product
from kopeck.clients.models import Client
from kopeck.core.money import Money
from kopeck.ledger.models import JournalTransaction
from kopeck.ledger.selectors import client_balance
from kopeck.operators.models import Operator

pytestmark = pytest.mark.django_db


def test_demo_data_is_valid_and_idempotent() -> None:
    call_command("demo", stdout=io.StringIO())
    clients, txns = Client.objects.count(), JournalTransaction.objects.count()
    # 9 account operations; the demo subscription is billed by the daily billing run, not here
    assert clients == 4 and txns == 9
    out = io.StringIO()
    call_command("demo", stdout=out)
    assert "0 clients created, 4 already present; catalog already present" in out.getvalue()
    assert Product.objects.count() == 1 and PlanVersion.objects.filter(status="published").count() == 1
    assert (Client.objects.count(), JournalTransaction.objects.count()) == (clients, txns)
    romashka = Client.objects.get(external_id="demo-romashka")
    # 50000.00 − 12200.00 − 3660.00
    assert client_balance(romashka) == Money("34140.00", "RUB")
    assert set(Client.objects.values_list("type", flat=True)) == {"legal", "sole_proprietor", "individual"}
    # the provider's (made-up) legal entity and this month's acts, once
    from kopeck.documents.models import Document, LegalEntity

    assert LegalEntity.objects.count() == 1 and "0 acts issued" in out.getvalue()
    acts = Document.objects.filter(type="act", status="issued")
    assert acts.count() == 3 and sorted(acts.values_list("number", flat=True)) == ["1", "2", "3"]
    assert acts.get(client=romashka).amount_minor == 1586000  # 12200.00 + 3660.00


def test_ensure_operator_creates_once(tmp_path: Path, settings: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KOPECK_ADMIN_USERNAME", "boss")
    monkeypatch.setenv("KOPECK_ADMIN_PASSWORD", "correct-horse-battery")
    out = io.StringIO()
    call_command("ensure_operator", stdout=out)
    call_command("ensure_operator", stdout=out)
    op = Operator.objects.get(username="boss")
    assert op.is_superuser and op.is_staff and op.role == "administrator"
    assert op.check_password("correct-horse-battery")
    assert Operator.objects.count() == 1
    assert "boss / correct-horse-battery" in out.getvalue()


def test_kopeck_entry_point_runs_management_commands() -> None:
    out = subprocess.run([str(Path(sys.executable).parent / "kopeck"), "help"], capture_output=True, text=True,
                         check=True, timeout=60)
    for command in ("serve", "demo", "ensure_operator", "migrate"):
        assert command in out.stdout
