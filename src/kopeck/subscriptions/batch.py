"""Billing many subscriptions at once — the path billing runs take.

:func:`subscriptions_bill_batch` gives, for each subscription, exactly what
:func:`kopeck.subscriptions.services.subscription_bill_due` would give (preview) or post (apply) on
the same date, but loads what it needs with a few queries per batch and writes the common case —
charges for periods never billed before — with bulk statements in the caller's transaction:

* one query locks the batch's subscriptions (apply) and one loads their billed periods; plan specs,
  the VAT policy and settings are read once per batch; metered usage is read per component as
  before;
* each subscription's quote becomes the same :class:`~kopeck.subscriptions.services.PostingPlan`
  the one-by-one writer executes (:func:`~kopeck.subscriptions.services.plan_posting`); a plan that
  only adds pieces is written here in bulk: the ledger charges through
  :func:`kopeck.ledger.services.ledger_charges_post_bulk` (the same transactions, postings and
  audit entries as one-by-one posting), the billed periods, timeline entries and the audit entries
  of the subscriptions with ``COPY``;
* a subscription whose billing is not the common case — its status moves on that date, something
  takes effect by then (a scheduled change, a new version of its plan), or its plan credits or
  replaces billed pieces — is billed by ``subscription_bill_due`` itself, inside a savepoint (a
  preview: its dry run), so the result is the same by construction.

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
from kopeck.configuration.selectors import provider_zone, vat_policy
from kopeck.core.money import from_minor, to_minor
from kopeck.core.periods import Period
from kopeck.core.pricing.plan import ComponentKind, PlanSpec
from kopeck.core.subscriptions import (
    BilledLine,
    BilledSlot,
    ChargeEntry,
    DueCharge,
    Quote,
    Terms,
    quote_bill_due,
)
from kopeck.ledger.services import BulkCharge, ledger_charges_post_bulk
from kopeck.subscriptions.models import BilledPeriod, Subscription, TimelineEntry
from kopeck.subscriptions.ports import usage_batch
from kopeck.subscriptions.selectors import subscription_terms
from kopeck.subscriptions.services import PostingPlan, plan_posting, subscription_bill_due
from kopeck.subscriptions.services.common import billable_on, status_on
from kopeck.subscriptions.services.scheduled import subscriptions_changing

LineKey = tuple[str, str]
"""A line of a subscription's billing: (component, period start ISO date)."""

NOT_ONE_BY_ONE = ("ValidationFailed: lines of this subscription cannot be excluded one by one (its billing "
                  "replaces earlier pieces, or a change takes effect first); exclude the whole subscription")


@dataclass
class BatchOutcome:
    """One subscription's result: the lines posted (apply) or that would be posted (preview),
    the ledger transactions written, or the error that stopped it (nothing of it written)."""

    subscription_id: int
    client_id: int
    currency: str
    lines: list[BilledLine] = field(default_factory=list)
    transaction_ids: list[int] = field(default_factory=list)
    error: str = ""
    excluded: list[BilledLine] = field(default_factory=list)
    subscription: Subscription | None = field(default=None, repr=False, compare=False)

    @property
    def items(self) -> list[dict[str, Any]]:
        """The lines in their JSON form (as run items store them)."""
        return [line.as_dict() for line in self.lines]


def line_key(line: Mapping[str, Any]) -> LineKey:
    """The key of a line in its JSON form (a run item's stored line)."""
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


_Billed = tuple[str, dt.date, dt.date, int, str, "dt.date | None", int]
"""A billed period as the batch reads it: component, start, end, amount (minor units), currency,
credited back from, credited back (minor units)."""


def _billed(ids: Iterable[int]) -> dict[int, list[_Billed]]:
    rows: dict[int, list[_Billed]] = {}
    for sub_id, *row in BilledPeriod.objects.filter(subscription_id__in=list(ids)).order_by(
            "period_start", "component").values_list("subscription_id", "component", "period_start", "period_end",
                                                     "amount_minor", "currency", "credited_from",
                                                     "credited_minor"):
        rows.setdefault(sub_id, []).append(tuple(row))  # type: ignore[arg-type]
    return rows


def _slots(rows: Sequence[_Billed]) -> list[BilledSlot]:
    return [BilledSlot(component, Period(start, end), from_minor(amount, currency), credited_from,
                       from_minor(credited, currency))
            for component, start, end, amount, currency, credited_from, credited in rows]


def subscriptions_bill_batch(*, actor: Actor, subscription_ids: Sequence[int], on: dt.date, preview: bool,
                             exclude: Mapping[int, set[LineKey]] | None = None) -> list[BatchOutcome]:
    """Bill the subscriptions ``subscription_ids`` up to ``on`` (see the module docstring); the
    outcomes in id order. ``preview`` writes nothing and takes no lock (a subscription something
    takes effect for is computed by a dry run of its own); otherwise the caller's transaction holds
    the writes (one is opened when there is none)."""
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
    policy = vat_policy()
    outcomes: list[BatchOutcome] = []
    usage = usage_batch(provider_zone())
    terms: dict[int, Terms] = {}
    for sub in subs:
        out = BatchOutcome(sub.pk, sub.client_id, sub.currency, subscription=sub)
        outcomes.append(out)
        try:
            spec = specs.of(sub)
            terms[sub.pk] = subscription_terms(sub, spec, policy=policy)
        except Exception as exc:  # one subscription's error never stops the batch
            out.error = _error(exc)
    changing = subscriptions_changing([s for s in subs if s.pk in terms], terms, on)
    todo: list[tuple[Subscription, BatchOutcome, PlanSpec]] = []
    for sub, out in zip(subs, outcomes, strict=True):
        if out.error:
            continue
        if sub.pk in changing:  # a change takes effect first: the one-by-one path applies it
            if preview:
                _dry(actor, sub, on, out)
            elif exclude.get(sub.pk):
                out.error = NOT_ONE_BY_ONE
            else:
                _slow(actor, sub, on, out)
            continue
        if not billable_on(sub, on):
            if not preview and status_on(sub, on) != sub.status:
                _slow(actor, sub, on, out)  # the status moves: let the one-by-one path record it
            continue
        spec = specs.of(sub)
        for comp in spec.components:
            if comp.kind == ComponentKind.METERED:
                # usage is billed for the periods after the last one billed: read them for all at
                # once (any other period asked for is read by itself)
                ends = [row[2] for row in billed.get(sub.pk, ()) if row[0] == comp.code]
                usage.expect(sub, spec, comp.code, max(ends) if ends else (sub.billing_from or sub.start_date), on)
        todo.append((sub, out, spec))
    usage.load()
    simple: list[tuple[Subscription, BatchOutcome, PostingPlan]] = []
    for sub, out, spec in todo:
        slots = _slots(billed.get(sub.pk, []))
        try:
            quote = quote_bill_due(terms[sub.pk], on, slots, usage=usage.source(sub, spec))
        except Exception as exc:  # one subscription's error never stops the batch
            out.error = _error(exc)
            continue
        skip = exclude.get(sub.pk, set())
        kept = tuple(i for i in quote.items if not isinstance(i, DueCharge)
                     or (i.component, i.period.start.isoformat()) not in skip)
        out.excluded = [BilledLine.of(c) for c in quote.charges if (c.component, c.period.start.isoformat()) in skip]
        if preview:
            out.lines = [BilledLine.of(i) for i in quote.items]
            continue
        plan = plan_posting(sub, Quote(quote.on, quote.currency, kept, quote.truncated, quote.carried), slots,
                            bill=True)
        if status_on(sub, on) != sub.status or not plan.inserts_only:
            if skip:
                out.error = NOT_ONE_BY_ONE
                continue
            _slow(actor, sub, on, out)
            continue
        simple.append((sub, out, plan))
    if not preview and simple:
        try:
            with transaction.atomic():
                _post_bulk(actor, simple)
        except Exception:
            # An error in the bulk write (a database error, an amount the ledger refuses): bill them
            # one by one so that only the culprit fails, with its own cause.
            for sub, out, _plan in simple:
                out.lines, out.transaction_ids = [], []
                if exclude.get(sub.pk):
                    out.error = "DatabaseError: could not post the batch; retry the subscription"
                    continue
                _slow(actor, sub, on, out)
    return outcomes


def _slow(actor: Actor, sub: Subscription, on: dt.date, out: BatchOutcome) -> None:
    try:
        with transaction.atomic():
            result = subscription_bill_due(actor=actor, subscription=sub, on=on)
        out.lines, out.transaction_ids = result.lines, list(result.transaction_ids)
    except Exception as exc:  # nothing of this subscription was written (its savepoint rolled back)
        out.error = _error(exc)


def _dry(actor: Actor, sub: Subscription, on: dt.date, out: BatchOutcome) -> None:
    try:
        out.lines = subscription_bill_due(actor=actor, subscription=sub, on=on, preview=True).lines
    except Exception as exc:  # one subscription's error never stops the batch
        out.error = _error(exc)


def _post_bulk(actor: Actor, batch: list[tuple[Subscription, BatchOutcome, PostingPlan]]) -> None:
    """Write plans that only add pieces, in bulk: the same rows :func:`post_plan` writes one by one."""
    now = clock.now()
    ledger: list[BulkCharge] = []
    for _sub, _out, plan in batch:
        ledger += [BulkCharge(client_id=plan.client_id, currency=plan.currency, amount=e.ledger.amount.amount,
                              reason=e.ledger.reason, vat_rate=e.ledger.vat_rate, source_ref=e.ledger.source_ref)
                   for e in plan.entries if e.ledger is not None]
    posted = iter(ledger_charges_post_bulk(actor=actor, charges=ledger))
    periods: list[tuple[Any, ...]] = []
    timeline: list[tuple[Any, ...]] = []
    audits: list[tuple[str, str, object, Any, Any]] = []
    for sub, out, plan in batch:
        ids: list[int] = []
        for planned in plan.entries:
            assert isinstance(planned.entry, ChargeEntry) and not planned.entry.replaces
            item = planned.entry.charge
            txn_id = next(posted) if planned.ledger is not None else None
            periods.append((sub.pk, item.component, item.period.start, item.period.end, to_minor(item.amount),
                            sub.currency, txn_id, planned.piece_explanation, None, 0, now))
            if txn_id is not None:
                ids.append(txn_id)
                kind, ru, en, data = planned.timeline
                timeline.append((sub.pk, now, plan.on, kind, ru[:500], en[:500], data, txn_id))
        out.lines, out.transaction_ids = plan.lines, ids
        if plan.audit_bill and ids:
            audits.append(("subscription.bill", "subscription", sub.pk, None, plan.bill_audit(ids)))
    insert_rows(BilledPeriod, ("subscription_id", "component", "period_start", "period_end", "amount_minor", "currency",
                               "transaction_id", "explanation", "credited_from", "credited_minor", "created_at"),
                periods, ids=False)
    insert_rows(TimelineEntry, ("subscription_id", "at", "effective_date", "kind", "text_ru", "text_en", "data",
                                "transaction_id"), timeline, ids=False)
    audit_record_many(actor=actor, entries=audits, json_safe=True)
