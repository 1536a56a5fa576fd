"""The recorder: an event commits with its change and never without it; per-client sequence numbers."""

from __future__ import annotations

import pytest
from django.db import transaction

from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.events.models import ClientSequence, Event, PendingEvent
from kopeck.events.services import EventError, NewEvent, caused_by, event_record, event_record_many
from tests.events.conftest import client_data, record

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")


def test_an_event_is_recorded_with_its_change(clock: FixedClock) -> None:
    event = record("client.created", client_id=7, data=client_data(7))
    stored = Event.objects.get()
    assert stored.pk == event.pk
    assert (stored.type, stored.version, stored.client_id, stored.sequence) == ("client.created", 1, 7, 1)
    assert (stored.subject_type, stored.subject_id) == ("client", 7)
    assert stored.data == client_data(7)
    assert stored.occurred_at == clock.now()
    assert (stored.actor_kind, stored.actor_label, stored.depth, stored.cause_id) == ("system", "tests", 0, None)
    assert list(PendingEvent.objects.values_list("event_id", "attempts", "failed")) == [(event.pk, 0, False)]
    assert stored.uid is not None


def test_sequence_numbers_count_each_clients_events_without_gaps() -> None:
    a1 = record(client_id=1)
    b1 = record(client_id=2, data=client_data(2))
    a2 = record("client.changed", client_id=1, data={**client_data(1), "changed": ["name"]})
    a3 = record("balance.low", client_id=1, data={"balance": "10.00", "currency": "RUB", "threshold": "100.00"})
    assert [a1.sequence, a2.sequence, a3.sequence] == [1, 2, 3]
    assert b1.sequence == 1
    assert dict(ClientSequence.objects.values_list("client_id", "last")) == {1: 3, 2: 1}


def test_a_rolled_back_change_leaves_no_event_and_no_gap() -> None:
    record(client_id=1)
    with pytest.raises(RuntimeError, match="the change failed"), transaction.atomic():
        event_record("client.changed", actor=ACTOR, client_id=1, data={**client_data(1), "changed": ["name"]})
        raise RuntimeError("the change failed")
    assert list(Event.objects.values_list("type", "sequence")) == [("client.created", 1)]
    assert list(PendingEvent.objects.values_list("event_id", flat=True)) == [Event.objects.get().pk]
    assert ClientSequence.objects.get(client_id=1).last == 1
    assert record("client.changed", client_id=1, data={**client_data(1), "changed": ["name"]}).sequence == 2


def test_a_rolled_back_savepoint_takes_its_event_back() -> None:
    with transaction.atomic():
        event_record("client.created", actor=ACTOR, client_id=1, data=client_data(1))
        with pytest.raises(RuntimeError), transaction.atomic():
            event_record("client.changed", actor=ACTOR, client_id=1, data={**client_data(1), "changed": []})
            raise RuntimeError
        event_record("client.blocked", actor=ACTOR, client_id=1,
                     data={**client_data(1, status="blocked"), "reason": "non_payment", "source": "operator"})
    assert list(Event.objects.order_by("id").values_list("type", "sequence")) == [
        ("client.created", 1), ("client.blocked", 2)]
    assert list(PendingEvent.objects.order_by("event_id").values_list("event_id", flat=True)) == list(
        Event.objects.order_by("id").values_list("id", flat=True))  # the rolled-back event left no queue row


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_nothing_is_recorded() -> None:
    with pytest.raises(EventError, match=r"inside transaction\.atomic"):
        event_record("client.created", actor=ACTOR, client_id=1, data=client_data(1))
    assert Event.objects.count() == 0
    assert PendingEvent.objects.count() == 0
    assert ClientSequence.objects.count() == 0


@pytest.mark.parametrize(("name", "client_id", "data", "message"), [
    ("client.exploded", 1, {}, "Unknown event type 'client.exploded'"),
    ("client.created", None, client_data(1), "belongs to a client: give client_id"),
    ("billing_run.failed", 1, {"run": {"id": 1, "mode": "auto", "date": "2026-12-01", "status": "failed"},
                               "error": "x"}, "belongs to no client"),
    ("client.created", 1, {"client": {"id": 1}}, "break its schema at client: 'type' is a required property"),
    ("client.created", 1, client_data(1, status="sleeping"), "at client/status: 'sleeping' is not one of"),
    ("payment.received", 1, {"payment": {"id": 1, "amount": 10, "currency": "RUB", "date": "2026-12-01",
                                         "method": "bank", "status": "received"}},
     "at payment/amount: 10 is not of type 'string'"),
    ("subscription.trial_ending", 1, {"subscription": {}, "trial_end": "2026-13-45", "days_left": 3},
     "break its schema"),
])
def test_a_wrong_event_is_refused_and_nothing_written(name: str, client_id: int | None, data: dict[str, object],
                                                     message: str) -> None:
    with pytest.raises(EventError, match=message), transaction.atomic():
        event_record(name, actor=ACTOR, client_id=client_id, data=data)
    assert Event.objects.count() == 0
    assert PendingEvent.objects.count() == 0
    assert ClientSequence.objects.count() == 0


def test_an_event_of_no_client_has_no_sequence() -> None:
    run = {"id": 3, "mode": "auto", "date": "2026-12-01", "status": "completed"}
    event = record("billing_run.completed", client_id=None, data={"run": run}, subject_id=3)
    assert (event.client_id, event.sequence, event.subject_type, event.subject_id) == (None, None, "billing_run", 3)


def test_a_dedupe_key_makes_an_event_happen_once() -> None:
    data = {**client_data(1), "balance": "5.00", "currency": "RUB", "threshold": "100.00"}
    first = record("balance.low", data=data, dedupe_key="balance.low:1:2026-12-01")
    again = record("balance.low", data=data, dedupe_key="balance.low:1:2026-12-01")
    assert again.pk == first.pk
    assert Event.objects.count() == 1
    assert list(PendingEvent.objects.values_list("event_id", flat=True)) == [first.pk]
    assert ClientSequence.objects.get(client_id=1).last == 1


def test_many_events_at_once_take_their_numbers_in_order() -> None:
    record(client_id=2, data=client_data(2))
    with transaction.atomic():
        ids = event_record_many([
            NewEvent("client.changed", {**client_data(1), "changed": ["name"]}, client_id=1),
            NewEvent("client.changed", {**client_data(2), "changed": ["name"]}, client_id=2),
            NewEvent("client.changed", {**client_data(1), "changed": ["tags"]}, client_id=1),
            NewEvent("billing_run.completed", {"run": {"id": 9, "mode": "auto", "date": "2026-12-01",
                                                       "status": "completed"}}, subject_id=9),
        ], actor=ACTOR)
    rows = {e.pk: e for e in Event.objects.filter(pk__in=ids)}
    assert [(rows[i].client_id, rows[i].sequence) for i in ids] == [(1, 1), (2, 2), (1, 2), (None, None)]
    assert len({rows[i].uid for i in ids}) == 4
    assert [rows[i].subject_id for i in ids] == [1, 2, 1, 9]
    assert set(PendingEvent.objects.values_list("event_id", flat=True)) == {*ids, *Event.objects.filter(
        client_id=2, sequence=1).values_list("id", flat=True)}
    assert record(client_id=1).sequence == 3


def test_many_events_rolled_back_leave_no_queue_row() -> None:
    with pytest.raises(RuntimeError, match="the run failed"), transaction.atomic():
        event_record_many([NewEvent("client.changed", {**client_data(n), "changed": ["name"]}, client_id=n)
                           for n in range(1, 601)], actor=ACTOR)  # more than one statement's worth on SQLite
        assert PendingEvent.objects.count() == 600
        raise RuntimeError("the run failed")
    assert (Event.objects.count(), PendingEvent.objects.count(), ClientSequence.objects.count()) == (0, 0, 0)


def test_many_events_check_the_schema_too() -> None:
    with pytest.raises(EventError, match="break its schema"), transaction.atomic():
        event_record_many([NewEvent("client.created", {"client": {}}, client_id=1)], actor=ACTOR)
    assert Event.objects.count() == 0
    assert PendingEvent.objects.count() == 0


def test_events_caused_by_a_rule_are_one_level_deeper() -> None:
    parent = record(client_id=1)
    with transaction.atomic(), caused_by(parent):
        child = event_record("client.changed", actor=ACTOR, client_id=1, data={**client_data(1), "changed": ["tags"]})
        with caused_by(child):
            grandchild = event_record("client.changed", actor=ACTOR, client_id=1,
                                      data={**client_data(1), "changed": ["name"]})
    after = record("client.changed", client_id=1, data={**client_data(1), "changed": ["name"]})
    assert (child.depth, child.cause_id) == (1, parent.pk)
    assert (grandchild.depth, grandchild.cause_id) == (2, child.pk)
    assert (after.depth, after.cause_id) == (0, None)


def test_docs_list_every_event_of_the_catalog_with_its_version_and_subject() -> None:
    import re
    from pathlib import Path

    from kopeck.events.catalog import EVENT_TYPES

    text = (Path(__file__).resolve().parents[2] / "docs" / "events.md").read_text()
    rows = re.findall(r"^\| `([a-z_.]+)` \| (\d+) \| ([a-z_]+)", text, flags=re.M)
    assert rows == [(t.name, str(t.version), t.subject) for t in EVENT_TYPES]
