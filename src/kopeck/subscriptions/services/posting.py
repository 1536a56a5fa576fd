"""Posting one subscription's quote: the plan of everything it writes — stated once — and the
one-by-one writer that executes it.

:func:`plan_posting` turns a :class:`~kopeck.core.subscriptions.Quote` into a :class:`PostingPlan`:
the core's :class:`~kopeck.core.subscriptions.Posting` (what happens to the billed pieces), and for
each charge and credit its billed line, its ledger transaction (operation, gross amount, VAT rate,
reason, source reference), the explanation its billed piece keeps and its timeline entry; and
whether the billing is audited as ``subscription.bill``. :func:`post_plan` writes a plan one by one
(ORM, :func:`kopeck.ledger.services.ledger_operation_post`); the batch writer of billing runs
(:mod:`kopeck.subscriptions.batch`) writes the plans that only add pieces with bulk statements —
both from the same plan, so they write the same rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.core.money import Money, money_sum, to_minor
from kopeck.core.subscriptions import (
    BilledLine,
    BilledSlot,
    ChargeEntry,
    Credit,
    DueCharge,
    Posting,
    Quote,
    posting_of,
)
from kopeck.ledger.services import ledger_operation_post
from kopeck.subscriptions.models import BilledPeriod, Subscription
from kopeck.subscriptions.selectors import subscription_billed
from kopeck.subscriptions.services.common import audit, timeline_add

CHARGE_OPERATION = "charge"
CREDIT_OPERATION = "correction_credit"
"""How credits of unused prepaid days are posted (a ``refund`` setting may come later)."""


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """The ledger transaction of a charge or credit: ``amount`` is gross (positive)."""

    operation: str
    amount: Money
    vat_rate: str | None
    reason: str
    source_ref: str


@dataclass(frozen=True, slots=True)
class PlannedEntry:
    """One charge or credit of a plan: what the core's posting does with it, its billed line, its
    ledger transaction (``None``: a charge of zero, recorded as a piece with no transaction) and,
    for a charge, the explanation its billed piece keeps."""

    entry: Credit | ChargeEntry
    line: BilledLine
    ledger: LedgerLine | None
    data: dict[str, Any]
    """The line's JSON form (computed once: the timeline, run items and the API answer it)."""
    piece_explanation: dict[str, Any] | None = None

    @property
    def timeline(self) -> tuple[str, str, str, dict[str, Any]]:
        """The timeline entry of a posted charge or credit: (kind, Russian, English, data)."""
        return (self.line.kind, self.line.explanation.ru, self.line.explanation.en, self.data)


@dataclass(frozen=True, slots=True)
class PostingPlan:
    """Everything posting one subscription's quote writes (see the module docstring)."""

    subscription_id: int
    client_id: int
    currency: str
    on: dt.date
    posting: Posting
    entries: tuple[PlannedEntry, ...]
    audit_bill: bool = False

    @property
    def lines(self) -> list[BilledLine]:
        """The billed lines, in posting order."""
        return [e.line for e in self.entries]

    @property
    def items(self) -> list[dict[str, Any]]:
        """The billed lines' JSON forms, in posting order."""
        return [e.data for e in self.entries]

    @property
    def total(self) -> Money:
        """Charges minus credits."""
        return money_sum((e.line.signed for e in self.entries), self.currency)

    @property
    def inserts_only(self) -> bool:
        return self.posting.inserts_only

    def bill_audit(self, transaction_ids: Sequence[int]) -> dict[str, Any]:
        """The state the ``subscription.bill`` audit entry records."""
        return {"on": self.on.isoformat(), "transactions": list(transaction_ids), "total": self.total.to_str()}


def _vat_rate(line: BilledLine) -> str | None:
    return None if line.vat_rate is None else line.vat_rate.value


def charge_reason(sub: Subscription, item: DueCharge | Credit) -> str:
    """The ledger reason of a charge or credit of ``sub``, as an accountant reads it: the plan and the
    component by name, the service period in Russian dates ("Подписка #12 (VPS S): Дополнительный
    IPv4, 06.12.2026 – 05.01.2027")."""
    name = _component_name(sub, item.component)
    if isinstance(item, Credit):
        p = item.unused
        return f"Подписка #{sub.pk}: возврат за «{name}», {_day(p.start)} – {_day(p.last_day)}"
    p = item.period
    return f"Подписка #{sub.pk} ({sub.plan.name_ru or item.plan or sub.plan.code}): {name}, {_day(p.start)} – {_day(p.last_day)}"


def _day(day: dt.date) -> str:
    return day.strftime("%d.%m.%Y")


def _component_name(sub: Subscription, code: str) -> str:
    """A component's Russian name from the subscription's plan version (loaded with it by the callers)."""
    if code == "setup_fee":
        return "Плата за подключение"
    for component in (sub.plan_version.spec or {}).get("components", []) if sub.plan_version_id else []:
        if component.get("code") == code:
            return str((component.get("names") or {}).get("ru") or component.get("name") or code)
    return code


def plan_posting(sub: Subscription, quote: Quote, billed: Sequence[BilledSlot], *, bill: bool = False) -> PostingPlan:
    """The plan of posting ``quote`` for ``sub`` whose billed pieces are ``billed`` (read under the
    subscription's lock when the plan is to be written). ``bill``: audited as ``subscription.bill``."""
    posting = posting_of(billed, quote)
    entries: list[PlannedEntry] = []
    for entry in posting.entries:
        if isinstance(entry, Credit):
            line = BilledLine.of(entry)
            entries.append(PlannedEntry(entry, line, LedgerLine(
                CREDIT_OPERATION, entry.amount, None, charge_reason(sub, entry),
                f"subscription:{sub.pk}:credit:{entry.component}:{entry.slot_start.isoformat()}"), line.as_dict()))
            continue
        item = entry.charge
        line = BilledLine.of(item)
        data = line.as_dict()
        ledger = LedgerLine(CHARGE_OPERATION, item.amount, _vat_rate(line), charge_reason(sub, item),
                            f"subscription:{sub.pk}:{item.component}:{item.period.start.isoformat()}") \
            if item.amount.is_positive() else None
        explanation = {**data["explanation"], "lines": data["lines"], "due": data["due"],
                       "billing_period": data["billing_period"], "name": data["name"]}
        entries.append(PlannedEntry(entry, line, ledger, data, explanation))
    return PostingPlan(sub.pk, sub.client_id, sub.currency, quote.on, posting, tuple(entries), bill)


def post_plan(actor: Actor, sub: Subscription, plan: PostingPlan) -> list[int]:
    """Write ``plan`` for ``sub`` (locked by the caller, inside its transaction), one row at a time:
    the pieces credited back and the carried-over markers, then each credit and charge with its
    ledger transaction and timeline entry, and the billing's audit entry. The ledger transaction
    ids, in posting order."""
    now = clock.now()
    on = plan.on
    rows = {(b.component, b.period_start): b for b in BilledPeriod.objects.select_for_update(of=("self",))
            .filter(subscription=sub)}
    for key, start in plan.posting.truncate:
        row = rows[key]
        row.credited_from = start
        row.save(update_fields=["credited_from"])
    for m in plan.posting.markers:
        rows[m.key] = BilledPeriod.objects.create(
            subscription=sub, component=m.component, period_start=m.on, period_end=m.end, amount_minor=0,
            currency=sub.currency, created_at=now, explanation={
                "ru": f"{m.component}: без изменений, оплачено в периоде с {m.paid_from.isoformat()}",
                "en": f"{m.component}: unchanged, paid within the piece from {m.paid_from.isoformat()}",
                "formula": "carried over = 0", "carried_from": m.paid_from.isoformat()})
    ids: list[int] = []
    for planned in plan.entries:
        txn_id: int | None = None
        if planned.ledger is not None:
            ledger = planned.ledger
            txn = ledger_operation_post(actor=actor, client=sub.client, operation=ledger.operation,
                                        amount=ledger.amount.amount, reason=ledger.reason, currency=sub.currency,
                                        vat_rate=ledger.vat_rate, source_ref=ledger.source_ref)
            txn_id = txn.pk
            ids.append(txn.pk)
        entry = planned.entry
        if isinstance(entry, Credit):
            row = rows[entry.key]
            row.credited_minor += to_minor(entry.amount)
            row.save(update_fields=["credited_minor"])
        else:
            _write_piece(sub, rows, entry, planned, txn_id, now)
        if txn_id is not None:
            kind, ru, en, data = planned.timeline
            timeline_add(sub, kind, on, ru, en, data, txn_id)
    if plan.audit_bill and ids:
        audit(actor, "bill", sub, None, plan.bill_audit(ids))
    return ids


def _write_piece(sub: Subscription, rows: dict[tuple[str, dt.date], BilledPeriod], entry: ChargeEntry,
                 planned: PlannedEntry, txn_id: int | None, now: dt.datetime) -> None:
    item = entry.charge
    explanation = dict(planned.piece_explanation or {})
    existing = rows.get(item.key)
    if entry.replaces and existing is not None:
        explanation["replaced"] = [*existing.explanation.get("replaced", []), {
            "amount_minor": existing.amount_minor, "credited_minor": existing.credited_minor,
            "period_end": existing.period_end.isoformat(), "transaction": existing.transaction_id,
            "explanation": {k: v for k, v in existing.explanation.items() if k != "replaced"}}]
        existing.period_end = item.period.end
        existing.amount_minor = to_minor(item.amount)
        existing.transaction_id = txn_id
        existing.explanation = explanation
        existing.credited_from = None
        existing.credited_minor = 0
        existing.save()
        return
    rows[item.key] = BilledPeriod.objects.create(
        subscription=sub, component=item.component, period_start=item.period.start, period_end=item.period.end,
        amount_minor=to_minor(item.amount), currency=sub.currency, transaction_id=txn_id, explanation=explanation,
        created_at=now)


def post_quote(actor: Actor, sub: Subscription, quote: Quote, *, bill: bool = False) -> list[int]:
    """Plan ``quote`` for ``sub`` (locked by the caller, its billed pieces read now) and write it one
    by one; the ledger transaction ids, in posting order."""
    return post_plan(actor, sub, plan_posting(sub, quote, subscription_billed(sub), bill=bill))
