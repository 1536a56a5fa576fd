"""Writers of payments (docs/payments.md): record, assign, refund, reverse; allocate, release,
re-allocate. Public services:

* :func:`payment_record` — a payment received (identified: the client's account; else unidentified)
* :func:`payment_assign` — an unidentified payment to its client
* :func:`payment_refund` — a full or partial refund (several, never beyond what is left)
* :func:`payment_reverse` — undo a payment posted by mistake
* :func:`advance_invoices_issue`, :func:`payment_advance_invoice_issue` — advance счета-фактуры;
  :func:`advances_offset_shipments` — зачёт аванса when an act or УПД is issued
* :func:`payment_allocate`, :func:`payment_reallocate`, :func:`allocation_release` — invoices
"""

from kopeck.payments.services.advances import (
    advance_invoices_issue,
    advances_offset_shipments,
    advances_release_cancelled_shipments,
    payment_advance_invoice_issue,
)
from kopeck.payments.services.allocation import allocation_release, payment_allocate, payment_reallocate
from kopeck.payments.services.payments import (
    invoice_pay_by_hand,
    payment_assign,
    payment_record,
    payment_refund,
    payment_reverse,
)

__all__ = [
    "advance_invoices_issue",
    "advances_offset_shipments",
    "advances_release_cancelled_shipments",
    "allocation_release",
    "invoice_pay_by_hand",
    "payment_advance_invoice_issue",
    "payment_allocate",
    "payment_assign",
    "payment_reallocate",
    "payment_record",
    "payment_refund",
    "payment_reverse",
]
