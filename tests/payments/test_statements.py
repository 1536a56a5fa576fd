"""Bank statements (1CClientBankExchange): preview with matching and dedupe, atomic idempotent apply,
overlapping statements, fault injected mid-apply, malformed files named by their line."""

from __future__ import annotations

import io

import pytest

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.documents.models import DocumentStatus
from kopeck.ledger.selectors import client_balance
from kopeck.payments.models import BankStatement, LineOutcome, Payment, PaymentStatus, StatementLine
from kopeck.payments.statements import apply as apply_mod
from kopeck.payments.statements.apply import bank_statement_apply
from kopeck.payments.statements.preview import StatementRefused, bank_statement_preview
from tests.factories import ClientFactory, valid_inn
from tests.payments.bankfiles import OUR_ACCOUNT, Order, statement
from tests.payments.conftest import Invoice, counts, paid

pytestmark = pytest.mark.django_db

STRANGER = "40702810400000001234"


def preview(actor: Actor, data: bytes, name: str = "kl_to_1c.txt") -> BankStatement:
    return bank_statement_preview(actor=actor, stream=io.BytesIO(data), file_name=name)


def outcomes(st: BankStatement) -> list[tuple[int, str, str, str]]:
    return list(StatementLine.objects.filter(statement=st).order_by("line").values_list(
        "amount_minor", "outcome", "match_rule", "direction"))


@pytest.fixture
def world(entity: object, buyer: Client, invoice: Invoice, clock: FixedClock) -> dict[str, object]:
    """A client known by ИНН (``buyer``), one known only by its invoice, an open invoice each."""
    other = ClientFactory(name="ИП Сидоров", fields={"inn": valid_inn(9, legal=False)})
    return {"buyer_invoice": invoice("1500.00"), "other": other, "other_invoice": invoice("800.00", client=other)}


def the_file(world: dict[str, object], buyer: Client) -> bytes:
    other_invoice = world["other_invoice"]
    return statement([
        # the buyer, found by ИНН (its КПП too)
        Order("101", "01.12.2026", "1500.00", "40702810100000000101", payer_inn=buyer.fields["inn"],
              payer_kpp="500101001", payer_name="ООО «Ромашка»", purpose="Оплата услуг хостинга, НДС не облагается"),
        # a payer not in our base, but its purpose names the other client's invoice
        Order("7", "02.12.2026", "800.00", "40802810500000000007", payer_inn="500100732259",
              payer_name="ИП Сидоров", purpose=f"Оплата по счету № {other_invoice.number} от 25.11.2026"),  # type: ignore[attr-defined]
        # nobody we know
        Order("55", "02.12.2026", "300.00", "40702810900000000055", payer_inn="7736207543",
              payer_name="ООО «Неизвестно»", purpose="Оплата по договору"),
        # outgoing: we paid someone
        Order("900", "02.12.2026", "1200.00", OUR_ACCOUNT, payer_inn="7707083893", payer_name="ООО «Копейка»",
              payee_account=STRANGER, purpose="Аренда"),
        # the bank repeats the first order (a duplicate in the same file)
        Order("101", "01.12.2026", "1500.00", "40702810100000000101", payer_inn=buyer.fields["inn"],
              payer_kpp="500101001", payer_name="ООО «Ромашка»", purpose="Оплата услуг хостинга, НДС не облагается"),
    ], balance=("100000.00", "2600.00", "1200.00", "101400.00"))


def test_a_statement_is_previewed_then_applied_once(world: dict[str, object], buyer: Client, actor: Actor) -> None:
    data = the_file(world, buyer)
    assert b"\r\n" in data and "Плательщик".encode("cp1251") in data  # made like the real thing
    before = counts()
    st = preview(actor, data)
    assert (st.version, st.encoding, st.status, st.accounts) == ("1.03", "cp1251", "preview", [OUR_ACCOUNT])
    assert counts() == {**before, "AuditEntry": before["AuditEntry"] + 1}  # nothing credited by a preview
    assert outcomes(st) == [
        (150000, "matched", "inn", "incoming"), (80000, "matched", "invoice", "incoming"),
        (30000, "unidentified", "", "incoming"), (120000, "ignored", "", "outgoing"),
        (150000, "duplicate", "", "incoming")]
    assert st.totals == {"matched": {"count": 2, "amount": "2300.00"},
                         "unidentified": {"count": 1, "amount": "300.00"},
                         "duplicate": {"count": 1, "amount": "1500.00"},
                         "ignored": {"count": 1, "amount": "1200.00"}}
    assert [b["adds_up"] for b in st.balances] == [True]
    assert StatementLine.objects.get(statement=st, outcome="duplicate").note.startswith("Повтор документа строки")

    st = bank_statement_apply(actor=actor, statement=st)
    assert st.status == "applied"
    payments = list(Payment.objects.order_by("id"))
    assert [(p.client_id, p.amount_minor, p.status, p.match_rule, p.method) for p in payments] == [
        (buyer.pk, 150000, PaymentStatus.CREDITED, "inn", "bank"),
        (world["other"].pk, 80000, PaymentStatus.CREDITED, "invoice", "bank"),  # type: ignore[attr-defined]
        (None, 30000, PaymentStatus.UNIDENTIFIED, "", "bank")]
    assert payments[0].external_id == f"{OUR_ACCOUNT}:2026-12-01:101:40702810100000000101:1500.00"
    assert payments[0].date.isoformat() == "2026-12-01"
    assert client_balance(buyer).to_str() == "1500.00"
    assert paid(world["buyer_invoice"]) == (DocumentStatus.PAID, "1500.00")  # type: ignore[arg-type]
    assert paid(world["other_invoice"]) == (DocumentStatus.PAID, "800.00")  # type: ignore[arg-type]

    # applied again, uploaded again: nothing more
    after = counts()
    assert bank_statement_apply(actor=actor, statement=st).pk == st.pk
    assert preview(actor, data, name="again.txt").pk == st.pk
    assert counts() == after


def test_an_overlapping_statement_takes_each_order_once(world: dict[str, object], buyer: Client,
                                                        actor: Actor) -> None:
    bank_statement_apply(actor=actor, statement=preview(actor, the_file(world, buyer)))
    # the next day's statement, version 1.02, written in UTF-8 with LF: it repeats order 101
    later = statement([
        Order("101", "01.12.2026", "1500.00", "40702810100000000101", payer_inn=buyer.fields["inn"],
              purpose="Оплата услуг хостинга"),
        Order("102", "03.12.2026", "250.00", "40702810100000000101", payer_inn=buyer.fields["inn"],
              purpose="Аванс"),
    ], version="1.02", encoding="utf-8", newline="\n", date_from="01.12.2026", date_to="04.12.2026")
    st = preview(actor, later, name="kl_to_1c_2.txt")
    assert (st.version, st.encoding) == ("1.02", "utf-8")
    assert outcomes(st) == [(150000, "duplicate", "", "incoming"), (25000, "matched", "inn", "incoming")]
    assert StatementLine.objects.get(statement=st, outcome="duplicate").note.startswith("Уже зачислен: платёж №")
    bank_statement_apply(actor=actor, statement=st)
    assert Payment.objects.filter(client=buyer).count() == 2
    assert client_balance(buyer).to_str() == "1750.00"


def test_a_fault_mid_apply_leaves_nothing_applied(world: dict[str, object], buyer: Client, actor: Actor,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    st = preview(actor, the_file(world, buyer))
    before = counts()
    monkeypatch.setattr(apply_mod, "CHUNK", 1)  # so the fault comes after the first payment was written

    def boom(done: int) -> None:
        if done == 2:
            raise RuntimeError("the machine lost power")

    monkeypatch.setattr(apply_mod, "after_chunk", boom)
    with pytest.raises(RuntimeError):
        bank_statement_apply(actor=actor, statement=st)
    assert counts() == before
    st.refresh_from_db()
    assert st.status == "preview"
    assert paid(world["buyer_invoice"]) == (DocumentStatus.ISSUED, "0.00")  # type: ignore[arg-type]
    monkeypatch.setattr(apply_mod, "after_chunk", None)
    bank_statement_apply(actor=actor, statement=st)
    assert Payment.objects.count() == 3


@pytest.mark.parametrize(("data", "message"), [
    (statement([Order("1", "01.12.2026", "10.00", "40702810100000000101")], end=False),
     "line 57: the file ends without КонецФайла (truncated?)"),
    (statement([Order("1", "01.12.2026", "10.00", "40702810100000000101")])[:-60],
     "line 55: the file ends inside the section that starts on line 21 (truncated?)"),
    (statement([Order("1", "01.12.2026", "1 000,00", "40702810100000000101")]),
     "line 24: Сумма: '1 000,00' is not an amount (digits and a dot, e.g. 1234.56)"),
    (statement([Order("1", "31.11.2026", "10.00", "40702810100000000101")]),
     "line 23: Дата: no such date '31.11.2026'"),
    (statement([Order("1", "01.12.2026", "10.00", "40702810100000000101")], version="2.00"),
     "line 12: ВерсияФормата 2.00 is not supported (1.02 or 1.03)"),
    (statement([Order("1", "01.12.2026", "10.00", "40702810100000000101")], encoding="utf-16"),
     "line 1: the file does not start with 1CClientBankExchange (not a bank statement, or another encoding)"),
    (statement([Order("1", "01.12.2026", "10.00", "40702810100000000101")], encoding="utf-8")
     .replace("Оплата услуг".encode(), b"\xcf\xeb\xe0\xf2\xe0"),
     "line 56: the text is not valid utf-8"),
    (statement([Order("1", "01.12.2026", "10.00", "40702810100000000101")]).replace(
        "КонецДокумента".encode("cp1251"), "Конец".encode("cp1251")),
     "line 57: expected Ключ=Значение, found 'Конец'"),
])
def test_a_malformed_file_is_refused_naming_its_line_and_nothing_is_stored(
        entity: object, actor: Actor, clock: FixedClock, data: bytes, message: str) -> None:
    before = counts()
    with pytest.raises(StatementRefused) as exc:
        preview(actor, data)
    assert exc.value.errors == {"file": [message]}
    assert counts() == before and BankStatement.objects.count() == StatementLine.objects.count() == 0


def test_dos_encoding_is_read_as_cp866(entity: object, actor: Actor, clock: FixedClock) -> None:
    st = preview(actor, statement([Order("5", "01.12.2026", "10.00", "40702810100000000101", payer_name="Иванов")],
                                  encoding="cp866"))
    assert st.encoding == "cp866"
    assert StatementLine.objects.get(statement=st).payer_name == "Иванов"
    assert StatementLine.objects.get(statement=st).outcome == LineOutcome.UNIDENTIFIED
