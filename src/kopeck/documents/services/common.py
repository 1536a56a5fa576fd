"""What the writers of documents share: topics, states, dates (amounts in minor units are the core's
one conversion, :func:`kopeck.core.money.to_minor`)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Any

from django.utils.translation import gettext as _

from kopeck.documents.models import (
    Document,
    DocumentStatus,
    DocumentType,
)

log = logging.getLogger("kopeck.documents")

TOPIC_PDF = "documents.render_pdf"
TOPIC_EMAIL = "documents.email"
CORRECTABLE = (DocumentType.INVOICE_FACTURA, DocumentType.ADVANCE_INVOICE_FACTURA, DocumentType.UPD)
ISSUED_STATES = (DocumentStatus.ISSUED, DocumentStatus.PARTLY_PAID, DocumentStatus.PAID)


def _choices(values: Iterable[str]) -> str:
    return _("Choose one of: %(choices)s.") % {"choices": ", ".join(values)}


def status_of(doc: Document) -> dict[str, str]:
    """A document's status and type for a refusal: the codes (``status``, ``type``: the English message
    names them) and their names in the active language (``label``, ``type_label``: the Russian one does)."""
    return {"status": doc.status, "label": doc.get_status_display(), "type": doc.type,
            "type_label": doc.get_type_display()}


def _date_or_none(value: Any, field: str, errors: dict[str, list[str]]) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        errors[field] = [_("Give a date, not a date and time.")]
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        errors[field] = [_("Enter a date as YYYY-MM-DD.")]
        return None


def document_state(doc: Document) -> dict[str, Any]:
    return {"type": doc.type, "status": doc.status, "number": doc.number, "issue_date": doc.issue_date,
            "client": doc.client_id, "legal_entity": doc.legal_entity_id, "amount_minor": doc.amount_minor,
            "vat_minor": doc.vat_minor, "paid_minor": doc.paid_minor, "currency": doc.currency,
            "correction_number": doc.correction_number}


