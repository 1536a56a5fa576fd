"""The one place a gateway payment becomes money on the client's account: a verified notification or an
API fetch reaches :func:`credit` inside the transaction that marks the GatewayPayment paid (the row is
locked, so it runs once per payment). The money is a payment of kopeck.payments with method = the
provider (Dr gateway clearing / Cr client), allocated to the invoice it was made for (or, for a top-up,
as the payments settings say). The external id ``<provider>:<order id>`` is unique in kopeck.payments: the
locked, not yet credited order is what makes it unused here (``new=True``: no lookup, no savepoint), and the
unique constraint refuses a second credit whatever happens."""

from __future__ import annotations

from kopeck.common.actor import Actor
from kopeck.core.money import from_minor
from kopeck.gateways.models import GatewayPayment

OPEN_INVOICE = ("issued", "partly_paid", "overdue")


def credit(payment: GatewayPayment, *, actor: Actor) -> str:
    """Record the payment in kopeck.payments (method = the gateway); returns ``payment:<id>``."""
    from kopeck.documents.models import Document
    from kopeck.payments.services import payment_record

    money = from_minor(payment.amount_minor, payment.currency)
    invoice = None
    if payment.invoice_id is not None:
        invoice = Document.objects.filter(pk=payment.invoice_id, status__in=OPEN_INVOICE).first()
    provider = str(payment.setting.get_provider_display())
    pay = payment_record(
        actor=actor, amount=money.amount, client=payment.client, currency=payment.currency,
        method=payment.setting.provider, external_id=f"{payment.setting.provider}:{payment.order_id}",
        invoice=invoice, allocate=None if invoice is None else False,
        purpose=f"{provider}: {payment.description}"[:2000], payer_name=payment.client.name[:500], new=True)
    return f"payment:{pay.pk}"
