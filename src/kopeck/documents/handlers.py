"""Outbox handlers of documents (delivered at least once; both are idempotent):

* ``documents.render_pdf`` ``{"document": id}`` — render and cache the PDF (nothing when cached);
* ``documents.email`` ``{"delivery": id}`` — send the document with its PDF attached to the
  delivery's recipient and record the result on the :class:`DocumentDelivery`; a failure is
  recorded (attempts, error) and raised, so the outbox retries it. A delivery already sent is not
  sent again. With mail not configured nothing is tried: the delivery waits with the status
  "mail not configured" (no retries, no traceback) until :func:`documents_deliveries_resume` sends
  it once the mail settings are complete.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.db.models import F

from kopeck.common import clock
from kopeck.documents.models import DeliveryStatus, Document, DocumentDelivery
from kopeck.documents.services import TOPIC_EMAIL, TOPIC_PDF, document_pdf
from kopeck.outbox.models import OutboxMessage
from kopeck.outbox.registry import handler


@handler(TOPIC_PDF)
def render_pdf(message: OutboxMessage) -> None:
    document = Document.objects.filter(pk=message.payload.get("document")).first()
    if document is None:
        return  # deleted with its client in a test database: nothing to render
    document_pdf(document)


def attachment_name(document: Document) -> str:
    number = re.sub(r"[^0-9A-Za-zА-Яа-яЁё._-]+", "-", document.number or str(document.pk)).strip("-")
    return f"{document.type}-{number or document.pk}.pdf"


def email_subject(document: Document) -> str:
    title = document.data.get("document", {}).get("title") or document.get_type_display()
    provider = document.data.get("provider", {}).get("name", "")
    day = document.issue_date.strftime("%d.%m.%Y") if document.issue_date else ""
    if document.language == "en":
        return f"{title} No. {document.number} of {day} — {provider}"
    return f"{title} № {document.number} от {day} — {provider}"


def email_body(document: Document) -> str:
    data = document.data
    total = data.get("totals", {}).get("gross", "")
    if document.language == "en":
        return (f"Hello,\n\nplease find attached {data['document']['title']} No. {document.number} "
                f"for {total} {document.currency}.\n\n{data.get('provider', {}).get('full_name', '')}\n")
    return (f"Здравствуйте!\n\nВо вложении — {data['document']['title'].lower()} № {document.number} "
            f"на сумму {total} {document.currency}.\n\n{data.get('provider', {}).get('full_name', '')}\n")


@handler(TOPIC_EMAIL)
def send_email(message: OutboxMessage) -> None:
    from kopeck.notifications.email import MailNotConfigured, email_send, message_id

    delivery = DocumentDelivery.objects.select_related("document").filter(pk=message.payload.get("delivery")).first()
    if delivery is None or delivery.status == DeliveryStatus.SENT:
        return
    document = delivery.document
    try:
        pdf = document_pdf(document)
        sent_id = email_send(
            to=[delivery.recipient], subject=email_subject(document), body=email_body(document),
            attachments=[(attachment_name(document), pdf, "application/pdf")],
            headers={"Message-ID": message_id(idstring=f"kopeck-document-{document.pk}-delivery-{delivery.pk}")})
    except MailNotConfigured as exc:
        DocumentDelivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.NO_MAIL, error=str(exc)[:4000])
        return  # handled: it waits for the mail settings, the outbox does not retry it
    except Exception as exc:
        with transaction.atomic():
            DocumentDelivery.objects.filter(pk=delivery.pk).update(
                status=DeliveryStatus.FAILED, attempts=F("attempts") + 1, error=f"{type(exc).__name__}: {exc}"[:4000])
        raise
    with transaction.atomic():
        DocumentDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.SENT, attempts=F("attempts") + 1, error="", message_id=sent_id[:300],
            sent_at=clock.now())
