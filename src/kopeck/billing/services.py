"""Writers of billing runs: create a run, execute it (sandbox: compute and store only; auto:
compute, then post; confirm: compute, then exclude / include, confirm or reject), retry its errors;
the daily automatic run; and the readers built on a run's stored result: CSV export and the
comparison of two runs. See docs/billing.md.

A sandbox run computes every subscription in scope with
:func:`kopeck.subscriptions.services.subscription_bill_due` in preview mode — exactly the items a
real billing on that date would post — and stores one :class:`RunItem` per subscription. Nothing
reaches the ledger, no billed period is recorded, no subscription changes, no number is consumed.

Execution streams the subscriptions in chunks of :data:`CHUNK` ordered by id; each chunk's items
and the progress are written in one transaction. It is resumable: executing a run again skips the
subscriptions that already have an item, so an interrupted run finishes with the same result.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, F, QuerySet

from kopeck.audit.services import audit_record
from kopeck.billing.models import BillingRun, ChunkPhase, ItemStatus, RunChunk, RunItem, RunMode, RunStatus
from kopeck.billing.notices import notify_run
from kopeck.billing.ports import issue_run_documents
from kopeck.billing.selectors import run_fingerprint
from kopeck.catalog.models import Plan
from kopeck.clients.models import Client, Tag
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.bulk import bulk_insert
from kopeck.common.dbstats import analyze_stale
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.common.faults import fault_point
from kopeck.configuration.selectors import billing_settings, provider_today, provider_zone
from kopeck.core.calendar import zone
from kopeck.core.money import Currency
from kopeck.ledger.models import Account
from kopeck.ledger.services import ledger_system_accounts_ensure
from kopeck.subscriptions.batch import BatchOutcome, LineKey, line_key, subscriptions_bill_batch
from kopeck.subscriptions.models import BilledPeriod, Subscription, SubscriptionStatus
from kopeck.usage.models import UsageEvent

log = logging.getLogger(__name__)

CHUNK: int = settings.KOPECK_BILLING_CHUNK
SCOPE_KEYS = ("clients", "plans", "tags")

Progress = Callable[[int, int], None]
"""``progress(processed, total)``, called after each chunk."""


# ---------------------------------------------------------------------------------------------
# scope


def _clean_scope(scope: Any, errors: dict[str, list[str]]) -> dict[str, list[Any]]:
    if scope is None:
        scope = {}
    if not isinstance(scope, Mapping):
        errors["scope"] = ["Give an object with clients, plans and/or tags (empty: all)."]
        return {}
    unknown = sorted(str(k) for k in scope if k not in SCOPE_KEYS)
    if unknown:
        errors["scope"] = [f"Unknown keys: {', '.join(unknown)} (allowed: {', '.join(SCOPE_KEYS)})."]
    clean: dict[str, list[Any]] = {}
    for key in SCOPE_KEYS:
        values = scope.get(key) or []
        if not isinstance(values, (list, tuple)):
            errors[f"scope.{key}"] = ["Must be a list."]
            continue
        if key == "clients":
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                errors["scope.clients"] = ["Give client ids (integers)."]
                continue
            ids = sorted(set(values))
            missing = sorted(set(ids) - set(Client.objects.filter(pk__in=ids).values_list("pk", flat=True)))
            if missing:
                errors["scope.clients"] = [f"Unknown clients: {', '.join(map(str, missing))}."]
            clean[key] = ids
        else:
            if not all(isinstance(v, str) and v.strip() for v in values):
                errors[f"scope.{key}"] = ["Give non-empty names."]
                continue
            names = sorted({v.strip() for v in values})
            model: type[Plan] | type[Tag] = Plan if key == "plans" else Tag
            field = "code" if key == "plans" else "name"
            known = set(model.objects.filter(**{f"{field}__in": names}).values_list(field, flat=True))
            missing_names = [n for n in names if n not in known]
            if missing_names:
                errors[f"scope.{key}"] = [f"Unknown {key}: {', '.join(missing_names)}."]
            clean[key] = names
    return {k: v for k, v in clean.items() if v}


def run_subscriptions(run: BillingRun) -> QuerySet[Subscription]:
    """The subscriptions in the run's scope: not ended, started on or before the billing date."""
    qs = Subscription.objects.exclude(status=SubscriptionStatus.ENDED).filter(start_date__lte=run.billing_date)
    scope = run.scope or {}
    if scope.get("clients"):
        qs = qs.filter(client_id__in=scope["clients"])
    if scope.get("plans"):
        qs = qs.filter(plan__code__in=scope["plans"])
    if scope.get("tags"):
        qs = qs.filter(client__in=Client.objects.filter(tags__name__in=scope["tags"]).values("pk"))
    return qs.order_by("id")


# ---------------------------------------------------------------------------------------------
# create


def billing_run_create(*, actor: Actor, billing_date: Any, mode: str = RunMode.SANDBOX,
                       scope: Mapping[str, Any] | None = None, scheduled: bool = False) -> BillingRun:
    """A pending run on ``billing_date`` (on or before today, provider-local) over ``scope``
    (``{"clients": [ids], "plans": [codes], "tags": [names]}``; empty: every subscription)."""
    errors: dict[str, list[str]] = {}
    if isinstance(billing_date, str):
        try:
            billing_date = dt.date.fromisoformat(billing_date)
        except ValueError:
            errors["billing_date"] = ["Give a date YYYY-MM-DD."]
    if "billing_date" not in errors:
        if isinstance(billing_date, dt.datetime) or not isinstance(billing_date, dt.date):
            errors["billing_date"] = ["Give a date YYYY-MM-DD."]
        elif billing_date > (today := provider_today()):
            errors["billing_date"] = [f"Cannot bill ahead of today ({today.isoformat()})."]
    if mode not in RunMode.values:
        errors["mode"] = [f"Unknown mode {mode!r} (one of {', '.join(RunMode.values)})."]
    clean = _clean_scope(scope, errors)
    if errors:
        raise ValidationFailed("The billing run is invalid.", errors=errors)
    with transaction.atomic():
        run = BillingRun.objects.create(billing_date=billing_date, mode=mode, scope=clean,
                                        status=RunStatus.PENDING, created_by=str(actor)[:200],
                                        created_at=clock.now(), scheduled=scheduled)
        run.total = run_subscriptions(run).count()
        run.save(update_fields=["total"])
        audit_record(actor=actor, action="billing_run.create", object_type="billing_run", object_id=run.pk,
                     before=None, after={"billing_date": run.billing_date, "mode": mode, "scope": clean,
                                         "total": run.total})
    return run


# ---------------------------------------------------------------------------------------------
# chunks: planning, processing, finishing


def _minor(amount: str, currency: str) -> int:
    return int(Decimal(amount).scaleb(Currency.of(currency).minor_units))


def _total_minor(lines: list[dict[str, Any]], currency: str) -> int:
    total = 0
    for line in lines:
        amount = _minor(line["amount"], line.get("currency") or currency)
        total += -amount if line.get("kind") == "credit" else amount
    return total


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
            if size >= CHUNK:
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
        raise Conflict(f"A run in status {run.status!r} cannot be executed.",
                       errors={"status": [f"Not allowed in {run.status}."]})
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


def _item(run: BillingRun, out: BatchOutcome, vat: str) -> RunItem:
    item = RunItem(run=run, client_id=out.client_id, subscription_id=out.subscription_id, currency=out.currency,
                   vat_rate=vat)
    if out.subscription is not None:
        item.subscription = out.subscription  # already loaded (with its plan): the documents use it
    if out.error:
        item.status, item.error = ItemStatus.ERROR, out.error
    else:
        item.status, item.items = ItemStatus.OK, out.items
        item.amount_minor = _total_minor(out.items, out.currency)
    return item


def _vat_rates(outcomes: list[BatchOutcome], default: str) -> dict[int, str]:
    """The VAT rate each subscription's charges carry: its product's (from the subscription the
    batch loaded; read for the others), or ``default``."""
    rates = {out.subscription_id: out.subscription.plan.product.vat_rate or default for out in outcomes
             if out.subscription is not None}
    missing = [out.subscription_id for out in outcomes if out.subscription is None]
    rates.update({pk: rate or default for pk, rate in Subscription.objects.filter(pk__in=missing)
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
    default_vat = billing_settings().default_vat_rate
    if head.phase == ChunkPhase.COMPUTE:
        # Computing reads only: do it before taking the chunk's lock; only one result is kept.
        ids = _chunk_subscription_ids(run, head)
        outcomes = subscriptions_bill_batch(actor=actor, subscription_ids=ids, on=run.billing_date, preview=True)
        vats = _vat_rates(outcomes, default_vat)
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
        return _post_chunk(actor, run, chunk_id, default_vat, careful=False)
    except Exception:
        # Something failed for the batch as a whole (a database error of one subscription aborts
        # the batch's transaction): do the chunk again one subscription at a time, so only the
        # culprit is recorded as an error.
        return _post_chunk(actor, run, chunk_id, default_vat, careful=True)


def _post_chunk(actor: Actor, run: BillingRun, chunk_id: int, default_vat: str, *, careful: bool) -> int:
    with transaction.atomic():
        chunk = _claim(chunk_id)
        if chunk is None:
            return 0
        if chunk.phase == ChunkPhase.BILL:
            ids = _chunk_subscription_ids(run, chunk)
            outcomes = _bill(actor, ids, run.billing_date, {}, careful)
            vats = _vat_rates(outcomes, default_vat)
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
                if out.items != _included(item):
                    item.previous_items, item.changed = item.items, True
                    item.items = out.items + [ln for ln in item.items if line_key(ln) in exclude.get(
                        item.subscription_id, set())]
                    item.amount_minor = _total_minor(item.items, item.currency)
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
            tally = _tally(RunItem.objects.filter(run=run).order_by("id").iterator(chunk_size=CHUNK))
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


def _progress(run: BillingRun, progress: Progress | None) -> None:
    if progress is None:
        return
    run.refresh_from_db(fields=["processed", "total", "applied", "apply_total", "status"])
    if run.status == RunStatus.APPLYING:
        progress(run.applied, run.apply_total)
    else:
        progress(run.processed, run.total)


# ---------------------------------------------------------------------------------------------
# execute in this process, or dispatch to Celery workers


def billing_run_execute(*, actor: Actor, run: BillingRun, progress: Progress | None = None) -> BillingRun:
    """Execute (or resume) the run in this process, chunk after chunk: ``sandbox`` computes and
    completes; ``confirm`` computes and waits for a confirmation (once confirmed: posts the reviewed
    items); ``auto`` computes and posts in one pass and completes. Resumable: the chunks done are
    skipped, so an interrupted run finishes with the result of an uninterrupted one; executing a
    completed run changes nothing."""
    run = _start(actor, run)
    if run.status not in (RunStatus.COMPUTING, RunStatus.APPLYING):
        return run
    _progress(run, progress)
    try:
        for chunk_id in _pending_chunk_ids(run):
            process_chunk(actor=actor, chunk_id=chunk_id)
            _progress(run, progress)
        run = _finish(actor, run.pk)
    except Exception:
        _fail(run)
        raise
    return run


def billing_run_dispatch(*, actor: Actor, run: BillingRun, queue: str | None = None) -> BillingRun:
    """Start (or resume) the run on Celery workers: one ``kopeck.billing.process_chunk`` task per
    chunk not done yet, on ``queue`` (default: the ``KOPECK_BILLING_QUEUE`` setting, else Celery's
    default). The task that finishes the last chunk finishes the run. In the embedded default (no
    broker) the tasks run here, one after the other."""
    from kopeck.billing.tasks import process_chunk_task

    run = _start(actor, run)
    if run.status not in (RunStatus.COMPUTING, RunStatus.APPLYING):
        return run
    queue_name: str = queue or getattr(settings, "KOPECK_BILLING_QUEUE", "") or ""
    for chunk_id in _pending_chunk_ids(run):
        args = (run.pk, chunk_id, str(actor.kind), actor.id, actor.label)
        if queue_name:
            process_chunk_task.apply_async(args=args, queue=queue_name)
        else:
            process_chunk_task.apply_async(args=args)
    if not _pending_chunk_ids(run):
        return _finish(actor, run.pk)
    return BillingRun.objects.get(pk=run.pk)


def billing_run_start(*, actor: Actor, run: BillingRun) -> BillingRun:
    """Execute (or resume) a run the way this installation runs work: dispatched to the Celery
    workers when a broker is configured (the run is returned while they work), otherwise in this
    process to the end. What the API, the admin and the CLI call."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return billing_run_execute(actor=actor, run=run)
    return billing_run_dispatch(actor=actor, run=run)


def billing_run_confirm_start(*, actor: Actor, run: BillingRun, fingerprint: str) -> BillingRun:
    """Confirm a run (see :func:`billing_run_confirm`) and post it the way :func:`billing_run_start`
    executes."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return billing_run_confirm(actor=actor, run=run, fingerprint=fingerprint)
    return billing_run_confirm_dispatch(actor=actor, run=run, fingerprint=fingerprint)


def billing_run_chunk_task(*, actor: Actor, run_id: int, chunk_id: int) -> BillingRun | None:
    """What a worker does with one chunk: process it, then finish the run if it was the last one.
    An error marks the run failed (resume it with :func:`billing_run_execute` or dispatch)."""
    run = BillingRun.objects.filter(pk=run_id).first()
    if run is None:
        return None
    try:
        process_chunk(actor=actor, chunk_id=chunk_id)
        return _finish(actor, run_id)
    except Exception:
        _fail(run)
        raise


# ---------------------------------------------------------------------------------------------
# apply (confirm once confirmed)


def _to_apply(run: BillingRun) -> QuerySet[RunItem]:
    return RunItem.objects.filter(run=run, status=ItemStatus.OK, excluded=False)


def _completed_event(run: BillingRun, tally: Mapping[str, Any]) -> dict[str, Any]:
    """The notification event of a completed run (consumed by the notifications issue)."""
    return {"type": "billing_run.completed", "run": run.pk, "mode": run.mode,
            "billing_date": run.billing_date.isoformat(), "at": clock.now().isoformat(),
            "clients": tally["_posted_clients"], "transactions": tally["_transactions"]}


# ---------------------------------------------------------------------------------------------
# confirm mode: exclude / include, confirm, reject


def _awaiting(run: BillingRun) -> BillingRun:
    run = BillingRun.objects.get(pk=run.pk)
    if run.status != RunStatus.AWAITING_CONFIRMATION:
        raise Conflict(f"The run is {run.status}, not awaiting confirmation.",
                       errors={"status": [f"Is {run.status}."]})
    return run


def _set_excluded(actor: Actor, run: BillingRun, client: Any, item: Any, line: Any, excluded: bool) -> BillingRun:
    run = _awaiting(run)
    if sum(x is not None for x in (client, item)) != 1:
        raise ValidationFailed("Give a client or an item.", errors={"client": ["Give a client or an item."]})
    qs = RunItem.objects.filter(run=run)
    if client is not None:
        qs = qs.filter(client_id=getattr(client, "pk", client))
        field = "client"
    else:
        qs = qs.filter(pk=getattr(item, "pk", item))
        field = "item"
    if not qs.exists():
        raise ValidationFailed(f"No such {field} in the run.", errors={field: ["Not in this run."]})
    with transaction.atomic():
        if line is not None:
            if client is not None:
                raise ValidationFailed("A line is chosen within an item.", errors={"line": ["Give an item."]})
            target = qs.select_for_update().get()
            key = _clean_line(target, line)
            keys = [k for k in ((str(c), str(d)) for c, d in target.excluded_lines) if k != key]
            target.excluded_lines = sorted([*keys, key] if excluded else keys)
            target.save(update_fields=["excluded_lines"])
            after: dict[str, Any] = {"item": target.pk, "line": list(key)}
        else:
            ids = list(qs.values_list("pk", flat=True))
            qs.update(excluded=excluded)
            after = {"items": ids}
        audit_record(actor=actor, action="billing_run.exclude" if excluded else "billing_run.include",
                     object_type="billing_run", object_id=run.pk, before=None, after=after)
    return run


def _clean_line(item: RunItem, line: Any) -> LineKey:
    """``line``: a {component, period_start} object or a [component, period start] pair of one of
    the item's lines."""
    if isinstance(line, Mapping):
        key = (str(line.get("component", "")), str(line.get("period_start", "")))
    elif isinstance(line, (list, tuple)) and len(line) == 2:
        key = (str(line[0]), str(line[1]))
    else:
        raise ValidationFailed("Give the line as {component, period_start}.",
                               errors={"line": ["Give component and period_start."]})
    if key not in {line_key(ln) for ln in item.items if ln.get("kind") != "credit"}:
        raise ValidationFailed("The item has no such line.",
                               errors={"line": [f"No line {key[0]} from {key[1]} in this item."]})
    return key


def billing_run_exclude(*, actor: Actor, run: BillingRun, client: Any = None, item: Any = None,
                        line: Any = None) -> BillingRun:
    """Exclude from a run awaiting confirmation a client's subscriptions, one subscription's item,
    or one ``line`` of an item (``{"component", "period_start"}``): they are not posted when the run
    is confirmed. An excluded line stays due: a later billing posts it."""
    return _set_excluded(actor, run, client, item, line, True)


def billing_run_include(*, actor: Actor, run: BillingRun, client: Any = None, item: Any = None,
                        line: Any = None) -> BillingRun:
    """Include back what :func:`billing_run_exclude` excluded."""
    return _set_excluded(actor, run, client, item, line, False)


class RunChanged(Conflict):
    """Confirmation refused: the run is not what was reviewed (nothing was applied)."""


def _recheck(actor: Actor, run: BillingRun) -> list[int]:
    """Compute every included subscription again; update the items that differ (marked changed, the
    reviewed lines kept); the ids of the changed subscriptions."""
    changed: list[int] = []
    ids = list(_to_apply(run).order_by("subscription_id").values_list("subscription_id", flat=True))
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        fresh = {o.subscription_id: o for o in subscriptions_bill_batch(
            actor=actor, subscription_ids=part, on=run.billing_date, preview=True)}
        for item in _to_apply(run).filter(subscription_id__in=part):
            out = fresh[item.subscription_id]
            status = ItemStatus.ERROR if out.error else ItemStatus.OK
            if (status, out.items) != (item.status, item.items):
                item.previous_items, item.items, item.changed = item.items, out.items, True
                item.status, item.error = status, out.error
                item.amount_minor = _total_minor(out.items, item.currency)
                valid = {line_key(ln) for ln in out.items}
                item.excluded_lines = [k for k in item.excluded_lines if (str(k[0]), str(k[1])) in valid]
                item.save(update_fields=["previous_items", "items", "changed", "status", "error", "amount_minor",
                                         "excluded_lines"])
                changed.append(item.subscription_id)
    return sorted(changed)


def _confirm(actor: Actor, run: BillingRun, fingerprint: str) -> BillingRun:
    run = _awaiting(run)
    if fingerprint != run_fingerprint(run):
        raise RunChanged("The run changed since it was reviewed (another exclusion or a recomputation): "
                         "review it again.", errors={"fingerprint": ["Does not match the run."]})
    changed = _recheck(actor, run)
    if changed:
        run.summary = {**run_summary(run), "recomputed": changed}
        run.save(update_fields=["summary"])
        audit_record(actor=actor, action="billing_run.recomputed", object_type="billing_run", object_id=run.pk,
                     before=None, after={"subscriptions": changed})
        raise RunChanged("Subscriptions changed since the run was computed; nothing was applied. Review the "
                         "new items and confirm again.",
                         errors={"subscriptions": [f"#{pk} changed." for pk in changed]})
    updated = BillingRun.objects.filter(pk=run.pk, status=RunStatus.AWAITING_CONFIRMATION).update(
        status=RunStatus.APPLYING, decided_by=str(actor)[:200], decided_at=clock.now())
    if not updated:  # confirmed or rejected concurrently
        raise Conflict("The run is no longer awaiting confirmation.", errors={"status": ["Changed."]})
    run.refresh_from_db()
    audit_record(actor=actor, action="billing_run.confirm", object_type="billing_run", object_id=run.pk,
                 before=None, after={"fingerprint": fingerprint})
    return run


def billing_run_confirm(*, actor: Actor, run: BillingRun, fingerprint: str,
                        progress: Progress | None = None) -> BillingRun:
    """Apply exactly what was reviewed, in this process. ``fingerprint`` is
    :func:`run_fingerprint` as shown to the reviewer. Every included subscription is computed again
    first: if any differs from its reviewed item, nothing is applied — the items are updated (marked
    changed, the reviewed lines kept), the run stays awaiting confirmation and :class:`RunChanged`
    names the subscriptions."""
    run = _confirm(actor, run, fingerprint)
    return billing_run_execute(actor=actor, run=run, progress=progress)


def billing_run_confirm_dispatch(*, actor: Actor, run: BillingRun, fingerprint: str,
                                 queue: str | None = None) -> BillingRun:
    """:func:`billing_run_confirm`, with the posting dispatched to Celery workers."""
    run = _confirm(actor, run, fingerprint)
    return billing_run_dispatch(actor=actor, run=run, queue=queue)


def billing_run_reject(*, actor: Actor, run: BillingRun) -> BillingRun:
    """Reject a run awaiting confirmation: nothing is posted, the run is kept as rejected."""
    run = _awaiting(run)
    updated = BillingRun.objects.filter(pk=run.pk, status=RunStatus.AWAITING_CONFIRMATION).update(
        status=RunStatus.REJECTED, decided_by=str(actor)[:200], decided_at=clock.now(), finished_at=clock.now())
    if not updated:
        raise Conflict("The run is no longer awaiting confirmation.", errors={"status": ["Changed."]})
    run.refresh_from_db()
    audit_record(actor=actor, action="billing_run.reject", object_type="billing_run", object_id=run.pk,
                 before=None, after={"status": run.status})
    return run


# ---------------------------------------------------------------------------------------------
# the daily automatic run


def billing_auto_run_due(*, actor: Actor) -> BillingRun | None:
    """Start today's automatic run once the provider-local time has passed the settings'
    ``auto_billing_time`` (off when empty) — at most one per billing date; ``None`` when none is
    due or it already exists (an interrupted one is resumed). With a broker the run is dispatched
    to the workers; in the embedded default it runs here."""
    at = billing_settings().auto_billing_time
    if at is None:
        return None
    now = clock.now().astimezone(zone(provider_zone()))
    today = now.date()
    if now.time().replace(tzinfo=None) < at:
        return None
    start = billing_run_execute if settings.CELERY_TASK_ALWAYS_EAGER else billing_run_dispatch
    existing = BillingRun.objects.filter(scheduled=True, billing_date=today).first()
    if existing is not None:
        if existing.status in (RunStatus.PENDING, RunStatus.COMPUTING, RunStatus.APPLYING, RunStatus.FAILED):
            return start(actor=actor, run=existing)
        return None
    try:
        with transaction.atomic():
            run = billing_run_create(actor=actor, billing_date=today, mode=RunMode.AUTO, scheduled=True)
    except IntegrityError:  # started concurrently
        return None
    return start(actor=actor, run=run)


def _pending_count(run: BillingRun) -> int:
    return run_subscriptions(run).exclude(
        pk__in=RunItem.objects.filter(run=run).values("subscription_id")).count()


def billing_run_retry_errors(*, actor: Actor, run: BillingRun) -> BillingRun:
    """Do again the subscriptions whose item is an error: compute them (sandbox, confirm), or
    compute and post them (a run that posted); the summary is recomputed."""
    run = BillingRun.objects.get(pk=run.pk)
    if run.status not in (RunStatus.COMPLETED, RunStatus.AWAITING_CONFIRMATION):
        raise Conflict("Only a completed run's errors (or a run awaiting confirmation) can be retried.",
                       errors={"status": [f"Is {run.status}."]})
    posting = run.status == RunStatus.COMPLETED and run.mode != RunMode.SANDBOX
    default_vat = billing_settings().default_vat_rate
    errored = list(RunItem.objects.filter(run=run, status=ItemStatus.ERROR).order_by("subscription_id")
                   .values_list("pk", "subscription_id"))
    documents = 0
    for start in range(0, len(errored), CHUNK):
        part = dict(errored[start:start + CHUNK])
        with transaction.atomic():
            items = {i.subscription_id: i for i in RunItem.objects.select_for_update(of=("self",)).filter(pk__in=part)}
            outcomes = _bill(actor, sorted(items), run.billing_date, {}, careful=True) if posting else \
                subscriptions_bill_batch(actor=actor, subscription_ids=sorted(items), on=run.billing_date,
                                         preview=True)
            vats = _vat_rates(outcomes, default_vat)
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


# ---------------------------------------------------------------------------------------------
# summary, export, compare


def run_summary(run: BillingRun) -> dict[str, Any]:
    """Clients, subscriptions, charges and credits, totals by currency and by VAT rate (charges),
    errors — computed from the stored items."""
    return _public(_tally(RunItem.objects.filter(run=run).order_by("id").iterator(chunk_size=CHUNK)))


def _tally(items: Iterable[RunItem]) -> dict[str, Any]:
    clients: set[int] = set()
    posted: set[int] = set()
    subs = charges = credits = errors = transactions = 0
    by_currency: dict[str, Decimal] = {}
    by_vat: dict[str, dict[str, Decimal]] = {}
    for item in items:
        subs += 1
        if item.transaction_ids:
            posted.add(item.client_id)
            transactions += len(item.transaction_ids)
        clients.add(item.client_id)
        if item.status == ItemStatus.ERROR:
            errors += 1
            continue
        for line in item.items:
            amount = Decimal(line["amount"])
            cur = line.get("currency") or item.currency
            if line.get("kind") == "credit":
                credits += 1
                by_currency[cur] = by_currency.get(cur, Decimal(0)) - amount
                continue
            charges += 1
            by_currency[cur] = by_currency.get(cur, Decimal(0)) + amount
            rates = by_vat.setdefault(cur, {})
            rates[item.vat_rate] = rates.get(item.vat_rate, Decimal(0)) + amount
    return {"clients": len(clients), "subscriptions": subs, "charges": charges, "credits": credits,
            "totals_by_currency": {c: str(v) for c, v in sorted(by_currency.items())},
            "totals_by_vat_rate": {c: {r: str(v) for r, v in sorted(rates.items())}
                                   for c, rates in sorted(by_vat.items())},
            "errors": errors, "_posted_clients": sorted(posted), "_transactions": transactions}


def _merged(parts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The tallies of chunks added up (chunks hold disjoint clients, so client counts add up)."""
    total: dict[str, Any] = {"clients": 0, "subscriptions": 0, "charges": 0, "credits": 0, "errors": 0,
                             "_transactions": 0}
    posted: list[int] = []
    by_currency: dict[str, Decimal] = {}
    by_vat: dict[str, dict[str, Decimal]] = {}
    for part in parts:
        for key in ("clients", "subscriptions", "charges", "credits", "errors", "_transactions"):
            total[key] += part.get(key, 0)
        posted += part.get("_posted_clients", [])
        for cur, amount in part.get("totals_by_currency", {}).items():
            by_currency[cur] = by_currency.get(cur, Decimal(0)) + Decimal(amount)
        for cur, rates in part.get("totals_by_vat_rate", {}).items():
            into = by_vat.setdefault(cur, {})
            for rate, amount in rates.items():
                into[rate] = into.get(rate, Decimal(0)) + Decimal(amount)
    total["totals_by_currency"] = {c: str(v) for c, v in sorted(by_currency.items())}
    total["totals_by_vat_rate"] = {c: {r: str(v) for r, v in sorted(rates.items())} for c, rates in sorted(by_vat.items())}
    total["_posted_clients"] = sorted(posted)
    return total


def _public(summary: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if not k.startswith("_")}


CSV_COLUMNS = ["client_id", "client", "subscription_id", "status", "kind", "component", "period_start",
               "period_end", "amount", "currency", "vat_rate", "explanation_ru", "explanation_en", "error"]


def run_lines(run: BillingRun) -> Iterator[dict[str, Any]]:
    """One row per item line (an errored subscription: one row with its error), by subscription."""
    items = RunItem.objects.filter(run=run).select_related("client").order_by("subscription_id")
    for item in items.iterator(chunk_size=CHUNK):
        base = {"client_id": item.client_id, "client": item.client.name, "subscription_id": item.subscription_id,
                "status": item.status, "currency": item.currency, "vat_rate": item.vat_rate, "error": item.error}
        if item.status == ItemStatus.ERROR:
            yield {**base, "kind": "", "component": "", "period_start": "", "period_end": "", "amount": "",
                   "explanation_ru": "", "explanation_en": ""}
            continue
        for line in item.items:
            period = line.get("period") or {}
            explanation = line.get("explanation") or {}
            yield {**base, "kind": line.get("kind", ""), "component": line.get("component", ""),
                   "period_start": period.get("start", ""), "period_end": period.get("end", ""),
                   "amount": line.get("amount", ""), "currency": line.get("currency") or item.currency,
                   "explanation_ru": explanation.get("ru", ""), "explanation_en": explanation.get("en", "")}


def run_export_csv(run: BillingRun) -> Iterator[str]:
    """The run's lines as CSV (header first), chunk by chunk. Period end is exclusive."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for n, row in enumerate(run_lines(run), 1):
        writer.writerow(row)
        if n % CHUNK == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _line_key(line: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (str(line["subscription_id"]), str(line["kind"]), str(line["component"]), str(line["period_start"]))


def billing_runs_compare(a: BillingRun, b: BillingRun) -> dict[str, Any]:
    """What changed from run ``a`` to run ``b``, per client and line (a line is a subscription's
    kind, component and period start): ``added`` (only in b), ``removed`` (only in a), ``changed``
    (another amount or period end), with the totals of each run by currency."""

    def lines(run: BillingRun) -> dict[tuple[str, str, str, str], dict[str, Any]]:
        return {_line_key(row): row for row in run_lines(run) if row["status"] == ItemStatus.OK}

    left, right = lines(a), lines(b)
    clients: dict[int, dict[str, Any]] = {}

    def bucket(row: Mapping[str, Any]) -> dict[str, Any]:
        return clients.setdefault(row["client_id"], {"client_id": row["client_id"], "client": row["client"],
                                                     "added": [], "removed": [], "changed": []})

    def brief(row: Mapping[str, Any]) -> dict[str, Any]:
        return {k: row[k] for k in ("subscription_id", "kind", "component", "period_start", "period_end",
                                    "amount", "currency")}

    for key in sorted(set(left) | set(right)):
        old, new = left.get(key), right.get(key)
        if old is None:
            assert new is not None
            bucket(new)["added"].append(brief(new))
        elif new is None:
            bucket(old)["removed"].append(brief(old))
        elif Decimal(old["amount"]) != Decimal(new["amount"]) or old["period_end"] != new["period_end"]:
            bucket(new)["changed"].append({**brief(new), "amount_a": old["amount"], "amount_b": new["amount"],
                                           "difference": str(Decimal(new["amount"]) - Decimal(old["amount"]))})
    changed = [c for _, c in sorted(clients.items())]
    return {"a": a.pk, "b": b.pk, "clients": changed,
            "counts": {k: sum(len(c[k]) for c in changed) for k in ("added", "removed", "changed")},
            "totals_a": a.summary.get("totals_by_currency", {}), "totals_b": b.summary.get("totals_by_currency", {})}
