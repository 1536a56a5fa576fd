"""The engine of billing runs: chunks planned at client boundaries, processed (computed, or
billed and posted) one transaction each, finished once; retrying a run's errors."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.db.models import Count, F, QuerySet
from django.utils.translation import gettext as _

from kopeck.audit.services import audit_record
from kopeck.billing.models import BillingRun, ChunkPhase, ItemStatus, RunChunk, RunItem, RunMode, RunStatus
from kopeck.billing.notices import notify_run
from kopeck.billing.ports import issue_run_documents
from kopeck.billing.services.reports import _merged, _public, _tally, run_summary
from kopeck.billing.services.runs import chunk_size, run_subscriptions
from kopeck.clients.models import Client
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.bulk import bulk_insert
from kopeck.common.dbstats import analyze_stale
from kopeck.common.errors import Conflict
from kopeck.common.faults import fault_point
from kopeck.configuration.selectors import vat_policy
from kopeck.core.money import to_minor
from kopeck.core.subscriptions import BilledLine
from kopeck.core.vat import VatPolicy
from kopeck.ledger.models import Account
from kopeck.ledger.services import ledger_system_accounts_ensure
from kopeck.subscriptions.batch import BatchOutcome, LineKey, line_key, subscriptions_bill_batch
from kopeck.subscriptions.models import BilledPeriod, Subscription
from kopeck.usage.models import UsageEvent

log = logging.getLogger(__name__)

# ---------------------------------------------------------------------------------------------
# chunks: planning, processing, finishing


def total_minor(lines: Iterable[BilledLine]) -> int:
    """Charges minus credits, in minor units."""
    return sum(to_minor(line.signed) for line in lines)


def _phase(run: BillingRun) -> str:
    """What the run's chunks do now: ``bill`` (automatic: compute and post in one pass), ``apply``
    (a confirmed run: post the reviewed items), otherwise ``compute``."""
    if run.mode == RunMode.AUTO:
        return ChunkPhase.BILL
    if run.mode == RunMode.CONFIRM and run.decided_at is not None:
        return ChunkPhase.APPLY
    return ChunkPhase.COMPUTE


def _plan(run: BillingRun, phase: str) -> None:
    """Split the run into chunks of about :data:`CHUNK` subscriptions at client boundaries (once
    per phase; the run row is locked so concurrent starters plan once)."""
    with transaction.atomic():
        BillingRun.objects.select_for_update().filter(pk=run.pk).first()
        if RunChunk.objects.filter(run=run, phase=phase).exists():
            return
        source = _to_apply(run).filter(applied_at__isnull=True) if phase == ChunkPhase.APPLY \
            else run_subscriptions(run)
        counts = source.order_by().values("client_id").annotate(n=Count("pk")).order_by("client_id")
        chunks: list[RunChunk] = []
        first: int | None = None
        last, size = 0, 0
        for row in counts.iterator(chunk_size=5000):
            first = row["client_id"] if first is None else first
            last, size = row["client_id"], size + row["n"]
            if size >= chunk_size():
                chunks.append(RunChunk(run=run, seq=len(chunks) + 1, first_client=first, last_client=last,
                                       planned=size, phase=phase))
                first, size = None, 0
        if first is not None:
            chunks.append(RunChunk(run=run, seq=len(chunks) + 1, first_client=first, last_client=last,
                                   planned=size, phase=phase))
        RunChunk.objects.bulk_create(chunks, batch_size=1000)
        BillingRun.objects.filter(pk=run.pk).update(planned_at=clock.now())


def _start(actor: Actor, run: BillingRun) -> BillingRun:
    """Check the run can be executed, move it to computing / applying and plan its chunks."""
    run = BillingRun.objects.get(pk=run.pk)
    if run.status in (RunStatus.COMPLETED, RunStatus.AWAITING_CONFIRMATION):
        return run
    if run.status not in (RunStatus.PENDING, RunStatus.COMPUTING, RunStatus.APPLYING, RunStatus.FAILED):
        status = {"status": run.status, "label": run.get_status_display()}
        raise Conflict(_("A run in status %(status)r cannot be executed.") % status,
                       errors={"status": [_("Not allowed in %(status)s.") % status]})
    phase = _phase(run)
    if not RunChunk.objects.filter(run=run, phase=phase).exists():
        # the chunks' queries are planned from the statistics: refresh them where a bulk load left
        # them stale (a never-analyzed table made every chunk read all the billed periods)
        analyze_stale([Client, Subscription, BilledPeriod, UsageEvent, RunItem, Account])
    _plan(run, phase)
    if phase != ChunkPhase.COMPUTE:  # chunks post in parallel: their common accounts exist first
        ledger_system_accounts_ensure(currencies=run_subscriptions(run).order_by().values_list(
            "currency", flat=True).distinct())
    fields = ["status", "started_at", "finished_at"]
    run.status = RunStatus.APPLYING if phase == ChunkPhase.APPLY else RunStatus.COMPUTING
    run.started_at = run.started_at or clock.now()
    run.finished_at = None
    if phase == ChunkPhase.APPLY:
        run.apply_total = _to_apply(run).count()
        run.applied = _to_apply(run).filter(applied_at__isnull=False).count()
        fields += ["apply_total", "applied"]
    elif phase == ChunkPhase.BILL:
        # an automatic run stores the items that posted or failed only: the chunks' tallies count
        # every subscription they processed
        done = _merged(RunChunk.objects.filter(run=run, phase=phase, done_at__isnull=False)
                       .values_list("tally", flat=True))
        run.total = run.apply_total = run_subscriptions(run).count()
        run.processed = int(done.get("subscriptions", 0))
        run.applied = run.processed - int(done.get("errors", 0))
        fields += ["total", "processed", "apply_total", "applied"]
    else:
        done_items = RunItem.objects.filter(run=run).count()
        run.total = done_items + _pending_count(run)
        run.processed = done_items
        fields += ["total", "processed"]
    run.save(update_fields=fields)
    return run


def _pending_chunk_ids(run: BillingRun) -> list[int]:
    return list(RunChunk.objects.filter(run=run, phase=_phase(run), done_at__isnull=True)
                .order_by("seq").values_list("pk", flat=True))


def _chunk_subscription_ids(run: BillingRun, chunk: RunChunk) -> list[int]:
    # a chunk's items are written with its done mark: a chunk not done has none (the client range
    # keeps the check cheap however large the run)
    return list(run_subscriptions(run).filter(client_id__gte=chunk.first_client, client_id__lte=chunk.last_client)
                .exclude(pk__in=RunItem.objects.filter(run=run, client_id__gte=chunk.first_client,
                                                       client_id__lte=chunk.last_client).values("subscription_id"))
                .values_list("pk", flat=True))


def held_text(out: BatchOutcome) -> str:
    """The metered lines held back (their usage cannot be rated), for the item's error column: the
    item's other lines are charged; the held ones stay due until the usage is corrected."""
    return "; ".join(f"Held, not charged: {h['component']} {h['period']['start']}–{h['period']['end']}: "
                     f"{h['reason']}" for h in out.held)[:2000]


def _item(run: BillingRun, out: BatchOutcome, vat: str) -> RunItem:
    item = RunItem(run=run, client_id=out.client_id, subscription_id=out.subscription_id, currency=out.currency,
                   vat_rate=vat)
    if out.subscription is not None:
        item.subscription = out.subscription  # already loaded (with its plan): the documents use it
    if out.error:
        item.status, item.error = ItemStatus.ERROR, out.error
    else:
        item.status, item.items, item.error = ItemStatus.OK, out.items, held_text(out)
        item.amount_minor = total_minor(out.lines)
    return item


def _vat_rates(outcomes: list[BatchOutcome], policy: VatPolicy) -> dict[int, str]:
    """The VAT rate each subscription's charges carry, as the VAT policy chooses it from its
    product's (the subscription the batch loaded; read for the others)."""
    rates = {out.subscription_id: policy.rate_for(out.subscription.plan.product.vat_rate).value
             for out in outcomes if out.subscription is not None}
    missing = [out.subscription_id for out in outcomes if out.subscription is None]
    rates.update({pk: policy.rate_for(rate).value for pk, rate in Subscription.objects.filter(pk__in=missing)
                  .values_list("pk", "plan__product__vat_rate")} if missing else {})
    return rates


def _claim(chunk_id: int) -> RunChunk | None:
    """The chunk locked for this transaction, unless another worker finished it."""
    chunk = RunChunk.objects.select_for_update(of=("self",)).filter(pk=chunk_id).order_by("pk").first()
    if chunk is None or chunk.done_at is not None:
        return None
    return chunk


def process_chunk(*, actor: Actor, chunk_id: int) -> int:
    """Do one chunk's work and mark it done in one transaction (see :class:`RunChunk`); the number
    of subscriptions it processed (0 when it was already done). Safe to call any number of times,
    from any number of workers."""
    head = RunChunk.objects.select_related("run").filter(pk=chunk_id).first()
    if head is None or head.done_at is not None:
        return 0
    run = head.run
    RunChunk.objects.filter(pk=chunk_id).update(attempts=F("attempts") + 1)
    policy = vat_policy()
    if head.phase == ChunkPhase.COMPUTE:
        # Computing reads only: do it before taking the chunk's lock; only one result is kept.
        ids = _chunk_subscription_ids(run, head)
        outcomes = subscriptions_bill_batch(actor=actor, subscription_ids=ids, on=run.billing_date, preview=True)
        vats = _vat_rates(outcomes, policy)
        with transaction.atomic():
            chunk = _claim(chunk_id)
            if chunk is None:
                return 0
            items = [_item(run, out, vats[out.subscription_id]) for out in outcomes]
            bulk_insert(RunItem, items)
            _chunk_done(run, chunk, processed=len(items), tally=_tally(items))
        fault_point("chunk.after_commit")
        return len(outcomes)
    try:
        return _post_chunk(actor, run, chunk_id, policy, careful=False)
    except Exception:
        # Something failed for the batch as a whole (a database error of one subscription aborts
        # the batch's transaction): do the chunk again one subscription at a time, so only the
        # culprit is recorded as an error.
        return _post_chunk(actor, run, chunk_id, policy, careful=True)


def _post_chunk(actor: Actor, run: BillingRun, chunk_id: int, policy: VatPolicy, *, careful: bool) -> int:
    with transaction.atomic():
        chunk = _claim(chunk_id)
        if chunk is None:
            return 0
        if chunk.phase == ChunkPhase.BILL:
            ids = _chunk_subscription_ids(run, chunk)
            outcomes = _bill(actor, ids, run.billing_date, {}, careful)
            vats = _vat_rates(outcomes, policy)
            fault_point("chunk.posted")
            now = clock.now()
            items = []
            for out in outcomes:
                item = _item(run, out, vats[out.subscription_id])
                if not out.error:
                    item.applied_at, item.transaction_ids = now, out.transaction_ids
                items.append(item)
            # what posted or failed is kept; a subscription with nothing due only counts in the tally
            # (a daily run would otherwise store an empty item per subscription every day)
            bulk_insert(RunItem, [i for i in items if i.items or i.transaction_ids or i.status == ItemStatus.ERROR])
            tally = _tally(items)
            # the chunk's documents, in its transaction: the workers issue them in parallel
            tally["_documents"] = _issue_documents(actor, run, tally["_posted_clients"], items)
            _chunk_done(run, chunk, processed=len(items), applied=sum(1 for i in items if i.applied_at),
                        tally=tally)
        else:
            todo = list(_to_apply(run).filter(client_id__gte=chunk.first_client, client_id__lte=chunk.last_client,
                                              applied_at__isnull=True).order_by("subscription_id"))
            exclude = {i.subscription_id: {(str(c), str(d)) for c, d in i.excluded_lines} for i in todo
                       if i.excluded_lines}
            outcomes = _bill(actor, [i.subscription_id for i in todo], run.billing_date, exclude, careful)
            fault_point("chunk.posted")
            by_sub = {out.subscription_id: out for out in outcomes}
            now = clock.now()
            for item in todo:
                out = by_sub[item.subscription_id]
                if out.error:
                    item.status, item.error = ItemStatus.ERROR, out.error
                    continue
                item.error = held_text(out)
                if out.items != _included(item):
                    item.previous_items, item.changed = item.items, True
                    item.items = out.items + [ln for ln in item.items if line_key(ln) in exclude.get(
                        item.subscription_id, set())]
                    item.amount_minor = total_minor(item.lines)
                item.applied_at, item.transaction_ids = now, out.transaction_ids
            RunItem.objects.bulk_update(todo, ["status", "error", "previous_items", "changed", "items", "amount_minor",
                                               "applied_at", "transaction_ids"], batch_size=1000)
            posted = sorted({i.client_id for i in todo if i.transaction_ids})
            _chunk_done(run, chunk, processed=0, applied=sum(1 for i in todo if i.applied_at),
                        tally={"_documents": _issue_documents(actor, run, posted)})
        fault_point("chunk.before_commit")
    fault_point("chunk.after_commit")
    return chunk.planned


def _bill(actor: Actor, ids: list[int], on: dt.date, exclude: dict[int, set[LineKey]],
          careful: bool) -> list[BatchOutcome]:
    if not careful:
        return subscriptions_bill_batch(actor=actor, subscription_ids=ids, on=on, preview=False, exclude=exclude)
    outcomes = []
    for pk in ids:
        try:
            with transaction.atomic():
                outcomes += subscriptions_bill_batch(actor=actor, subscription_ids=[pk], on=on, preview=False,
                                                     exclude=exclude)
        except Exception as exc:  # nothing of this subscription was written
            row = Subscription.objects.filter(pk=pk).values_list("client_id", "currency").first() or (0, "")
            outcomes.append(BatchOutcome(pk, row[0], row[1],
                                         error=f"{type(exc).__name__}: {exc}"[:2000]))
    return outcomes


def _included(item: RunItem) -> list[dict[str, Any]]:
    skip = {(str(c), str(d)) for c, d in item.excluded_lines}
    return [ln for ln in item.items if line_key(ln) not in skip]


def _chunk_done(run: BillingRun, chunk: RunChunk, *, processed: int, applied: int = 0,
                tally: dict[str, Any] | None = None) -> None:
    chunk.done_at, chunk.tally = clock.now(), tally or {}
    chunk.save(update_fields=["done_at", "tally"])
    BillingRun.objects.filter(pk=run.pk).update(processed=F("processed") + processed,
                                                applied=F("applied") + applied)


def _finish(actor: Actor, run_id: int) -> BillingRun:
    """Once every chunk of the phase is done: the summary, the next status and, after posting, the
    run's documents and its completion event. Runs once (the run row is locked; a finished phase
    is not finished again)."""
    with transaction.atomic():
        run = BillingRun.objects.select_for_update().get(pk=run_id)
        if run.status not in (RunStatus.COMPUTING, RunStatus.APPLYING) or RunChunk.objects.filter(
                run=run, phase=_phase(run), done_at__isnull=True).exists():
            return run
        phase = _phase(run)
        if phase == ChunkPhase.APPLY:  # items may have changed while applying: count them again
            tally = _tally(RunItem.objects.filter(run=run).order_by("id").iterator(chunk_size=chunk_size()))
        else:  # the chunks' tallies, added up — no pass over a large run's items
            tally = _merged(RunChunk.objects.filter(run=run, phase=phase).values_list("tally", flat=True))
        run.summary = _public(tally)
        if run.mode == RunMode.CONFIRM and run.decided_at is None:
            run.status = RunStatus.AWAITING_CONFIRMATION
        else:
            run.status, run.finished_at = RunStatus.COMPLETED, clock.now()
            if run.mode != RunMode.SANDBOX:
                run.processed = int(tally["subscriptions"])
                run.applied = run.processed - int(tally["errors"]) if phase == ChunkPhase.BILL else \
                    _to_apply(run).filter(applied_at__isnull=False).count()
                run.summary["changed"] = RunItem.objects.filter(run=run, changed=True).count()
                # completed within this transaction first: documents are issued for completed runs
                run.save(update_fields=["summary", "status", "finished_at", "processed", "applied"])
                fault_point("finish.before_documents")
                # the chunks issued theirs; this issues what is left (nothing, unless retried)
                issued = sum(t.get("_documents", 0) for t in RunChunk.objects.filter(
                    run=run, phase=phase).values_list("tally", flat=True))
                run.summary["documents"] = issued + _issue_documents(actor, run)
                run.summary["events"] = [*run.summary.get("events", []), _completed_event(run, tally)]
        run.save(update_fields=["summary", "status", "finished_at", "processed", "applied"])
        notify_run(run, "awaiting_confirmation" if run.status == RunStatus.AWAITING_CONFIRMATION else "completed")
        audit_record(actor=actor, action="billing_run.finish", object_type="billing_run", object_id=run.pk,
                     before=None, after={"status": run.status, "processed": run.processed, "applied": run.applied,
                                         "errors": run.summary.get("errors", 0)})
    return run


def _issue_documents(actor: Actor, run: BillingRun, clients: list[int] | None = None,
                     items: list[RunItem] | None = None, *, supplementary: bool = False) -> int:
    """Issue the run's documents (through :mod:`kopeck.billing.ports`) — of ``clients`` only (from
    their ``items`` in memory), or of every client left; ``supplementary``: for the ``items`` just
    billed on a retry, a further document where the client has one; how many."""
    return issue_run_documents(actor=actor, run=run, clients=clients, items=items, supplementary=supplementary)


def _fail(run: BillingRun) -> None:
    """Mark the run failed (it stopped on an unexpected error; resuming finishes it) and notify."""
    try:
        with transaction.atomic():
            if BillingRun.objects.filter(pk=run.pk, status__in=(RunStatus.COMPUTING, RunStatus.APPLYING)).update(
                    status=RunStatus.FAILED, finished_at=clock.now()):
                notify_run(BillingRun.objects.get(pk=run.pk), "failed")
    except Exception:  # the error being handled is what matters: do not hide it behind this one
        log.exception("billing run %s: could not record the failure", run.pk)


# ---------------------------------------------------------------------------------------------
# apply (confirm once confirmed)


def _to_apply(run: BillingRun) -> QuerySet[RunItem]:
    return RunItem.objects.filter(run=run, status=ItemStatus.OK, excluded=False)


def _completed_event(run: BillingRun, tally: Mapping[str, Any]) -> dict[str, Any]:
    """The notification event of a completed run (consumed by the notifications issue)."""
    return {"type": "billing_run.completed", "run": run.pk, "mode": run.mode,
            "billing_date": run.billing_date.isoformat(), "at": clock.now().isoformat(),
            "clients": tally["_posted_clients"], "transactions": tally["_transactions"]}


def _pending_count(run: BillingRun) -> int:
    return run_subscriptions(run).exclude(
        pk__in=RunItem.objects.filter(run=run).values("subscription_id")).count()


def billing_run_retry_errors(*, actor: Actor, run: BillingRun) -> BillingRun:
    """Do again the subscriptions whose item is an error: compute them (sandbox, confirm), or
    compute and post them (a run that posted); the summary is recomputed."""
    run = BillingRun.objects.get(pk=run.pk)
    if run.status not in (RunStatus.COMPLETED, RunStatus.AWAITING_CONFIRMATION):
        raise Conflict(_("Only a completed run's errors (or a run awaiting confirmation) can be retried."),
                       errors={"status": [_("Is %(status)s.") % {"status": run.status,
                                                                  "label": run.get_status_display()}]})
    posting = run.status == RunStatus.COMPLETED and run.mode != RunMode.SANDBOX
    policy = vat_policy()
    errored = list(RunItem.objects.filter(run=run, status=ItemStatus.ERROR).order_by("subscription_id")
                   .values_list("pk", "subscription_id"))
    documents = 0
    for start in range(0, len(errored), chunk_size()):
        part = dict(errored[start:start + chunk_size()])
        with transaction.atomic():
            items = {i.subscription_id: i for i in RunItem.objects.select_for_update(of=("self",)).filter(pk__in=part)}
            outcomes = _bill(actor, sorted(items), run.billing_date, {}, careful=True) if posting else \
                subscriptions_bill_batch(actor=actor, subscription_ids=sorted(items), on=run.billing_date,
                                         preview=True)
            vats = _vat_rates(outcomes, policy)
            for out in outcomes:
                item, fresh = items[out.subscription_id], _item(run, out, vats[out.subscription_id])
                item.status, item.error, item.items = fresh.status, fresh.error, fresh.items
                item.amount_minor, item.vat_rate = fresh.amount_minor, fresh.vat_rate
                if posting and not out.error:
                    item.applied_at, item.transaction_ids = clock.now(), out.transaction_ids
            RunItem.objects.bulk_update(list(items.values()), ["status", "error", "items", "amount_minor", "vat_rate",
                                                               "applied_at", "transaction_ids"])
            if posting:  # the retried charges' documents: the client's first, or a supplementary one
                billed = [i for i in items.values() if i.applied_at is not None and i.transaction_ids]
                documents += _issue_documents(actor, run, sorted({i.client_id for i in billed}), billed,
                                              supplementary=True)
    before = dict(run.summary)
    run.summary = {**run.summary, **run_summary(run)}
    if run.mode == RunMode.AUTO:  # its items are those that posted or failed: the counts of all stay
        for key in ("subscriptions", "clients"):
            if key in before:
                run.summary[key] = before[key]
    if documents:
        run.summary["documents"] = run.summary.get("documents", 0) + documents
    if posting:
        run.applied = (run.processed - int(run.summary["errors"]) if run.mode == RunMode.AUTO
                       else _to_apply(run).filter(applied_at__isnull=False).count())
    run.save(update_fields=["summary", "applied"])
    audit_record(actor=actor, action="billing_run.retry_errors", object_type="billing_run", object_id=run.pk,
                 before=None, after={"retried": len(errored), "errors": run.summary["errors"]})
    return run


