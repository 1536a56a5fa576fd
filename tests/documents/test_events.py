"""Documents record issued, paid, cancelled and overdue."""

from __future__ import annotations

import datetime as dt

import pytest

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.documents import services
from kopeck.documents.events import documents_overdue
from kopeck.documents.models import Document, LegalEntity
from kopeck.events.models import Event
from tests.documents.test_services import draft

pytestmark = pytest.mark.django_db


def doc_events(doc: Document) -> list[str]:
    return list(Event.objects.filter(subject_type="document", subject_id=doc.pk).order_by("id")
                .values_list("type", flat=True))


def test_issue_pay_cancel(entity: LegalEntity, buyer: Client, actor: Actor, clock: FixedClock) -> None:
    invoice = services.document_issue(actor=actor, document=draft(actor, buyer))
    issued = Event.objects.get(type="document.issued")
    assert issued.data["document"] == {
        "id": invoice.pk, "type": "invoice", "number": invoice.number, "client_id": buyer.pk, "status": "issued",
        "issue_date": invoice.issue_date.isoformat(), "due_date": invoice.due_date.isoformat(),
        "total": f"{invoice.amount_minor / 100:.2f}", "currency": "RUB", "billing_run_id": None}
    assert issued.client_id == buyer.pk
    services.document_mark_paid(actor=actor, document=invoice, amount="1.00")
    assert doc_events(invoice) == ["document.issued"]  # partly paid: not yet
    services.document_mark_paid(actor=actor, document=invoice)
    assert doc_events(invoice) == ["document.issued", "document.paid"]
    other = services.document_issue(actor=actor, document=draft(actor, buyer))
    services.document_cancel(actor=actor, document=other, reason="Ошибка в реквизитах")
    assert doc_events(other) == ["document.issued", "document.cancelled"]
    never = draft(actor, buyer)
    services.document_cancel(actor=actor, document=never, reason="Не нужен")
    assert doc_events(never) == []


def test_overdue_once_per_invoice(entity: LegalEntity, buyer: Client, actor: Actor, clock: FixedClock) -> None:
    invoice = services.document_issue(actor=actor, document=draft(actor, buyer))
    paid = services.document_issue(actor=actor, document=draft(actor, buyer))
    services.document_mark_paid(actor=actor, document=paid)
    assert invoice.due_date is not None
    assert documents_overdue(actor=actor, on=invoice.due_date) == 0
    later = invoice.due_date + dt.timedelta(days=2)
    assert documents_overdue(actor=actor, on=later) == 1
    assert documents_overdue(actor=actor, on=later + dt.timedelta(days=1)) == 0
    event = Event.objects.get(type="document.overdue")
    assert (event.subject_id, event.data["days_overdue"], event.dedupe_key) == (invoice.pk, 2,
                                                                               f"document.overdue:{invoice.pk}")
