from __future__ import annotations

import datetime as dt

from kopeck.celery import app
from kopeck.common import clock
from kopeck.common.models import IdempotencyRecord

RETENTION = dt.timedelta(days=30)


@app.task(name="kopeck.ping")
def ping(value: str = "pong") -> str:
    """A health check: returns its argument from whichever worker runs it."""
    return value


@app.task(name="kopeck.idempotency_purge")
def idempotency_purge() -> int:
    """Forget Idempotency-Key records older than 30 days."""
    deleted, _details = IdempotencyRecord.objects.filter(created_at__lt=clock.now() - RETENTION).delete()
    return deleted
