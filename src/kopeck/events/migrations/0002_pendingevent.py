"""The queue of events to process (issue 14): unprocessed events move from the status columns of the
event log to a small table of their own; the event log is no longer updated when events are processed.

Forwards: every event not processed yet (waiting, or given up) gets its queue row, with its attempts,
next attempt and error; then the status columns and their partial index go. Backwards: the columns
come back, every event is marked processed except those still in the queue, which take their state
from it."""

import django.db.models.deletion
from django.db import migrations, models


def queue_unprocessed(apps, schema_editor):  # type: ignore[no-untyped-def]
    schema_editor.execute(
        "INSERT INTO events_pendingevent (event_id, attempts, after, error, failed) "
        "SELECT id, dispatch_attempts, dispatch_after, dispatch_error, dispatch_status = 'failed' "
        "FROM events_event WHERE dispatch_status <> 'done'")


def unqueue(apps, schema_editor):  # type: ignore[no-untyped-def]
    schema_editor.execute("UPDATE events_event SET dispatch_status = 'done'")
    schema_editor.execute(
        "UPDATE events_event SET "
        "dispatch_status = (SELECT CASE WHEN p.failed THEN 'failed' ELSE 'pending' END "
        "                   FROM events_pendingevent p WHERE p.event_id = events_event.id), "
        "dispatch_attempts = (SELECT p.attempts FROM events_pendingevent p WHERE p.event_id = events_event.id), "
        "dispatch_after = (SELECT p.after FROM events_pendingevent p WHERE p.event_id = events_event.id), "
        "dispatch_error = (SELECT p.error FROM events_pendingevent p WHERE p.event_id = events_event.id) "
        "WHERE id IN (SELECT event_id FROM events_pendingevent)")


class Migration(migrations.Migration):

    dependencies = [
        ("events", "0001_initial"),
    ]

    operations = [
        migrations.CreateModel(
            name="PendingEvent",
            fields=[
                ("event", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True,
                                               related_name="pending", serialize=False, to="events.event",
                                               verbose_name="event")),
                ("attempts", models.PositiveSmallIntegerField(default=0, verbose_name="processing attempts")),
                ("after", models.DateTimeField(blank=True, null=True, verbose_name="next processing attempt")),
                ("error", models.TextField(blank=True, default="", verbose_name="processing error")),
                ("failed", models.BooleanField(default=False, verbose_name="given up")),
            ],
            options={
                "verbose_name": "event waiting to be processed",
                "verbose_name_plural": "events waiting to be processed",
            },
        ),
        migrations.RunPython(queue_unprocessed, unqueue),
        migrations.RemoveIndex(model_name="event", name="event_pending"),
        migrations.RemoveField(model_name="event", name="dispatch_after"),
        migrations.RemoveField(model_name="event", name="dispatch_attempts"),
        migrations.RemoveField(model_name="event", name="dispatch_error"),
        migrations.RemoveField(model_name="event", name="dispatch_status"),
        migrations.RemoveField(model_name="event", name="dispatched_at"),
    ]
