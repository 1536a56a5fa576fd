"""The events of documents (docs/events.md): issued, paid, cancelled, overdue. Recorded by the document
services in their transaction; :func:`documents_overdue` is the periodic job of ``document.overdue``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.db import transaction

from kopeck.common.actor import Actor
from kopeck.documents.models import Document, DocumentStatus, DocumentType
from kopeck.events.models import Event
from kopeck.events.services import NewEvent, event_record, event_record_many
from kopeck.ledger.amounts import from_minor


def document_event_data(doc: Document) -> dict[str, Any]:
    """The ``document`` object of the events' payloads."""
    return {"id": doc.pk, "type": doc.type, "number": doc.number, "client_id": doc.client_id, "status": doc.status,
            "issue_date": doc.issue_date.isoformat() if doc.issue_date else None,
            "due_date": doc.due_date.isoformat() if doc.due_date else None,
            "total": from_minor(doc.amount_minor, doc.currency).to_str(), "currency": doc.currency,
            "billing_run_id": doc.run_id}


def record_documents_issued(actor: Actor, docs: Sequence[Document]) -> None:
    event_record_many([NewEvent("document.issued", {"document": document_event_data(d)}, client_id=d.client_id,
                                subject_id=d.pk) for d in docs], actor=actor)


def record_document_event(actor: Actor, name: str, doc: Document, **extra: Any) -> None:
    """``document.paid`` / ``document.cancelled`` (and the like) for ``doc`` as it is now, in the
    caller's transaction. The payments app calls it with ``document.paid`` when allocations pay an
    invoice in full."""
    event_record(name, actor=actor, client_id=doc.client_id, subject_id=doc.pk,
                 data={"document": document_event_data(doc), **extra},
                 dedupe_key=f"document.paid:{doc.pk}" if name == "document.paid" else None)


def documents_overdue(*, actor: Actor, on: dt.date) -> int:
    """Record ``document.overdue`` for every issued invoice whose due date is before ``on`` and that is
    not fully paid — once per invoice (dedupe key ``document.overdue:<id>``). Returns how many now."""
    due = (Document.objects.filter(type=DocumentType.INVOICE, due_date__lt=on,
                                   status__in=(DocumentStatus.ISSUED, DocumentStatus.PARTLY_PAID))
           .exclude(pk__in=Event.objects.filter(type="document.overdue").values("subject_id")).order_by("id"))
    recorded = 0
    for doc in due.iterator():
        assert doc.due_date is not None
        with transaction.atomic():
            event_record("document.overdue", actor=actor, client_id=doc.client_id, subject_id=doc.pk,
                         dedupe_key=f"document.overdue:{doc.pk}",
                         data={"document": document_event_data(doc), "due_date": doc.due_date.isoformat(),
                               "days_overdue": (on - doc.due_date).days})
        recorded += 1
    return recorded
