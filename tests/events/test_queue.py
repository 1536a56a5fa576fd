"""The queue of events to process: what the admin shows of it, and the data migration that filled it
from the event log's old status columns."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from kopeck.events.models import Event, PendingEvent
from kopeck.events.services import events_dispatch
from tests.events.conftest import Collector, record


def text_of(page: bytes) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page.decode()))


@pytest.mark.django_db
def test_the_admin_shows_and_filters_the_processing_state(operator_as: Any, consumer: Collector) -> None:
    done = record(client_id=1)
    events_dispatch()
    waiting, given_up = record(client_id=2), record(client_id=3)
    PendingEvent.objects.filter(event_id=given_up.pk).update(failed=True, attempts=10, error="RuntimeError: down")
    admin = operator_as("administrator")

    def listed(query: str) -> list[int]:
        page = admin.get(f"/admin/events/event/?{query}").content.decode()
        return sorted(int(pk) for pk in re.findall(r'/admin/events/event/(\d+)/change/', page))

    assert listed("") == sorted([done.pk, waiting.pk, given_up.pk])
    assert listed("processing=done") == [done.pk]
    assert listed("processing=pending") == [waiting.pk]
    assert listed("processing=failed") == [given_up.pk]
    page = text_of(admin.get(f"/admin/events/event/{given_up.pk}/change/",
                             headers={"accept-language": "ru"}).content)
    assert "RuntimeError: down" in page
    assert "ошибка обработки" in page.lower()
    page = text_of(admin.get(f"/admin/events/event/{done.pk}/change/", headers={"accept-language": "ru"}).content)
    assert "обработано" in page


@pytest.mark.django_db(transaction=True)
def test_the_migration_queues_the_events_not_processed_yet() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("events", "0001_initial")])
    try:
        with connection.cursor() as cursor:
            for n, (status, attempts, error) in enumerate([("done", 0, ""), ("pending", 0, ""),
                                                           ("pending", 2, "RuntimeError: retry"),
                                                           ("failed", 10, "RuntimeError: dead")], start=1):
                cursor.execute(
                    "INSERT INTO events_event (id, uid, type, version, client_id, sequence, subject_type, subject_id, "
                    "data, occurred_at, actor_kind, actor_id, actor_label, depth, dispatch_status, "
                    "dispatch_attempts, dispatch_error) VALUES (%s, %s, 'client.created', 1, 1, %s, 'client', 1, "
                    "'{}', '2026-12-01 00:00:00+00:00', 'system', '', 'tests', 0, %s, %s, %s)",
                    [n, f"00000000-0000-0000-0000-00000000000{n}", n, status, attempts, error])
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert list(PendingEvent.objects.order_by("event_id").values_list("event_id", "attempts", "failed", "error")) == [
        (2, 0, False, ""), (3, 2, False, "RuntimeError: retry"), (4, 10, True, "RuntimeError: dead")]
    assert Event.objects.count() == 4
    PendingEvent.objects.filter(event_id=3).delete()  # processed since

    executor = MigrationExecutor(connection)
    executor.migrate([("events", "0001_initial")])  # and back: the state returns to the columns
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, dispatch_status, dispatch_attempts, dispatch_error FROM events_event ORDER BY id")
            assert cursor.fetchall() == [(1, "done", 0, ""), (2, "pending", 0, ""), (3, "done", 0, ""),
                                         (4, "failed", 10, "RuntimeError: dead")]
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
