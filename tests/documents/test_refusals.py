"""Refusals of documents: a draft's fields, corrections, issuing, payments and cancellation. Each
refusal names the field and why, and writes nothing (no document, no number, no audit entry, no
payment recorded)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, NotFound, ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.documents import services
from kopeck.documents.models import Document, DocumentStatus, DocumentType, LegalEntity
from kopeck.ledger.services import ledger_operation_post
from tests.documents.conftest import ENTITY, counters, counts
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
D = dt.date
LINE = {"name": "Хостинг", "price": "1220.00", "vat_rate": "22"}


def draft(actor: Actor, buyer: Client, type: str = DocumentType.INVOICE, **kwargs: Any) -> Document:
    return services.document_create_draft(actor=actor, type=type, client=buyer, lines=kwargs.pop("lines", [LINE]),
                                          **kwargs)


def refused(call: Any, error: type[Exception] = ValidationFailed, match: str | None = None) -> dict[str, list[str]]:
    """The field errors of ``call()``, checking it wrote nothing."""
    before = counts(), counters()
    with pytest.raises(error, match=match) as exc:
        call()
    assert (counts(), counters()) == before
    return exc.value.errors  # type: ignore[attr-defined, no-any-return]


# -- drafts ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("kwargs", "errors"), [
    ({"type": DocumentType.RECONCILIATION}, {"type": [
        "Choose one of: invoice, act, invoice_factura, advance_invoice_factura, corrective_invoice_factura, "
        "corrected, upd."]}),
    ({"language": "de"}, {"language": ["Choose one of: ru, en."]}),
    ({"currency": "XYZ"}, {"currency": ["unknown currency 'XYZ'"]}),
    ({"prices_include_vat": "yes"}, {"prices_include_vat": ["Must be true or false."]}),
    ({"due_date": "2026-13-01"}, {"due_date": ["Enter a date as YYYY-MM-DD."]}),
    ({"due_date": dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)}, {"due_date": ["Give a date, not a date and time."]}),
    ({"period_start": "2026-11-30", "period_end": "2026-11-01"}, {"period_end": ["Must not be before period_start."]}),
    ({"type": DocumentType.UPD, "upd_status": 3}, {"upd_status": ["Choose 1 or 2."]}),
    ({"upd_status": 1}, {"upd_status": ["Only an УПД has a status."]}),
    ({"lines": "Хостинг"}, {"lines": ["Give a list of lines."]}),
    ({"lines": ["Хостинг"]}, {"lines.0": ["Give an object with name, price, quantity and vat_rate."]}),
    ({"lines": [{**LINE, "name": "x" * 1001}]}, {"lines.0.name": ["A name of 1 to 1000 characters is required."]}),
    ({"lines": [{**LINE, "price": "-0.01"}]}, {"lines.0.price": ["A price of zero or more, with at most 2 decimals."]}),
    ({"lines": [{**LINE, "price": "abc"}]}, {"lines.0.price": ["not a number: 'abc'"]}),
    ({"lines": [{**LINE, "quantity": "0"}]}, {"lines.0.quantity": [
        "A quantity greater than zero, with at most 3 decimals."]}),
    ({"lines": [{**LINE, "quantity": "1.0001"}]}, {"lines.0.quantity": [
        "A quantity greater than zero, with at most 3 decimals."]}),
    ({"lines": [LINE, {**LINE, "vat_rate": "18"}, {"name": " ", "price": "1"}]}, {
        "lines.1.vat_rate": ["unknown VAT rate '18'; use one of 22, 10, 0, 5, 7, exempt"],
        "lines.2.name": ["A name of 1 to 1000 characters is required."]}),
    ({"notes": "н" * 501}, {"notes": ["At most 500 characters of text."]}),
    ({"corrects": "SELF"}, {"corrects": ["Only a corrected or corrective document refers to another one."]}),
])
def test_a_refused_draft_says_why(entity: LegalEntity, buyer: Client, actor: Actor, kwargs: dict[str, Any],
                                  errors: dict[str, list[str]]) -> None:
    if kwargs.get("corrects") == "SELF":
        kwargs["corrects"] = services.document_issue(actor=actor, document=draft(actor, buyer,
                                                                                 DocumentType.INVOICE_FACTURA))
    assert refused(lambda: draft(actor, buyer, **kwargs)) == errors


def test_a_draft_needs_an_active_legal_entity(db: Any, clock: FixedClock, buyer: Client, actor: Actor) -> None:
    assert refused(lambda: draft(actor, buyer)) == {
        "legal_entity": ["Add the provider's legal entity first (none is the default)."]}
    entity = services.legal_entity_create(actor=actor, **{**ENTITY, "is_active": False})
    assert refused(lambda: draft(actor, buyer, legal_entity=entity)) == {
        "legal_entity": ["This legal entity is not active."]}


def test_a_draft_lists_only_the_clients_own_transactions(entity: LegalEntity, buyer: Client, actor: Actor) -> None:
    own = ledger_operation_post(actor=actor, client=buyer, operation="charge", amount="1220.00", reason="VPS")
    other = ledger_operation_post(actor=actor, client=ClientFactory(), operation="charge", amount="1.00", reason="x")
    assert refused(lambda: draft(actor, buyer, transactions=[own.pk, other.pk, 999999])) == {
        "transactions": [f"Not this client's transactions: {other.pk}, 999999."]}
    assert list(draft(actor, buyer, transactions=[own.pk, own.pk]).transactions.all()) == [own]


# -- corrections -----------------------------------------------------------------------------------------


NOT_CORRECTABLE = {"corrects": ["Only an issued счёт-фактура or УПД can be corrected."]}


@pytest.mark.parametrize("kind", [DocumentType.CORRECTED, DocumentType.CORRECTIVE_INVOICE_FACTURA])
def test_what_a_correction_may_correct(entity: LegalEntity, buyer: Client, actor: Actor, kind: str) -> None:
    assert refused(lambda: draft(actor, buyer, kind)) == {"corrects": ["Give the issued document this one corrects."]}
    invoice = services.document_issue(actor=actor, document=draft(actor, buyer))
    assert refused(lambda: draft(actor, buyer, kind, corrects=invoice)) == NOT_CORRECTABLE
    unissued = draft(actor, buyer, DocumentType.INVOICE_FACTURA)
    assert refused(lambda: draft(actor, buyer, kind, corrects=unissued)) == NOT_CORRECTABLE
    cancelled = services.document_cancel(actor=actor, reason="ошибка", document=services.document_issue(
        actor=actor, document=draft(actor, buyer, DocumentType.UPD)))
    assert refused(lambda: draft(actor, buyer, kind, corrects=cancelled)) == NOT_CORRECTABLE
    foreign = services.document_issue(actor=actor, document=draft(actor, ClientFactory(), DocumentType.UPD))
    assert refused(lambda: draft(actor, buyer, kind, corrects=foreign)) == {
        "corrects": ["The corrected document belongs to another client."]}
    for original in (services.document_issue(actor=actor, document=draft(actor, buyer, DocumentType.UPD)),
                     services.document_issue(actor=actor, document=draft(actor, buyer, DocumentType.INVOICE_FACTURA)),
                     services.document_issue(actor=actor, document=draft(
                         actor, buyer, DocumentType.ADVANCE_INVOICE_FACTURA))):
        assert draft(actor, buyer, kind, corrects=original).corrects_id == original.pk


def test_a_corrective_invoice_factura_keeps_the_lines_of_the_original(entity: LegalEntity, buyer: Client,
                                                                      actor: Actor) -> None:
    sf = services.document_issue(actor=actor, document=draft(actor, buyer, DocumentType.INVOICE_FACTURA))
    assert refused(lambda: draft(actor, buyer, DocumentType.CORRECTIVE_INVOICE_FACTURA, corrects=sf,
                                 lines=[LINE, LINE])) == {
        "lines": ["a correction keeps the lines of the original document (same count, same order)"]}


def test_a_correction_is_issued_only_while_its_original_is_issued_and_not_before_it(
        entity: LegalEntity, buyer: Client, actor: Actor) -> None:
    sf = services.document_issue(actor=actor, document=draft(actor, buyer, DocumentType.INVOICE_FACTURA),
                                 issue_date=D(2026, 11, 20))
    early = draft(actor, buyer, DocumentType.CORRECTED, corrects=sf)
    assert refused(lambda: services.document_issue(actor=actor, document=early, issue_date=D(2026, 11, 19))) == {
        "issue_date": ["A correction cannot be dated before the original."]}
    same_day = services.document_issue(actor=actor, document=draft(actor, buyer, DocumentType.CORRECTED, corrects=sf),
                                       issue_date=D(2026, 11, 20))
    assert (same_day.number, same_day.correction_number, same_day.issue_date) == (sf.number, 1, D(2026, 11, 20))
    services.document_cancel(actor=actor, document=sf, reason="ошибка")
    assert refused(lambda: services.document_issue(actor=actor, document=early), Conflict,
                   match=r"^The corrected document is not issued \(any more\)\.$") == {}
    early.refresh_from_db()
    assert (early.status, early.number, early.correction_number) == (DocumentStatus.DRAFT, None, None)


# -- issuing ---------------------------------------------------------------------------------------------


def test_issuing_needs_an_active_entity_and_an_invoice_its_bank_details(entity: LegalEntity, buyer: Client,
                                                                        actor: Actor) -> None:
    invoice, act = draft(actor, buyer), draft(actor, buyer, DocumentType.ACT)
    services.legal_entity_update(actor=actor, entity=entity, bik="", settlement_account="", correspondent_account="")
    assert refused(lambda: services.document_issue(actor=actor, document=invoice)) == {"legal_entity": [
        "An invoice needs the legal entity's bank details (БИК and settlement account)."]}
    assert services.document_issue(actor=actor, document=act).number == "1"  # an act needs no bank details
    services.legal_entity_update(actor=actor, entity=entity, is_active=False)
    assert refused(lambda: services.document_issue(actor=actor, document=invoice)) == {
        "legal_entity": ["The legal entity is not active.",
                         "An invoice needs the legal entity's bank details (БИК and settlement account)."]}


@pytest.mark.parametrize(("value", "errors"), [
    ("25.11.2026", {"issue_date": ["Enter a date as YYYY-MM-DD."]}),
    (dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC), {"issue_date": ["Give a date, not a date and time."]}),
    ("2026-11-26", {"issue_date": ["A document cannot be issued with a date in the future."]}),
])
def test_a_bad_issue_date_is_refused(entity: LegalEntity, buyer: Client, actor: Actor, value: Any,
                                     errors: dict[str, list[str]]) -> None:
    doc = draft(actor, buyer)
    assert refused(lambda: services.document_issue(actor=actor, document=doc, issue_date=value)) == errors


def test_only_a_draft_is_issued(entity: LegalEntity, buyer: Client, actor: Actor) -> None:
    doc = services.document_issue(actor=actor, document=draft(actor, buyer))
    assert refused(lambda: services.document_issue(actor=actor, document=doc), Conflict) == {"status": ["Is issued."]}
    with pytest.raises(NotFound):
        services.document_issue(actor=actor, document=Document(pk=999999))


# -- payments --------------------------------------------------------------------------------------------


def test_what_takes_a_payment(entity: LegalEntity, buyer: Client, actor: Actor) -> None:
    unissued = draft(actor, buyer)
    assert refused(lambda: services.document_mark_paid(actor=actor, document=unissued), Conflict) == {
        "status": ["Is draft."]}
    act = services.document_issue(actor=actor, document=draft(actor, buyer, DocumentType.ACT))
    assert refused(lambda: services.document_mark_paid(actor=actor, document=act, amount="1.00"), Conflict) == {
        "type": ["Not an invoice."]}
    cancelled = services.document_cancel(actor=actor, document=services.document_issue(
        actor=actor, document=draft(actor, buyer)), reason="ошибка")
    assert refused(lambda: services.document_mark_paid(actor=actor, document=cancelled), Conflict) == {
        "status": ["Is cancelled."]}
    with pytest.raises(NotFound):
        services.document_mark_paid(actor=actor, document=Document(pk=999999))


@pytest.mark.parametrize(("amount", "message"), [
    ("0", "A positive amount in whole minor units."), ("-1.00", "A positive amount in whole minor units."),
    ("0.001", "A positive amount in whole minor units."), ("abc", "not a number: 'abc'"),
    ("1220.01", "At most the unpaid rest, 1220.00."),
])
def test_a_bad_payment_amount_is_refused(entity: LegalEntity, buyer: Client, actor: Actor, amount: str,
                                         message: str) -> None:
    doc = services.document_issue(actor=actor, document=draft(actor, buyer))
    assert refused(lambda: services.document_mark_paid(actor=actor, document=doc, amount=amount)) == {
        "amount": [message]}
    doc.refresh_from_db()
    assert (doc.status, doc.paid_minor) == (DocumentStatus.ISSUED, 0)


def test_paying_exactly_the_rest_pays_the_invoice_and_then_nothing_more(entity: LegalEntity, buyer: Client,
                                                                         actor: Actor) -> None:
    doc = services.document_issue(actor=actor, document=draft(actor, buyer))
    doc = services.document_mark_paid(actor=actor, document=doc, amount="0.01")
    assert (doc.status, doc.paid_minor) == (DocumentStatus.PARTLY_PAID, 1)
    doc = services.document_mark_paid(actor=actor, document=doc, amount="1219.99")
    assert (doc.status, doc.paid_minor) == (DocumentStatus.PAID, 122000)
    assert refused(lambda: services.document_mark_paid(actor=actor, document=doc, amount="0.01"), Conflict) == {
        "status": ["Is paid."]}


# -- cancelling ------------------------------------------------------------------------------------------


def test_what_can_be_cancelled(entity: LegalEntity, buyer: Client, actor: Actor) -> None:
    doc = services.document_issue(actor=actor, document=draft(actor, buyer))
    for reason in ("", "   ", None):
        assert refused(lambda r=reason: services.document_cancel(actor=actor, document=doc, reason=r)) == {
            "reason": ["A reason is required."]}
    services.document_mark_paid(actor=actor, document=doc, amount="100.00")
    assert refused(lambda: services.document_cancel(actor=actor, document=doc, reason="x"), Conflict) == {
        "status": ["Is partly_paid."]}
    services.document_mark_paid(actor=actor, document=doc)
    assert refused(lambda: services.document_cancel(actor=actor, document=doc, reason="x"), Conflict) == {
        "status": ["Is paid."]}
    with pytest.raises(NotFound):
        services.document_cancel(actor=actor, document=Document(pk=999999), reason="x")
    doc.refresh_from_db()
    assert (doc.status, doc.cancel_reason) == (DocumentStatus.PAID, "")


def test_an_older_copy_of_the_legal_entity_does_not_undo_a_change(entity: LegalEntity, actor: Actor) -> None:
    older = LegalEntity.objects.get(pk=entity.pk)
    services.legal_entity_update(actor=actor, entity=entity, director_name="Сидоров С. С.")
    services.legal_entity_update(actor=actor, entity=older, accountant_name="Смирнова А. А.")
    stored = LegalEntity.objects.get(pk=entity.pk)
    assert (stored.director_name, stored.accountant_name) == ("Сидоров С. С.", "Смирнова А. А.")
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.legal_entity_update(actor=actor, entity=older, bik="123")
    assert "bik" in exc.value.errors and counts() == before
    assert LegalEntity.objects.get(pk=entity.pk).bik == ENTITY["bik"]
