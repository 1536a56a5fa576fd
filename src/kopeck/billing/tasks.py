"""Celery tasks of billing runs. ``kopeck.billing.auto_run`` starts the daily automatic run once
the provider-local time has passed ``auto_billing_time`` (billing settings); Celery beat (or, in
the embedded default, the scheduler thread of ``kopeck serve``) runs it every 15 minutes — see
kopeck.cli.scheduler. At most one automatic run per billing date is started."""

from __future__ import annotations

from typing import Any

from kopeck.billing.services import billing_auto_run_due
from kopeck.celery import app
from kopeck.common.actor import Actor


@app.task(name="kopeck.billing.auto_run")
def auto_run() -> dict[str, Any] | None:
    """Start (or resume) today's automatic billing run if it is due; its id and status, or None."""
    run = billing_auto_run_due(actor=Actor.system("scheduler"))
    return None if run is None else {"run": run.pk, "status": run.status}
