"""Scheduled jobs of gateways: ``kopeck.gateways.reconcile`` fetches the status of payments still pending
after ``KOPECK_GATEWAY_RECONCILE_MINUTES`` (15), so a lost notification loses no money;
``kopeck.gateways.autopay`` creates and attempts the due autopayments (kopeck.cli.scheduler)."""

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
