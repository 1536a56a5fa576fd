"""Event refusals in Russian: the API's filters and the processing again (``Accept-Language: ru``),
the back office's action, and the service in the installation's language (KOPECK_LANGUAGE, ru)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.audit.models import AuditEntry
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict
from kopeck.events.models import PendingEvent
from kopeck.events.services import event_redispatch
from tests.events.conftest import record

pytestmark = pytest.mark.django_db


def queue() -> list[tuple[int, int, bool]]:
    return list(PendingEvent.objects.order_by("event_id").values_list("event_id", "attempts", "failed"))


def written() -> tuple[list[tuple[int, int, bool]], int]:
    return queue(), AuditEntry.objects.count()


@pytest.mark.parametrize(("query", "field", "russian", "english"), [
    ("since=yesterday", "since",
     "Укажите момент времени в формате ISO 8601 со смещением часового пояса, например 2026-12-01T00:00:00Z.",
     "Give an ISO 8601 instant with its offset, e.g. 2026-12-01T00:00:00Z."),
    ("after_sequence=3", "after_sequence", "Укажите также параметр client.", "Give `client` too."),
    ("type=client.exploded", "type", "Неизвестный тип события; список типов — GET /api/v1/event-types/.",
     "Unknown event type; see GET /api/v1/event-types/."),
    ("client=x", "client", "Нужно целое число.", "Must be a whole number."),
])
def test_the_filters_refused_in_russian_and_in_english(api: APIClient, query: str, field: str, russian: str,
                                                       english: str) -> None:
    for language, text in (("ru", russian), ("en", english)):
        response = api.get(f"/api/v1/events/?{query}", HTTP_ACCEPT_LANGUAGE=language)
        assert (response.status_code, response.json()["errors"]) == (400, [{"field": field, "detail": text}])


def test_an_unknown_type_and_processing_again_refused_in_russian(api: APIClient) -> None:
    unknown = api.get("/api/v1/event-types/client.exploded/", HTTP_ACCEPT_LANGUAGE="ru")
    assert (unknown.status_code, unknown.json()["detail"]) == (404, "Неизвестный тип события «client.exploded».")
    event = record()
    before = written()
    ru = api.post(f"/api/v1/events/{event.pk}/process-again/", HTTP_ACCEPT_LANGUAGE="ru")
    assert (ru.status_code, ru.json()["detail"]) == (
        409, f"Обработка события №{event.pk} не завершалась ошибкой: оно будет обработано в свой срок.")
    en = api.post(f"/api/v1/events/{event.pk}/process-again/", HTTP_ACCEPT_LANGUAGE="en")
    assert (en.status_code, en.json()["detail"]) == (
        409, f"Event {event.pk} has not failed; it is processed when due.")
    assert written() == before


def test_a_processed_event_refused_in_the_installation_language(installation_language: None) -> None:
    event = record()
    PendingEvent.objects.filter(event_id=event.pk).delete()  # processed: off the queue
    before = written()
    with pytest.raises(Conflict) as refused:
        event_redispatch(actor=Actor.system("tests"), event=event)
    assert str(refused.value) == f"Событие №{event.pk} уже обработано."
    assert written() == before


def text_of(page: bytes) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page.decode()))


@pytest.mark.parametrize(("failed", "told"), [
    (1, "1 событие будет обработано повторно."),
    (3, "3 события будут обработаны повторно."),
    (5, "5 событий будут обработаны повторно."),
])
def test_the_back_office_action_in_russian(operator_as: Any, failed: int, told: str) -> None:
    events = [record(client_id=n) for n in range(1, failed + 2)]
    PendingEvent.objects.filter(event_id__in=[e.pk for e in events[:failed]]).update(failed=True, attempts=10)
    fresh = events[-1]
    page = operator_as("administrator").post("/admin/events/event/", {
        "action": "process_again", "_selected_action": [e.pk for e in events]}, follow=True,
        headers={"accept-language": "ru"})
    text = text_of(page.content)
    assert f"Обработка события №{fresh.pk} не завершалась ошибкой: оно будет обработано в свой срок." in text
    assert told in text
    assert "has not failed" not in text
    assert queue() == [(e.pk, 0, False) for e in events]
