"""Writes of the outbox: enqueue (inside the caller's transaction), deliver, requeue. See docs/outbox.md.

Delivery schedule: a failed attempt is retried after 1 min, 5 min, 30 min, 2 h, then every 12 h; the
``KOPECK_OUTBOX_MAX_ATTEMPTS``-th failed attempt (default 10, about 2.6 days after the first) makes
the message ``dead``. A message whose topic has no handler is not an attempt: it stays ``pending``
with an explanatory ``last_error`` and is looked at again every 5 minutes.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from kopeck.audit.services import audit_record
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.bulk import insert_rows
from kopeck.common.errors import Conflict, NotFound, ValidationFailed
from kopeck.outbox.models import MessageStatus, OutboxMessage
from kopeck.outbox.registry import autodiscover, get_handler

log = logging.getLogger("kopeck.outbox")

# Wait after the n-th failed attempt (n = 1, 2, …; the last value repeats).
BACKOFF: tuple[dt.timedelta, ...] = (
    dt.timedelta(minutes=1),
    dt.timedelta(minutes=5),
    dt.timedelta(minutes=30),
    dt.timedelta(hours=2),
    dt.timedelta(hours=12),
)
NO_HANDLER_RETRY = dt.timedelta(minutes=5)
MAX_ERROR_LENGTH = 4000


class OutboxError(RuntimeError):
    """The outbox was used wrongly (a programming error, not a delivery failure)."""


def backoff(failed_attempts: int) -> dt.timedelta:
    """How long to wait after the ``failed_attempts``-th failed attempt."""
    return BACKOFF[min(max(failed_attempts, 1), len(BACKOFF)) - 1]


def max_attempts() -> int:
    return max(int(getattr(settings, "KOPECK_OUTBOX_MAX_ATTEMPTS", 10)), 1)


def lease_duration() -> dt.timedelta:
    return dt.timedelta(seconds=max(int(getattr(settings, "KOPECK_OUTBOX_LEASE_SECONDS", 300)), 1))


# -- kick: ask a worker to deliver soon (only when a Celery broker is configured) --------------------


def broker_configured() -> bool:
    from kopeck.celery import app

    return not app.conf.task_always_eager


def _kick() -> None:
    from kopeck.outbox.tasks import deliver

    deliver.delay()


def _kick_on_commit() -> None:
    """With a broker, run the delivery task once the current transaction commits (once per
    transaction). In the embedded default nothing happens here: the periodic job (every 30 s) or an
    explicit ``outbox_deliver`` call delivers — never inline inside the caller's transaction."""
    if not broker_configured():
        return
    connection = transaction.get_connection()
    if any(entry[1] is _kick for entry in connection.run_on_commit):
        return
    transaction.on_commit(_kick, robust=True)  # a broker outage must not fail the caller's change


# -- enqueue -----------------------------------------------------------------------------------------


def outbox_enqueue(
    *, topic: str, payload: dict[str, Any], key: str | None = None, available_at: dt.datetime | None = None
) -> OutboxMessage:
    """Write a message in the caller's transaction (``transaction.atomic()`` is required), so it
    commits or rolls back with the change. With a ``key`` that already exists, the existing message is
    returned and nothing is written (its topic and payload are not compared). ``available_at``
    (aware) delays the first delivery attempt."""
    if not transaction.get_connection().in_atomic_block:
        raise OutboxError(
            "outbox_enqueue() must be called inside transaction.atomic(), together with the change it "
            "belongs to, so that the message commits or rolls back with it.")
    errors: dict[str, list[str]] = {}
    if not isinstance(topic, str) or not topic.strip() or len(topic) > 100:
        errors["topic"] = [_("Give a non-empty topic of at most 100 characters.")]
    if not isinstance(payload, dict):
        errors["payload"] = [_("Must be a JSON object (a dict).")]
    else:
        try:
            json.dumps(payload, allow_nan=False)
        except (TypeError, ValueError) as exc:
            errors["payload"] = [_("Must be JSON-serialisable: %(problem)s") % {"problem": exc}]
    if key is not None and (not isinstance(key, str) or not key.strip() or len(key) > 255):
        errors["key"] = [_("Give a non-empty key of at most 255 characters, or none.")]
    if available_at is not None and (not isinstance(available_at, dt.datetime) or available_at.utcoffset() is None):
        errors["available_at"] = [_("Must be a timezone-aware datetime.")]
    if errors:
        raise ValidationFailed(_("Invalid outbox message."), errors=errors)

    now = clock.now()
    message = OutboxMessage(topic=topic, key=key, payload=payload, status=MessageStatus.PENDING, attempts=0,
                            available_at=(available_at.astimezone(dt.UTC) if available_at is not None else now),
                            created_at=now)
    if key is None:
        message.save(force_insert=True)
    elif not _insert_unless_keyed(message):
        return OutboxMessage.objects.get(key=key)
    if message.available_at <= now:
        _kick_on_commit()
    return message


def _insert_unless_keyed(message: OutboxMessage) -> bool:
    """Insert ``message`` unless a message with its key exists (committed, or committed meanwhile by a
    concurrent transaction, which this one waits for): one statement, ``INSERT … ON CONFLICT (key) DO
    NOTHING RETURNING id`` — no lookup first and no savepoint. True (and its id set) when inserted."""
    meta = OutboxMessage._meta
    fields = [f for f in meta.concrete_fields if f is not meta.pk]
    quote = connection.ops.quote_name
    # only the model's own table and column names are formatted into the statement
    sql = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
           f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT ({quote(meta.get_field('key').column)}) "
           f"DO NOTHING RETURNING {quote(meta.pk.column)}")
    with connection.cursor() as cursor:
        cursor.execute(sql, [f.get_db_prep_save(f.pre_save(message, add=True), connection) for f in fields])
        row = cursor.fetchone()
    if row is None:
        return False
    message.pk = int(row[0])
    message._state.adding, message._state.db = False, connection.alias
    return True


def outbox_enqueue_many(*, messages: list[tuple[str, dict[str, Any], str]], new: bool = False) -> dict[str, int]:
    """Write many keyed messages ``(topic, payload, key)`` in the caller's transaction at once (bulk
    writers: billing runs issuing thousands of documents) — the same as :func:`outbox_enqueue` for
    each: a key that exists already is skipped. Returns the message id of every key. ``new``: the
    keys name objects created in this transaction, so none can exist yet (no lookup; the unique
    constraint still guards)."""
    if not transaction.get_connection().in_atomic_block:
        raise OutboxError("outbox_enqueue_many() must be called inside transaction.atomic().")
    if not messages:
        return {}
    for topic, payload, key in messages:
        if not topic or len(topic) > 100 or not isinstance(payload, dict) or not key or len(key) > 255:
            raise ValidationFailed(_("Invalid outbox message."),
                                   errors={"messages": [_("Invalid message %(key)r.") % {"key": key}]})
    keys = [key for *_rest, key in messages]
    ids: dict[str, int] = {}
    for start in range(0, 0 if new else len(keys), 5000):
        for found, pk in OutboxMessage.objects.filter(key__in=keys[start:start + 5000]).values_list("key", "pk"):
            if found is not None:
                ids[found] = pk
    now = clock.now()
    fresh, seen = [], set(ids)
    for topic, payload, key in messages:
        if key not in seen:
            seen.add(key)
            fresh.append((topic, key, payload, MessageStatus.PENDING.value, 0, now, now))
    new_ids = insert_rows(OutboxMessage, ("topic", "key", "payload", "status", "attempts", "available_at",
                                          "created_at"), fresh)
    ids.update({row[1]: pk for row, pk in zip(fresh, new_ids, strict=True)})
    if fresh:
        _kick_on_commit()
    return ids


# -- deliver -----------------------------------------------------------------------------------------


def _claim(limit: int) -> list[OutboxMessage]:
    """Lease up to ``limit`` due messages in one short transaction. On PostgreSQL ``FOR UPDATE SKIP
    LOCKED`` lets concurrent deliverers take disjoint sets; on SQLite the writer lock serialises them.
    A message whose lease expired (its deliverer crashed) is due again."""
    now = clock.now()
    lease = uuid.uuid4().hex
    with transaction.atomic():
        due = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(status=MessageStatus.PENDING, available_at__lte=now)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now))
            .order_by("available_at", "id")
        )
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        OutboxMessage.objects.filter(pk__in=ids).update(locked_until=now + lease_duration(), lease=lease)
    return list(OutboxMessage.objects.filter(pk__in=ids, lease=lease).order_by("available_at", "id"))


def _failed(message: OutboxMessage, error: str, *, counts: bool) -> str:
    now = clock.now()
    attempts = message.attempts + (1 if counts else 0)
    dead = counts and attempts >= max_attempts()
    changes: dict[str, Any] = {"attempts": attempts, "locked_until": None, "lease": "",
                               "last_error": error[:MAX_ERROR_LENGTH]}
    if dead:
        changes["status"] = MessageStatus.DEAD
    else:
        changes["available_at"] = now + (backoff(attempts) if counts else NO_HANDLER_RETRY)
    updated = OutboxMessage.objects.filter(
        pk=message.pk, lease=message.lease, status=MessageStatus.PENDING).update(**changes)
    if not updated:
        log.warning("outbox message %s: lease lost before its failure was recorded: %s", message.pk, error)
    elif dead:
        log.error("outbox message %s (%s) is dead after %s attempts: %s", message.pk, message.topic, attempts,
                  error)
    return "dead" if dead else "failed"


def _delivered(message: OutboxMessage) -> None:
    OutboxMessage.objects.filter(pk=message.pk, status=MessageStatus.PENDING).update(
        status=MessageStatus.DELIVERED, delivered_at=clock.now(), attempts=message.attempts + 1,
        locked_until=None, lease="")


def _attempt(message: OutboxMessage) -> str:
    fn = get_handler(message.topic)
    if fn is None:
        return _failed(message, f"No handler is registered for topic {message.topic!r}; the message stays "
                                f"pending and is looked at again every 5 minutes.", counts=False)
    try:
        fn(message)
    except Exception as exc:
        log.warning("outbox message %s (%s) failed", message.pk, message.topic, exc_info=True)
        return _failed(message, f"{type(exc).__name__}: {exc}", counts=True)
    _delivered(message)
    return "delivered"


def outbox_deliver(*, limit: int = 100) -> dict[str, int]:
    """Deliver up to ``limit`` due messages now: claim them with a lease, run each handler outside any
    transaction of ours, then mark it delivered — or record the error and schedule the next attempt
    (``dead`` after the last one). Returns the counts ``{"delivered", "failed", "dead"}``."""
    if not isinstance(limit, int) or limit < 1:
        raise ValidationFailed.field("limit", _("Must be a positive integer."))
    autodiscover()
    counts = {"delivered": 0, "failed": 0, "dead": 0}
    for message in _claim(limit):
        counts[_attempt(message)] += 1
    return counts


def outbox_deliver_all(*, limit: int = 100, max_batches: int | None = None) -> dict[str, int]:
    """Call :func:`outbox_deliver` until a batch finds nothing due (or ``max_batches`` ran); the sums.
    Failed messages are rescheduled into the future, so this ends."""
    total = {"delivered": 0, "failed": 0, "dead": 0}
    batches = 0
    while max_batches is None or batches < max_batches:
        counts = outbox_deliver(limit=limit)
        batches += 1
        for name, value in counts.items():
            total[name] += value
        if sum(counts.values()) == 0:
            break
    return total


# -- requeue -----------------------------------------------------------------------------------------


def _state(message: OutboxMessage) -> dict[str, Any]:
    return {"topic": message.topic, "key": message.key, "status": message.status, "attempts": message.attempts,
            "available_at": message.available_at, "last_error": message.last_error}


def outbox_requeue(*, actor: Actor, message: OutboxMessage) -> OutboxMessage:
    """Send a dead (or a failed, still pending) message again now, with a fresh count of attempts
    (its ``last_error`` stays until the next attempt). Audited. Refused for a delivered message, a
    message that never failed, and one a deliverer holds right now."""
    with transaction.atomic():
        obj = OutboxMessage.objects.select_for_update().filter(pk=message.pk).first()
        if obj is None:
            raise NotFound(_("Outbox message %(id)s does not exist.") % {"id": message.pk})
        now = clock.now()
        if obj.status == MessageStatus.DELIVERED:
            raise Conflict(_("Outbox message %(id)s was already delivered.") % {"id": obj.pk})
        if obj.status == MessageStatus.PENDING and obj.attempts == 0 and not obj.last_error:
            raise Conflict(_("Outbox message %(id)s has not failed; it is delivered when due.") % {"id": obj.pk})
        if obj.locked_until is not None and obj.locked_until > now:
            raise Conflict(_("Outbox message %(id)s is being delivered right now; try again later.") % {"id": obj.pk})
        before = _state(obj)
        obj.status = MessageStatus.PENDING
        obj.attempts = 0
        obj.available_at = now
        obj.locked_until = None
        obj.lease = ""
        obj.save(update_fields=["status", "attempts", "available_at", "locked_until", "lease"])
        audit_record(actor=actor, action="outbox.requeue", object_type="outbox_message", object_id=obj.pk,
                     before=before, after=_state(obj))
        _kick_on_commit()
    return obj
