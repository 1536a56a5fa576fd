"""Applying a previewed bank statement: every matched line becomes a payment credited to its client
(and allocated to its invoices), every unidentified line a payment on the suspense account. One
database transaction — a failure anywhere (fault injected mid-apply in the tests) leaves nothing
applied — and idempotent: a statement is applied once, and a document already taken by another
statement (the same dedupe key, the payments' ``external_id``) is not taken again.

Bulk writes in chunks (``COPY`` on PostgreSQL): payments, ledger credits, audit entries, events,
allocations and the invoices' paid state, so 100,000 documents apply in seconds."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum

from kopeck.audit.services import audit_record, audit_record_many
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.bulk import insert_rows, reserve_ids, update_rows
from kopeck.common.errors import NotFound
from kopeck.common.faults import fault_point
from kopeck.documents.models import Document, DocumentType
from kopeck.documents.services import invoices_paid_sync_bulk
from kopeck.events.services import NewEvent, event_record, event_record_many
from kopeck.ledger.amounts import from_minor
from kopeck.ledger.services import BulkCredit, ledger_credits_post_bulk
from kopeck.payments.matching import first_named
from kopeck.payments.models import (
    Allocation,
    BankStatement,
    LineOutcome,
    Payment,
    PaymentStatus,
    StatementLine,
    StatementStatus,
)
from kopeck.payments.selectors import OPEN_INVOICE_STATES, payment_settings
from kopeck.payments.services.common import payment_state

CHUNK = 5000
APPLY_LOCK_KEY = 0x6B6F7065636B15  # one statement applied at a time (PostgreSQL advisory lock)
Progress = Callable[[int], None]
# a test hook called after each chunk is written (the fault-injection test raises in it)
after_chunk: Callable[[int], None] | None = None


def bank_statement_apply(*, actor: Actor, statement: BankStatement, progress: Progress | None = None) -> BankStatement:
    """Credit the statement's matched and unidentified lines. Applying an applied statement again
    does nothing and returns it."""
    with transaction.atomic():
        st = BankStatement.objects.select_for_update().filter(pk=statement.pk).first()
        if st is None:
            raise NotFound(f"Bank statement {statement.pk} does not exist.")
        if st.status == StatementStatus.APPLIED:
            return st
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [APPLY_LOCK_KEY])
        auto = payment_settings().auto_allocate
        counts: dict[str, int] = defaultdict(int)
        done, last = 0, 0
        while True:
            lines = list(StatementLine.objects.filter(
                statement=st, pk__gt=last, outcome__in=(LineOutcome.MATCHED, LineOutcome.UNIDENTIFIED)).order_by(
                "pk")[:CHUNK])
            if not lines:
                break
            last = lines[-1].pk
            _apply_chunk(actor, lines, auto, counts)
            done += len(lines)
            fault_point("bank_statement.apply")
            if after_chunk is not None:
                after_chunk(done)
            if progress:
                progress(done)
        st.status, st.applied_at, st.applied_by = StatementStatus.APPLIED, clock.now(), actor.label
        st.save(update_fields=["status", "applied_at", "applied_by"])
        final = dict(StatementLine.objects.filter(statement=st).values_list("outcome").annotate(n=Sum(1)).values_list(
            "outcome", "n"))
        audit_record(actor=actor, action="bank_statement.apply", object_type="bank_statement", object_id=st.pk,
                     after={"credited": counts["credited"], "unidentified": counts["unidentified"],
                            "taken_by_another": counts["duplicate"]})
        event_record("import.completed", actor=actor, subject_id=st.pk,
                     data={"import": {"id": st.pk, "kind": "bank_statement", "file_name": st.file_name},
                           "counts": {k: int(v) for k, v in final.items()}, "totals": st.totals})
    return st


def _apply_chunk(actor: Actor, lines: list[StatementLine], auto: bool, counts: dict[str, int]) -> None:
    # a document taken meanwhile by another statement (overlapping statements) is a duplicate now
    taken = dict(Payment.objects.filter(method="bank", external_id__in=[ln.dedupe_key for ln in lines])
                 .values_list("external_id", "pk"))
    fresh: list[StatementLine] = []
    for ln in lines:
        if ln.dedupe_key in taken:
            ln.outcome, ln.note = LineOutcome.DUPLICATE, f"Уже зачислен: платёж № {taken[ln.dedupe_key]}"
            counts["duplicate"] += 1
        else:
            fresh.append(ln)
    update_rows(StatementLine, ("outcome", "note"), [(ln.pk, ln.outcome, ln.note) for ln in lines
                                                     if ln.outcome == LineOutcome.DUPLICATE])
    if not fresh:
        return
    now = clock.now()
    fields = ("client_id", "amount_minor", "currency", "date", "method", "status", "match_rule", "payer_name",
              "payer_inn", "payer_kpp", "payer_account", "payer_bik", "payer_bank", "purpose", "external_id",
              "created_by", "created_at")
    rows = [(ln.client_id, ln.amount_minor, ln.currency, ln.date, "bank",
             PaymentStatus.CREDITED if ln.client_id else PaymentStatus.UNIDENTIFIED, ln.match_rule, ln.payer_name,
             ln.payer_inn, ln.payer_kpp, ln.payer_account, ln.payer_bik, ln.payer_bank, ln.purpose, ln.dedupe_key,
             actor.label, now) for ln in fresh]

    def credits(ids: Sequence[int]) -> list[BulkCredit]:
        return [BulkCredit(client_id=ln.client_id, currency=ln.currency,
                           amount=from_minor(ln.amount_minor, ln.currency).amount,
                           reason=f"Платёж № {pk} от {ln.date:%d.%m.%Y} (п/п № {ln.number})",
                           source_ref=f"payment:{pk}", operation="payment" if ln.client_id else "suspense_receipt")
                for ln, pk in zip(fresh, ids, strict=True)]

    ids = reserve_ids(Payment, len(fresh))
    if ids:  # PostgreSQL: the ledger first, then the payments naming their transactions (no update)
        txn_ids = ledger_credits_post_bulk(actor=actor, credits=credits(ids))
        insert_rows(Payment, (*fields, "transaction_id"), [(*r, t) for r, t in zip(rows, txn_ids, strict=True)],
                    keys=ids)
    else:
        ids = insert_rows(Payment, fields, rows)
        txn_ids = ledger_credits_post_bulk(actor=actor, credits=credits(ids))
        update_rows(Payment, ("transaction_id",), list(zip(ids, txn_ids, strict=True)))
    payments = list(Payment.objects.filter(pk__in=ids).order_by("pk"))
    audit_record_many(actor=actor, entries=[("payment.record", "payment", p.pk, None, payment_state(p))
                                            for p in payments])
    identified = [p for p in payments if p.client_id is not None]
    if auto and identified:
        _allocate_bulk(actor, identified)
    counts["credited"] += len(identified)
    counts["unidentified"] += len(payments) - len(identified)
    allocated: dict[int, list[int]] = defaultdict(list)
    for pay_id, doc_id in Allocation.objects.filter(payment_id__in=[p.pk for p in identified]).values_list(
            "payment_id", "document_id"):
        allocated[pay_id].append(doc_id)
    events = []
    for p in payments:
        data = _event_data(p, sorted(set(allocated.get(p.pk, []))))
        events.append(NewEvent("payment.received" if p.client_id else "payment.unidentified", {"payment": data},
                               client_id=p.client_id, subject_id=p.pk))
    event_record_many(events, actor=actor)


def _event_data(p: Payment, invoice_ids: list[int]) -> dict[str, Any]:
    return {"id": p.pk, "amount": from_minor(p.amount_minor, p.currency).to_str(), "currency": p.currency,
            "date": p.date.isoformat(), "method": p.method, "status": p.status, "client_id": p.client_id,
            "payer_name": p.payer_name, "payer_inn": p.payer_inn, "purpose": p.purpose,
            "external_id": p.external_id or None, "invoice_ids": invoice_ids}


def _allocate_bulk(actor: Actor, payments: Sequence[Payment]) -> None:
    """The automatic allocation of many new payments at once (the same rule as one by one: the
    invoices named in the purpose first, then the oldest open ones), with the invoices locked."""
    client_ids = {p.client_id for p in payments}
    docs = list(Document.objects.select_for_update().filter(
        client_id__in=client_ids, type=DocumentType.INVOICE, status__in=OPEN_INVOICE_STATES).order_by("id")
        .only("id", "client_id", "number", "amount_minor", "issue_date", "currency"))
    if not docs:
        return
    already = dict(Allocation.objects.filter(document__in=docs, released_at__isnull=True).values_list("document_id")
                   .annotate(s=Sum("amount_minor")).values_list("document_id", "s"))
    rest = {d.pk: d.amount_minor - int(already.get(d.pk) or 0) for d in docs}
    by_client: dict[int, list[Document]] = defaultdict(list)
    for d in sorted(docs, key=lambda d: (d.issue_date, d.pk)):
        by_client[d.client_id].append(d)
    now = clock.now()
    rows: list[tuple[Any, ...]] = []
    changed: list[Payment] = []
    touched: set[int] = set()
    for pay in payments:
        open_docs = [d for d in by_client.get(pay.client_id or 0, []) if d.currency == pay.currency and rest[d.pk] > 0]
        if not open_docs:
            continue
        numbers = {d.number: d for d in open_docs if d.number}
        named = [numbers[n] for n in first_named(pay.purpose, numbers)]
        left = pay.amount_minor
        for d in named + [d for d in open_docs if d not in named]:
            if left <= 0:
                break
            take = min(left, rest[d.pk])
            if take <= 0:
                continue
            rows.append((pay.pk, d.pk, take, pay.currency, True, actor.label, now))
            rest[d.pk] -= take
            left -= take
            touched.add(d.pk)
        if left != pay.amount_minor:
            pay.allocated_minor = pay.amount_minor - left
            changed.append(pay)
    insert_rows(Allocation, ("payment_id", "document_id", "amount_minor", "currency", "automatic", "created_by",
                             "created_at"), rows, ids=False)
    update_rows(Payment, ("allocated_minor",), [(p.pk, p.allocated_minor) for p in changed])
    amounts = {d.pk: d.amount_minor for d in docs}
    invoices_paid_sync_bulk(actor=actor, paid={pk: amounts[pk] - rest[pk] for pk in sorted(touched)})
