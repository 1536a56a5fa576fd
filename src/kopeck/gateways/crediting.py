"""The one place a gateway payment becomes money on the client's account: a verified notification or an
API fetch reaches :func:`credit` inside the transaction that marks the GatewayPayment paid (the row is
locked, so it runs once per payment)."""

from __future__ import annotations

from kopeck.common.actor import Actor
from kopeck.core.money import from_minor
from kopeck.gateways.models import GatewayPayment


def credit(payment: GatewayPayment, *, actor: Actor) -> str:
    """Credit the payment to the client's account (method = the gateway); returns a reference to what
    was written."""
    from kopeck.ledger.services import ledger_operation_post

    money = from_minor(payment.amount_minor, payment.currency)
    provider = payment.setting.get_provider_display()
    txn = ledger_operation_post(
        actor=actor, client=payment.client, operation="payment", amount=money.amount, currency=payment.currency,
        reason=f"{provider}: {payment.order_id}", source_ref=f"gateway:{payment.order_id}", via_gateway=True)
    return f"ledger:{txn.pk}"
