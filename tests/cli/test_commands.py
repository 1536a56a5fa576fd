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
from kopeck.subscriptions.models import Subscription

pytestmark = pytest.mark.django_db


def test_demo_data_is_valid_and_idempotent() -> None:
    call_command("demo", stdout=io.StringIO())
    clients, txns = Client.objects.count(), JournalTransaction.objects.count()
    # 9 account operations + the demo subscription's first period: base fee 990.00, 2 × 150.00 for
    # the extra IPv4 addresses and the one-time setup fee 500.00
    assert clients == 4 and txns == 12
    out = io.StringIO()
    call_command("demo", stdout=out)
    assert "0 clients created, 4 already present; catalog already present" in out.getvalue()
    assert Product.objects.count() == 1 and PlanVersion.objects.filter(status="published").count() == 1
    assert (Client.objects.count(), JournalTransaction.objects.count()) == (clients, txns)
    romashka = Client.objects.get(external_id="demo-romashka")
    # 50000.00 − 12200.00 − 3660.00 − 990.00 − 300.00 − 500.00
    assert client_balance(romashka) == Money("32350.00", "RUB")
    assert set(Client.objects.values_list("type", flat=True)) == {"legal", "sole_proprietor", "individual"}
    # the provider's (made-up) legal entity; the automatic run billed ООО «Ромашка» and issued its
    # invoice; a run with confirmation waits with АО «Облако»'s first period; no act before the month ends
    from kopeck.billing.models import BillingRun
    from kopeck.documents.models import Document, LegalEntity

    assert LegalEntity.objects.count() == 1
    invoices = Document.objects.filter(type="invoice", status="issued")
    assert [(d.client_id, d.amount_minor) for d in invoices] == [(romashka.pk, 179000)]  # 990.00 + 300.00 + 500.00
    assert not Document.objects.filter(type="act").exists()
    assert list(BillingRun.objects.order_by("id").values_list("mode", "status")) == [
        ("auto", "completed"), ("confirm", "awaiting_confirmation")]
    assert Subscription.objects.filter(external_id="demo-vps-2", client__external_id="demo-oblako").exists()


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
