"""The outbox's periodic task, command line and admin."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction
from django.utils import translation

from kopeck.audit.models import AuditEntry
from kopeck.cli.scheduler import PERIODIC_TASKS, beat_schedule, run_task
from kopeck.core.clock import FixedClock
from kopeck.outbox.models import MessageStatus, OutboxMessage
from kopeck.outbox.services import outbox_deliver, outbox_enqueue
from tests.outbox.conftest import TOPIC, Recorder


def enqueue(**payload: Any) -> OutboxMessage:
    with transaction.atomic():
        return outbox_enqueue(topic=TOPIC, payload=payload)


def call(*args: str) -> Any:
    out = io.StringIO()
    call_command("outbox", *args, stdout=out)
    return json.loads(out.getvalue())


def test_the_delivery_task_runs_every_30_seconds() -> None:
    assert PERIODIC_TASKS["kopeck.outbox.deliver"] == 30
    assert beat_schedule()["kopeck.outbox.deliver"] == {"task": "kopeck.outbox.deliver", "schedule": 30.0}


@pytest.mark.django_db
def test_the_periodic_task_delivers(clock: FixedClock, recorder: Recorder) -> None:
    first, second = enqueue(n=1), enqueue(n=2)
    assert run_task("kopeck.outbox.deliver") == {"delivered": 2, "failed": 0, "dead": 0}
    assert recorder.seen == [first.pk, second.pk]
    assert run_task("kopeck.outbox.deliver") == {"delivered": 0, "failed": 0, "dead": 0}


@pytest.mark.django_db
def test_cli_deliver_until_nothing_is_due_and_status(clock: FixedClock, recorder: Recorder) -> None:
    ids = [enqueue(n=n).pk for n in range(5)]
    assert call("status") == {"pending": 5, "delivered": 0, "dead": 0, "due": 5}
    assert call("deliver", "--limit", "2") == {"delivered": 5, "failed": 0, "dead": 0}
    assert recorder.seen == ids
    assert call("status") == {"pending": 0, "delivered": 5, "dead": 0, "due": 0}
    with pytest.raises(CommandError, match=r"--limit: must be a positive integer\."):
        call("deliver", "--limit", "0")


@pytest.mark.django_db
def test_cli_deliver_stops_on_failures(clock: FixedClock, recorder: Recorder) -> None:
    enqueue()
    recorder.fail_with = RuntimeError("down")
    assert call("deliver") == {"delivered": 0, "failed": 1, "dead": 0}
    assert call("status") == {"pending": 1, "delivered": 0, "dead": 0, "due": 0}


@pytest.mark.django_db
def test_cli_requeue(clock: FixedClock, recorder: Recorder, settings: Any) -> None:
    settings.KOPECK_OUTBOX_MAX_ATTEMPTS = 1
    message = enqueue()
    recorder.fail_with = RuntimeError("down")
    outbox_deliver()
    assert call("requeue", str(message.pk)) == {str(message.pk): "pending"}
    entry = AuditEntry.objects.get(object_type="outbox_message")
    assert (entry.actor_kind, entry.actor_label) == ("system", "cli")
    with pytest.raises(CommandError, match=f"Outbox message {message.pk} has not failed"):
        OutboxMessage.objects.filter(pk=message.pk).update(last_error="")
        call("requeue", str(message.pk))
    with pytest.raises(CommandError, match=r"Outbox message 999999 does not exist\."):
        call("requeue", "999999")
    assert AuditEntry.objects.filter(object_type="outbox_message").count() == 1


# -- admin ---------------------------------------------------------------------------------------


ADMIN = "/admin/outbox/outboxmessage/"


@pytest.mark.django_db
def test_admin_lists_messages_read_only_with_filters(operator_as: Any, clock: FixedClock, recorder: Recorder) -> None:
    delivered = enqueue(n=1)
    outbox_deliver()
    with transaction.atomic():
        other = outbox_enqueue(topic="tests.other", payload={"x": 1}, key="other-key")
    admin = operator_as("administrator")
    page = admin.get(ADMIN).content.decode()
    assert f"{TOPIC}" in page and "tests.other" in page
    page = admin.get(f"{ADMIN}?status=delivered").content.decode()
    assert f'href="/admin/outbox/outboxmessage/{delivered.pk}/change/' in page
    assert f'href="/admin/outbox/outboxmessage/{other.pk}/change/' not in page
    page = admin.get(f"{ADMIN}?topic=tests.other").content.decode()
    assert f'href="/admin/outbox/outboxmessage/{other.pk}/change/' in page
    assert f'href="/admin/outbox/outboxmessage/{delivered.pk}/change/' not in page
    assert admin.get(f"{ADMIN}?q=other-key").status_code == 200
    detail = admin.get(f"{ADMIN}{other.pk}/change/")
    assert detail.status_code == 200
    assert 'name="topic"' not in detail.content.decode()  # read-only
    assert admin.get(f"{ADMIN}add/").status_code == 403
    assert admin.post(f"{ADMIN}{other.pk}/delete/", {"post": "yes"}).status_code == 403
    assert OutboxMessage.objects.count() == 2
    assert operator_as("read_only").get(ADMIN).status_code == 200


@pytest.mark.django_db
def test_admin_requeue_action(operator_as: Any, clock: FixedClock, recorder: Recorder, settings: Any) -> None:
    settings.KOPECK_OUTBOX_MAX_ATTEMPTS = 1
    dead = enqueue(n=1)
    recorder.fail_with = RuntimeError("down")
    outbox_deliver()
    recorder.fail_with = None
    fresh = enqueue(n=2)
    admin = operator_as("administrator")
    response = admin.post(ADMIN, {"action": "requeue", "_selected_action": [dead.pk, fresh.pk]}, follow=True)
    page = response.content.decode()
    assert "1 сообщение снова поставлено в очередь." in page
    assert f"Исходящее сообщение №{fresh.pk} не завершилось ошибкой: оно будет отправлено в свой срок." in page
    dead.refresh_from_db()
    assert (dead.status, dead.attempts) == (MessageStatus.PENDING, 0)
    (entry,) = AuditEntry.objects.filter(object_type="outbox_message")
    assert (entry.actor_kind, entry.object_id) == ("operator", str(dead.pk))


@pytest.mark.django_db
def test_readers_cannot_requeue(operator_as: Any, clock: FixedClock, recorder: Recorder, settings: Any) -> None:
    settings.KOPECK_OUTBOX_MAX_ATTEMPTS = 1
    dead = enqueue(n=1)
    recorder.fail_with = RuntimeError("down")
    outbox_deliver()
    reader = operator_as("accountant")  # settings: read
    assert "requeue" not in reader.get(ADMIN).content.decode()
    reader.post(ADMIN, {"action": "requeue", "_selected_action": [dead.pk]})
    dead.refresh_from_db()
    assert dead.status == MessageStatus.DEAD
    assert AuditEntry.objects.filter(object_type="outbox_message").count() == 0


def test_operator_facing_names_are_translated() -> None:
    from kopeck.configuration.models import MailSecurity, MailSettings

    with translation.override("ru"):
        outbox = {f.name: str(f.verbose_name) for f in OutboxMessage._meta.fields}
        mail = {f.name: str(f.verbose_name) for f in MailSettings._meta.fields}
        assert str(OutboxMessage._meta.verbose_name_plural) == "исходящие сообщения"
        assert str(MailSettings._meta.verbose_name) == "настройки почты"
        assert [str(label) for label in MessageStatus.labels] == ["ожидает отправки", "доставлено",
                                                                  "попытки исчерпаны"]
        assert str(MailSecurity.NONE.label) == "нет (обычный SMTP)"
    assert outbox["last_error"] == "последняя ошибка"
    assert outbox["available_at"] == "следующая попытка"
    assert mail["host"] == "SMTP-сервер"
    assert mail["password"] == "пароль SMTP"
    untranslated = [n for n, v in {**outbox, **mail}.items() if n != "id" and v.isascii()]
    assert untranslated == []
