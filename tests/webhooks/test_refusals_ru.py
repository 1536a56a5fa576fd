"""Webhook refusals in Russian: through the API (``Accept-Language: ru``), in the installation's
language (KOPECK_LANGUAGE, ru) for a service called from the back office, and the back office's
redelivery with its plural."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.audit.models import AuditEntry
from kopeck.common import clock
from kopeck.common.errors import Conflict, NotFound, ValidationFailed
from kopeck.events.services import events_dispatch_all
from kopeck.webhooks.models import Delivery, Endpoint, EndpointSecret
from kopeck.webhooks.services import (
    deliveries_redeliver,
    endpoint_create,
    endpoint_rotate_secret,
    endpoint_update,
)
from tests.rules.conftest import ACTOR, make_client

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]

URL = "http://127.0.0.1:9/hooks"


def written() -> tuple[int, int, int, int]:
    return (Endpoint.objects.count(), EndpointSecret.objects.count(), AuditEntry.objects.count(),
            Delivery.objects.exclude(locked_until=None).count())


def with_deliveries(count: int) -> tuple[Endpoint, list[Delivery]]:
    endpoint, _secret = endpoint_create(actor=ACTOR, url=URL, event_types=["client.created"])
    for n in range(count):
        make_client(f"Клиент {n}")
    events_dispatch_all()
    return endpoint, list(Delivery.objects.order_by("id"))


def test_an_endpoint_refused_through_the_api_in_russian_and_in_english(api: APIClient) -> None:
    before = written()
    body = {"url": "ftp://files.example.ru/", "event_types": ["client.created", "client.exploded"]}
    ru = api.post("/api/v1/webhook-endpoints/", body, format="json", HTTP_ACCEPT_LANGUAGE="ru")
    assert (ru.status_code, ru.json()["detail"], ru.json()["errors"]) == (400, "Неверные данные адреса вебхука.", [
        {"field": "url", "detail": "Допустимы только адреса http и https."},
        {"field": "event_types", "detail": "Неизвестный тип события «client.exploded»."}])
    en = api.post("/api/v1/webhook-endpoints/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert (en.status_code, en.json()["detail"], en.json()["errors"]) == (400, "The webhook endpoint is invalid.", [
        {"field": "url", "detail": "Only http and https URLs are allowed."},
        {"field": "event_types", "detail": "Unknown event type 'client.exploded'."}])
    none = api.post("/api/v1/webhook-deliveries/redeliver/", {}, format="json", HTTP_ACCEPT_LANGUAGE="ru")
    assert (none.status_code, none.json()["detail"], none.json()["errors"]) == (
        400, "Укажите ids либо endpoint и status.", [{"field": "ids", "detail": "Укажите ids либо endpoint и status."}])
    assert written() == before


def test_an_endpoint_with_deliveries_is_not_deleted_in_russian(api: APIClient) -> None:
    endpoint, _deliveries = with_deliveries(1)
    before = written()
    response = api.delete(f"/api/v1/webhook-endpoints/{endpoint.pk}/", HTTP_ACCEPT_LANGUAGE="ru")
    assert (response.status_code, response.json()["detail"]) == (
        409, "По адресу уже есть доставки: отключите его вместо удаления (журнал доставок сохранится).")
    missing = api.post("/api/v1/webhook-deliveries/redeliver/", {"ids": [999999]}, format="json",
                       HTTP_ACCEPT_LANGUAGE="ru")
    assert missing.json()["errors"] == [{"field": "ids", "detail": "Доставки №999999 не существует."}]
    assert written() == before


def test_the_services_refuse_in_russian(installation_language: None) -> None:
    endpoint, deliveries = with_deliveries(1)
    before = written()
    with pytest.raises(ValidationFailed) as refused:
        endpoint_rotate_secret(actor=ACTOR, endpoint=endpoint, overlap=dt.timedelta(days=8))
    assert refused.value.errors == {"overlap": ["От 0 до 7 дней."]}
    with pytest.raises(ValidationFailed) as refused:
        endpoint_update(actor=ACTOR, endpoint=endpoint, secret="x", description="д" * 301)
    assert (str(refused.value), refused.value.errors) == ("Неверные данные адреса вебхука.", {
        "secret": ["Это поле нельзя изменить."], "description": ["Текст не длиннее 300 символов."]})
    with pytest.raises(ValidationFailed) as refused:
        deliveries_redeliver(actor=ACTOR, deliveries=[])
    assert refused.value.errors == {"ids": ["Выберите хотя бы одну доставку."]}
    Delivery.objects.filter(pk=deliveries[0].pk).update(locked_until=clock.now() + dt.timedelta(minutes=5))
    busy = written()
    with pytest.raises(Conflict) as conflict:
        deliveries_redeliver(actor=ACTOR, deliveries=deliveries)
    assert str(conflict.value) == f"Доставка №{deliveries[0].pk} выполняется прямо сейчас; повторите попытку позже."
    assert written() == busy != before
    Delivery.objects.all().delete()
    with pytest.raises(NotFound) as missing:
        deliveries_redeliver(actor=ACTOR, deliveries=deliveries)
    assert str(missing.value) == f"Доставки №{deliveries[0].pk} не существует."


def text_of(page: bytes) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page.decode()))


@pytest.mark.parametrize(("count", "told"), [
    (1, "1 сообщение будет доставлено повторно."),
    (2, "2 сообщения будут доставлены повторно."),
    (5, "5 сообщений будут доставлены повторно."),
])
def test_redelivery_in_the_back_office_in_russian(operator_as: Any, count: int, told: str) -> None:
    _endpoint, deliveries = with_deliveries(count)
    admin = operator_as("administrator")
    Delivery.objects.filter(pk=deliveries[0].pk).update(locked_until=clock.now() + dt.timedelta(minutes=5))
    form = {"action": "redeliver", "_selected_action": [d.pk for d in deliveries]}
    refused = text_of(admin.post("/admin/webhooks/delivery/", form, follow=True,
                                 headers={"accept-language": "ru"}).content)
    assert f"Доставка №{deliveries[0].pk} выполняется прямо сейчас; повторите попытку позже." in refused
    assert "being delivered" not in refused
    Delivery.objects.update(locked_until=None)
    done = text_of(admin.post("/admin/webhooks/delivery/", form, follow=True,
                              headers={"accept-language": "ru"}).content)
    assert told in done
