"""Issuing: the only place a number is taken — inside the issuing transaction, together with the
frozen data, the links to the ledger, the audit entry and the outbox messages that render the PDF
and send the e-mails after the commit. One by hand, or many at once."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kopeck.audit.services import audit_record
from kopeck.billing.models import BillingRun
from kopeck.clients.models import Client, ContactKind
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.bulk import bulk_insert, insert_rows
from kopeck.common.errors import Conflict, NotFound, ValidationFailed
from kopeck.configuration.selectors import provider_today
from kopeck.core.documents import DocumentCalc
from kopeck.core.money import to_minor
from kopeck.documents.data import build_data, client_requisites, provider_requisites, set_number
from kopeck.documents.events import record_documents_issued
from kopeck.documents.models import (
    DeliveryStatus,
    Document,
    DocumentDelivery,
    DocumentStatus,
    DocumentType,
    Language,
    LegalEntity,
)
from kopeck.documents.numbering import (
    SEQUENCE_OF_TYPE,
    allocate_numbers,
    rule_for,
)
from kopeck.documents.ports import shipment_listener
from kopeck.documents.selectors import (
    document_settings,
    variables_for,
)
from kopeck.documents.services.common import (
    ISSUED_STATES,
    TOPIC_EMAIL,
    TOPIC_PDF,
    _date_or_none,
    document_state,
    status_of,
)

# ---------------------------------------------------------------------------------------------
# issuing


def _issue_date(value: Any) -> dt.date:
    errors: dict[str, list[str]] = {}
    day = _date_or_none(value, "issue_date", errors) if value is not None else provider_today()
    if errors or day is None:
        raise ValidationFailed(_("The issue date is invalid."), errors=errors or {"issue_date": [_("Required.")]})
    if day > provider_today():
        raise ValidationFailed.field("issue_date", _("A document cannot be issued with a date in the future."))
    return day


def _entity_problems(entity: LegalEntity, doc_type: str) -> list[str]:
    problems = []
    if not entity.is_active:
        problems.append(_("The legal entity is not active."))
    if doc_type == DocumentType.INVOICE and not (entity.bik and entity.settlement_account):
        problems.append(_("An invoice needs the legal entity's bank details (БИК and settlement account)."))
    return problems


def _frozen_data(doc: Document, *, number: str, issue_date: dt.date, due: dt.date | None,
                 correction_number: int | None) -> dict[str, Any]:
    """The draft's data with the requisites, variables, number and dates as of issuing."""
    data = dict(doc.data)
    header = dict(data["document"])
    header.update(number=number, date=issue_date.isoformat(), due_date=due.isoformat() if due else "",
                  correction_number=correction_number)
    if doc.type == DocumentType.INVOICE:
        header["payment_purpose"] = (f"Оплата по счёту № {number} от {issue_date.strftime('%d.%m.%Y')}"
                                     if doc.language == "ru" else f"Payment of invoice No. {number}")
    data.update(document=header, provider=provider_requisites(doc.legal_entity),
                client=client_requisites(doc.client), vars=variables_for(doc.legal_entity))
    return data


def closes_on(doc: Document) -> dt.date | None:
    """The last day of the service a document covers: its period's, or its lines' (``None``: no
    period). An act or УПД is dated no earlier."""
    ends = [dt.date.fromisoformat(ln["period_end"]) - dt.timedelta(days=1)
            for ln in (doc.data or {}).get("lines", []) if ln.get("period_end")]
    if doc.period_end is not None:
        ends.append(doc.period_end)
    return max(ends) if ends else None


def document_issue(*, actor: Actor, document: Document, issue_date: Any = None) -> Document:
    """Issue a draft: take the next number of its sequence (a corrected document keeps the
    original's number and takes the next correction number), freeze its data, and queue the PDF
    rendering and the e-mails. Refused (nothing written, no number taken) when the date is earlier
    than the sequence's last issue date or in the future."""
    day = _issue_date(issue_date)
    with transaction.atomic():
        doc = Document.objects.select_for_update(of=("self",)).select_related("legal_entity", "client", "corrects") \
            .filter(pk=document.pk).first()
        if doc is None:
            raise NotFound(_("Document %(id)s does not exist.") % {"id": document.pk})
        if doc.status != DocumentStatus.DRAFT:
            raise Conflict(_("Only a draft can be issued; this document is %(status)s.") % status_of(doc),
                           errors={"status": [_("Is %(status)s.") % status_of(doc)]})
        problems = _entity_problems(doc.legal_entity, doc.type)
        if problems:
            raise ValidationFailed(_("The document cannot be issued: %(problems)s") % {"problems": " ".join(problems)},
                                   errors={"legal_entity": problems})
        closes = closes_on(doc)
        if doc.type in (DocumentType.ACT, DocumentType.UPD) and closes is not None and day < closes:
            raise ValidationFailed.field("issue_date", _("An act or УПД closes services rendered: date it on or after "
                                                         "the last day of its period (%(date)s).")
                                         % {"date": closes.isoformat()})
        correction_number = None
        if doc.type == DocumentType.CORRECTED:
            assert doc.corrects_id is not None
            original = Document.objects.select_for_update().get(pk=doc.corrects_id)
            if original.status not in ISSUED_STATES:
                raise Conflict(_("The corrected document is not issued (any more)."))
            if day < (original.issue_date or day):
                raise ValidationFailed.field("issue_date", _("A correction cannot be dated before the original."))
            last = Document.objects.filter(corrects=original, type=DocumentType.CORRECTED,
                                           correction_number__isnull=False).order_by("-correction_number") \
                .values_list("correction_number", flat=True).first()
            correction_number = (last or 0) + 1
            doc.number, doc.correction_number = original.number, correction_number
        else:
            sequence = SEQUENCE_OF_TYPE[doc.type]
            assert sequence is not None
            rule = rule_for(sequence, doc.legal_entity)
            ((seq, number, key),) = allocate_numbers(rule, day, 1)
            doc.number, doc.numbering_rule, doc.number_seq, doc.number_period = number, rule, seq, key
        due = doc.due_date
        if doc.type == DocumentType.INVOICE and due is None:
            due = day + dt.timedelta(days=document_settings().invoice_due_days)
        doc.data = _frozen_data(doc, number=doc.number or "", issue_date=day, due=due,
                                correction_number=correction_number)
        doc.issue_date, doc.due_date, doc.status, doc.issued_at = day, due, DocumentStatus.ISSUED, clock.now()
        doc.save()
        _after_issue([doc], actor)
        audit_record(actor=actor, action="document.issue", object_type="document", object_id=doc.pk,
                     after=document_state(doc))
    return doc


def _recipients(client_ids: Iterable[int]) -> dict[int, list[str]]:
    from kopeck.clients.models import Contact

    found: dict[int, list[str]] = defaultdict(list)
    for client_id, value in Contact.objects.filter(client_id__in=list(client_ids), kind=ContactKind.EMAIL,
                                                   receives_documents=True).order_by("id") \
            .values_list("client_id", "value"):
        if value not in found[client_id]:
            found[client_id].append(value)
    return found


def _queue_emails(docs: Sequence[Document], recipients: Mapping[int, Sequence[str]]) -> list[DocumentDelivery]:
    from kopeck.outbox.services import outbox_enqueue_many

    now = clock.now()
    deliveries = [DocumentDelivery(document=d, recipient=r, status=DeliveryStatus.QUEUED, created_at=now)
                  for d in docs for r in recipients.get(d.pk, ())]
    if not deliveries:
        return []
    bulk_insert(DocumentDelivery, deliveries)
    ids = outbox_enqueue_many(messages=[(TOPIC_EMAIL, {"delivery": d.pk}, f"documents.email:{d.pk}")
                                        for d in deliveries], new=True)
    for delivery in deliveries:
        delivery.outbox_message_id = ids[f"documents.email:{delivery.pk}"]
    DocumentDelivery.objects.bulk_update(deliveries, ["outbox_message_id"], batch_size=1000)
    return deliveries


def _after_issue(docs: Sequence[Document], actor: Actor) -> None:
    """In the issuing transaction: queue each document's PDF rendering and, when sending by
    e-mail is on, one e-mail per recipient of its client."""
    from kopeck.outbox.services import outbox_enqueue_many

    outbox_enqueue_many(messages=[(TOPIC_PDF, {"document": d.pk}, f"documents.render_pdf:{d.pk}") for d in docs],
                        new=True)
    record_documents_issued(actor, docs)
    listener = shipment_listener()
    if listener is not None:
        listener(actor=actor, documents=docs)
    if document_settings().send_by_email:
        by_client = _recipients({d.client_id for d in docs})
        _queue_emails(docs, {d.pk: by_client.get(d.client_id, []) for d in docs})


def _issue_batch(actor: Actor, *, doc_type: str, entity: LegalEntity, issue_date: dt.date,
                 items: Sequence[dict[str, Any]], run: BillingRun | None, upd_status: int | None) -> list[Document]:
    """Issue one document per entry of ``items`` (``client``, ``calc``, ``transactions``,
    ``period_start``, ``period_end``) in one transaction: the numbers under one counter lock."""
    if not items:
        return []
    sequence = SEQUENCE_OF_TYPE[doc_type]
    assert sequence is not None
    settings = document_settings()
    variables = variables_for(entity)
    provider = provider_requisites(entity)
    now = clock.now()
    due = issue_date + dt.timedelta(days=settings.invoice_due_days) if doc_type == DocumentType.INVOICE else None
    # the data first, without the numbers: the sequence's lock is then held only while numbering
    prepared = [build_data(type=doc_type, language=Language.RU, currency=item["calc"].currency.code, calc=item["calc"],
                           provider=provider, client=client_requisites(item["client"]), variables=variables,
                           number=None, issue_date=issue_date, due_date=due, period_start=item.get("period_start"),
                           period_end=item.get("period_end"), upd_status=upd_status) for item in items]
    with transaction.atomic():
        rule = rule_for(sequence, entity)
        numbers = allocate_numbers(rule, issue_date, len(items))
        docs = []
        for item, data, (seq, number, key) in zip(items, prepared, numbers, strict=True):
            client: Client = item["client"]
            calc: DocumentCalc = item["calc"]
            set_number(data, number)
            docs.append(Document(
                type=doc_type, upd_status=upd_status, legal_entity=entity, client=client,
                status=DocumentStatus.ISSUED, number=number, numbering_rule=rule, number_period=key,
                number_seq=seq, issue_date=issue_date, due_date=due, period_start=item.get("period_start"),
                period_end=item.get("period_end"), currency=calc.currency.code, language=Language.RU, data=data,
                amount_minor=to_minor(calc.totals.gross), vat_minor=to_minor(calc.totals.vat), run=run,
                run_part=item.get("run_part", 1), created_by=str(actor)[:200], created_at=now, issued_at=now))
        bulk_insert(Document, docs)
        insert_rows(Document.transactions.through, ("document_id", "journaltransaction_id"),
                    [(d.pk, t) for d, item in zip(docs, items, strict=True) for t in item["transactions"]], ids=False)
        _after_issue(docs, actor)
        audit_record(actor=actor, action="document.issue_batch", object_type="document",
                     object_id=f"{docs[0].pk}-{docs[-1].pk}",
                     after={"type": doc_type, "count": len(docs), "run": run.pk if run else None,
                            "numbers": [d.number for d in docs], "issue_date": issue_date})
    return docs


