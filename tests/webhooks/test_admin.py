"""The back office tells the webhooks' errors in the operator's language (the API keeps the English)."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest

from kopeck.core.clock import FixedClock
from kopeck.events.services import events_dispatch_all
from kopeck.webhooks.messages import told
from kopeck.webhooks.models import Delivery, Endpoint
from kopeck.webhooks.services import endpoint_create, webhooks_deliver_all
from tests.rules.conftest import ACTOR, make_client
from tests.webhooks.receiver import Receiver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]


def text_of(page: bytes) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page.decode()))


def test_a_failed_delivery_is_told_in_russian(operator_as: Any, clock: FixedClock, receiver: Receiver) -> None:
    receiver.status = 500
    endpoint_create(actor=ACTOR, url=receiver.url, event_types=["client.created"])
    make_client()
    events_dispatch_all()
    webhooks_deliver_all()
    delivery = Delivery.objects.get()
    assert delivery.last_error == "The endpoint answered 500."  # stored (and in the API) in English
    page = text_of(operator_as("administrator").get(f"/admin/webhooks/delivery/{delivery.pk}/change/",
                                                    headers={"accept-language": "ru"}).content)
    assert "Получатель ответил кодом 500." in page
    assert "The endpoint answered" not in page


def test_an_internal_address_is_refused_in_russian(operator_as: Any, settings: Any) -> None:
    settings.KOPECK_WEBHOOK_ALLOWED_NETWORKS = []
    response = operator_as("administrator").post("/admin/webhooks/endpoint/add/", {
        "url": "http://127.0.0.1:9/hooks", "description": "", "event_types": ["client.created"], "is_enabled": "on"},
        headers={"accept-language": "ru"})
    page = text_of(response.content)
    assert "Имя '127.0.0.1' указывает на 127.0.0.1 — это адрес обратной петли: Kopeck не обращается к внутренним " \
           "адресам, если оператор их не разрешил" in page
    assert "resolves to" not in page
    assert not Endpoint.objects.exists()


@pytest.mark.parametrize(("stored", "russian", "english"), [
    ("ConnectError: [Errno 111] Connection refused", "Не удалось подключиться к получателю.",
     "Could not connect to the endpoint."),
    ("ReadTimeout: timed out", "Получатель не ответил вовремя.", "The endpoint did not answer in time."),
    ("The endpoint has no readable secret (rotate it).", "У адреса нет читаемого секрета подписи (выпустите новый).",
     "The endpoint has no readable secret (rotate it)."),
    ("No delivery succeeded for 3 days, 0:00:00 (since 2026-11-25T09:00:00+00:00).",
     "Ни одна доставка не удалась за 72 ч (с 2026-11-25T09:00:00+00:00).",
     "No delivery succeeded for 72 h (since 2026-11-25T09:00:00+00:00)."),
    ("Only http and https URLs are allowed.", "Допустимы только адреса http и https.",
     "Only http and https URLs are allowed."),
    ("something new", "something new", "something new"),
])
def test_stored_messages_in_each_language(stored: str, russian: str, english: str) -> None:
    from django.utils import translation

    with translation.override("ru"):
        assert told(stored) == russian
    with translation.override("en"):
        assert told(stored) == english
