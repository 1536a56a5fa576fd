"""``kopeck bank import FILE [--apply]`` and ``kopeck bank refunds`` (payment orders read back)."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.payments import services
from kopeck.payments.models import BankStatement, Payment
from kopeck.payments.statements.bankfile import BankDocument, read
from tests.payments.bankfiles import OUR_ACCOUNT, Order, statement

pytestmark = pytest.mark.django_db


def test_import_previews_then_applies(tmp_path: Path, entity: object, buyer: Client, clock: FixedClock) -> None:
    path = tmp_path / "kl_to_1c.txt"
    path.write_bytes(statement([Order("1", "01.12.2026", "500.00", "40702810100000000101",
                                      payer_inn=buyer.fields["inn"])]))
    out = io.StringIO()
    call_command("bank", "import", str(path), "--no-progress", stdout=out)
    assert "matched              1              500.00" in out.getvalue()
    assert "Preview only" in out.getvalue() and Payment.objects.count() == 0
    out = io.StringIO()
    call_command("bank", "import", str(path), "--apply", "--no-progress", stdout=out)
    assert "Applied statement" in out.getvalue()
    assert Payment.objects.get().client_id == buyer.pk
    call_command("bank", "import", str(path), "--apply", "--no-progress", stdout=io.StringIO())
    assert Payment.objects.count() == 1 and BankStatement.objects.count() == 1


def test_a_malformed_file_exits_with_its_line(tmp_path: Path, entity: object, clock: FixedClock) -> None:
    path = tmp_path / "broken.txt"
    path.write_bytes(statement([Order("1", "01.12.2026", "500.00", "40702810100000000101")], end=False))
    with pytest.raises(CommandError, match=r"line 57: the file ends without КонецФайла"):
        call_command("bank", "import", str(path), "--apply", "--no-progress", stdout=io.StringIO())
    assert BankStatement.objects.count() == 0


def test_refunds_become_outgoing_payment_orders(tmp_path: Path, entity: object, buyer: Client, actor: Actor,
                                                clock: FixedClock) -> None:
    pay = services.payment_record(actor=actor, client=buyer, amount="1000.00", method="bank",
                                  payer_name="ООО «Ромашка»", payer_inn=buyer.fields["inn"], payer_kpp="500101001",
                                  payer_account="40702810100000000101", payer_bik="044525974", payer_bank="АО Банк")
    services.payment_refund(actor=actor, payment=pay, amount="250.50", reason="Переплата",
                            date=dt.date(2026, 11, 25))
    unknown = services.payment_record(actor=actor, client=buyer, amount="10.00")  # no requisites anywhere
    services.payment_refund(actor=actor, payment=unknown, reason="Ошибка", date=dt.date(2026, 11, 25))
    out = tmp_path / "refunds.txt"
    call_command("bank", "refunds", "--from", "2026-11-01", "--to", "2026-11-30", "--out", str(out))
    data = out.read_bytes()
    assert data.startswith(b"1CClientBankExchange\r\n") and "Возврат".encode("cp1251") in data
    items = list(read(io.BytesIO(data)))
    docs = [d for d in items if isinstance(d, BankDocument)]
    assert [(d.kind, d.amount, d.payer_account, d.payee_account, d.values["ПолучательИНН"], d.values["ПолучательБИК"])
            for d in docs] == [("Платежное поручение", pytest.approx(250.5), OUR_ACCOUNT, "40702810100000000101",
                                buyer.fields["inn"], "044525974")]
    assert docs[0].purpose.startswith(f"Возврат денежных средств по платежу № {pay.pk} от 25.11.2026")


def test_import_speaks_russian_in_a_russian_installation(tmp_path: Path, entity: object, buyer: Client,
                                                         clock: FixedClock, installation_language: None) -> None:
    path = tmp_path / "kl_to_1c.txt"
    path.write_bytes(statement([Order("1", "01.12.2026", "500.00", "40702810100000000101",
                                      payer_inn=buyer.fields["inn"])]))
    out = io.StringIO()
    call_command("bank", "import", str(path), "--no-progress", stdout=out)
    statement_id = BankStatement.objects.get().pk
    lines = out.getvalue().splitlines()
    assert lines[1:] == [
        "  опознано             1              500.00",
        "  невыяснено           0                0.00",
        "  повторы              0                0.00",
        "  пропущено            0                0.00",
        "Это только предпросмотр: чтобы зачислить платежи, запустите команду ещё раз с --apply.",
    ]
    assert lines[0].startswith(f"Выписка {statement_id}: kl_to_1c.txt, версия ") and lines[0].endswith(", предпросмотр")
    with pytest.raises(CommandError) as exc:
        call_command("bank", "import", str(tmp_path / "нет.txt"), stdout=io.StringIO())
    assert str(exc.value) == f"{tmp_path / 'нет.txt'}: такого файла нет"
    out = io.StringIO()
    call_command("bank", "advance-invoices", stdout=out)
    assert out.getvalue() == "Выставлено 0 счетов-фактур на аванс.\n"
    assert Payment.objects.count() == 0
