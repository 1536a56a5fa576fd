"""Fixtures of the document tests: the provider's legal entity (valid requisites), a client with an
e-mail recipient, and helpers to count what the services write."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.utils import translation

from kopeck.audit.models import AuditEntry
from kopeck.clients.models import Client, Contact, ContactKind
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.documents import services
from kopeck.documents.models import (
    Document,
    DocumentDelivery,
    DocumentPdf,
    DocumentTemplate,
    LegalEntity,
    NumberCounter,
    NumberingRule,
    Variable,
)
from kopeck.outbox.models import OutboxMessage
from tests.billing.conftest import book  # noqa: F401 — the billing tests' book of subscriptions
from tests.factories import ClientFactory, valid_inn

ENTITY = {
    "name": "ООО «Копейка»", "full_name": "Общество с ограниченной ответственностью «Копейка»",
    "inn": "7707083893", "kpp": "770701001", "ogrn": "1027700132195",
    "legal_address": "125009, г. Москва, ул. Тверская, д. 1", "bank_name": "ПАО Сбербанк",
    "bik": "044525225", "settlement_account": "40702810938000000001",
    "correspondent_account": "30101810400000000225", "director_name": "Иванов И. И.",
    "accountant_name": "Петрова П. П.",
}


@pytest.fixture
def entity(db: Any, clock: FixedClock, actor: Actor) -> LegalEntity:
    return services.legal_entity_create(actor=actor, **ENTITY)


@pytest.fixture
def buyer(db: Any) -> Client:
    c = ClientFactory(name="ООО «Ромашка»", fields={"full_name": "ООО «Ромашка»", "inn": valid_inn(501),
                                                    "kpp": "500101001", "legal_address": "г. Мытищи, ул. Мира, д. 2"})
    Contact.objects.create(client=c, kind=ContactKind.EMAIL, value="buh@romashka.example")
    return c


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (Document, DocumentDelivery, DocumentPdf, DocumentTemplate,
                                                    NumberCounter, NumberingRule, Variable, OutboxMessage,
                                                    AuditEntry, LegalEntity)}


def counters() -> list[tuple[str, str, int]]:
    return sorted(NumberCounter.objects.values_list("rule__sequence", "period_key", "last_number"))


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The tests of this area run in English unless a test asks for Russian (the refusal messages are
    translated, and the installation's default language, KOPECK_LANGUAGE, is Russian)."""
    with translation.override("en"):
        yield


@pytest.fixture
def installation_language() -> Iterator[None]:
    """For a test of what the installation's default language (KOPECK_LANGUAGE, ru) gives."""
    with translation.override(settings.LANGUAGE_CODE):
        yield
