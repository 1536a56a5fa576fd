"""Celery task of the events app. ``kopeck.events.dispatch`` runs every 10 s (Celery beat, or the
scheduler process of ``kopeck serve`` in the embedded default) and, with a broker, right after a
transaction that recorded events commits."""

from __future__ import annotations

from kopeck.celery import app
from kopeck.events.services import events_dispatch_all


@app.task(name="kopeck.events.dispatch")
def dispatch() -> dict[str, int]:
    """Hand the committed events to the consumers (rules, webhooks): up to 40 batches of 500."""
    return events_dispatch_all(limit=500, max_batches=40)
