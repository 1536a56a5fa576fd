"""factory_boy factories for the Django models; writes still go through services where it matters."""

from __future__ import annotations

import datetime as dt
from typing import Any

import factory

from kopeck.clients.models import Client, ClientType
from kopeck.clients.services import search_text
from kopeck.common.actor import Actor
from kopeck.core.requisites import inn_check_digits

T0 = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def valid_inn(n: int, *, legal: bool = True) -> str:
    """A valid ИНН built from a counter: 10 digits for a company, 12 for a person."""
    prefix = f"77{n:07d}" if legal else f"50{n:08d}"
    return prefix + inn_check_digits(prefix)


class ClientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Client

    type = ClientType.LEGAL
    name = factory.Sequence(lambda n: f"ООО «Клиент {n}»")
    currency = "RUB"
    fields = factory.Sequence(lambda n: {"full_name": f"ООО «Клиент {n}»", "inn": valid_inn(n + 1)})
    search_text = factory.LazyAttribute(lambda c: search_text(c.name, c.fields))  # as client_create writes it
    created_at = T0
    updated_at = T0


def system_actor(label: str = "tests") -> Actor:
    return Actor.system(label)


__all__: list[Any] = ["ClientFactory", "system_actor", "valid_inn"]
