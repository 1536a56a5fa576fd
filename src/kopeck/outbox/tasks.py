"""Celery task of the outbox. ``kopeck.outbox.deliver`` runs every 30 s (Celery beat, or the
scheduler process of ``kopeck serve`` in the embedded default — see kopeck.cli.scheduler) and, with a
broker, right after a transaction that enqueued a message commits."""

from __future__ import annotations

from kopeck.celery import app
from kopeck.outbox.services import outbox_deliver_all


@app.task(name="kopeck.outbox.deliver")
def deliver() -> dict[str, int]:
    """Deliver the due outbox messages (up to 20 batches of 100); the counts."""
    return outbox_deliver_all(limit=100, max_batches=20)
