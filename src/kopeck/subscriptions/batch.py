"""Billing many subscriptions at once — the path billing runs take.

:func:`subscriptions_bill_batch` gives, for each subscription, exactly what
:func:`kopeck.subscriptions.services.subscription_bill_due` would give (preview) or post (apply) on
the same date, but loads what it needs with a few queries per batch and writes the common case —
charges for periods never billed before — with bulk statements in the caller's transaction:

* one query locks the batch's subscriptions (apply) and one loads their billed periods; plan specs
  and settings are read once per batch; metered usage is read per component as before;
* a subscription whose billing is not the common case (its status moves on that date, or a charge
  replaces a billed piece that was credited back) is billed by ``subscription_bill_due`` itself,
  inside a savepoint, so the result is the same by construction;
* the ledger charges go through :func:`kopeck.ledger.services.ledger_charges_post_bulk` (the same
  transactions, postings and audit entries as one-by-one posting); billed periods, timeline
  entries and the audit entries of the subscriptions are bulk-inserted.

One subscription's error never stops the batch: it is returned with its cause and nothing of it
is written. ``exclude`` leaves chosen lines (component, period start) of a subscription unposted
(the confirmation mode of billing runs); they stay due and a later billing posts them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from kopeck.audit.services import audit_record_many
from kopeck.catalog.models import Plan, PlanVersion
from kopeck.catalog.selectors import version_plan_spec
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.bulk import insert_rows
from kopeck.configuration.selectors import provider_zone
from kopeck.core.money import Money
from kopeck.core.periods import Period
from kopeck.core.pricing.plan import ComponentKind, PlanSpec
from kopeck.core.subscriptions import BilledSlot, DueCharge, quote_bill_due
from kopeck.ledger.amounts import from_minor, to_minor
from kopeck.ledger.services import BulkCharge, ledger_charges_post_bulk
from kopeck.subscriptions.models import BilledPeriod, Subscription, SubscriptionStatus, TimelineEntry
from kopeck.subscriptions.ports import usage_batch
from kopeck.subscriptions.selectors import subscription_terms
from kopeck.subscriptions.services import subscription_bill_due
from kopeck.subscriptions.services.common import status_on
from kopeck.subscriptions.services.posting import charge_reason

LineKey = tuple[str, str]
"""A line of a subscription's billing: (component, period start ISO date)."""


@dataclass
class BatchOutcome:
    """One subscription's result: the lines posted (apply) or that would be posted (preview),
    the ledger transactions written, or the error that stopped it (nothing of it written)."""

    subscription_id: int
    client_id: int
    currency: str
    items: list[dict[str, Any]] = field(default_factory=list)
    transaction_ids: list[int] = field(default_factory=list)
    error: str = ""
    excluded: list[dict[str, Any]] = field(default_factory=list)
    subscription: Subscription | None = field(default=None, repr=False, compare=False)


def line_key(line: Mapping[str, Any]) -> LineKey:
    period = line.get("period") or {}
    return str(line.get("component", "")), str(period.get("start", ""))


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


class _Specs:
    def __init__(self) -> None:
        self._by_version: dict[int, PlanSpec] = {}

    def of(self, sub: Subscription) -> PlanSpec:
        spec = self._by_version.get(sub.plan_version_id)
        if spec is None:
            spec = self._by_version[sub.plan_version_id] = version_plan_spec(sub.plan_version)
        return spec


_Billed = tuple[str, dt.date, dt.date, int, str, "dt.date | None"]
"""A billed period as the batch reads it: component, start, end, amount (minor units), currency,
credited back from."""


def _billed(ids: Iterable[int]) -> dict[int, list[_Billed]]:
    rows: dict[int, list[_Billed]] = {}
    for sub_id, *row in BilledPeriod.objects.filter(subscription_id__in=list(ids)).order_by(
            "period_start", "component").values_list("subscription_id", "component", "period_start", "period_end",
                                                     "amount_minor", "currency", "credited_from"):
        rows.setdefault(sub_id, []).append(tuple(row))  # type: ignore[arg-type]
    return rows


def _slots(rows: Sequence[_Billed]) -> list[BilledSlot]:
    return [BilledSlot(component, Period(start, end), from_minor(amount, currency), credited)
            for component, start, end, amount, currency, credited in rows]


def subscriptions_bill_batch(*, actor: Actor, subscription_ids: Sequence[int], on: dt.date, preview: bool,
                             exclude: Mapping[int, set[LineKey]] | None = None) -> list[BatchOutcome]:
    """Bill the subscriptions ``subscription_ids`` up to ``on`` (see the module docstring); the
    outcomes in id order. ``preview`` writes nothing and takes no lock; otherwise the caller's
    transaction holds the writes (one is opened when there is none)."""
    exclude = exclude or {}
    if preview:
        return _run(actor, sorted(set(subscription_ids)), on, True, exclude)
    with transaction.atomic():
        return _run(actor, sorted(set(subscription_ids)), on, False, exclude)


def _run(actor: Actor, ids: list[int], on: dt.date, preview: bool,
         exclude: Mapping[int, set[LineKey]]) -> list[BatchOutcome]:
    qs = Subscription.objects.filter(pk__in=ids).order_by("pk")
    if not preview:
        qs = qs.select_for_update()
    subs = list(qs)
    # plans and versions once per batch, not once per subscription (a version's spec is large)
    plans = Plan.objects.select_related("product").in_bulk({s.plan_id for s in subs})
    versions = PlanVersion.objects.in_bulk({s.plan_version_id for s in subs})
    for sub in subs:
        sub.plan, sub.plan_version = plans[sub.plan_id], versions[sub.plan_version_id]
    billed = _billed(ids)
    specs = _Specs()
    zone_name = provider_zone()
    outcomes: list[BatchOutcome] = []
    simple: list[tuple[Subscription, BatchOutcome, list[DueCharge]]] = []
    usage = usage_batch(zone_name)
    todo: list[tuple[Subscription, BatchOutcome, str, PlanSpec]] = []
    for sub in subs:
        out = BatchOutcome(sub.pk, sub.client_id, sub.currency, subscription=sub)
        outcomes.append(out)
        try:
            status = status_on(sub, on)
            if status in (SubscriptionStatus.PENDING, SubscriptionStatus.ENDED) or sub.billing_paused:
                if not preview and status != sub.status:
                    _slow(actor, sub, on, out)  # the status moves: let the one-by-one path record it
                continue
            spec = specs.of(sub)
            for comp in spec.components:
                if comp.kind == ComponentKind.METERED:
                    # usage is billed for the periods after the last one billed: read them for all at
                    # once (any other period asked for is read by itself)
                    ends = [row[2] for row in billed.get(sub.pk, ()) if row[0] == comp.code]
                    usage.expect(sub, spec, comp.code, max(ends) if ends else (sub.billing_from or sub.start_date), on)
        except Exception as exc:  # one subscription's error never stops the batch
            out.error = _error(exc)
            continue
        todo.append((sub, out, status, spec))
    usage.load()
    for sub, out, status, spec in todo:
        rows = billed.get(sub.pk, [])
        try:
            quote = quote_bill_due(subscription_terms(sub, spec), on, _slots(rows), usage=usage.source(sub, spec))
        except Exception as exc:  # one subscription's error never stops the batch
            out.error = _error(exc)
            continue
        skip = exclude.get(sub.pk, set())
        charges = [c for c in quote.charges if (c.component, c.period.start.isoformat()) not in skip]
        out.excluded = [c.as_dict() for c in quote.charges if (c.component, c.period.start.isoformat()) in skip]
        if preview:
            out.items = [c.as_dict() for c in quote.items]
            continue
        existing = {(b[0], b[1]) for b in rows}
        if status != sub.status or quote.credits or any(c.key in existing for c in charges):
            if skip:
                out.error = ("ValidationFailed: lines of this subscription cannot be excluded one by one "
                             "(its billing replaces earlier pieces); exclude the whole subscription")
                continue
            _slow(actor, sub, on, out)
            continue
        simple.append((sub, out, charges))
    if not preview and simple:
        try:
            with transaction.atomic():
                _post_simple(actor, on, simple)
        except Exception:
            # An error in the bulk write (a database error, an amount the ledger refuses): bill them
            # one by one so that only the culprit fails, with its own cause.
            for sub, out, _charges in simple:
                out.items, out.transaction_ids = [], []
                if exclude.get(sub.pk):
                    out.error = "DatabaseError: could not post the batch; retry the subscription"
                    continue
                _slow(actor, sub, on, out)
    return outcomes


def _slow(actor: Actor, sub: Subscription, on: dt.date, out: BatchOutcome) -> None:
    try:
        with transaction.atomic():
            result = subscription_bill_due(actor=actor, subscription=sub, on=on)
        out.items, out.transaction_ids = result.items, list(result.transaction_ids)
    except Exception as exc:  # nothing of this subscription was written (its savepoint rolled back)
        out.error = _error(exc)


def _post_simple(actor: Actor, on: dt.date, batch: list[tuple[Subscription, BatchOutcome, list[DueCharge]]]) -> None:
    """Post the common case in bulk: every charge is a period never billed before."""
    now = clock.now()
    ledger: list[BulkCharge] = []
    owners: list[tuple[int, DueCharge]] = []  # (index in batch, charge) of each ledger charge
    for n, (sub, _out, charges) in enumerate(batch):
        vat = sub.plan.product.vat_rate or None
        for item in charges:
            if item.amount.is_positive():
                ledger.append(BulkCharge(client_id=sub.client_id, currency=sub.currency, amount=item.amount.amount,
                                         reason=charge_reason(sub, item), vat_rate=vat,
                                         source_ref=f"subscription:{sub.pk}:{item.component}:"
                                                    f"{item.period.start.isoformat()}"))
                owners.append((n, item))
    txn_ids = ledger_charges_post_bulk(actor=actor, charges=ledger)
    txn_of: dict[tuple[int, int], int] = {}  # (batch index, id(charge)) -> transaction
    for (n, item), posted in zip(owners, txn_ids, strict=True):
        txn_of[(n, id(item))] = posted
    periods: list[tuple[Any, ...]] = []
    timeline: list[tuple[Any, ...]] = []
    audits: list[tuple[str, str, object, Any, Any]] = []
    for n, (sub, out, charges) in enumerate(batch):
        ids: list[int] = []
        lines: list[dict[str, Any]] = []
        total = Money.zero(sub.currency)
        for item in charges:
            txn_id = txn_of.get((n, id(item)))
            total = total + item.amount
            line = item.as_dict()
            periods.append((
                sub.pk, item.component, item.period.start, item.period.end, to_minor(item.amount), sub.currency,
                txn_id, {**line["explanation"], "lines": line["lines"], "due": line["due"],
                         "billing_period": line["billing_period"]},
                None, 0, now))
            lines.append(line)
            if txn_id is not None:
                ids.append(txn_id)
                timeline.append((sub.pk, now, on, "charge", item.explanation.ru[:500], item.explanation.en[:500],
                                 line, txn_id))
        out.items = lines
        out.transaction_ids = ids
        if ids:
            audits.append(("subscription.bill", "subscription", sub.pk, None,
                           {"on": on.isoformat(), "transactions": ids, "total": total.to_str()}))
    insert_rows(BilledPeriod, ("subscription_id", "component", "period_start", "period_end", "amount_minor", "currency",
                               "transaction_id", "explanation", "credited_from", "credited_minor", "created_at"),
                periods, ids=False)
    insert_rows(TimelineEntry, ("subscription_id", "at", "effective_date", "kind", "text_ru", "text_en", "data",
                                "transaction_id"), timeline, ids=False)
    audit_record_many(actor=actor, entries=audits, json_safe=True)
