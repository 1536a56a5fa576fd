"""Applying a previewed bank statement: every matched line becomes a payment credited to its client
(and allocated to its invoices), every unidentified line a payment on the suspense account. One
database transaction — a failure anywhere (fault injected mid-apply in the tests) leaves nothing
applied — and idempotent: a statement is applied once, and a document already taken by another
statement (the same dedupe key, the payments' ``external_id``) is not taken again.

Bulk writes in chunks (``COPY`` on PostgreSQL): payments, ledger credits, audit entries, events,
allocations and the invoices' paid state, so 100,000 documents apply in seconds."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.utils.translation import gettext as _

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
            raise NotFound(_("Bank statement %(id)s does not exist.") % {"id": statement.pk})
        if st.status == StatementStatus.APPLIED:
            return st
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [APPLY_LOCK_KEY])
        auto = payment_settings().auto_allocate
        counts: dict[str, int] = defaultdict(int)
        done, last = 0, 0
        while True:
            lines = _chunk_lines(st, last)
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


class _Line:
    """The columns of a statement line the apply needs (plain attributes: no model instances)."""

    __slots__ = LINE_FIELDS = ("pk", "dedupe_key", "client_id", "amount_minor", "currency", "date", "match_rule",
                               "payer_name", "payer_inn", "payer_kpp", "payer_account", "payer_bik", "payer_bank",
                               "purpose", "number", "outcome", "note")
    pk: int
    dedupe_key: str
    client_id: int | None
    amount_minor: int
    currency: str
    date: dt.date
    match_rule: str
    payer_name: str
    payer_inn: str
    payer_kpp: str
    payer_account: str
    payer_bik: str
    payer_bank: str
    purpose: str
    number: str
    outcome: str
    note: str

    def __init__(self, row: Sequence[Any]) -> None:
        for name, value in zip(self.LINE_FIELDS, row, strict=True):
            setattr(self, name, value)


def _chunk_lines(st: BankStatement, after: int) -> list[_Line]:
    return [_Line(row) for row in StatementLine.objects.filter(
        statement=st, pk__gt=after, outcome__in=(LineOutcome.MATCHED, LineOutcome.UNIDENTIFIED)).order_by(
        "pk").values_list(*_Line.LINE_FIELDS)[:CHUNK]]


def _apply_chunk(actor: Actor, lines: list[_Line], auto: bool, counts: dict[str, int]) -> None:
    # a document taken meanwhile by another statement (overlapping statements) is a duplicate now
    taken = dict(Payment.objects.filter(method="bank", external_id__any_of=[ln.dedupe_key for ln in lines])
                 .values_list("external_id", "pk"))
    fresh: list[_Line] = []
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
    statuses = [PaymentStatus.CREDITED if ln.client_id else PaymentStatus.UNIDENTIFIED for ln in fresh]
    rows = [(ln.client_id, ln.amount_minor, ln.currency, ln.date, "bank", status, ln.match_rule, ln.payer_name,
             ln.payer_inn, ln.payer_kpp, ln.payer_account, ln.payer_bik, ln.payer_bank, ln.purpose, ln.dedupe_key,
             actor.label, now) for ln, status in zip(fresh, statuses, strict=True)]
    amounts = [from_minor(ln.amount_minor, ln.currency) for ln in fresh]

    def credits(ids: Sequence[int]) -> list[BulkCredit]:
        return [BulkCredit(client_id=ln.client_id, currency=ln.currency, amount=amount.amount,
                           reason=f"Платёж № {pk} от {ln.date:%d.%m.%Y} (п/п № {ln.number})",
                           source_ref=f"payment:{pk}", operation="payment" if ln.client_id else "suspense_receipt")
                for ln, pk, amount in zip(fresh, ids, amounts, strict=True)]

    ids = reserve_ids(Payment, len(fresh))
    if ids:  # PostgreSQL: the ledger first, then the payments naming their transactions (no update)
        txn_ids = ledger_credits_post_bulk(actor=actor, credits=credits(ids))
        insert_rows(Payment, (*fields, "transaction_id"), [(*r, t) for r, t in zip(rows, txn_ids, strict=True)],
                    keys=ids)
    else:
        ids = insert_rows(Payment, fields, rows)
        txn_ids = ledger_credits_post_bulk(actor=actor, credits=credits(ids))
        update_rows(Payment, ("transaction_id",), list(zip(ids, txn_ids, strict=True)))
    # the audit entries and the events from what was written (the payments are not read back)
    zero = {cur: from_minor(0, cur).to_str() for cur in {ln.currency for ln in fresh}}
    texts = [amount.to_str() for amount in amounts]
    audit_record_many(actor=actor, json_safe=True, entries=[
        ("payment.record", "payment", pk, None, {
            "client": ln.client_id, "amount": text, "currency": ln.currency, "date": ln.date.isoformat(),
            "method": "bank", "status": status.value, "match_rule": ln.match_rule, "external_id": ln.dedupe_key,
            "refunded": zero[ln.currency], "allocated": zero[ln.currency]})
        for ln, pk, status, text in zip(fresh, ids, statuses, texts, strict=True)])
    identified = [(pk, ln.client_id, ln.currency, ln.amount_minor, ln.purpose)
                  for ln, pk in zip(fresh, ids, strict=True) if ln.client_id is not None]
    allocated = payments_allocate_bulk(actor, identified) if auto and identified else {}
    counts["credited"] += len(identified)
    counts["unidentified"] += len(fresh) - len(identified)
    event_record_many([
        NewEvent("payment.received" if ln.client_id else "payment.unidentified", {"payment": {
            "id": pk, "amount": text, "currency": ln.currency, "date": ln.date.isoformat(), "method": "bank",
            "status": status.value, "client_id": ln.client_id, "payer_name": ln.payer_name,
            "payer_inn": ln.payer_inn, "purpose": ln.purpose, "external_id": ln.dedupe_key or None,
            "invoice_ids": allocated.get(pk, [])}}, client_id=ln.client_id, subject_id=pk)
        for ln, pk, status, text in zip(fresh, ids, statuses, texts, strict=True)], actor=actor)


def payments_allocate_bulk(actor: Actor,
                           payments: Sequence[tuple[int, int, str, int, str]]) -> dict[int, list[int]]:
    """The automatic allocation of many new payments at once (the same rule as one by one: the
    invoices named in the purpose first, then the oldest open ones), with the invoices locked.
    ``payments``: (id, client, currency, amount, purpose); returns each payment's invoice ids."""
    client_ids = sorted({client_id for _pk, client_id, _cur, _units, _purpose in payments})
    docs = list(Document.objects.select_for_update().filter(
        client_id__any_of=client_ids, type=DocumentType.INVOICE, status__in=OPEN_INVOICE_STATES).order_by("id")
        .values_list("id", "client_id", "number", "amount_minor", "issue_date", "currency"))
    if not docs:
        return {}
    already = dict(Allocation.objects.filter(document_id__any_of=[d[0] for d in docs], released_at__isnull=True)
                   .values_list("document_id").annotate(s=Sum("amount_minor")).values_list("document_id", "s"))
    amounts = {doc_id: units for doc_id, _c, _n, units, _d, _cur in docs}
    rest = {doc_id: amounts[doc_id] - int(already.get(doc_id) or 0) for doc_id in amounts}
    by_client: dict[int, list[tuple[int, str, str]]] = defaultdict(list)  # client -> [(id, number, currency)]
    for doc_id, client_id, number, _units, _day, currency in sorted(docs, key=lambda d: (d[4], d[0])):
        by_client[client_id].append((doc_id, number or "", currency))
    now = clock.now()
    rows: list[tuple[Any, ...]] = []
    changed: list[tuple[int, int]] = []
    made: dict[int, list[int]] = {}
    for pay_id, client_id, currency, units, purpose in payments:
        open_docs = [d for d in by_client.get(client_id, ()) if d[2] == currency and rest[d[0]] > 0]
        if not open_docs:
            continue
        numbers = {number: d for d in open_docs if (number := d[1])}
        named = [numbers[n] for n in first_named(purpose, numbers)] if numbers else []
        left = units
        for doc_id, _number, _cur in named + [d for d in open_docs if d not in named]:
            if left <= 0:
                break
            take = min(left, rest[doc_id])
            if take <= 0:
                continue
            rows.append((pay_id, doc_id, take, currency, True, actor.label, now))
            rest[doc_id] -= take
            left -= take
            made.setdefault(pay_id, []).append(doc_id)
        if left != units:
            changed.append((pay_id, units - left))
    insert_rows(Allocation, ("payment_id", "document_id", "amount_minor", "currency", "automatic", "created_by",
                             "created_at"), rows, ids=False)
    update_rows(Payment, ("allocated_minor",), changed)
    touched = sorted({doc_id for ids in made.values() for doc_id in ids})
    invoices_paid_sync_bulk(actor=actor, paid={pk: amounts[pk] - rest[pk] for pk in touched})
    return {pay_id: sorted(set(ids)) for pay_id, ids in made.items()}
