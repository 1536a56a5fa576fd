"""The only writers of usage: batches of usage events and of meter readings.

Both take the decoded JSON list of a request body and answer one result per item, in order:
``{"id", "status": "accepted" | "duplicate" | "refused", "reason", "errors": [{"field", "detail"}]}``
(``reason`` and ``errors`` for refused items only). Nothing is ever silently dropped: every item is
either stored, reported as a duplicate of a stored one, or refused with its reason.

Events are the hot path (see docs/usage.md): items are validated in plain Python, the batch's
subscriptions are resolved in one query, already billed periods are looked up in one query, and on
PostgreSQL the whole batch — the events and the batch's audit entry — is one ``INSERT … SELECT FROM
unnest(…) ON CONFLICT DO NOTHING RETURNING`` statement (atomic on its own; the unique constraint makes
a repeated id a duplicate under concurrent requests too). Elsewhere (SQLite) the ORM does the same in
one write transaction (``BEGIN IMMEDIATE`` serialises writers, so "look up, then insert" is safe).
"""

from kopeck.usage.services.common import (
    ACCEPTED,
    DUPLICATE,
    FUTURE_TOLERANCE,
    LATE_REASON,
    MAX_BATCH,
    MAX_PROPERTIES_CHARS,
    REFUSED,
    PlanUsage,
    Result,
    forget_plan_usage,
    plan_usage,
    refused,
)
from kopeck.usage.services.events import usage_events_ingest
from kopeck.usage.services.readings import meter_readings_ingest
from kopeck.usage.services.thresholds import (
    usage_threshold_create,
    usage_threshold_delete,
    usage_threshold_update,
    usage_thresholds_check,
)

__all__ = [
    "ACCEPTED", "DUPLICATE", "FUTURE_TOLERANCE", "LATE_REASON", "MAX_BATCH", "MAX_PROPERTIES_CHARS", "REFUSED",
    "PlanUsage", "Result", "forget_plan_usage", "meter_readings_ingest", "plan_usage", "refused",
    "usage_events_ingest", "usage_threshold_create", "usage_threshold_delete", "usage_threshold_update",
    "usage_thresholds_check",
]
