"""Drafts, issuing with numbers, cancelling, payments, corrections, reconciliation, monthly acts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.documents import services
from kopeck.documents.models import (
    Document,
    DocumentStatus,
    DocumentType,
    LegalEntity,
    NumberCounter,
    ResetPeriod,
)
from kopeck.ledger.services import ledger_operation_post
from kopeck.outbox.models import OutboxMessage
from tests.documents.conftest import counters, counts
from tests.subscriptions.helpers import at

pytestmark = pytest.mark.django_db
D = dt.date

LINES = [
    {"name": "Виртуальный сервер VPS-2", "price": "1220.00", "vat_rate": "22"},
    {"name": "Лицензия ПО (реестр)", "price": "500.00", "quantity": "2", "vat_rate": "exempt"},
]


def draft(actor: Actor, buyer: Client, type: str = DocumentType.INVOICE, **kwargs: Any) -> Document:
    return services.document_create_draft(actor=actor, type=type, client=buyer,
                                          lines=kwargs.pop("lines", LINES), **kwargs)


def test_a_draft_has_lines_with_vat_per_line_and_no_number(entity: LegalEntity, buyer: Client,
                                                          actor: Actor) -> None:
    doc = draft(actor, buyer)
    assert (doc.status, doc.number, doc.issue_date, doc.numbering_rule) == (DocumentStatus.DRAFT, None, None, None)
    lines = doc.data["lines"]
    assert [(ln["gross"], ln["vat"], ln["net"], ln["vat_label"]) for ln in lines] == [
        ("1220.00", "220.00", "1000.00", "220.00"), ("1000.00", "0.00", "1000.00", "Без налога (НДС)")]
    assert doc.data["totals"]["gross"] == "2220.00" and doc.data["totals"]["vat"] == "220.00"
    assert (doc.amount_minor, doc.vat_minor) == (222000, 22000)
    assert doc.data["amount_in_words"] == "Две тысячи двести двадцать рублей 00 копеек"
    assert counters() == []


def test_on_top_prices_add_vat(entity: LegalEntity, buyer: Client, actor: Actor) -> None:
    doc = draft(actor, buyer, lines=[{"name": "Хостинг", "price": "1000.00", "vat_rate": "22"}],
                prices_include_vat=False)
    assert doc.data["lines"][0]["gross"] == "1220.00" and doc.data["totals"]["net"] == "1000.00"
    assert doc.amount_minor == 122000


def test_issue_takes_the_next_number_and_freezes_the_data(entity: LegalEntity, buyer: Client, actor: Actor,
                                                          clock: FixedClock) -> None:
    first = services.document_issue(actor=actor, document=draft(actor, buyer))
    second = services.document_issue(actor=actor, document=draft(actor, buyer))
    assert (first.number, second.number) == ("1", "2")
    assert first.status == DocumentStatus.ISSUED and first.issue_date == D(2026, 11, 25)
    assert first.due_date == D(2026, 11, 30)
    assert first.data["document"]["number"] == "1"
    assert first.data["document"]["payment_purpose"] == "Оплата по счёту № 1 от 25.11.2026"
    assert first.data["provider"]["inn"] == "7707083893"
    assert counters() == [("invoice", "2026", 2)]
    # requisites changed later do not change an issued document
    services.legal_entity_update(actor=actor, entity=entity, director_name="Сидоров С. С.")
    first.refresh_from_db()
    assert first.data["provider"]["director_name"] == "Иванов И. И."
    # the outbox has the PDF rendering and the e-mail for each
    assert sorted(OutboxMessage.objects.values_list("topic", flat=True)) == [
        "documents.email", "documents.email", "documents.render_pdf", "documents.render_pdf"]


def test_numbering_template_width_prefix_and_yearly_reset(entity: LegalEntity, buyer: Client, actor: Actor,
                                                          clock: FixedClock) -> None:
    services.numbering_rule_set(actor=actor, sequence="invoice", legal_entity=entity, template="СЧ-{YY}{MM}/{N:5}",
                                reset=ResetPeriod.YEAR)
    at(clock, D(2026, 12, 31))
    assert services.document_issue(actor=actor, document=draft(actor, buyer)).number == "СЧ-2612/00001"
    at(clock, D(2027, 1, 1))
    assert services.document_issue(actor=actor, document=draft(actor, buyer)).number == "СЧ-2701/00001"
    assert services.document_issue(actor=actor, document=draft(actor, buyer)).number == "СЧ-2701/00002"
    assert counters() == [("invoice", "2026", 1), ("invoice", "2027", 2)]


@pytest.mark.parametrize("template", ["", "{N}{N}", "INV", "{X}-{N}", "{N:0}", "{N:13}", "a{b}{N}"])
def test_invalid_number_templates_are_refused(entity: LegalEntity, actor: Actor, template: str) -> None:
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.numbering_rule_set(actor=actor, sequence="invoice", legal_entity=entity, template=template,
                                    reset=ResetPeriod.NEVER)
    assert "template" in exc.value.errors
    assert counts() == before


def test_an_issue_date_before_the_last_one_is_refused_and_takes_no_number(
        entity: LegalEntity, buyer: Client, actor: Actor) -> None:
    services.document_issue(actor=actor, document=draft(actor, buyer), issue_date=D(2026, 11, 20))
    late = draft(actor, buyer)
    before = counts()
    with pytest.raises(Conflict) as exc:
        services.document_issue(actor=actor, document=late, issue_date=D(2026, 11, 19))
    assert exc.value.errors == {"issue_date": ["Must be 2026-11-20 or later."]}
    assert counts() == before and counters() == [("invoice", "2026", 1)]
    late.refresh_from_db()
    assert (late.status, late.number) == (DocumentStatus.DRAFT, None)
    with pytest.raises(ValidationFailed):
        services.document_issue(actor=actor, document=late, issue_date=D(2026, 11, 26))  # the future
    assert counts() == before
    assert services.document_issue(actor=actor, document=late, issue_date=D(2026, 11, 20)).number == "2"


def test_drafts_consume_no_number_and_a_cancelled_document_keeps_its_number(
        entity: LegalEntity, buyer: Client, actor: Actor) -> None:
    drafts = [draft(actor, buyer) for _ in range(3)]
    assert counters() == []
    services.document_cancel(actor=actor, document=drafts[0], reason="ошибка")
    issued = services.document_issue(actor=actor, document=drafts[1])
    cancelled = services.document_cancel(actor=actor, document=issued, reason="клиент отказался")
    assert (cancelled.status, cancelled.number) == (DocumentStatus.CANCELLED, "1")
    assert services.document_issue(actor=actor, document=drafts[2]).number == "2"
    before = counts()
    with pytest.raises(Conflict):
        services.document_cancel(actor=actor, document=cancelled, reason="again")
    with pytest.raises(Conflict):
        services.document_issue(actor=actor, document=cancelled)
    assert counts() == before


def test_each_sequence_and_each_legal_entity_counts_separately(entity: LegalEntity, buyer: Client,
                                                               actor: Actor) -> None:
    other = services.legal_entity_create(actor=actor, name="ИП Петров", full_name="Индивидуальный предприниматель Петров П. П.", inn="500100732259", legal_address="г. Москва")
    assert services.document_issue(actor=actor, document=draft(actor, buyer, DocumentType.ACT)).number == "1"
    assert services.document_issue(actor=actor, document=draft(actor, buyer, DocumentType.INVOICE_FACTURA)).number == "1"
    advance = draft(actor, buyer, DocumentType.ADVANCE_INVOICE_FACTURA)
    assert services.document_issue(actor=actor, document=advance).number == "2"  # one СФ sequence
    assert services.document_issue(actor=actor, document=draft(
        actor, buyer, DocumentType.ACT, legal_entity=other)).number == "1"
    assert sorted((e, s, n) for (s, _k, n), e in zip(
        NumberCounter.objects.order_by("id").values_list("rule__sequence", "period_key", "last_number"),
        NumberCounter.objects.order_by("id").values_list("rule__legal_entity__name", flat=True), strict=True)) == [
        ("ИП Петров", "act", 1), ("ООО «Копейка»", "act", 1), ("ООО «Копейка»", "invoice_factura", 2)]


def test_mark_paid_in_parts(entity: LegalEntity, buyer: Client, actor: Actor) -> None:
    doc = services.document_issue(actor=actor, document=draft(actor, buyer))
    doc = services.document_mark_paid(actor=actor, document=doc, amount="1000.00")
    assert (doc.status, doc.paid_minor) == (DocumentStatus.PARTLY_PAID, 100000)
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.document_mark_paid(actor=actor, document=doc, amount="1220.01")
    assert exc.value.errors == {"amount": ["At most the unpaid rest, 1220.00."]}
    assert counts() == before
    doc = services.document_mark_paid(actor=actor, document=doc)
    assert (doc.status, doc.paid_minor) == (DocumentStatus.PAID, 222000)
    with pytest.raises(Conflict):
        services.document_cancel(actor=actor, document=doc, reason="x")
    act = services.document_issue(actor=actor, document=draft(actor, buyer, DocumentType.ACT))
    with pytest.raises(Conflict):
        services.document_mark_paid(actor=actor, document=act)
    assert Document.objects.get(pk=act.pk).paid_minor == 0


def test_corrected_document_keeps_the_number_and_counts_corrections(entity: LegalEntity, buyer: Client,
                                                                    actor: Actor) -> None:
    sf = services.document_issue(actor=actor, document=draft(actor, buyer, DocumentType.INVOICE_FACTURA),
                                 issue_date=D(2026, 11, 20))
    fixed = services.document_issue(actor=actor, document=draft(actor, buyer, DocumentType.CORRECTED,
                                                                corrects=sf, lines=[]))
    again = services.document_issue(actor=actor, document=draft(actor, buyer, DocumentType.CORRECTED, corrects=sf))
    assert (fixed.number, fixed.correction_number, again.correction_number) == (sf.number, 1, 2)
    assert fixed.data["document"]["corrects"] == {"id": sf.pk, "number": "1", "type": "invoice_factura",
                                                  "date": "2026-11-20"}
    assert counters() == [("invoice_factura", "2026", 1)]


def test_corrective_invoice_factura_has_increase_and_decrease(entity: LegalEntity, buyer: Client,
                                                              actor: Actor) -> None:
    sf = services.document_issue(actor=actor, document=draft(actor, buyer, DocumentType.INVOICE_FACTURA))
    kf = draft(actor, buyer, DocumentType.CORRECTIVE_INVOICE_FACTURA, corrects=sf, lines=[
        {"name": "Виртуальный сервер VPS-2", "price": "610.00", "vat_rate": "22"},
        {"name": "Лицензия ПО (реестр)", "price": "600.00", "quantity": "2", "vat_rate": "exempt"}])
    correction = kf.data["correction"]
    assert [(c["decrease"]["gross"], c["decrease"]["vat"], c["increase"]["gross"]) for c in correction["lines"]] == [
        ("610.00", "110.00", "0.00"), ("0.00", "0.00", "200.00")]
    assert correction["total_decrease"] == {"net": "500.00", "vat": "110.00", "gross": "610.00"}
    assert correction["total_increase"] == {"net": "200.00", "vat": "0.00", "gross": "200.00"}
    assert services.document_issue(actor=actor, document=kf).number == "2"


def test_refused_drafts_write_nothing(entity: LegalEntity, buyer: Client, actor: Actor) -> None:
    before = counts()
    for kwargs, field in [({"lines": []}, "lines"), ({"lines": [{"name": "", "price": "1"}]}, "lines.0.name"),
                          ({"lines": [{"name": "x", "price": "1.001"}]}, "lines.0.price"),
                          ({"lines": [{"name": "x", "price": "1", "vat_rate": "18"}]}, "lines.0.vat_rate"),
                          ({"type": DocumentType.CORRECTED}, "corrects"),
                          ({"type": "bogus"}, "type"), ({"transactions": [999999]}, "transactions")]:
        with pytest.raises(ValidationFailed) as exc:
            draft(actor, buyer, **kwargs)
        assert field in exc.value.errors
    assert counts() == before


def test_legal_entity_requisites_are_validated(db: Any, clock: FixedClock, actor: Actor) -> None:
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.legal_entity_create(actor=actor, name="X", full_name="X", inn="7707083894", legal_address="a",
                                     bik="044525225", settlement_account="40702810938000000002")
    assert set(exc.value.errors) == {"inn", "settlement_account"}
    assert counts() == before


def test_variables_are_frozen_into_issued_documents(entity: LegalEntity, buyer: Client, actor: Actor) -> None:
    services.variable_set(actor=actor, code="contract", value="Договор № 1 от 01.01.2026")
    services.variable_set(actor=actor, code="contract", value="Договор № 7 (ООО)", legal_entity=entity)
    doc = services.document_issue(actor=actor, document=draft(actor, buyer, DocumentType.ACT))
    assert doc.data["vars"]["contract"] == "Договор № 7 (ООО)"
    assert doc.data["vars"]["entity_inn"] == "7707083893"
    before = counts()
    with pytest.raises(ValidationFailed):
        services.variable_set(actor=actor, code="entity_inn", value="1")
    assert counts() == before


def test_reconciliation_from_the_ledger_statement(entity: LegalEntity, buyer: Client, actor: Actor,
                                                  clock: FixedClock) -> None:
    at(clock, D(2026, 10, 5))
    ledger_operation_post(actor=actor, client=buyer, operation="payment", amount="2900.00", reason="п/п 12")
    at(clock, D(2026, 11, 1))
    ledger_operation_post(actor=actor, client=buyer, operation="charge", amount="2090.00", reason="VPS, ноябрь",
                          vat_rate="22")
    at(clock, D(2026, 11, 25))
    doc = services.document_reconciliation_create(actor=actor, client=buyer, start=D(2026, 10, 1),
                                                  end=D(2026, 11, 30))
    r = doc.data["reconciliation"]
    assert (r["opening_debit"], r["opening_credit"], r["total_debit"], r["total_credit"]) == (
        "0.00", "0.00", "2090.00", "2900.00")
    assert (r["closing_debit"], r["closing_credit"], r["owed_by"]) == ("0.00", "810.00", "provider")
    assert [(row["date"], row["debit"], row["credit"]) for row in r["rows"]] == [
        ("2026-10-05", "0.00", "2900.00"), ("2026-11-01", "2090.00", "0.00")]
    assert doc.data["amount_in_words"] == "Восемьсот десять рублей 00 копеек"
    assert (doc.status, doc.number, doc.issue_date) == (DocumentStatus.ISSUED, "1", D(2026, 11, 25))
    assert doc.transactions.count() == 2


def test_monthly_acts_per_client_from_the_charges(entity: LegalEntity, buyer: Client, actor: Actor,
                                                  clock: FixedClock) -> None:
    at(clock, D(2026, 10, 3))
    a = ledger_operation_post(actor=actor, client=buyer, operation="charge", amount="1220.00", reason="VPS",
                              vat_rate="22")
    b = ledger_operation_post(actor=actor, client=buyer, operation="one_off_charge", amount="100.00",
                              reason="Настройка", vat_rate="exempt")
    ledger_operation_post(actor=actor, client=buyer, operation="payment", amount="5000.00", reason="оплата")
    at(clock, D(2026, 11, 2))
    ledger_operation_post(actor=actor, client=buyer, operation="charge", amount="1.00", reason="ноябрь")
    acts = services.documents_issue_monthly_acts(actor=actor, month="2026-10")
    assert len(acts) == 1
    act = acts[0]
    assert (act.type, act.number, act.issue_date, act.period_start, act.period_end) == (
        "act", "1", D(2026, 10, 31), D(2026, 10, 1), D(2026, 10, 31))
    assert sorted(act.transactions.values_list("pk", flat=True)) == sorted([a.pk, b.pk])
    assert [(ln["name"], ln["gross"], ln["vat"]) for ln in act.data["lines"]] == [
        ("VPS", "1220.00", "220.00"), ("Настройка", "100.00", "0.00")]
    assert a.documents.get() == act  # the ledger side of the link
    assert services.documents_issue_monthly_acts(actor=actor, month="2026-10") == []  # nothing twice
