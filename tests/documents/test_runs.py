"""The billing hook: documents of an applied run, once; sandbox and rejected runs issue nothing and
consume no number."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kopeck.billing import services as billing
from kopeck.billing.models import BillingRun, RunItem, RunMode, RunStatus
from kopeck.billing.selectors import run_fingerprint
from kopeck.common.actor import Actor
from kopeck.documents import services
from kopeck.documents.models import Document, DocumentStatus, DocumentType, LegalEntity, RunDocument
from kopeck.documents.services import periodic
from kopeck.ledger.models import JournalTransaction
from kopeck.outbox.models import OutboxMessage
from tests.billing.conftest import TODAY, Book
from tests.documents.conftest import counters, counts

pytestmark = pytest.mark.django_db
D = dt.date


def run(actor: Actor, mode: str) -> BillingRun:
    created = billing.billing_run_create(actor=actor, billing_date=TODAY, mode=mode)
    return billing.billing_run_execute(actor=actor, run=created)


def test_an_auto_run_issues_one_invoice_per_client_linked_to_its_charges(book: Book, entity: LegalEntity,
                                                                          actor: Actor) -> None:
    r = run(actor, RunMode.AUTO)  # the run issues its documents when it completes
    docs = list(Document.objects.filter(run=r))
    assert r.summary["documents"] == 3
    assert len(docs) == 3 and {d.client_id for d in docs} == {c.pk for c in book.clients}
    assert sorted(d.number for d in docs) == ["1", "2", "3"]
    assert counters() == [("invoice", "2026", 3)]
    for doc in Document.objects.filter(run=r):
        charges = JournalTransaction.objects.filter(client=doc.client, operation="charge")
        assert doc.type == DocumentType.INVOICE and doc.status == DocumentStatus.ISSUED
        assert doc.issue_date == TODAY and doc.data["document"]["number"] == doc.number
        assert sorted(doc.transactions.values_list("pk", flat=True)) == sorted(charges.values_list("pk", flat=True))
        assert doc.amount_minor == sum(t.amount_minor for t in charges)
        assert doc.vat_minor == sum(t.vat_minor for t in charges)  # same per-line VAT as the ledger
        assert sum(int(ln["gross"].replace(".", "")) for ln in doc.data["lines"]) == doc.amount_minor
    first = Document.objects.filter(run=r).order_by("id").first()
    assert first is not None
    assert first.data["lines"][0]["name"].startswith("Виртуальный сервер «pro»: Абонентская плата, ")
    # no PDF rendered inline: the outbox has one rendering per document
    assert OutboxMessage.objects.filter(topic="documents.render_pdf").count() == 3
    assert not Document.objects.filter(pdf__isnull=False).exists()
    before = counts()
    assert services.documents_issue_for_run(actor=actor, run=r) == []  # idempotent
    assert counts() == before


def test_resumes_the_clients_left_and_follows_the_settings(book: Book, entity: LegalEntity, actor: Actor,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    services.document_settings_update(actor=actor, run_document=RunDocument.UPD, upd_status=2)
    real = periodic._issue_batch
    calls = {"n": 0}

    def crash_on_second_chunk(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] >= 2:  # the second client's document, also when the chunk is tried again
            raise RuntimeError("crash")
        return real(*args, **kwargs)

    monkeypatch.setattr(periodic, "CHUNK", 1)
    monkeypatch.setattr(periodic, "_issue_batch", crash_on_second_chunk)
    created = billing.billing_run_create(actor=actor, billing_date=TODAY, mode=RunMode.AUTO)
    with pytest.raises(RuntimeError):
        billing.billing_run_execute(actor=actor, run=created)
    created.refresh_from_db()
    # the chunk's charges and documents (the first client's too) rolled back together: no number used
    assert created.status == RunStatus.FAILED
    assert Document.objects.filter(run=created).count() == 0 and counters() == []
    assert RunItem.objects.filter(run=created).count() == 0 and JournalTransaction.objects.count() == 0
    monkeypatch.setattr(periodic, "_issue_batch", real)
    r = billing.billing_run_execute(actor=actor, run=created)  # resume: finishes and issues
    # an УПД closes services rendered: the third client's only period (1–30 November) has not ended
    # on the 25th, so it gets none (its charges wait for the monthly УПД)
    assert r.status == RunStatus.COMPLETED and r.summary["documents"] == 2
    rest = list(Document.objects.filter(run=r))
    assert len(rest) == 2 and all(d.type == DocumentType.UPD and d.upd_status == 2 for d in rest)
    assert {d.client_id for d in rest} == {book.clients[0].pk, book.clients[1].pk}
    assert all(D.fromisoformat(ln["period_end"]) <= TODAY for d in rest for ln in d.data["lines"])
    assert sorted(Document.objects.filter(run=r).values_list("number", flat=True)) == ["1", "2"]
    assert counters() == [("upd", "2026", 2)]
    assert services.documents_issue_for_run(actor=actor, run=r) == []


def test_a_sandbox_run_issues_nothing(book: Book, entity: LegalEntity, actor: Actor) -> None:
    r = run(actor, RunMode.SANDBOX)
    before = counts()
    assert services.documents_issue_for_run(actor=actor, run=r) == []
    assert counts() == before and counters() == []


def test_a_rejected_confirm_run_consumes_no_number(book: Book, entity: LegalEntity, actor: Actor) -> None:
    r = run(actor, RunMode.CONFIRM)
    assert services.documents_issue_for_run(actor=actor, run=r) == []  # awaiting confirmation
    r = billing.billing_run_reject(actor=actor, run=r)
    before = counts()
    assert services.documents_issue_for_run(actor=actor, run=r) == []
    assert counts() == before and counters() == []
    assert Document.objects.count() == 0


def test_a_confirmed_run_issues_at_confirmation(book: Book, entity: LegalEntity, actor: Actor) -> None:
    r = run(actor, RunMode.CONFIRM)
    assert Document.objects.count() == 0 and counters() == []
    r = billing.billing_run_confirm(actor=actor, run=r, fingerprint=run_fingerprint(r))
    # the billing run issues its documents when it completes, and only then
    assert Document.objects.filter(run=r).count() == 3 and counters() == [("invoice", "2026", 3)]
    assert r.summary["documents"] == 3
    assert services.documents_issue_for_run(actor=actor, run=r) == []  # idempotent


def test_none_and_no_legal_entity_issue_nothing(book: Book, db: object, actor: Actor) -> None:
    r = run(actor, RunMode.AUTO)
    assert RunItem.objects.filter(run=r, applied_at__isnull=False).exists()
    assert services.documents_issue_for_run(actor=actor, run=r) == []  # no legal entity yet
    services.legal_entity_create(actor=actor, name="ООО «К»", full_name="ООО «К»", inn="7707083893",
                                 kpp="770701001", legal_address="Москва")
    services.document_settings_update(actor=actor, run_document=RunDocument.NONE)
    assert services.documents_issue_for_run(actor=actor, run=r) == []
    assert counters() == []


def test_a_run_for_a_past_date_after_later_documents_dates_them_today(book: Book, entity: LegalEntity,
                                                                      actor: Actor) -> None:
    import datetime as dt

    first = billing.billing_run_execute(actor=actor, run=billing.billing_run_create(
        actor=actor, billing_date=TODAY, mode=RunMode.AUTO, scope={"clients": [book.clients[0].pk]}))
    assert [d.issue_date for d in Document.objects.filter(run=first)] == [TODAY]
    past = TODAY - dt.timedelta(days=5)
    later = billing.billing_run_execute(actor=actor, run=billing.billing_run_create(
        actor=actor, billing_date=past, mode=RunMode.AUTO,
        scope={"clients": [book.clients[1].pk, book.clients[2].pk]}))
    assert later.status == RunStatus.COMPLETED and later.summary["documents"] == 2
    docs = Document.objects.filter(run=later).order_by("number_seq")
    # numbers follow the issue dates: dated the day they are issued, not the billed date
    assert [(d.number, d.issue_date) for d in docs] == [("2", TODAY), ("3", TODAY)]


def test_retrying_a_failed_client_issues_its_document(book: Book, entity: LegalEntity, actor: Actor,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from kopeck.subscriptions import batch

    real = batch.subscription_terms
    broken = book.subs[1].pk  # client 2's only subscription

    def failing(sub: Any, spec: Any = None, **kwargs: Any) -> Any:
        if sub.pk == broken:
            raise ValueError("price missing")
        return real(sub, spec, **kwargs)

    monkeypatch.setattr(batch, "subscription_terms", failing)
    r = run(actor, RunMode.AUTO)
    assert r.summary["errors"] == 1 and r.summary["documents"] == 2
    assert not Document.objects.filter(run=r, client=book.clients[1]).exists()
    monkeypatch.setattr(batch, "subscription_terms", real)
    r = billing.billing_run_retry_errors(actor=actor, run=r)
    assert r.summary["errors"] == 0 and r.summary["documents"] == 3
    doc = Document.objects.get(run=r, client=book.clients[1])
    assert doc.number == "3" and doc.transactions.count() == JournalTransaction.objects.filter(
        client=book.clients[1], operation="charge").count() > 0


def test_retrying_one_of_a_clients_subscriptions_issues_a_supplementary_document(
        book: Book, entity: LegalEntity, actor: Actor, monkeypatch: pytest.MonkeyPatch) -> None:
    from kopeck.subscriptions import batch

    real = batch.subscription_terms
    client, ok, broken = book.clients[0], book.subs[0], book.subs[3]  # client 1: "pro" and "lite"

    def failing(sub: Any, spec: Any = None, **kwargs: Any) -> Any:
        if sub.pk == broken.pk:
            raise ValueError("price missing")
        return real(sub, spec, **kwargs)

    monkeypatch.setattr(batch, "subscription_terms", failing)
    r = run(actor, RunMode.AUTO)
    assert r.summary["errors"] == 1 and r.summary["documents"] == 3
    first = Document.objects.get(run=r, client=client)
    ok_txns = sorted(JournalTransaction.objects.filter(client=client, operation="charge",
                                                       source_ref__startswith=f"subscription:{ok.pk}:")
                     .values_list("pk", flat=True))
    assert first.run_part == 1 and sorted(first.transactions.values_list("pk", flat=True)) == ok_txns

    monkeypatch.setattr(batch, "subscription_terms", real)
    r = billing.billing_run_retry_errors(actor=actor, run=r)
    assert r.summary["errors"] == 0 and r.summary["documents"] == 4
    assert (r.summary["subscriptions"], r.summary["clients"], r.processed, r.applied) == (4, 3, 4, 4)
    second = Document.objects.get(run=r, client=client, run_part=2)
    retried = JournalTransaction.objects.filter(client=client, operation="charge",
                                                source_ref__startswith=f"subscription:{broken.pk}:")
    assert retried.exists()
    # only the retried subscription's charges, each on exactly one document of the run
    assert sorted(second.transactions.values_list("pk", flat=True)) == sorted(retried.values_list("pk", flat=True))
    assert second.amount_minor == sum(t.amount_minor for t in retried)
    assert sum(int(ln["gross"].replace(".", "")) for ln in second.data["lines"]) == second.amount_minor
    assert sorted(first.transactions.values_list("pk", flat=True)) == ok_txns  # the first is unchanged
    assert (second.number, second.type) == ("4", first.type)  # the next number: no gap
    assert counters() == [("invoice", "2026", 4)]

    before = counts()
    assert billing.billing_run_retry_errors(actor=actor, run=r).summary["documents"] == 4  # nothing left
    # issuing the same items again as supplementary finds their charges documented
    items = list(RunItem.objects.filter(run=r, subscription=broken))
    assert services.documents_issue_for_run(actor=actor, run=r, clients=[client.pk], items=items,
                                            supplementary=True) == []
    assert counts() == {**before, "AuditEntry": before["AuditEntry"] + 1}  # the retry is audited
