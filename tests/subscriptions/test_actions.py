"""Actions through the services: preview equals what apply posts, scheduled changes, idempotency,
refusals that write nothing. Amounts hand-computed in comments."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command

from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, KopeckError, ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.subscriptions import services as s
from kopeck.subscriptions.models import (
    ScheduledChange,
    ScheduledChangeStatus,
    Subscription,
    SubscriptionStatus,
)
from tests.subscriptions.helpers import (
    at,
    bill_all,
    billed,
    counts,
    item_amounts,
    make_client,
    make_plan,
    posted,
)

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def plans(clock: FixedClock, actor: Actor) -> None:
    at(clock, D(2027, 1, 1))
    make_plan(actor, clock, "mini", base="500.00")
    make_plan(actor, clock, "basic", base="1000.00")
    make_plan(actor, clock, "pro", base="3100.00")


def start(actor: Actor, plan: str = "basic", **kwargs: Any) -> Subscription:
    sub = s.subscription_create(actor=actor, client=make_client(), plan=plan, **kwargs)
    s.subscription_bill_due(actor=actor, subscription=sub)
    return sub


def both(call: Callable[..., s.ActionResult], **kwargs: Any) -> s.ActionResult:
    """Preview, then apply: the applied items must be exactly the previewed ones."""
    preview = call(preview=True, **kwargs)
    applied = call(preview=False, **kwargs)
    assert applied.items == preview.items
    assert applied.effective_date == preview.effective_date
    return applied


def test_upgrade_on_the_last_day_of_a_period(clock: FixedClock, actor: Actor, plans: None) -> None:
    sub = start(actor, "basic")  # Jan 1: 1000 + 300
    at(clock, D(2027, 1, 31))
    before = len(posted())
    result = both(s.subscription_change_plan, actor=actor, subscription=sub, plan="pro")
    # 1 unused day of 31: credit 1000 × 1/31 = 32.258… → 32.26; new base 3100 × 1/31 = 100.00;
    # seats unchanged (same price and quantity): carried over
    assert result.action == "upgrade"
    assert item_amounts(result.items) == [("credit", "base", "32.26"), ("charge", "base", "100.00")]
    assert posted()[before:] == [("correction_credit", "32.26"), ("charge", "100.00")]
    assert len(result.transaction_ids) == 2
    sub.refresh_from_db()
    assert (sub.plan.code, sub.billing_from) == ("pro", D(2027, 1, 31))
    at(clock, D(2027, 2, 1))
    assert [i["amount"] for i in s.subscription_bill_due(actor=actor, subscription=sub).items] == ["3100.00", "300.00"]


def test_downgrade_scheduled_replaced_then_applied_at_period_end(clock: FixedClock, actor: Actor,
                                                                  plans: None) -> None:
    sub = start(actor, "pro")  # Jan 1: 3100 + 300
    at(clock, D(2027, 1, 10))
    first = both(s.subscription_change_plan, actor=actor, subscription=sub, plan="basic")
    assert (first.action, first.items, first.effective_date) == ("downgrade", [], D(2027, 2, 1))
    at(clock, D(2027, 1, 20))
    second = s.subscription_change_plan(actor=actor, subscription=sub, plan="mini")
    changes = list(ScheduledChange.objects.filter(subscription=sub).order_by("id").values_list("status", flat=True))
    assert changes == [ScheduledChangeStatus.REPLACED, ScheduledChangeStatus.PENDING]
    assert posted() == [("charge", "3100.00"), ("charge", "300.00")]  # no money at scheduling
    at(clock, D(2027, 2, 1))
    bill_all()
    assert ScheduledChange.objects.get(pk=second.scheduled_change_id).status == ScheduledChangeStatus.APPLIED
    # the old period ended on Feb 1: nothing to credit; February on mini: 500 + 300
    assert posted()[2:] == [("charge", "500.00"), ("charge", "300.00")]
    sub.refresh_from_db()
    assert sub.plan.code == "mini"
    assert bill_all()["transactions"] == 0


def test_immediate_downgrade_with_credit(clock: FixedClock, actor: Actor, plans: None) -> None:
    sub = start(actor, "pro")
    at(clock, D(2027, 1, 22))
    result = both(s.subscription_change_plan, actor=actor, subscription=sub, plan="basic", timing="immediate")
    # 10 of 31 days: credit 3100 × 10/31 = 1000.00; charge 1000 × 10/31 = 322.580… → 322.58
    assert item_amounts(result.items) == [("credit", "base", "1000.00"), ("charge", "base", "322.58")]


def test_cancel_at_period_end_then_undone(clock: FixedClock, actor: Actor, plans: None) -> None:
    sub = start(actor, "basic")
    at(clock, D(2027, 1, 15))
    result = both(s.subscription_cancel, actor=actor, subscription=sub, at_period_end=True)
    assert (result.items, result.effective_date, result.status) == ([], D(2027, 2, 1), "cancelling")
    sub.refresh_from_db()
    assert (sub.status, sub.end_date) == (SubscriptionStatus.CANCELLING, D(2027, 2, 1))
    at(clock, D(2027, 1, 20))
    s.subscription_uncancel(actor=actor, subscription=sub)
    sub.refresh_from_db()
    assert (sub.status, sub.end_date) == (SubscriptionStatus.ACTIVE, None)
    assert ScheduledChange.objects.get(subscription=sub).status == ScheduledChangeStatus.CANCELLED
    at(clock, D(2027, 2, 1))
    bill_all()
    assert posted()[2:] == [("charge", "1000.00"), ("charge", "300.00")]


def test_cancel_at_period_end_takes_effect(clock: FixedClock, actor: Actor, plans: None) -> None:
    sub = start(actor, "basic")
    at(clock, D(2027, 1, 15))
    s.subscription_cancel(actor=actor, subscription=sub)
    at(clock, D(2027, 2, 3))  # the job missed a few days: the change still applies on Feb 1
    bill_all()
    sub.refresh_from_db()
    assert (sub.status, sub.end_date) == (SubscriptionStatus.ENDED, D(2027, 2, 1))
    assert posted() == [("charge", "1000.00"), ("charge", "300.00")]


def test_immediate_cancellation_credits_unused_days(clock: FixedClock, actor: Actor, plans: None) -> None:
    sub = start(actor, "basic")
    at(clock, D(2027, 1, 22))
    result = both(s.subscription_cancel, actor=actor, subscription=sub, at_period_end=False)
    # 10 of 31 days unused: 1000 × 10/31 = 322.580… → 322.58; 300 × 10/31 = 96.774… → 96.77
    assert item_amounts(result.items) == [("credit", "base", "322.58"), ("credit", "seats", "96.77")]
    sub.refresh_from_db()
    assert (sub.status, sub.end_date) == (SubscriptionStatus.ENDED, D(2027, 1, 22))
    assert bill_all()["transactions"] == 0


def test_quantity_change_prorated_and_idempotency_key(clock: FixedClock, actor: Actor, plans: None) -> None:
    sub = start(actor, "basic")
    at(clock, D(2027, 1, 11))
    preview = s.subscription_change_quantity(actor=actor, subscription=sub, quantity=3, preview=True)
    first = s.subscription_change_quantity(actor=actor, subscription=sub, quantity=3, idempotency_key="k1")
    # 21 of 31 days left: credit 300 × 21/31 = 203.225… → 203.23; charge 900 × 21/31 = 609.677… → 609.68
    assert first.items == preview.items
    assert item_amounts(first.items) == [("credit", "seats", "203.23"), ("charge", "seats", "609.68")]
    n = len(posted())
    again = s.subscription_change_quantity(actor=actor, subscription=sub, quantity=3, idempotency_key="k1")
    assert again.as_dict() == first.as_dict()
    assert len(posted()) == n
    with pytest.raises(Conflict):  # without the key: nothing left to change, nothing posted
        s.subscription_change_quantity(actor=actor, subscription=sub, quantity=3)
    assert len(posted()) == n
    at(clock, D(2027, 2, 1))
    assert [i["amount"] for i in s.subscription_bill_due(actor=actor, subscription=sub).items] == ["1000.00", "900.00"]


def test_same_day_changes_rebill_the_same_piece(clock: FixedClock, actor: Actor, plans: None) -> None:
    sub = start(actor, "basic")
    at(clock, D(2027, 1, 11))
    s.subscription_change_quantity(actor=actor, subscription=sub, quantity=3)
    second = s.subscription_change_quantity(actor=actor, subscription=sub, quantity=2)
    # the piece [Jan 11, Feb 1) billed 609.68 is credited in full; 600 × 21/31 = 406.451… → 406.45
    assert item_amounts(second.items) == [("credit", "seats", "609.68"), ("charge", "seats", "406.45")]
    assert ("seats", "2027-01-11", "2027-02-01", "406.45") in billed(sub)


def test_billing_day_change_at_period_end(clock: FixedClock, actor: Actor, plans: None) -> None:
    at(clock, D(2027, 1, 10))
    sub = start(actor, "basic")  # anniversary on the 10th
    at(clock, D(2027, 1, 20))
    result = both(s.subscription_change_billing_day, actor=actor, subscription=sub, billing_day=1)
    assert (result.items, result.effective_date) == ([], D(2027, 2, 10))
    at(clock, D(2027, 2, 10))
    bill_all()
    # bridge [Feb 10, Mar 1) = 19 of February's 28 days: 1000 × 19/28 = 678.571… → 678.57; 300 × 19/28 = 203.57
    assert posted()[2:] == [("charge", "678.57"), ("charge", "203.57")]
    at(clock, D(2027, 3, 1))
    bill_all()
    assert posted()[4:] == [("charge", "1000.00"), ("charge", "300.00")]


def test_suspend_with_billing_paused_and_resume(clock: FixedClock, actor: Actor, plans: None) -> None:
    sub = start(actor, "basic")
    at(clock, D(2027, 1, 22))
    paused = both(s.subscription_suspend, actor=actor, subscription=sub, billing_continues=False)
    assert item_amounts(paused.items) == [("credit", "base", "322.58"), ("credit", "seats", "96.77")]
    at(clock, D(2027, 2, 1))
    assert bill_all()["transactions"] == 0  # paused
    at(clock, D(2027, 2, 15))
    resumed = both(s.subscription_resume, actor=actor, subscription=sub)
    # [Feb 15, Mar 1) = 14 of 28 days: 500.00 and 150.00
    assert item_amounts(resumed.items) == [("charge", "base", "500.00"), ("charge", "seats", "150.00")]
    sub.refresh_from_db()
    assert (sub.status, sub.billing_paused) == (SubscriptionStatus.ACTIVE, False)


def test_suspend_with_billing_continuing_posts_nothing(clock: FixedClock, actor: Actor, plans: None) -> None:
    sub = start(actor, "basic")
    at(clock, D(2027, 1, 22))
    assert both(s.subscription_suspend, actor=actor, subscription=sub, billing_continues=True).items == []
    at(clock, D(2027, 2, 1))
    assert bill_all()["transactions"] == 2


def refused(exc: type[KopeckError], call: Callable[[], Any]) -> KopeckError:
    before = counts()
    with pytest.raises(exc) as info:
        call()
    assert counts() == before
    return info.value


def test_refusals_write_nothing(clock: FixedClock, actor: Actor, plans: None) -> None:
    client = make_client()
    assert "plan" in refused(ValidationFailed, lambda: s.subscription_create(
        actor=actor, client=client, plan="nope")).errors
    assert "quantity" in refused(ValidationFailed, lambda: s.subscription_create(
        actor=actor, client=client, plan="basic", quantity=0)).errors
    assert "currency" in refused(ValidationFailed, lambda: s.subscription_create(
        actor=actor, client=client, plan="basic", currency="USD")).errors
    assert "billing_day" in refused(ValidationFailed, lambda: s.subscription_create(
        actor=actor, client=client, plan="basic", anchor_kind="calendar", billing_day=32)).errors
    sub = start(actor, "basic")
    assert "quantity" in refused(ValidationFailed, lambda: s.subscription_change_quantity(
        actor=actor, subscription=sub, quantity=0)).errors
    assert "plan" in refused(ValidationFailed, lambda: s.subscription_change_plan(
        actor=actor, subscription=sub, plan="nope")).errors
    assert "status" in refused(Conflict, lambda: s.subscription_uncancel(actor=actor, subscription=sub)).errors
    assert "status" in refused(Conflict, lambda: s.subscription_resume(actor=actor, subscription=sub)).errors
    s.subscription_cancel(actor=actor, subscription=sub, at_period_end=False)
    sub.refresh_from_db()
    for call in (lambda: s.subscription_cancel(actor=actor, subscription=sub, at_period_end=False),
                 lambda: s.subscription_change_plan(actor=actor, subscription=sub, plan="pro"),
                 lambda: s.subscription_change_quantity(actor=actor, subscription=sub, quantity=2),
                 lambda: s.subscription_suspend(actor=actor, subscription=sub)):
        assert "status" in refused(Conflict, call).errors


def test_plan_without_the_currency_is_refused(clock: FixedClock, actor: Actor, plans: None) -> None:
    from tests.factories import ClientFactory

    make_plan(actor, clock, "usd-only", currencies=("USD",))
    client = ClientFactory(currency="USD")
    sub = s.subscription_create(actor=actor, client=client, plan="usd-only")
    err = refused(ValidationFailed, lambda: s.subscription_change_plan(actor=actor, subscription=sub, plan="pro"))
    assert "currency" in err.errors


def test_tick_command_runs_the_daily_billing_run(clock: FixedClock, actor: Actor, plans: None) -> None:
    sub = start(actor, "basic")
    at(clock, D(2027, 2, 1))
    out = StringIO()
    call_command("tick", stdout=out)
    assert '"kopeck.billing.daily_run": {' in out.getvalue()
    call_command("tick", stdout=StringIO())  # once per billing date
    assert len(posted()) == 4
    assert billed(sub)[-1][1] == "2027-02-01"


def test_celery_beat_runs_the_daily_billing_run(clock: FixedClock, actor: Actor, plans: None) -> None:
    from kopeck.billing.tasks import daily_run
    from kopeck.celery import app

    start(actor, "basic")
    at(clock, D(2027, 2, 1))
    assert "kopeck.billing.daily_run" in app.conf.beat_schedule
    assert "kopeck.subscriptions.run_due" not in app.conf.beat_schedule  # no other biller
    assert daily_run.apply().get()["status"] == "completed"
    assert len(posted()) == 4


def test_cancel_twice_with_the_same_key_replays(clock: FixedClock, actor: Actor, plans: None) -> None:
    sub = start(actor, "basic")
    at(clock, D(2027, 1, 22))
    first = s.subscription_cancel(actor=actor, subscription=sub, at_period_end=False, idempotency_key="c1")
    before = counts()
    again = s.subscription_cancel(actor=actor, subscription=sub, at_period_end=False, idempotency_key="c1")
    assert again.as_dict() == first.as_dict()
    assert counts() == before
    assert "idempotency_key" in refused(Conflict, lambda: s.subscription_uncancel(
        actor=actor, subscription=sub, idempotency_key="c1")).errors


def test_suspend_paused_and_resume_on_a_pieces_first_day(clock: FixedClock, actor: Actor, plans: None) -> None:
    """A piece credited back from its first day no longer counts as billed: resuming on that day charges it
    again. With ``BilledSlot.counts`` as ``>=`` instead of ``>`` the month was credited and nothing charged."""
    from kopeck.ledger.selectors import client_balance

    sub = start(actor, "basic")  # January: 1000.00 + 300.00
    at(clock, D(2027, 2, 1))
    bill_all()  # February: 1000.00 + 300.00
    assert client_balance(sub.client).to_str() == "-2600.00"
    paused = both(s.subscription_suspend, actor=actor, subscription=sub, billing_continues=False)
    # the whole February piece back: [Feb 1, Mar 1) is all of it
    assert item_amounts(paused.items) == [("credit", "base", "1000.00"), ("credit", "seats", "300.00")]
    assert client_balance(sub.client).to_str() == "-1300.00"
    resumed = both(s.subscription_resume, actor=actor, subscription=sub)
    assert item_amounts(resumed.items) == [("charge", "base", "1000.00"), ("charge", "seats", "300.00")]
    assert client_balance(sub.client).to_str() == "-2600.00"  # February paid for once
    at(clock, D(2027, 2, 20))
    assert bill_all()["transactions"] == 0  # and not billed again
    assert client_balance(sub.client).to_str() == "-2600.00"
