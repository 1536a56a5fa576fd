"""Writes of the event log: the recorder (inside the caller's transaction) and the dispatcher that
hands committed events to the consumers (rules, webhooks). See docs/events.md.

Recording — one call, inside the transaction of the change::

    from kopeck.events.services import event_record

    with transaction.atomic():
        payment = ...  # the change
        event_record("payment.received", actor=actor, client_id=payment.client_id, subject_id=payment.pk,
                     data={"payment": {...}})

The event commits or rolls back with the change; it gets the client's next sequence number (1, 2,
3… per client, no gaps, in commit order).
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import functools
import gc
import logging
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.bulk import insert_rows
from kopeck.common.errors import Conflict, NotFound
from kopeck.events.catalog import CATALOG, EventType
from kopeck.events.models import ClientSequence, DispatchStatus, Event, PendingEvent
from kopeck.events.ports import consumers

log = logging.getLogger("kopeck.events")

MAX_ERROR_LENGTH = 4000
# Wait after the n-th failed processing of an event (the last value repeats).
BACKOFF: tuple[dt.timedelta, ...] = (dt.timedelta(minutes=1), dt.timedelta(minutes=5), dt.timedelta(minutes=30),
                                     dt.timedelta(hours=2), dt.timedelta(hours=12))
MAX_DISPATCH_ATTEMPTS = 10
DISPATCH_LOCK_KEY = 0x6B6F7065636B01  # the PostgreSQL advisory lock of the one dispatcher at a time


class EventError(RuntimeError):
    """The recorder was used wrongly: an unknown type, a payload that breaks the type's schema, no
    transaction (a programming error in the emitting service, never the user's input)."""


# -- causation: events recorded while a rule acts on an event ------------------------------------

_cause: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar("kopeck_event_cause", default=None)


@contextlib.contextmanager
def caused_by(event: Event) -> Iterator[None]:
    """Within the block, recorded events are the effects of ``event`` (their ``cause``), one level
    deeper. The rules engine wraps each action in it; loop protection reads ``depth``."""
    token = _cause.set((event.pk, event.depth + 1))
    try:
        yield
    finally:
        _cause.reset(token)


# -- recording -----------------------------------------------------------------------------------


@functools.cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator, FormatChecker

    return Draft202012Validator(CATALOG[name].data, format_checker=FormatChecker())


def _validation_on() -> bool:
    return bool(getattr(settings, "KOPECK_EVENTS_VALIDATE", True))


def _check(name: str, data: Mapping[str, Any], client_id: int | None, *, validate: bool = True) -> EventType:
    kind = CATALOG.get(name)
    if kind is None:
        raise EventError(f"Unknown event type {name!r}; add it to kopeck.events.catalog first.")
    if not isinstance(data, Mapping):
        raise EventError(f"The data of {name!r} must be a JSON object (a dict).")
    if kind.client and (isinstance(client_id, bool) or not isinstance(client_id, int) or client_id < 1):
        raise EventError(f"Event {name!r} belongs to a client: give client_id.")
    if not kind.client and client_id is not None:
        raise EventError(f"Event {name!r} belongs to no client: give no client_id.")
    if validate and _validation_on():
        errors = sorted(_validator(name).iter_errors(dict(data)), key=lambda e: list(e.absolute_path))
        if errors:
            first = errors[0]
            where = "/".join(str(p) for p in first.absolute_path) or "(data)"
            raise EventError(f"The data of {name!r} break its schema at {where}: {first.message}")
    return kind


def _require_transaction(what: str) -> None:
    if not transaction.get_connection().in_atomic_block:
        raise EventError(f"{what}() must be called inside transaction.atomic(), together with the change it "
                         f"records, so that the event commits or rolls back with it.")


def _next_sequences(counts: Mapping[int, int]) -> dict[int, int]:
    """Reserve ``counts[client]`` sequence numbers per client; the last number given to each. One
    statement; the counter rows stay locked until the caller's transaction ends, so a client's
    numbers follow the order in which its changes commit. Clients are locked in id order."""
    items = sorted(counts.items())
    table = connection.ops.quote_name(ClientSequence._meta.db_table)
    if connection.vendor == "postgresql":  # two array parameters: no placeholder per client to bind
        values = "SELECT * FROM unnest(%s::bigint[], %s::bigint[])"
        params: list[Any] = [[cid for cid, _n in items], [n for _cid, n in items]]
    else:
        values = "VALUES " + ", ".join(["(%s, %s)"] * len(items))
        params = [v for item in items for v in item]
    # only placeholders and our own table's name are formatted into the statement
    sql = (f"INSERT INTO {table} (client_id, last) {values} ON CONFLICT (client_id) "
           f"DO UPDATE SET last = {table}.last + excluded.last RETURNING client_id, last")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {int(cid): int(last) for cid, last in cursor.fetchall()}


def _enqueue(ids: Sequence[int]) -> None:
    """Put the new events ``ids`` in the queue of events to process (:class:`PendingEvent`), in the
    caller's transaction: one statement, whatever the number."""
    table = connection.ops.quote_name(PendingEvent._meta.db_table)
    columns = f"INSERT INTO {table} (event_id, attempts, after, error, failed) "
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(columns + "SELECT unnest(%s::bigint[]), 0, NULL, '', false", [list(ids)])
            return
        for start in range(0, len(ids), 500):  # SQLite: at most 999 parameters a statement
            part = ids[start:start + 500]
            cursor.execute(columns + "VALUES " + ", ".join(["(%s, 0, NULL, '', 0)"] * len(part)), list(part))


def _kick_on_commit() -> None:
    """With a Celery broker, ask a worker to process the events once the transaction commits (once
    per transaction); in the embedded default the periodic job does it within seconds."""
    from kopeck.outbox.services import broker_configured

    if not broker_configured():
        return
    conn = transaction.get_connection()
    if any(entry[1] is _kick for entry in conn.run_on_commit):
        return
    transaction.on_commit(_kick, robust=True)


def _kick() -> None:
    from kopeck.events.tasks import dispatch

    dispatch.delay()


def event_record(name: str, *, actor: Actor, data: Mapping[str, Any], client_id: int | None = None,
                 subject_id: int | None = None, dedupe_key: str | None = None) -> Event:
    """Record the event ``name`` of the catalog, in the caller's transaction (required).

    ``data`` is the payload, checked against the type's schema; ``client_id`` is required for the
    events of a client and refused for the others; ``subject_id`` is the id of the event's subject
    (defaults to ``client_id`` for events whose subject is the client). ``dedupe_key`` (≤ 200
    characters) makes an event happen once: if an event with that key exists, it is returned and
    nothing is written. Raises :class:`EventError` on a programming error."""
    _require_transaction("event_record")
    kind = _check(name, data, client_id)
    if dedupe_key is not None:
        if not isinstance(dedupe_key, str) or not dedupe_key or len(dedupe_key) > 200:
            raise EventError("A dedupe key is a non-empty string of at most 200 characters.")
        existing = Event.objects.filter(dedupe_key=dedupe_key).first()
        if existing is not None:
            return existing
    if subject_id is None and kind.subject == "client":
        subject_id = client_id
    cause = _cause.get()
    sequence = _next_sequences({client_id: 1})[client_id] if client_id is not None else None
    event = Event.objects.create(
        uid=uuid.uuid4(), type=name, version=kind.version, client_id=client_id, sequence=sequence,
        subject_type=kind.subject, subject_id=subject_id, data=dict(data), occurred_at=clock.now(),
        actor_kind=str(actor.kind), actor_id=actor.id, actor_label=actor.label[:200],
        depth=cause[1] if cause else 0, cause_id=cause[0] if cause else None, dedupe_key=dedupe_key)
    _enqueue([event.pk])
    _kick_on_commit()
    return event


@dataclass(frozen=True, slots=True)
class NewEvent:
    """One event for :func:`event_record_many`."""

    name: str
    data: Mapping[str, Any]
    client_id: int | None = None
    subject_id: int | None = None
    dedupe_key: str | None = None  # the caller made sure no event has it yet (the column is unique)


def event_record_many(events: Sequence[NewEvent], *, actor: Actor) -> list[int]:
    """Record many events at once (bulk writers: a billing run issuing thousands of documents) in the
    caller's transaction — the same as :func:`event_record` for each, in order; a ``dedupe_key`` is
    written as given (the caller checked none exists: a repeat fails on the unique column).
    The payload of the first event of each type is checked against the schema (the rest come from
    the same code). Returns the new ids in order."""
    _require_transaction("event_record_many")
    if not events:
        return []
    seen: set[str] = set()
    kinds = []
    for item in events:
        kinds.append(_check(item.name, item.data, item.client_id, validate=item.name not in seen))
        seen.add(item.name)
    counts = Counter(item.client_id for item in events if item.client_id is not None)
    last = _next_sequences(counts) if counts else {}
    given: dict[int, int] = {cid: last[cid] - n for cid, n in counts.items()}
    cause = _cause.get()
    now = clock.now()
    rows = []
    for item, kind in zip(events, kinds, strict=True):
        sequence = None
        if item.client_id is not None:
            given[item.client_id] += 1
            sequence = given[item.client_id]
        subject_id = item.subject_id if item.subject_id is not None or kind.subject != "client" else item.client_id
        rows.append((uuid.uuid4(), item.name, kind.version, item.client_id, sequence, kind.subject, subject_id,
                     dict(item.data), now, str(actor.kind), actor.id, actor.label[:200],
                     cause[1] if cause else 0, cause[0] if cause else None, item.dedupe_key))
    ids = insert_rows(Event, ("uid", "type", "version", "client_id", "sequence", "subject_type", "subject_id", "data",
                              "occurred_at", "actor_kind", "actor_id", "actor_label", "depth", "cause_id",
                              "dedupe_key"), rows)
    _enqueue(ids)
    _kick_on_commit()
    return ids


# -- dispatching ---------------------------------------------------------------------------------


def _backoff(attempts: int) -> dt.timedelta:
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


def _take_dispatch_lock() -> bool:
    """One dispatcher at a time (a client's events are processed in order). PostgreSQL: an advisory
    lock held to the end of the transaction; SQLite: the transaction's write lock already is one."""
    if connection.vendor != "postgresql":
        return True
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [DISPATCH_LOCK_KEY])
        return bool(cursor.fetchone()[0])


def _claim(now: dt.datetime, limit: int) -> dict[int, int]:
    """The first ``limit`` due events of the queue (id → attempts so far), locked to the end of the
    transaction. On PostgreSQL rows another transaction holds are skipped (``FOR UPDATE SKIP
    LOCKED``): two dispatchers never take the same event, and once one has processed an event its
    queue row is gone — so an event is processed once even if the advisory lock is ever bypassed."""
    qs = (PendingEvent.objects.filter(failed=False).filter(Q(after__isnull=True) | Q(after__lte=now))
          .order_by("event_id"))
    if connection.vendor == "postgresql":
        qs = qs.select_for_update(skip_locked=True)
    return dict(qs.values_list("event_id", "attempts")[:limit])


def _consume(batch: Sequence[Event]) -> None:
    for _name, consumer in consumers():
        consumer(batch)


def _failed(event: Event, attempts: int, exc: BaseException, now: dt.datetime) -> None:
    attempts += 1
    dead = attempts >= MAX_DISPATCH_ATTEMPTS
    PendingEvent.objects.filter(event_id=event.pk).update(
        attempts=attempts, error=f"{type(exc).__name__}: {exc}"[:MAX_ERROR_LENGTH], failed=dead,
        after=None if dead else now + _backoff(attempts))
    log.error("event %s (%s): processing failed (attempt %s)%s", event.pk, event.type, attempts,
              ", given up" if dead else "", exc_info=exc)


def _dequeue(ids: Sequence[int]) -> None:
    """The events ``ids`` are processed: their queue rows go (in the transaction of the consumers' writes)."""
    if not ids:
        return
    table = connection.ops.quote_name(PendingEvent._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"DELETE FROM {table} WHERE event_id = ANY(%s::bigint[])", [list(ids)])  # noqa: S608
            return
        for start in range(0, len(ids), 500):
            part = ids[start:start + 500]
            cursor.execute(f"DELETE FROM {table} WHERE event_id IN ({', '.join(['%s'] * len(part))})",  # noqa: S608
                           list(part))


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector held off while a batch is processed. A batch allocates some
    hundred thousand short-lived objects (model instances, contexts, log rows), which set off a dozen
    collections, each walking every object of the process (Django's included): 10–15 % of the
    dispatcher's CPU time. Nothing of a batch needs it (reference counting frees its objects); what
    cyclic garbage a batch leaves is collected after it. Restored only if it was on (another thread
    may have paused it too)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def events_dispatch(*, limit: int = 500) -> dict[str, int]:
    """Hand up to ``limit`` committed, unprocessed events to the consumers, in id order, and take
    them off the queue — all in one transaction. If the batch fails, each event is tried alone (in a
    savepoint): the ones that fail get their error and a later attempt (1 min, 5 min, 30 min, 2 h,
    then 12 h; after 10 attempts they stay ``failed`` for an operator), the others are processed.
    Returns ``{"processed", "failed", "busy"}`` (busy: another dispatcher holds the lock)."""
    now = clock.now()
    counts = {"processed": 0, "failed": 0, "busy": 0}
    with _gc_paused(), transaction.atomic():
        if not _take_dispatch_lock():
            counts["busy"] = 1
            return counts
        claimed = _claim(now, limit)
        if not claimed:
            return counts
        batch = list(Event.objects.filter(pk__any_of=list(claimed)).order_by("id"))
        done: list[int] = []
        try:
            with transaction.atomic():
                _consume(batch)
            done = [e.pk for e in batch]
        except Exception:
            log.warning("a batch of %s events failed; processing them one by one", len(batch), exc_info=True)
            for event in batch:
                try:
                    with transaction.atomic():
                        _consume([event])
                except Exception as exc:
                    _failed(event, claimed[event.pk], exc, now)
                    counts["failed"] += 1
                else:
                    done.append(event.pk)
        _dequeue(done)
        counts["processed"] = len(done)
    return counts


def events_dispatch_all(*, limit: int = 500, max_batches: int | None = None) -> dict[str, int]:
    """Call :func:`events_dispatch` until nothing is due (or ``max_batches`` ran); the sums."""
    total = {"processed": 0, "failed": 0, "busy": 0}
    batches = 0
    while max_batches is None or batches < max_batches:
        counts = events_dispatch(limit=limit)
        batches += 1
        for key, value in counts.items():
            total[key] += value
        if counts["busy"] or counts["processed"] + counts["failed"] == 0:
            break
    return total


def event_redispatch(*, actor: Actor, event: Event) -> Event:
    """Process a failed event again now (after its cause was fixed), with a fresh count of attempts."""
    from kopeck.audit.services import audit_record

    with transaction.atomic():
        obj = Event.objects.filter(pk=event.pk).first()
        if obj is None:
            raise NotFound(_("Event %(id)s does not exist.") % {"id": event.pk})
        pending = PendingEvent.objects.select_for_update().filter(event_id=obj.pk).first()
        if pending is None:
            raise Conflict(_("Event %(id)s was processed already.") % {"id": obj.pk})
        if not pending.failed and pending.attempts == 0:
            raise Conflict(_("Event %(id)s has not failed; it is processed when due.") % {"id": obj.pk})
        before = {"dispatch_status": pending.status, "dispatch_attempts": pending.attempts}
        pending.failed, pending.attempts, pending.after = False, 0, None
        pending.save(update_fields=["failed", "attempts", "after"])
        audit_record(actor=actor, action="event.redispatch", object_type="event", object_id=obj.pk, before=before,
                     after={"dispatch_status": DispatchStatus.PENDING.value, "dispatch_attempts": 0})
        _kick_on_commit()
    return obj
