"""Executing a run in this process, or dispatching its chunks to Celery workers; the daily
scheduled run."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction

from kopeck.billing.models import BillingRun, RunMode, RunStatus
from kopeck.billing.services.engine import _fail, _finish, _pending_chunk_ids, _start, process_chunk
from kopeck.billing.services.review import _confirm
from kopeck.billing.services.runs import Progress, billing_run_create
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.configuration.models import ScheduledRun
from kopeck.configuration.selectors import billing_settings, provider_zone
from kopeck.core.calendar import zone


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


# ---------------------------------------------------------------------------------------------
# the daily automatic run


UNFINISHED = (RunStatus.PENDING, RunStatus.COMPUTING, RunStatus.APPLYING, RunStatus.FAILED)


def billing_daily_run_due(*, actor: Actor) -> BillingRun | None:
    """The one scheduled biller: start today's billing run once the provider-local time has passed
    the settings' ``auto_billing_time`` — as the settings' ``scheduled_run`` says: ``auto`` (posts
    and issues the documents), ``confirm`` (computes and waits for an operator: nothing is posted
    before the confirmation), ``off`` (none: runs by hand only). At most one per billing date; an
    interrupted one is resumed; while an earlier scheduled run awaits confirmation no new one is
    started (confirming it bills up to its date, the next tick starts today's). ``None`` when
    nothing was started or resumed. With a broker the run is dispatched to the workers; in the
    embedded default it runs here."""
    config = billing_settings()
    if config.scheduled_run == ScheduledRun.OFF:
        return None
    now = clock.now().astimezone(zone(provider_zone()))
    today = now.date()
    if now.time().replace(tzinfo=None) < config.auto_billing_time:
        return None
    start = billing_run_execute if settings.CELERY_TASK_ALWAYS_EAGER else billing_run_dispatch
    existing = BillingRun.objects.filter(scheduled=True, billing_date=today).first()
    if existing is not None:
        return start(actor=actor, run=existing) if existing.status in UNFINISHED else None
    if BillingRun.objects.filter(scheduled=True, status=RunStatus.AWAITING_CONFIRMATION).exists():
        return None
    mode = RunMode.CONFIRM if config.scheduled_run == ScheduledRun.CONFIRM else RunMode.AUTO
    try:
        with transaction.atomic():
            run = billing_run_create(actor=actor, billing_date=today, mode=mode, scheduled=True)
    except IntegrityError:  # started concurrently
        return None
    return start(actor=actor, run=run)


