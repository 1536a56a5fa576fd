"""Where gateways meet kopeck.payments: the credit of a paid online payment and the refund of one.

:func:`credit` is the one place a gateway payment becomes money on the client's account: a verified
notification or an API fetch reaches it inside the transaction that marks the GatewayPayment paid (the
row is locked, so it runs once per payment). The money is a payment of kopeck.payments with method =
the provider (Dr gateway clearing / Cr client), allocated to the invoice it was made for (or, for a
top-up, as the payments settings say). Its external id ``<provider>:<order id>`` is unique in
kopeck.payments: the locked, not yet credited order is what makes it unused here (``new=True``: no
lookup, no savepoint), and the unique constraint refuses a second credit whatever happens.

:func:`refund` is the refund handler of every gateway's payment method: a refund asked of
kopeck.payments (its API, its back office) goes back to the card through the provider."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, cast

from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict
from kopeck.core.money import from_minor
from kopeck.gateways.models import GatewayPayment

if TYPE_CHECKING:
    from kopeck.payments.models import Payment, Refund

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


def refund(*, actor: Actor, payment: Payment, amount: object, reason: str, date: dt.date | None) -> Refund:
    """kopeck.payments' refund of a payment that came through a gateway (the refund handler of each
    gateway's payment method): the money goes back through the provider (``online_refund``), and the
    refund is recorded in the books only when the provider accepted it."""
    from kopeck.gateways.services import online_refund_recorded

    code, _sep, order_id = payment.external_id.partition(":")
    online = GatewayPayment.objects.select_related("setting", "client").filter(
        order_id=order_id, setting__provider=payment.method, credit_ref=f"payment:{payment.pk}").first() \
        if order_id and code == payment.method else None
    if online is None:
        raise Conflict(f"Payment {payment.pk} is not an online payment Kopeck took through {payment.method}, so "
                       "Kopeck cannot return it through the provider: make the refund in the provider's dashboard, "
                       "then record it here with the provider's refund id as external_id.",
                       errors={"external_id": ["The provider's refund id of a refund made in its dashboard."]})
    if amount in (None, ""):
        amount = from_minor(payment.amount_minor - payment.refunded_minor, payment.currency).amount
    _made, booked = online_refund_recorded(actor=actor, payment=online, amount=amount, reason=reason, date=date)
    return cast("Refund", booked)
