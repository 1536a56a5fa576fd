"""Clients record their events with the change: created, changed, blocked, unblocked."""

from __future__ import annotations

import pytest

from kopeck.clients.models import Client
from kopeck.clients.services import client_create, client_update
from kopeck.common.actor import Actor, ActorKind
from kopeck.common.errors import ValidationFailed
from kopeck.events.models import Event

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
FIELDS = {"full_name": "Иван Петров", "phone": "+7 916 000-00-01"}


def _events() -> list[tuple[str, int | None]]:
    return list(Event.objects.order_by("id").values_list("type", "sequence"))


def test_created_changed_blocked_unblocked() -> None:
    client = client_create(actor=ACTOR, type="individual", name="Иван Петров", fields=FIELDS, tags=["vip"])
    created = Event.objects.get(type="client.created")
    assert created.data == {"client": {"id": client.pk, "type": "individual", "name": "Иван Петров",
                                       "status": "active", "currency": "RUB", "external_id": None,
                                       "tags": ["vip"]}}
    client_update(actor=ACTOR, client=client, name="Иван Петрович Петров")
    changed = Event.objects.get(type="client.changed")
    assert (changed.data["changed"], changed.data["before"], changed.data["after"]) == (
        ["name"], {"name": "Иван Петров"}, {"name": "Иван Петрович Петров"})
    client_update(actor=Actor(ActorKind.OPERATOR, "3", "anna"), client=client, status="blocked")
    blocked = Event.objects.get(type="client.blocked")
    assert (blocked.data["reason"], blocked.data["source"], blocked.data["client"]["status"]) == (
        "other", "operator", "blocked")
    client_update(actor=Actor(ActorKind.API_KEY, "5", "panel"), client=client, status="active")
    unblocked = Event.objects.get(type="client.unblocked")
    assert (unblocked.data["source"], unblocked.client_id) == ("api", client.pk)
    assert _events() == [("client.created", 1), ("client.changed", 2), ("client.changed", 3),
                         ("client.blocked", 4), ("client.changed", 5), ("client.unblocked", 6)]


def test_an_update_that_changes_nothing_records_nothing() -> None:
    client = client_create(actor=ACTOR, type="individual", name="Иван Петров", fields=FIELDS)
    client_update(actor=ACTOR, client=client, name="Иван Петров")
    assert _events() == [("client.created", 1)]


def test_a_refused_change_records_nothing() -> None:
    client = client_create(actor=ACTOR, type="individual", name="Иван Петров", fields=FIELDS)
    with pytest.raises(ValidationFailed):
        client_update(actor=ACTOR, client=client, name="", status="blocked")
    with pytest.raises(ValidationFailed):
        client_create(actor=ACTOR, type="legal", name="")
    assert _events() == [("client.created", 1)]
    assert Client.objects.get().status == "active"
