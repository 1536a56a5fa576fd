"""The daily scheduled run: started once per billing date after the configured local time."""

from __future__ import annotations

import datetime as dt

import pytest

from kopeck.billing.models import BillingRun, RunMode, RunStatus
from kopeck.billing.tasks import daily_run as auto_run
from kopeck.cli.scheduler import PERIODIC_TASKS, run_task
from kopeck.common.actor import Actor
from kopeck.configuration.services import billing_settings_update
from kopeck.core.clock import FixedClock
from kopeck.ledger.models import JournalTransaction
from tests.billing.conftest import TODAY, Book
from tests.subscriptions.helpers import at

pytestmark = pytest.mark.django_db


def test_the_job_is_registered_every_15_minutes() -> None:
    assert PERIODIC_TASKS["kopeck.billing.daily_run"] == 900


def test_off_means_no_scheduled_run(book: Book, actor: Actor) -> None:
    billing_settings_update(actor=actor, scheduled_run="off")
    assert auto_run() is None
    assert BillingRun.objects.count() == 0


def test_one_auto_run_per_day_after_the_configured_time(book: Book, actor: Actor, clock: FixedClock) -> None:
    billing_settings_update(actor=actor, auto_billing_time="10:30")
    at(clock, TODAY, hour_utc=7)  # 10:00 in Moscow: not yet
    assert auto_run() is None and BillingRun.objects.count() == 0
    clock.set(dt.datetime(2026, 11, 25, 7, 30, tzinfo=dt.UTC))  # 10:30 in Moscow
    result = run_task("kopeck.billing.daily_run")
    assert result is not None and result["status"] == RunStatus.COMPLETED
    posted = JournalTransaction.objects.count()
    assert posted > 0
    clock.set(dt.datetime(2026, 11, 25, 20, 0, tzinfo=dt.UTC))  # 23:00, later the same day
    assert auto_run() is None
    run = BillingRun.objects.get()
    assert (run.mode, run.scheduled, run.billing_date, run.created_by) == (RunMode.AUTO, True, TODAY,
                                                                            "system:scheduler")
    assert JournalTransaction.objects.count() == posted
    clock.set(dt.datetime(2026, 11, 25, 21, 0, tzinfo=dt.UTC))  # 00:00 on the 26th in Moscow: not yet
    assert auto_run() is None
    clock.set(dt.datetime(2026, 11, 26, 8, 0, tzinfo=dt.UTC))
    assert auto_run() is not None
    assert sorted(BillingRun.objects.values_list("billing_date", flat=True)) == [TODAY, dt.date(2026, 11, 26)]


def test_an_interrupted_scheduled_run_is_resumed(book: Book, actor: Actor) -> None:
    billing_settings_update(actor=actor, auto_billing_time=dt.time(9, 0))
    BillingRun.objects.create(billing_date=TODAY, mode=RunMode.AUTO, status=RunStatus.FAILED, scheduled=True,
                              created_by="system:scheduler", created_at=dt.datetime(2026, 11, 25, tzinfo=dt.UTC))
    result = auto_run()
    assert result is not None and result["status"] == RunStatus.COMPLETED
    assert BillingRun.objects.count() == 1 and JournalTransaction.objects.count() > 0
