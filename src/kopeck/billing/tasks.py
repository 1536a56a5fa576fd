"""Celery tasks of billing runs.

``kopeck.billing.process_chunk`` processes one chunk of a run (see
:func:`kopeck.billing.services.billing_run_dispatch`); any number of workers may run them, and a
chunk sent twice is done once. ``kopeck.billing.daily_run`` — the one scheduled biller — starts the
day's billing run (automatic, or with confirmation, as the billing settings say) once the
provider-local time has passed ``auto_billing_time``; Celery beat (or, in the embedded default, the
scheduler of ``kopeck serve``) runs it every ``KOPECK_TICK_SECONDS`` (15 minutes) — see
kopeck.cli.scheduler. At most one scheduled run per billing date is started."""

from __future__ import annotations

from typing import Any

from kopeck.billing.services import billing_daily_run_due, billing_run_chunk_task
from kopeck.celery import app
from kopeck.common.actor import Actor, ActorKind


@app.task(name="kopeck.billing.daily_run")
def daily_run() -> dict[str, Any] | None:
    """Start (or resume) today's scheduled billing run if it is due; its id and status, or None."""
    run = billing_daily_run_due(actor=Actor.system("scheduler"))
    return None if run is None else {"run": run.pk, "status": run.status}


@app.task(name="kopeck.billing.process_chunk", acks_late=True, reject_on_worker_lost=True)
def process_chunk_task(run_id: int, chunk_id: int, actor_kind: str, actor_id: str, actor_label: str) -> str | None:
    """Process one chunk of a run and finish the run if it was the last one; the run's status."""
    run = billing_run_chunk_task(actor=Actor(ActorKind(actor_kind), actor_id, actor_label), run_id=run_id,
                                 chunk_id=chunk_id)
    return None if run is None else str(run.status)
