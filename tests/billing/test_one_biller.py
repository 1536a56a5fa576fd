"""One scheduled biller: the billing run (defects 1 and 2 of issue 11).

The scheduler's jobs never post recurring charges by themselves; the daily scheduled run does —
automatic (posts and issues the documents), with confirmation (computes and waits; nothing is
posted before the confirmation) or none (runs by hand only). Scheduled changes due on or before a
run's billing date take effect before the run prices anything, in every mode."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kopeck.billing.models import BillingRun, RunItem, RunMode, RunStatus
from kopeck.billing.selectors import run_fingerprint
from kopeck.billing.services import billing_run_confirm, billing_run_create, billing_run_execute
from kopeck.cli.scheduler import PERIODIC_TASKS, run_task
from kopeck.common.actor import Actor
from kopeck.configuration.services import billing_settings_update
from kopeck.core.clock import FixedClock
from kopeck.documents.models import Document, DocumentType
from kopeck.ledger.models import JournalTransaction
from kopeck.subscriptions.models import Subscription
from kopeck.subscriptions.services import subscription_bill_due, subscription_change_plan, subscription_create
from tests.documents.conftest import entity  # noqa: F401 — the provider's legal entity
from tests.subscriptions.helpers import at, make_client, make_plan

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("entity")]
D = dt.date


def tick_all() -> None:
    """Every periodic job once, as the scheduler runs them."""
    for name in PERIODIC_TASKS:
        run_task(name)


def charges() -> list[tuple[int, int]]:
    return sorted(JournalTransaction.objects.filter(operation="charge").values_list("pk", "amount_minor"))


def from_runs(mode: str) -> set[int]:
    return {t for ids in RunItem.objects.filter(run__mode=mode, run__scheduled=True)
            .values_list("transaction_ids", flat=True) for t in ids}


@pytest.fixture
def sub(clock: FixedClock, actor: Actor) -> Subscription:
    at(clock, D(2026, 11, 1))
    make_plan(actor, clock, "pro", base="3100.00", seat="300.00")
    make_plan(actor, clock, "basic", base="1000.00", seat="300.00")
    created = subscription_create(actor=actor, client=make_client(), plan="pro")
    subscription_bill_due(actor=actor, subscription=created)  # November, billed by hand
    return created


def test_by_default_the_scheduled_run_posts_and_invoices_the_month(sub: Subscription, clock: FixedClock) -> None:
    before = charges()
    at(clock, D(2026, 12, 1), hour_utc=0)  # 03:00 in Moscow
    tick_all()
    new = [c for c in charges() if c not in before]
    assert [a for _, a in new] == [310000, 30000]  # December: pro 3100.00 + one seat 300.00
    assert {t for t, _ in new} == from_runs(RunMode.AUTO)  # posted by the automatic run, not by a job
    run = BillingRun.objects.get(scheduled=True)
    [invoice] = Document.objects.filter(run=run)
    assert invoice.type == DocumentType.INVOICE
    assert set(invoice.transactions.values_list("pk", flat=True)) == {t for t, _ in new}
    tick_all()  # later ticks the same day post nothing
    assert [c for c in charges() if c not in before] == new


def test_with_confirmation_nothing_is_posted_before_the_operator_confirms(sub: Subscription, clock: FixedClock,
                                                                          actor: Actor) -> None:
    billing_settings_update(actor=actor, scheduled_run="confirm")
    before = charges()
    at(clock, D(2026, 12, 1), hour_utc=0)
    for hour in range(6):  # six hourly ticks
        clock.set(dt.datetime(2026, 12, 1, hour, tzinfo=dt.UTC))
        tick_all()
    assert charges() == before
    run = BillingRun.objects.get(scheduled=True)
    assert (run.mode, run.status) == (RunMode.CONFIRM, RunStatus.AWAITING_CONFIRMATION)
    done = billing_run_confirm(actor=actor, run=run, fingerprint=run_fingerprint(run))
    assert done.status == RunStatus.COMPLETED
    assert [a for _, a in charges() if (_, a) not in before] == [310000, 30000]


def test_none_means_runs_by_hand_only(sub: Subscription, clock: FixedClock, actor: Actor) -> None:
    billing_settings_update(actor=actor, scheduled_run="off")
    before = charges()
    at(clock, D(2026, 12, 1), hour_utc=12)
    tick_all()
    assert charges() == before and not BillingRun.objects.exists()


@pytest.mark.parametrize("mode", [RunMode.SANDBOX, RunMode.CONFIRM, RunMode.AUTO])
def test_a_run_applies_the_scheduled_changes_due_before_pricing(mode: str, sub: Subscription, clock: FixedClock,
                                                                 actor: Actor) -> None:
    at(clock, D(2026, 11, 20))
    subscription_change_plan(actor=actor, subscription=sub, plan="basic")  # a downgrade: on 1 December
    at(clock, D(2026, 12, 1))
    preview = subscription_bill_due(actor=actor, subscription=sub, preview=True)
    run = billing_run_execute(actor=actor, run=billing_run_create(actor=actor, billing_date=D(2026, 12, 1),
                                                                  mode=mode))
    if mode == RunMode.CONFIRM:
        run = billing_run_confirm(actor=actor, run=run, fingerprint=run_fingerprint(run))
    item = RunItem.objects.get(run=run)
    assert [(i["plan"], i["component"], i["amount"]) for i in item.items] == [
        ("basic", "base", "1000.00"), ("basic", "seats", "300.00")]
    assert [(i["component"], i["amount"]) for i in preview.items] == [("base", "1000.00"), ("seats", "300.00")]
    sub.refresh_from_db()
    assert sub.plan.code == ("pro" if mode == RunMode.SANDBOX else "basic")
    if mode != RunMode.SANDBOX:
        posted: Any = [a for _, a in charges()][-2:]
        assert posted == [100000, 30000]
