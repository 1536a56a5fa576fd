"""Celery task of webhooks. ``kopeck.webhooks.deliver`` runs every 10 s (Celery beat, or the scheduler of
``kopeck serve``) and, with a broker, right after a transaction that created deliveries commits."""

from __future__ import annotations

from kopeck.celery import app
from kopeck.webhooks.services import webhooks_deliver_all


@app.task(name="kopeck.webhooks.deliver")
def deliver() -> dict[str, int]:
    """Deliver the due webhook messages (up to 50 batches of 100)."""
    return webhooks_deliver_all(limit=100, max_batches=50)
