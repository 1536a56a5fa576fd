"""Celery tasks of documents. ``kopeck.documents.monthly_acts`` runs every few hours (Celery beat,
or the scheduler of ``kopeck serve``); it issues last month's acts once the month has turned, when
the document settings ask for them — see :func:`kopeck.documents.services.documents_monthly_acts_due`."""

from __future__ import annotations

from kopeck.celery import app
from kopeck.common.actor import Actor
from kopeck.documents.services import documents_deliveries_resume, documents_monthly_acts_due


@app.task(name="kopeck.documents.monthly_acts")
def monthly_acts() -> int:
    """Issue last month's acts if due; how many were issued."""
    return len(documents_monthly_acts_due(actor=Actor.system("scheduler")))


@app.task(name="kopeck.documents.overdue")
def overdue() -> int:
    """Record document.overdue for the invoices past their due date (once each); how many now."""
    from kopeck.configuration.selectors import provider_today
    from kopeck.documents.events import documents_overdue

    return documents_overdue(actor=Actor.system("scheduler"), on=provider_today())


@app.task(name="kopeck.documents.deliveries_resume")
def deliveries_resume() -> int:
    """Send the e-mails that waited for the mail settings, once they are complete; how many."""
    return documents_deliveries_resume()
