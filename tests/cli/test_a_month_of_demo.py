"""The acceptance test of issue 11: a default install with demo data, its clock moved a month
forward and its scheduler ticked hourly, posts the month's charges only through the automatic
scheduled billing run, which issued the invoices."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from kopeck.billing.models import BillingRun, RunItem, RunMode, RunStatus
from kopeck.cli.scheduler import PERIODIC_TASKS, run_task
from kopeck.configuration.models import BillingSettings
from kopeck.core.calendar import local_date
from kopeck.core.clock import FixedClock
from kopeck.documents.models import Document, DocumentType
from kopeck.ledger.models import JournalTransaction
from kopeck.subscriptions.models import Subscription
from tests.conftest import START

pytestmark = pytest.mark.django_db

HOUR = 3600


def test_a_month_of_hourly_ticks_bills_only_through_the_scheduled_run(clock: FixedClock) -> None:
    assert not BillingSettings.objects.exists()  # a default install: the settings as shipped
    call_command("demo", stdout=io.StringIO())
    sub = Subscription.objects.get(external_id="demo-vps-1")
    assert sub.start_date == dt.date(2026, 11, 25)
    before = set(JournalTransaction.objects.values_list("pk", flat=True))
    # the in-process scheduler of `kopeck serve`: each job first at the start, then every interval;
    # the clock moves an hour a tick, for a month and a day
    waited = dict.fromkeys(PERIODIC_TASKS, 0)
    for hour in range(32 * 24):
        clock.set(START + dt.timedelta(hours=hour))
        for name, every in PERIODIC_TASKS.items():
            if waited[name] <= 0:
                run_task(name)
                waited[name] = every
            waited[name] -= HOUR
    posted = JournalTransaction.objects.exclude(pk__in=before).order_by("pk")
    charges = [(t.operation, t.amount_minor, local_date(t.recorded_at, "Europe/Moscow")) for t in posted]
    # 25 November (the first tick, 12:00 in Moscow, is past the daily run's 00:00): the base fee
    # 990.00, 2 × 150.00 for the extra IPv4 addresses and the setup fee 500.00; 25 December, at the
    # first tick after midnight, the next month (no traffic was used: the metered line of the first
    # month is 0.00, posted as nothing)
    assert charges == [("charge", 99000, dt.date(2026, 11, 25)), ("charge", 30000, dt.date(2026, 11, 25)),
                       ("charge", 50000, dt.date(2026, 11, 25)), ("charge", 99000, dt.date(2026, 12, 25)),
                       ("charge", 30000, dt.date(2026, 12, 25))]
    runs = list(BillingRun.objects.order_by("billing_date"))
    assert all((r.mode, r.scheduled, r.status) == (RunMode.AUTO, True, RunStatus.COMPLETED) for r in runs)
    # one a day, 25 November to 27 December (the last tick: 27 December 11:00 in Moscow)
    assert [r.billing_date for r in runs] == [dt.date(2026, 11, 25) + dt.timedelta(days=n) for n in range(33)]
    from_runs = {t for ids in RunItem.objects.filter(run__in=runs).values_list("transaction_ids", flat=True)
                 for t in ids}
    assert {t.pk for t in posted} == from_runs  # every charge posted by a run, no other writer
    invoices = Document.objects.filter(run__in=runs, type=DocumentType.INVOICE).order_by("issue_date")
    assert [(d.issue_date, d.amount_minor) for d in invoices] == [(dt.date(2026, 11, 25), 179000),
                                                                   (dt.date(2026, 12, 25), 129000)]
    assert {t for d in invoices for t in d.transactions.values_list("pk", flat=True)} == from_runs
