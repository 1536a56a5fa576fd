"""Reads of payments: settings, open invoices of a client, a client's unallocated advance, an
invoice's payment status (paid / partly paid / overdue, derived from allocations and the due date)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import F, QuerySet, Sum

from kopeck.clients.models import Client
from kopeck.core.money import Money
from kopeck.documents.models import Document, DocumentStatus, DocumentType
from kopeck.documents.selectors import invoice_payment_status
from kopeck.ledger.amounts import from_minor
from kopeck.payments.models import Allocation, Payment, PaymentSettings, PaymentStatus, StatementLine

OPEN_INVOICE_STATES = (DocumentStatus.ISSUED, DocumentStatus.PARTLY_PAID)
__all__ = [
    "HOLDING_STATES",
    "OPEN_INVOICE_STATES",
    "client_advance",
    "invoice_allocated_minor",
    "invoice_payment_status",
    "open_invoices",
    "payment_allocations",
    "payment_settings",
    "unidentified_payments",
]
HOLDING_STATES = (PaymentStatus.CREDITED, PaymentStatus.PARTLY_REFUNDED)


def payment_settings() -> PaymentSettings:
    settings, _created = PaymentSettings.objects.get_or_create(pk=1)
    return settings


def open_invoices(client: Client | int, *, currency: str | None = None) -> QuerySet[Document]:
    """The client's issued invoices not paid in full, oldest first (issue date, then id)."""
    client_id = client if isinstance(client, int) else client.pk
    qs = Document.objects.filter(client_id=client_id, type=DocumentType.INVOICE, status__in=OPEN_INVOICE_STATES)
    if currency:
        qs = qs.filter(currency=currency)
    return qs.order_by("issue_date", "id")


def client_advance(client: Client, *, currency: str | None = None) -> Money:
    """The client's money received and not allocated to any invoice nor refunded (an advance)."""
    code = currency or client.currency
    total = (Payment.objects.filter(client=client, currency=code, status__in=HOLDING_STATES)
             .aggregate(s=Sum(F("amount_minor") - F("refunded_minor") - F("allocated_minor")))["s"]) or 0
    return from_minor(int(total), code)


def invoice_allocated_minor(document: Document | int) -> int:
    """The sum of the invoice's active allocations (what ``paid_minor`` is kept equal to)."""
    doc_id = document if isinstance(document, int) else document.pk
    return int(Allocation.objects.filter(document_id=doc_id, released_at__isnull=True)
               .aggregate(s=Sum("amount_minor"))["s"] or 0)


def unidentified_payments() -> QuerySet[Payment]:
    return Payment.objects.filter(status=PaymentStatus.UNIDENTIFIED).order_by("date", "id")


def payment_allocations(payment: Payment) -> QuerySet[Allocation]:
    return payment.allocations.filter(released_at__isnull=True).select_related("document")


def statement_line_payments(lines: Iterable[StatementLine]) -> dict[int, Payment]:
    """The payment of each line that has one: the bank payment whose external id is the line's
    dedupe key (the one it made when applied, or for a duplicate the one that took it first)."""
    keyed = {ln.dedupe_key: ln.pk for ln in lines}
    found = Payment.objects.filter(method="bank", external_id__in=list(keyed))
    return {keyed[p.external_id]: p for p in found}
