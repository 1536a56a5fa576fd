"""Fixtures of the payment tests: the provider's legal entity, a client (a legal entity with ИНН and
КПП), issued invoices, and counters of what the services write."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.utils import translation

from kopeck.audit.models import AuditEntry
from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.documents import services as documents
from kopeck.documents.models import Document
from kopeck.events.models import Event
from kopeck.ledger.models import JournalTransaction, Posting
from kopeck.payments.models import Allocation, Payment, Refund
from tests.documents.conftest import buyer, entity  # noqa: F401 — the documents' fixtures

Invoice = Callable[..., Document]


@pytest.fixture
def invoice(entity: Any, buyer: Client, actor: Actor) -> Invoice:  # noqa: F811
    """Issue an invoice of ``buyer`` (or ``client``) for ``amount`` (one exempt line)."""

    def make(amount: str = "1000.00", *, client: Client | None = None, issue_date: dt.date | None = None) -> Document:
        draft = documents.document_create_draft(actor=actor, type="invoice", client=client or buyer,
                                                lines=[{"name": "Хостинг", "price": amount, "vat_rate": "exempt"}])
        return documents.document_issue(actor=actor, document=draft, issue_date=issue_date)

    return make


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (Payment, Refund, Allocation, JournalTransaction, Posting,
                                                    Event, AuditEntry)}


def paid(doc: Document) -> tuple[str, str]:
    doc.refresh_from_db()
    return doc.status, f"{doc.paid_minor / 100:.2f}"


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
