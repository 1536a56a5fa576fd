"""Celery tasks of subscriptions. ``kopeck.subscriptions.run_due`` runs the scheduled changes and
then billing for the provider-local today; Celery beat (or, in the embedded default, the scheduler
thread of ``kopeck serve``) runs it every KOPECK_TICK_SECONDS — see kopeck.cli.scheduler. A re-run
posts nothing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kopeck.celery import app
from kopeck.subscriptions.scheduler import run_due as _run_due


@app.task(name="kopeck.subscriptions.run_due")
def run_due(on: str | None = None) -> dict[str, Any]:
    """Apply due scheduled changes, then bill due periods (``on``: ISO date, default today)."""
    return _run_due(None if on is None else dt.date.fromisoformat(on))
