"""Webhook delivery to a real receiver on loopback: signatures the standardwebhooks library verifies,
a 24-hour outage on a moved clock with no event lost, give-up and disabling after the retry window,
redelivery, secret rotation."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from unittest import mock

import pytest
from django.db import transaction
from standardwebhooks.webhooks import Webhook

from kopeck.clients.services import client_update
from kopeck.configuration.services import billing_settings_update
from kopeck.core.clock import FixedClock
from kopeck.events.models import Event
from kopeck.events.selectors import event_envelope
from kopeck.events.services import event_record, events_dispatch_all
from kopeck.outbox.models import OutboxMessage
from kopeck.webhooks.models import Attempt, Delivery, DeliveryStatus, Endpoint
from kopeck.webhooks.services import (
    deliveries_redeliver,
    endpoint_create,
    endpoint_rotate_secret,
    endpoint_update,
    webhooks_deliver_all,
)
from tests.rules.conftest import ACTOR, make_client
from tests.webhooks.receiver import Received, Receiver

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("loopback_allowed")]


def verify(secret: str, request: Received) -> Any:
    """Verify with the standardwebhooks library, at the instant the message was signed (the library
    checks the timestamp against its own wall clock; ours was moved)."""
    signed_at = dt.datetime.fromtimestamp(int(request.headers["webhook-timestamp"]), tz=dt.UTC)

    class AtSigning(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> dt.datetime:  # type: ignore[override]
            return signed_at

    with mock.patch("standardwebhooks.webhooks.datetime", AtSigning):
        return Webhook(secret).verify(request.body, request.headers)


def pump(clock: FixedClock, *, hours: float, step: dt.timedelta = dt.timedelta(minutes=20)) -> None:
    """Let ``hours`` pass: the periodic jobs (events processed, webhooks delivered) run every ``step``."""
    end = clock.now() + dt.timedelta(hours=hours)
    while clock.now() < end:
        events_dispatch_all()
        webhooks_deliver_all()
        clock.advance(step)
    events_dispatch_all()
    webhooks_deliver_all()


def test_a_delivery_is_signed_as_the_standard_says(clock: FixedClock, receiver: Receiver) -> None:
    _endpoint, secret = endpoint_create(actor=ACTOR, url=receiver.url, event_types=["client.*"])
    client = make_client()
    events_dispatch_all()
    assert webhooks_deliver_all() == {"delivered": 1, "failed": 0, "given_up": 0}
    [request] = receiver.received
    event = Event.objects.get(type="client.created")
    assert request.path == "/hooks/kopeck"
    assert request.headers["webhook-id"] == f"evt_{event.uid.hex}"
    assert request.headers["webhook-timestamp"] == str(int(clock.now().timestamp()))
    assert request.headers["content-type"] == "application/json"
    assert verify(secret, request) == json.loads(json.dumps(event_envelope(event)))
    assert json.loads(request.body)["data"]["client"]["id"] == client.pk
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (DeliveryStatus.DELIVERED, 1, 200)
    attempt = Attempt.objects.get()
    assert (attempt.ok, attempt.status_code, attempt.response, attempt.error) == (True, 200, "ok", "")
    assert attempt.latency_ms >= 0
    tampered = Received(request.path, request.headers, request.body.replace(b'"client.created"', b'"client.changed"'))
    with pytest.raises(Exception, match="No matching signature"):
        verify(secret, tampered)


def test_a_receiver_down_for_24_hours_gets_every_event_afterwards(clock: FixedClock, receiver: Receiver) -> None:
    endpoint, secret = endpoint_create(actor=ACTOR, url=receiver.url, event_types=["client.*", "balance.low"])
    client = make_client()
    receiver.stop()  # the outage begins
    for hour in range(24):
        client_update(actor=ACTOR, client=client, name=f"Иван Петров {hour}")
        if hour % 6 == 0:
            with transaction.atomic():
                event_record("balance.low", actor=ACTOR, client_id=client.pk,
                             data={"balance": "10.00", "currency": "RUB", "threshold": "100.00"})
        pump(clock, hours=1)
    assert receiver.received == []
    pending = Delivery.objects.filter(status=DeliveryStatus.PENDING).count()
    assert pending == Event.objects.count() == 1 + 24 + 4
    failed = Attempt.objects.filter(ok=False)
    assert failed.count() >= pending
    assert all(a.status_code is None and a.error.startswith("ConnectError") for a in failed)
    assert Endpoint.objects.get(pk=endpoint.pk).is_enabled  # 24 h < the 72 h window

    receiver.start()  # back, on the same port
    pump(clock, hours=13)  # the longest wait between attempts is 12 h
    events = list(Event.objects.order_by("id"))
    by_id: dict[str, list[Received]] = {}
    for request in receiver.received:
        by_id.setdefault(request.headers["webhook-id"], []).append(request)
    assert sorted(by_id) == sorted(f"evt_{e.uid.hex}" for e in events)  # no event lost
    for event in events:
        for request in by_id[f"evt_{event.uid.hex}"]:  # each copy verifies, with the body as recorded
            assert verify(secret, request) == json.loads(json.dumps(event_envelope(event)))
    assert set(Delivery.objects.values_list("status", flat=True)) == {DeliveryStatus.DELIVERED}
    sequences = sorted(json.loads(r[0].body)["sequence"] for r in by_id.values())
    assert sequences == list(range(1, len(events) + 1))  # the receiver can order them


def test_after_the_retry_window_the_delivery_fails_and_the_endpoint_is_disabled(
        clock: FixedClock, receiver: Receiver, settings: Any) -> None:
    billing_settings_update(actor=ACTOR, run_report_to="ops@provider.ru")
    endpoint, _secret = endpoint_create(actor=ACTOR, url=receiver.url, event_types=["client.created"])
    receiver.stop()
    make_client()
    pump(clock, hours=73, step=dt.timedelta(hours=1))
    delivery = Delivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    backoffs = list(Attempt.objects.order_by("id").values_list("at", flat=True))
    assert backoffs[-1] - backoffs[0] >= dt.timedelta(hours=72)
    endpoint.refresh_from_db()
    assert not endpoint.is_enabled
    assert endpoint.disabled_reason.startswith("No delivery succeeded for 3 days")
    notice = OutboxMessage.objects.get(topic="email.send")
    assert notice.payload["to"] == ["ops@provider.ru"]
    assert receiver.url in notice.payload["subject"]

    # the operator fixes the receiver, enables the endpoint and redelivers the failed message
    receiver.start()
    endpoint_update(actor=ACTOR, endpoint=endpoint, is_enabled=True)
    assert deliveries_redeliver(actor=ACTOR, deliveries=[delivery]) == 1
    assert webhooks_deliver_all()["delivered"] == 1
    assert len(receiver.received) == 1


def test_a_disabled_endpoints_deliveries_wait_and_resume(clock: FixedClock, receiver: Receiver) -> None:
    endpoint, _secret = endpoint_create(actor=ACTOR, url=receiver.url, event_types=["client.*"])
    make_client()
    events_dispatch_all()
    endpoint_update(actor=ACTOR, endpoint=endpoint, is_enabled=False)
    assert webhooks_deliver_all() == {"delivered": 0, "failed": 0, "given_up": 0}
    endpoint_update(actor=ACTOR, endpoint=endpoint, is_enabled=True)
    assert webhooks_deliver_all() == {"delivered": 1, "failed": 0, "given_up": 0}


def test_redelivery_of_many_sends_the_same_messages_again(clock: FixedClock, receiver: Receiver) -> None:
    endpoint_create(actor=ACTOR, url=receiver.url, event_types=["client.*"])
    client = make_client()
    client_update(actor=ACTOR, client=client, name="Пётр")
    events_dispatch_all()
    webhooks_deliver_all()
    first = [(r.headers["webhook-id"], r.body) for r in receiver.received]
    deliveries_redeliver(actor=ACTOR, deliveries=Delivery.objects.all())
    clock.advance(dt.timedelta(seconds=30))
    assert webhooks_deliver_all()["delivered"] == 2
    again = [(r.headers["webhook-id"], r.body) for r in receiver.received[2:]]
    assert sorted(again) == sorted(first)
    assert Attempt.objects.count() == 4


def test_after_a_rotation_both_secrets_verify_for_a_day(clock: FixedClock, receiver: Receiver) -> None:
    endpoint, old = endpoint_create(actor=ACTOR, url=receiver.url, event_types=["client.*"])
    _row, new = endpoint_rotate_secret(actor=ACTOR, endpoint=endpoint)
    make_client()
    events_dispatch_all()
    webhooks_deliver_all()
    request = receiver.received[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    verify(old, request)
    verify(new, request)
    clock.advance(dt.timedelta(hours=24, seconds=1))
    client = make_client("Пётр")
    client_update(actor=ACTOR, client=client, name="Павел")
    events_dispatch_all()
    webhooks_deliver_all()
    request = receiver.received[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    verify(new, request)
    with pytest.raises(Exception, match="No matching signature"):
        verify(old, request)


def test_an_error_answer_is_logged_and_retried(clock: FixedClock, receiver: Receiver) -> None:
    receiver.status = 500
    endpoint_create(actor=ACTOR, url=receiver.url, event_types=["client.created"])
    make_client()
    events_dispatch_all()
    assert webhooks_deliver_all() == {"delivered": 0, "failed": 1, "given_up": 0}
    attempt = Attempt.objects.get()
    assert (attempt.ok, attempt.status_code, attempt.error) == (False, 500, "The endpoint answered 500.")
    delivery = Delivery.objects.get()
    assert delivery.next_attempt_at == clock.now() + dt.timedelta(seconds=5)
    receiver.status = 200
    clock.advance(dt.timedelta(seconds=5))
    assert webhooks_deliver_all()["delivered"] == 1
