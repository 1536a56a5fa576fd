"""The transactional outbox: enqueue with the caller's transaction, delivery, retries, dead, requeue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.test.utils import CaptureQueriesContext

from kopeck.audit.models import AuditEntry
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.outbox import registry
from kopeck.outbox.models import MessageStatus, OutboxMessage
from kopeck.outbox.services import (
    BACKOFF,
    OutboxError,
    _claim,
    backoff,
    outbox_deliver,
    outbox_deliver_all,
    outbox_enqueue,
    outbox_requeue,
)
from tests.conftest import START
from tests.outbox.conftest import TOPIC, Recorder

MIN = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
NOTHING = {"delivered": 0, "failed": 0, "dead": 0}


def enqueue(**kwargs: Any) -> OutboxMessage:
    kwargs.setdefault("topic", TOPIC)
    kwargs.setdefault("payload", {"n": 1})
    with transaction.atomic():
        return outbox_enqueue(**kwargs)


def row(message: OutboxMessage) -> dict[str, Any]:
    message.refresh_from_db()
    return {"status": message.status, "attempts": message.attempts, "available_at": message.available_at,
            "locked_until": message.locked_until, "last_error": message.last_error,
            "delivered_at": message.delivered_at}


class Boom(Exception):
    pass


# -- enqueue -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_enqueue_writes_a_pending_message(clock: FixedClock) -> None:
    message = enqueue(payload={"invoice": 7, "to": ["a@example.com"], "note": "Счёт"})
    stored = OutboxMessage.objects.get()
    assert stored.pk == message.pk
    assert (stored.topic, stored.key, stored.payload) == (TOPIC, None, {"invoice": 7, "to": ["a@example.com"],
                                                                        "note": "Счёт"})
    assert row(stored) == {"status": "pending", "attempts": 0, "available_at": START, "locked_until": None,
                           "last_error": "", "delivered_at": None}
    assert stored.created_at == START


@pytest.mark.django_db
def test_enqueue_rolls_back_with_the_callers_transaction(clock: FixedClock, actor: Actor) -> None:
    with pytest.raises(Boom), transaction.atomic():
        outbox_enqueue(topic=TOPIC, payload={"n": 1}, key="k-1")
        assert OutboxMessage.objects.count() == 1
        raise Boom
    assert OutboxMessage.objects.count() == 0
    # the key is free again: nothing of the rolled-back message remains
    assert enqueue(key="k-1").key == "k-1"
    assert OutboxMessage.objects.count() == 1


@pytest.mark.django_db
def test_enqueue_with_an_existing_key_returns_the_existing_message(clock: FixedClock) -> None:
    first = enqueue(key="invoice-7-email", payload={"n": 1})
    clock.advance(MIN)
    again = enqueue(key="invoice-7-email", payload={"n": 2})
    other_topic = enqueue(key="invoice-7-email", topic="other.topic", payload={})
    assert again.pk == first.pk == other_topic.pk
    assert OutboxMessage.objects.count() == 1
    stored = OutboxMessage.objects.get()
    assert (stored.topic, stored.payload, stored.created_at) == (TOPIC, {"n": 1}, START)
    # messages without a key are never deduplicated
    enqueue()
    enqueue()
    assert OutboxMessage.objects.count() == 3


@pytest.mark.django_db
def test_enqueue_with_available_at_delays_the_first_attempt(clock: FixedClock, recorder: Recorder) -> None:
    later = dt.datetime(2026, 11, 25, 15, 0, tzinfo=dt.timezone(dt.timedelta(hours=3)))  # 12:00 UTC
    message = enqueue(available_at=later)
    assert row(message)["available_at"] == dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC)
    assert outbox_deliver() == NOTHING
    clock.set(dt.datetime(2026, 11, 25, 11, 59, 59, tzinfo=dt.UTC))
    assert outbox_deliver() == NOTHING
    clock.set(dt.datetime(2026, 11, 25, 12, 0, tzinfo=dt.UTC))
    assert outbox_deliver() == {"delivered": 1, "failed": 0, "dead": 0}
    assert recorder.seen == [message.pk]


@pytest.mark.django_db(transaction=True)
def test_enqueue_outside_a_transaction_is_refused(clock: FixedClock) -> None:
    with pytest.raises(OutboxError) as info:
        outbox_enqueue(topic=TOPIC, payload={"n": 1})
    assert str(info.value) == (
        "outbox_enqueue() must be called inside transaction.atomic(), together with the change it belongs to, "
        "so that the message commits or rolls back with it.")
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("kwargs", "errors"),
    [
        ({"topic": ""}, {"topic": ["Give a non-empty topic of at most 100 characters."]}),
        ({"topic": "x" * 101}, {"topic": ["Give a non-empty topic of at most 100 characters."]}),
        ({"payload": ["a"]}, {"payload": ["Must be a JSON object (a dict)."]}),
        ({"payload": {"amount": Decimal("1.10")}},
         {"payload": ["Must be JSON-serialisable: Object of type Decimal is not JSON serializable"]}),
        ({"payload": {"x": float("nan")}},
         {"payload": ["Must be JSON-serialisable: Out of range float values are not JSON compliant"]}),
        ({"key": ""}, {"key": ["Give a non-empty key of at most 255 characters, or none."]}),
        ({"key": "k" * 256}, {"key": ["Give a non-empty key of at most 255 characters, or none."]}),
        ({"available_at": dt.datetime(2026, 11, 25, 12, 0)},  # naive on purpose
         {"available_at": ["Must be a timezone-aware datetime."]}),
    ],
)
def test_enqueue_refusals_write_nothing(clock: FixedClock, kwargs: dict[str, Any], errors: dict[str, list[str]]) -> None:
    with pytest.raises(ValidationFailed) as info:
        enqueue(**kwargs)
    assert info.value.detail == "Invalid outbox message."
    assert info.value.errors == errors
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db
def test_enqueue_never_delivers_inline_in_the_embedded_default(clock: FixedClock, recorder: Recorder,
                                                               django_capture_on_commit_callbacks: Any) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        enqueue()
    assert callbacks == []
    assert recorder.seen == []
    assert OutboxMessage.objects.get().status == MessageStatus.PENDING


@pytest.mark.django_db
def test_with_a_broker_a_commit_kicks_delivery_once(clock: FixedClock, monkeypatch: pytest.MonkeyPatch,
                                                    request: pytest.FixtureRequest,
                                                    django_capture_on_commit_callbacks: Any) -> None:
    from kopeck.celery import app
    from kopeck.outbox import tasks

    kicks: list[str] = []
    monkeypatch.setattr(tasks.deliver, "delay", lambda: kicks.append("kick"))
    app.conf.task_always_eager = False
    request.addfinalizer(lambda: setattr(app.conf, "task_always_eager", True))
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        for n in range(3):
            outbox_enqueue(topic=TOPIC, payload={"n": n})
        assert kicks == []  # not before the commit
    assert len(callbacks) == 1
    assert kicks == ["kick"]
    # a rolled-back enqueue kicks nothing; a delayed message is left to the periodic job
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(Boom), transaction.atomic():
            outbox_enqueue(topic=TOPIC, payload={})
            raise Boom
        enqueue(available_at=START + HOUR)
    assert callbacks == []
    assert kicks == ["kick"]


# -- delivery ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_deliver_runs_the_handler_and_marks_delivered(clock: FixedClock, recorder: Recorder) -> None:
    first, second = enqueue(payload={"n": 1}), enqueue(payload={"n": 2})
    clock.advance(MIN)
    assert outbox_deliver() == {"delivered": 2, "failed": 0, "dead": 0}
    assert recorder.seen == [first.pk, second.pk]
    for message in (first, second):
        assert row(message) == {"status": "delivered", "attempts": 1, "available_at": START, "locked_until": None,
                                "last_error": "", "delivered_at": START + MIN}
    assert outbox_deliver() == NOTHING
    assert recorder.seen == [first.pk, second.pk]


@pytest.mark.django_db
def test_deliver_takes_at_most_limit_messages_oldest_first(clock: FixedClock, recorder: Recorder) -> None:
    ids = [enqueue(payload={"n": n}).pk for n in range(5)]
    assert outbox_deliver(limit=2) == {"delivered": 2, "failed": 0, "dead": 0}
    assert recorder.seen == ids[:2]
    assert outbox_deliver_all(limit=2) == {"delivered": 3, "failed": 0, "dead": 0}
    assert recorder.seen == ids
    with pytest.raises(ValidationFailed) as info:
        outbox_deliver(limit=0)
    assert info.value.errors == {"limit": ["Must be a positive integer."]}


@pytest.mark.django_db
def test_the_handler_runs_outside_the_claiming_transaction(clock: FixedClock, use_handler: Any) -> None:
    seen: list[dict[str, Any]] = []

    def handler(message: OutboxMessage) -> None:
        stored = OutboxMessage.objects.get(pk=message.pk)
        seen.append({"status": stored.status, "locked_until": stored.locked_until, "lease": bool(stored.lease),
                     "payload": message.payload})

    use_handler("tests.inspect", handler)
    enqueue(topic="tests.inspect", payload={"a": "б"})
    outbox_deliver()
    # the claim is committed (the lease is visible) while the handler runs
    assert seen == [{"status": "pending", "locked_until": START + dt.timedelta(minutes=5), "lease": True,
                     "payload": {"a": "б"}}]


@pytest.mark.django_db
def test_a_failing_handler_is_retried_with_backoff(clock: FixedClock, recorder: Recorder) -> None:
    message = enqueue()
    recorder.fail_with = Boom("gateway timeout")
    assert outbox_deliver() == {"delivered": 0, "failed": 1, "dead": 0}
    assert row(message) == {"status": "pending", "attempts": 1, "available_at": START + MIN, "locked_until": None,
                            "last_error": "Boom: gateway timeout", "delivered_at": None}
    # not due before the backoff has passed
    clock.advance(MIN - dt.timedelta(seconds=1))
    assert outbox_deliver() == NOTHING
    clock.advance(dt.timedelta(seconds=1))
    assert outbox_deliver() == {"delivered": 0, "failed": 1, "dead": 0}
    assert row(message)["available_at"] == START + MIN + 5 * MIN
    assert row(message)["attempts"] == 2
    # the handler recovers: delivered on the next due attempt
    recorder.fail_with = None
    clock.advance(5 * MIN)
    assert outbox_deliver() == {"delivered": 1, "failed": 0, "dead": 0}
    assert row(message) == {"status": "delivered", "attempts": 3, "available_at": START + 6 * MIN,
                            "locked_until": None, "last_error": "Boom: gateway timeout",
                            "delivered_at": START + 6 * MIN}
    assert recorder.seen == [message.pk] * 3


def test_the_backoff_schedule() -> None:
    assert BACKOFF == (MIN, 5 * MIN, 30 * MIN, 2 * HOUR, 12 * HOUR)
    assert [backoff(n) for n in range(1, 10)] == [MIN, 5 * MIN, 30 * MIN, 2 * HOUR] + [12 * HOUR] * 5


@pytest.mark.django_db
def test_a_message_is_dead_after_the_last_attempt(clock: FixedClock, recorder: Recorder) -> None:
    message = enqueue()
    recorder.fail_with = Boom("down")
    waits = []
    for attempt in range(1, 10):
        assert outbox_deliver() == {"delivered": 0, "failed": 1, "dead": 0}
        state = row(message)
        assert (state["status"], state["attempts"]) == ("pending", attempt)
        waits.append(state["available_at"] - clock.now())
        clock.set(state["available_at"])
    assert waits == [MIN, 5 * MIN, 30 * MIN, 2 * HOUR] + [12 * HOUR] * 5
    assert outbox_deliver() == {"delivered": 0, "failed": 0, "dead": 1}
    state = row(message)
    assert (state["status"], state["attempts"], state["last_error"], state["locked_until"]) == (
        "dead", 10, "Boom: down", None)
    clock.advance(100 * HOUR)
    assert outbox_deliver() == NOTHING
    assert len(recorder.seen) == 10


@pytest.mark.django_db
def test_max_attempts_is_a_setting(clock: FixedClock, recorder: Recorder, settings: Any) -> None:
    settings.KOPECK_OUTBOX_MAX_ATTEMPTS = 2
    message = enqueue()
    recorder.fail_with = Boom("no")
    assert outbox_deliver() == {"delivered": 0, "failed": 1, "dead": 0}
    clock.advance(MIN)
    assert outbox_deliver() == {"delivered": 0, "failed": 0, "dead": 1}
    assert row(message)["status"] == "dead"


@pytest.mark.django_db
def test_a_crashed_deliverers_lease_expires_and_the_message_is_delivered_again(
    clock: FixedClock, recorder: Recorder
) -> None:
    message = enqueue()
    (claimed,) = _claim(10)  # a deliverer claims the message, then its process dies
    assert claimed.pk == message.pk
    assert row(message)["locked_until"] == START + 5 * MIN
    assert outbox_deliver() == NOTHING  # leased: nobody else takes it
    clock.advance(5 * MIN - dt.timedelta(seconds=1))
    assert outbox_deliver() == NOTHING
    clock.advance(dt.timedelta(seconds=1))
    assert outbox_deliver() == {"delivered": 1, "failed": 0, "dead": 0}
    assert recorder.seen == [message.pk]
    assert row(message)["status"] == "delivered"


@pytest.mark.django_db
def test_a_late_failure_report_of_a_lost_lease_changes_nothing(clock: FixedClock, recorder: Recorder) -> None:
    from kopeck.outbox.services import _failed

    message = enqueue()
    (stale,) = _claim(10)
    clock.advance(5 * MIN)
    assert outbox_deliver() == {"delivered": 1, "failed": 0, "dead": 0}  # the lease expired; redelivered
    assert _failed(stale, "Boom: late", counts=True) == "failed"
    assert row(message)["status"] == "delivered"
    assert row(message)["last_error"] == ""


@pytest.mark.django_db
def test_lease_duration_is_a_setting(clock: FixedClock, recorder: Recorder, settings: Any) -> None:
    settings.KOPECK_OUTBOX_LEASE_SECONDS = 60
    message = enqueue()
    _claim(10)
    assert row(message)["locked_until"] == START + MIN


@pytest.mark.django_db
def test_a_topic_without_a_handler_stays_pending(clock: FixedClock, use_handler: Any) -> None:
    message = enqueue(topic="tests.nobody")
    assert outbox_deliver() == {"delivered": 0, "failed": 1, "dead": 0}
    assert row(message) == {
        "status": "pending", "attempts": 0, "available_at": START + 5 * MIN, "locked_until": None,
        "last_error": "No handler is registered for topic 'tests.nobody'; the message stays pending and is "
                      "looked at again every 5 minutes.",
        "delivered_at": None}
    for _ in range(20):  # never dead for want of a handler
        clock.advance(5 * MIN)
        assert outbox_deliver() == {"delivered": 0, "failed": 1, "dead": 0}
    assert row(message)["status"] == "pending"
    seen: list[int] = []
    use_handler("tests.nobody", lambda m: seen.append(m.pk))
    clock.advance(5 * MIN)
    assert outbox_deliver() == {"delivered": 1, "failed": 0, "dead": 0}
    assert seen == [message.pk]


@pytest.mark.django_db
def test_claiming_is_one_short_transaction(clock: FixedClock, recorder: Recorder) -> None:
    from django.db import connection

    for n in range(3):
        enqueue(payload={"n": n})
    with CaptureQueriesContext(connection) as queries:
        outbox_deliver()
    sql = [q["sql"] for q in queries.captured_queries]
    claims = [s for s in sql if "outbox_outboxmessage" in s and s.lstrip().upper().startswith("SELECT")]
    if connection.vendor == "postgresql":
        assert "FOR UPDATE SKIP LOCKED" in claims[0]
    assert len(sql) <= 10  # claim (select, lease, reload) + one update per message, savepoints aside


# -- requeue -------------------------------------------------------------------------------------


def _dead(clock: FixedClock, recorder: Recorder, settings: Any) -> OutboxMessage:
    settings.KOPECK_OUTBOX_MAX_ATTEMPTS = 1
    message = enqueue()
    recorder.fail_with = Boom("mailbox full")
    assert outbox_deliver() == {"delivered": 0, "failed": 0, "dead": 1}
    return message


@pytest.mark.django_db
def test_requeue_sends_a_dead_message_again(clock: FixedClock, recorder: Recorder, settings: Any,
                                            actor: Actor) -> None:
    message = _dead(clock, recorder, settings)
    clock.advance(HOUR)
    requeued = outbox_requeue(actor=actor, message=message)
    assert requeued.pk == message.pk
    assert row(message) == {"status": "pending", "attempts": 0, "available_at": START + HOUR, "locked_until": None,
                            "last_error": "Boom: mailbox full", "delivered_at": None}
    (entry,) = AuditEntry.objects.filter(object_type="outbox_message")
    assert (entry.action, entry.object_id, entry.actor_label, entry.at) == (
        "outbox.requeue", str(message.pk), "tests", START + HOUR)
    assert entry.before == {"topic": TOPIC, "key": None, "status": "dead", "attempts": 1,
                            "available_at": "2026-11-25T09:00:00Z", "last_error": "Boom: mailbox full"}
    assert entry.after == {"topic": TOPIC, "key": None, "status": "pending", "attempts": 0,
                           "available_at": "2026-11-25T10:00:00Z", "last_error": "Boom: mailbox full"}
    recorder.fail_with = None
    assert outbox_deliver() == {"delivered": 1, "failed": 0, "dead": 0}
    assert row(message)["status"] == "delivered"


@pytest.mark.django_db
def test_requeue_of_a_failed_pending_message_makes_it_due_now(clock: FixedClock, recorder: Recorder,
                                                              actor: Actor) -> None:
    message = enqueue()
    recorder.fail_with = Boom("x")
    outbox_deliver()
    outbox_deliver()
    assert row(message)["available_at"] == START + MIN
    requeued = outbox_requeue(actor=actor, message=message)
    assert (requeued.status, requeued.attempts, requeued.available_at) == ("pending", 0, START)


@pytest.mark.django_db
def test_requeue_refusals_write_nothing(clock: FixedClock, recorder: Recorder, actor: Actor) -> None:
    fresh = enqueue()
    leased = enqueue()
    delivered = enqueue()
    recorder_ids = {delivered.pk}

    def only_delivered(message: OutboxMessage) -> None:
        if message.pk not in recorder_ids:
            raise Boom("not now")

    with registry.override(TOPIC, only_delivered):
        outbox_deliver()
    # make `leased` a failed message that a deliverer holds right now
    clock.advance(MIN)
    OutboxMessage.objects.filter(pk=fresh.pk).update(attempts=0, last_error="", available_at=START)
    _claim(10)
    OutboxMessage.objects.filter(pk=fresh.pk).update(locked_until=None, lease="")
    cases = [
        (delivered, f"Outbox message {delivered.pk} was already delivered."),
        (fresh, f"Outbox message {fresh.pk} has not failed; it is delivered when due."),
        (leased, f"Outbox message {leased.pk} is being delivered right now; try again later."),
    ]
    for message, detail in cases:
        before = row(message)
        with pytest.raises(Conflict) as info:
            outbox_requeue(actor=actor, message=message)
        assert info.value.detail == detail
        assert row(message) == before
    assert AuditEntry.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_enqueue_many_writes_each_key_once_and_rolls_back_with_the_caller() -> None:
    from kopeck.outbox.services import OutboxError, outbox_enqueue_many

    with pytest.raises(OutboxError):
        outbox_enqueue_many(messages=[(TOPIC, {"n": 1}, "k1")])
    assert OutboxMessage.objects.count() == 0
    with transaction.atomic():
        first = outbox_enqueue_many(messages=[(TOPIC, {"n": 1}, "k1"), (TOPIC, {"n": 2}, "k2")])
    with transaction.atomic():
        again = outbox_enqueue_many(messages=[(TOPIC, {"n": 9}, "k2"), (TOPIC, {"n": 3}, "k3")])
    assert again["k2"] == first["k2"]
    assert sorted(OutboxMessage.objects.values_list("key", "payload")) == [
        ("k1", {"n": 1}), ("k2", {"n": 2}), ("k3", {"n": 3})]
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {MessageStatus.PENDING}
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue_many(messages=[(TOPIC, {"n": 4}, "k4")])
        raise RuntimeError("the caller's change fails")
    assert not OutboxMessage.objects.filter(key="k4").exists()
    with pytest.raises(ValidationFailed), transaction.atomic():
        outbox_enqueue_many(messages=[("", {"n": 5}, "k5")])
    assert OutboxMessage.objects.count() == 3
