"""Reads of the outbox."""

from __future__ import annotations

from django.db.models import Count

from kopeck.common import clock
from kopeck.outbox.models import MessageStatus, OutboxMessage


def outbox_counts() -> dict[str, int]:
    """Messages per status, and ``due``: pending messages whose next attempt is now or earlier."""
    rows = dict(OutboxMessage.objects.order_by().values("status").annotate(n=Count("id")).values_list("status", "n"))
    counts = {status: rows.get(status, 0) for status in MessageStatus.values}
    counts["due"] = OutboxMessage.objects.filter(
        status=MessageStatus.PENDING, available_at__lte=clock.now()).count()
    return counts
