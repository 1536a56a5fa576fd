"""Readers of documents: settings, legal entities and variables as templates see them, the template
source of a form, lists with filters, a document's HTML and (cached) PDF."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from django.db.models import Q, QuerySet

from kopeck.documents.data import CURRENCY_SHORT_RU, entity_variables
from kopeck.documents.models import Document, DocumentSettings, DocumentTemplate, LegalEntity, Variable
from kopeck.documents.rendering import FORM_OF_TYPE, default_source, render_source


def document_settings() -> DocumentSettings:
    """The settings row, or (before the first change) an unsaved row of the defaults."""
    return DocumentSettings.objects.filter(pk=1).first() or DocumentSettings(pk=1)


def default_legal_entity() -> LegalEntity | None:
    return LegalEntity.objects.filter(is_default=True, is_active=True).first()


def variables_for(entity: LegalEntity | None) -> dict[str, str]:
    """``vars`` of a template: the entity's requisites (``entity_*``), then the global variables,
    then the entity's own variables (which win over global ones of the same code)."""
    values: dict[str, str] = entity_variables(entity) if entity is not None else {}
    rows = Variable.objects.filter(Q(legal_entity__isnull=True) | Q(legal_entity=entity)) if entity is not None \
        else Variable.objects.filter(legal_entity__isnull=True)
    ordered = sorted(rows.values_list("code", "value", "legal_entity_id"), key=lambda r: r[2] is not None)
    for code, value, _entity in ordered:
        values[code] = value
    return values


def form_of(document: Document) -> str:
    if document.type == "corrected":
        original_type = (document.data.get("document", {}).get("corrects") or {}).get("type") or "invoice_factura"
        return FORM_OF_TYPE.get(original_type, "invoice_factura")
    return FORM_OF_TYPE[document.type]


def template_source(form: str, language: str) -> str:
    """The operator's template of ``form`` in ``language``, or the shipped default."""
    override = DocumentTemplate.objects.filter(form=form, language=language).values_list("html", flat=True).first()
    return override if override is not None else default_source(form, language)


def document_html(document: Document) -> str:
    return render_source(template_source(form_of(document), document.language), _with_defaults(document.data))


def _with_defaults(data: Mapping[str, Any]) -> dict[str, Any]:
    """A document's frozen data with the presentation keys added since it was issued, derived from
    what it holds (how its currency is written after an amount)."""
    header = dict(data.get("document") or {})
    if "currency_short" not in header:
        currency = str(header.get("currency", ""))
        header["currency_short"] = CURRENCY_SHORT_RU.get(currency, currency) if header.get("language") == "ru" \
            else currency
    return {**data, "document": header}


def document_pdf_bytes(document: Document) -> bytes | None:
    """The cached PDF of ``document`` (None when not rendered yet)."""
    from kopeck.documents.models import DocumentPdf

    content = DocumentPdf.objects.filter(document_id=document.pk).values_list("content", flat=True).first()
    return bytes(content) if content is not None else None


def documents_filter(params: Mapping[str, Any]) -> QuerySet[Document]:
    """Documents filtered by client, type, status, number, run and issue date range
    (``date_from`` / ``date_to``, inclusive); newest first."""
    qs = Document.objects.select_related("client", "legal_entity").order_by("-id")
    for key, field in (("client", "client_id"), ("type", "type"), ("status", "status"), ("run", "run_id"),
                       ("legal_entity", "legal_entity_id")):
        if params.get(key) not in (None, ""):
            qs = qs.filter(**{field: params[key]})
    if params.get("number"):
        qs = qs.filter(number=params["number"])
    for key, lookup in (("date_from", "issue_date__gte"), ("date_to", "issue_date__lte")):
        value = params.get(key)
        if value:
            qs = qs.filter(**{lookup: value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))})
    return qs


def invoice_payment_status(document: Document, *, on: dt.date) -> str | None:
    """An invoice's payment status on a day, derived from what its allocations paid (``paid_minor``,
    kept by the payments app) and its due date: ``paid``, ``overdue`` (the due date passed and
    something is unpaid), ``partly_paid``, ``unpaid``; ``None`` for what is not an issued invoice."""
    from kopeck.documents.models import DocumentStatus, DocumentType

    if document.type != DocumentType.INVOICE or document.status not in (
            DocumentStatus.ISSUED, DocumentStatus.PARTLY_PAID, DocumentStatus.PAID):
        return None
    if document.paid_minor >= document.amount_minor:
        return "paid"
    if document.due_date is not None and document.due_date < on:
        return "overdue"
    return "partly_paid" if document.paid_minor > 0 else "unpaid"
