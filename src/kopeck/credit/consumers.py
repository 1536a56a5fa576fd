"""Credit control as an event consumer: a payment received re-checks its client at once, so an
automatic block for the debt it paid is lifted within seconds (the event dispatcher runs every few
seconds, or on a Celery worker), not at the next hourly check."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.db import transaction

from kopeck.configuration.selectors import provider_today

if TYPE_CHECKING:
    from kopeck.events.models import Event

log = logging.getLogger(__name__)


def payments_received(events: Sequence[Event]) -> None:
    """Run the credit check for the clients of ``payment.received`` events. Never raises: a failure
    is logged (the hourly check catches up) and does not hold the other consumers' events back."""
    ids = sorted({e.client_id for e in events if e.type == "payment.received" and e.client_id is not None})
    if not ids:
        return
    from kopeck.credit.services import credit_check_clients

    try:
        with transaction.atomic():  # a savepoint inside the dispatcher's transaction
            credit_check_clients(client_ids=ids, on=provider_today())
    except Exception:
        log.exception("credit check after payments failed for clients %s", ids)
