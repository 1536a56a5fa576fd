"""What documents need from the apps above them, as small ports.

Payments sit above documents in the layers (a payment is allocated to invoices). Paying an invoice
"by hand" (``document_mark_paid``, the API's ``mark-paid``) is recording a real payment of the
client and allocating it to the invoice: the documents app asks for it through
:class:`InvoicePayer`, which ``kopeck.payments`` registers when Django starts
(``PaymentsConfig.ready``). An invoice's paid amount and status are derived from the allocations
(``kopeck.documents.services.invoice_paid_sync``), never set directly.

Issuing an act or УПД (a shipment) offsets the client's advances — the VAT of the advance
счёт-фактура is accepted for deduction (зачёт аванса, russia.md §3): the documents app tells the
payments app through :class:`ShipmentListener`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from kopeck.common.actor import Actor

if TYPE_CHECKING:
    from kopeck.documents.models import Document


class InvoicePayer(Protocol):
    def __call__(self, *, actor: Actor, document: Document, amount_minor: int) -> None:
        """Record a manual payment of ``amount_minor`` by the invoice's client and allocate it to
        ``document`` (which the caller has locked), in the caller's transaction."""


_payer: InvoicePayer | None = None


def register_invoice_payer(payer: InvoicePayer) -> None:
    global _payer
    _payer = payer


def invoice_payer() -> InvoicePayer | None:
    return _payer


class ShipmentListener(Protocol):
    def __call__(self, *, actor: Actor, documents: Sequence[Document]) -> object:
        """Called in the issuing transaction with the documents just issued (any type): the payments
        app offsets the clients' advances against the acts and УПД among them (зачёт аванса)."""


_shipment_listener: ShipmentListener | None = None


def register_shipment_listener(listener: ShipmentListener) -> None:
    global _shipment_listener
    _shipment_listener = listener


def shipment_listener() -> ShipmentListener | None:
    return _shipment_listener


_cancel_listener: ShipmentListener | None = None


def register_shipment_cancel_listener(listener: ShipmentListener) -> None:
    """Called in the cancelling transaction with a document just cancelled (any type): the payments
    app takes back the advance offsets an act or УПД made."""
    global _cancel_listener
    _cancel_listener = listener


def shipment_cancel_listener() -> ShipmentListener | None:
    return _cancel_listener
