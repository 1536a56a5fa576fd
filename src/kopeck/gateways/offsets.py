"""The offset receipt under 54-ФЗ (зачёт аванса), sent automatically when the act or УПД of a prepaid
period is issued.

A payment receipted as a prepayment (``full_prepayment``, ``prepayment``, ``advance``) needs a second
receipt, ``full_payment`` settled against the prepayment, when the service is delivered — that is, when
the act (or УПД) covering the prepaid invoice's charges is issued. The events consumer ``gateways``
sees each ``document.issued`` of an act or УПД, finds the online payments that prepaid the invoices
billing the same charges, and enqueues one outbox message per payment (key
``gateways.offset_receipt:<payment>``: one offset receipt per prepayment, whichever act comes first);
the outbox handler sends it through the provider with :func:`final_receipt_send` (itself once per
payment, with the provider's idempotence key ``final-<order id>``). A provider that cannot be reached
makes the outbox retry; one whose receipts cannot be sent by API is logged and left to its dashboard."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from kopeck.gateways.models import GatewayPayment, PaymentStatus
from kopeck.gateways.providers import provider
from kopeck.gateways.receipts import PREPAYMENT_METHODS

if TYPE_CHECKING:
    from kopeck.events.models import Event
    from kopeck.outbox.models import OutboxMessage

log = logging.getLogger("kopeck.gateways")
TOPIC = "gateways.offset_receipt"
DELIVERED = ("act", "upd")


def awaiting_offset(payment: GatewayPayment) -> bool:
    """A paid online payment receipted as a prepayment whose offset receipt is not sent yet."""
    receipt = payment.receipt or {}
    items = receipt.get("items") or [{}]
    return (payment.status == PaymentStatus.SUCCEEDED and not receipt.get("final")
            and items[0].get("payment_method") in PREPAYMENT_METHODS and provider(payment.setting.provider).fiscalises)


def prepaid_by(document_id: int) -> list[GatewayPayment]:
    """The online payments that prepaid what the act or УПД ``document_id`` closes: the payments of the
    invoices that billed the same charges, still waiting for their offset receipt."""
    from kopeck.documents.models import Document, DocumentType

    link = Document.transactions.through.objects
    charges = link.filter(document_id=document_id).values("journaltransaction_id")
    invoices = link.filter(journaltransaction_id__in=charges, document__type=DocumentType.INVOICE).values("document_id")
    payments = GatewayPayment.objects.filter(invoice_id__in=invoices, status=PaymentStatus.SUCCEEDED) \
        .select_related("setting").order_by("id")
    return [p for p in payments if awaiting_offset(p)]


def documents_issued(events: Sequence[Event]) -> None:
    """The events consumer: an act or УПД issued → the offset receipts of the payments it closes, through
    the outbox (in the dispatcher's transaction, so exactly once per event)."""
    from kopeck.outbox.services import outbox_enqueue

    for event in events:
        document = (event.data or {}).get("document") or {}
        if event.type != "document.issued" or document.get("type") not in DELIVERED:
            continue
        for payment in prepaid_by(int(document["id"])):
            outbox_enqueue(topic=TOPIC, payload={"payment": payment.pk, "document": int(document["id"])},
                           key=f"{TOPIC}:{payment.pk}")


def send_offset_receipt(message: OutboxMessage) -> None:
    """The outbox handler: the offset receipt of one payment (nothing when it was sent already)."""
    from kopeck.common.errors import ValidationFailed
    from kopeck.gateways.services import SYSTEM, final_receipt_send

    payment = GatewayPayment.objects.select_related("setting", "client", "invoice").filter(
        pk=message.payload.get("payment")).first()
    if payment is None or not awaiting_offset(payment):
        return
    try:
        final_receipt_send(actor=SYSTEM, payment=payment, act=message.payload.get("document"))
    except ValidationFailed as exc:  # not sendable by API (the provider's dashboard): nothing to retry
        log.warning("offset receipt of online payment %s not sent: %s", payment.pk, exc)
