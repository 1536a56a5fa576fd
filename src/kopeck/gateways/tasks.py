"""Scheduled jobs of gateways: ``kopeck.gateways.reconcile`` fetches the status of payments still pending
after ``KOPECK_GATEWAY_RECONCILE_MINUTES`` (15), so a lost notification loses no money;
``kopeck.gateways.autopay`` creates and attempts the due autopayments (kopeck.cli.scheduler);
``kopeck.gateways.settle`` settles the queued notifications (sent when one is stored, with a broker;
every 10 s as the backstop)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from kopeck.celery import app


@app.task(name="kopeck.gateways.reconcile")
def reconcile() -> dict[str, int]:
    from kopeck.gateways.services import gateways_reconcile

    minutes = float(getattr(settings, "KOPECK_GATEWAY_RECONCILE_MINUTES", 15))
    return gateways_reconcile(older_than=dt.timedelta(minutes=minutes))


@app.task(name="kopeck.gateways.autopay")
def autopay() -> dict[str, int]:
    from kopeck.gateways.autopay import autopay_run

    return autopay_run()


@app.task(name="kopeck.gateways.settle")
def settle() -> dict[str, int]:
    from kopeck.gateways.notifications import notifications_settle

    return notifications_settle()
