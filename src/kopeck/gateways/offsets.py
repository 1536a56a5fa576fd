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
makes the outbox retry; one whose receipts cannot be sent by API is logged and left to its dashboard.

A **top-up** (money paid online with no invoice, receipted as ``advance``) has no invoice to link it to
an act: its advance is offset by the client's shipments in the order the money came (FIFO, as advances
are offset for VAT): a top-up is offset — and its offset receipt sent, once, for its whole amount, as
the provider allows a single second receipt — when the acts and УПД issued to the client cover all the
money the client paid up to and including it (every payment method counts: a bank transfer received
earlier is offset first). :func:`advances_covered` finds them on each act or УПД issued."""

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


def advances_covered(client_id: int, currency: str) -> list[GatewayPayment]:
    """The client's top-ups receipted as an advance, still waiting for their offset receipt, that the
    client's issued acts and УПД now cover (FIFO over all the client's money still held, oldest first)."""
    from django.db.models import F, Q, Sum

    from kopeck.documents.models import Document
    from kopeck.documents.services import ISSUED_STATES
    from kopeck.payments.models import Payment
    from kopeck.payments.selectors import HOLDING_STATES

    waiting = [p for p in GatewayPayment.objects.filter(
        client_id=client_id, currency=currency, invoice__isnull=True, status=PaymentStatus.SUCCEEDED,
        credit_ref__startswith="payment:").select_related("setting").order_by("credited_at", "id")
        if awaiting_offset(p)]
    if not waiting:
        return []
    shipped = Document.objects.filter(client_id=client_id, currency=currency, type__in=DELIVERED,
                                      status__in=ISSUED_STATES).aggregate(s=Sum("amount_minor"))["s"] or 0
    held = Payment.objects.filter(client_id=client_id, currency=currency, status__in=HOLDING_STATES)
    booked = dict(held.filter(pk__in=[int(p.credit_ref.split(":", 1)[1]) for p in waiting]).values_list("pk", "date"))
    covered: list[GatewayPayment] = []
    for payment in waiting:
        pk = int(payment.credit_ref.split(":", 1)[1])
        if pk not in booked:  # refunded in full: no advance left to offset
            continue
        day = booked[pk]
        upto = held.filter(Q(date__lt=day) | Q(date=day, pk__lte=pk)).aggregate(
            s=Sum(F("amount_minor") - F("refunded_minor")))["s"] or 0
        if upto > shipped:
            break  # the shipments do not reach this one, nor the later ones
        covered.append(payment)
    return covered


def documents_issued(events: Sequence[Event]) -> None:
    """The events consumer: an act or УПД issued → the offset receipts of the payments it closes, through
    the outbox (in the dispatcher's transaction, so exactly once per event)."""
    from kopeck.outbox.services import outbox_enqueue

    for event in events:
        document = (event.data or {}).get("document") or {}
        if event.type != "document.issued" or document.get("type") not in DELIVERED:
            continue
        payments = prepaid_by(int(document["id"]))
        if event.client_id is not None and document.get("currency"):
            payments += advances_covered(event.client_id, str(document["currency"]))
        for payment in payments:
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
