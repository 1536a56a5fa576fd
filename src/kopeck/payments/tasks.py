"""Celery tasks of payments. ``kopeck.payments.advance_invoices`` runs every few hours (Celery beat,
or the scheduler of ``kopeck serve``): it issues the advance счета-фактуры of the payments of the last
five days, once per payment — see :func:`kopeck.payments.services.advance_invoices_issue`."""

from __future__ import annotations

from kopeck.celery import app
from kopeck.common.actor import Actor
from kopeck.payments.services import advance_invoices_issue


@app.task(name="kopeck.payments.advance_invoices")
def advance_invoices() -> int:
    """Decide the advances of the recent payments; how many advance invoices-factura were issued."""
    return sum(1 for a in advance_invoices_issue(actor=Actor.system("scheduler")) if a.document_id)
