"""Advances: money received beyond the open invoices. Where the payments setting says so, an advance
счёт-фактура is issued for it (russia.md §3, п. 3 ст. 168 НК: within five calendar days)."""

from __future__ import annotations

from kopeck.common.actor import Actor
from kopeck.payments.models import Payment


def advance_after_payment(actor: Actor, pay: Payment) -> None:
    """Called after a payment of a client is credited and allocated. Issuing the advance
    счёт-фактура is not built yet (docs/payments.md, "Not yet")."""
    return None
