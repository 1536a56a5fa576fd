"""Billing of due periods through the services, driven by the fixed clock. Every posted amount is
hand-computed in a comment; re-running on the same date posts nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from kopeck.common.actor import Actor
from kopeck.configuration.services import billing_settings_update
from kopeck.core.clock import FixedClock
from kopeck.core.subscriptions import Status
from kopeck.ledger.models import JournalTransaction
from kopeck.subscriptions.models import BilledPeriod, SubscriptionStatus
from kopeck.subscriptions.services import (
    subscription_bill_due,
    subscription_create,
    subscriptions_bill_due_all,
)
from tests.subscriptions.helpers import at, bill_all, billed, make_client, make_plan, posted

pytestmark = pytest.mark.django_db
D = dt.date


def bill(actor: Actor, sub: object) -> list[str]:
    result = subscription_bill_due(actor=actor, subscription=sub)  # type: ignore[arg-type]
    return [i["amount"] for i in result.items]


@pytest.mark.parametrize(("year", "feb_end"), [(2028, D(2028, 2, 29)), (2027, D(2027, 2, 28))])
def test_jan_31_monthly_through_february(clock: FixedClock, actor: Actor, year: int, feb_end: dt.date) -> None:
    at(clock, D(year, 1, 31))
    plan = make_plan(actor, clock)
    sub = subscription_create(actor=actor, client=make_client(), plan=plan.code, quantity=2)
    assert sub.status == SubscriptionStatus.ACTIVE
    assert bill(actor, sub) == ["1490.00", "600.00"]  # base; 2 seats × 300
    assert bill(actor, sub) == []  # re-run: nothing
    at(clock, feb_end - dt.timedelta(days=1))
    assert bill(actor, sub) == []
    at(clock, feb_end)  # Feb 29 in 2028, Feb 28 in 2027: the period Jan 31 – Feb 28/29 is full
    assert bill(actor, sub) == ["1490.00", "600.00"]
    at(clock, D(year, 3, 30))
    assert bill(actor, sub) == []
    at(clock, D(year, 3, 31))  # back on the 31st, no drift to the 28th/29th
    assert bill(actor, sub) == ["1490.00", "600.00"]
    assert [b[1] for b in billed(sub) if b[0] == "base"] == [f"{year}-01-31", feb_end.isoformat(), f"{year}-03-31"]
    assert posted() == [("charge", "1490.00"), ("charge", "600.00")] * 3
    assert JournalTransaction.objects.get(amount_minor=149000, recorded_at__date=feb_end).vat_rate == "22"


def test_calendar_billing_day_31(clock: FixedClock, actor: Actor) -> None:
    at(clock, D(2027, 2, 10))
    make_plan(actor, clock)
    sub = subscription_create(actor=actor, client=make_client(), plan="pro", anchor_kind="calendar", billing_day=31)
    # stub Feb 10 – Feb 27 = 18 days of [Jan 31, Feb 28) = 28 days:
    # 1490 × 18/28 = 957.857… → 957.86; 300 × 18/28 = 192.857… → 192.86
    assert bill(actor, sub) == ["957.86", "192.86"]
    at(clock, D(2027, 2, 28))  # day 31 in February = the 28th
    assert bill(actor, sub) == ["1490.00", "300.00"]
    at(clock, D(2027, 3, 31))
    assert bill(actor, sub) == ["1490.00", "300.00"]
    at(clock, D(2027, 4, 30))  # April has 30 days
    assert bill(actor, sub) == ["1490.00", "300.00"]
    assert bill(actor, sub) == []
    explanation = BilledPeriod.objects.get(subscription=sub, component="base", period_start=D(2027, 2, 10)).explanation
    assert "18 / 28" in explanation["formula"] and explanation["ru"] and explanation["en"]


def test_trial_ending_mid_period(clock: FixedClock, actor: Actor) -> None:
    at(clock, D(2027, 1, 1))
    make_plan(actor, clock, trial={"days": 14})
    sub = subscription_create(actor=actor, client=make_client(), plan="pro", anchor_kind="calendar", billing_day=1)
    assert (sub.status, sub.trial_end) == (SubscriptionStatus.TRIAL, D(2027, 1, 15))
    assert bill(actor, sub) == []
    at(clock, D(2027, 1, 14))
    assert bill(actor, sub) == []
    at(clock, D(2027, 1, 15))
    # paid from Jan 15: 17 of January's 31 days: 1490 × 17/31 = 817.096… → 817.10; 300 × 17/31 = 164.516… → 164.52
    assert bill(actor, sub) == ["817.10", "164.52"]
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.ACTIVE
    at(clock, D(2027, 2, 1))
    assert bill(actor, sub) == ["1490.00", "300.00"]


def test_backdated_start_bills_every_period_once(clock: FixedClock, actor: Actor) -> None:
    at(clock, D(2027, 4, 15))
    make_plan(actor, clock, traffic=True)
    sub = subscription_create(actor=actor, client=make_client(), plan="pro", start_date=D(2027, 1, 15))
    result = subscription_bill_due(actor=actor, subscription=sub)
    # 4 periods (Jan 15, Feb 15, Mar 15, Apr 15) × (1490 + 300); traffic of 3 closed periods: no usage → 0.00
    assert posted() == [("charge", "1490.00"), ("charge", "300.00")] * 4
    assert sorted(i["amount"] for i in result.items).count("0.00") == 3
    assert BilledPeriod.objects.filter(subscription=sub).count() == 11
    again = subscription_bill_due(actor=actor, subscription=sub)
    assert (again.items, again.transaction_ids) == ([], [])
    assert BilledPeriod.objects.filter(subscription=sub).count() == 11


def test_future_start_is_pending_until_its_day(clock: FixedClock, actor: Actor) -> None:
    at(clock, D(2027, 1, 10))
    make_plan(actor, clock)
    sub = subscription_create(actor=actor, client=make_client(), plan="pro", start_date=D(2027, 1, 20))
    assert sub.status == SubscriptionStatus.PENDING
    assert bill(actor, sub) == []
    at(clock, D(2027, 1, 20))
    assert subscriptions_bill_due_all(actor=actor)["transactions"] == 2
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.ACTIVE


def test_provider_zone_with_daylight_saving(clock: FixedClock, actor: Actor) -> None:
    at(clock, D(2027, 2, 14), hour_utc=17)  # 12:00 in New York (EST, UTC−5)
    billing_settings_update(actor=actor, time_zone="America/New_York")
    make_plan(actor, clock)
    sub = subscription_create(actor=actor, client=make_client(), plan="pro")
    assert sub.start_date == D(2027, 2, 14)
    assert bill(actor, sub) == ["1490.00", "300.00"]
    # DST starts on 2027-03-14 at 02:00 local. 04:30 UTC is still March 13, 23:30 EST: not due yet
    clock.set(dt.datetime(2027, 3, 14, 4, 30, tzinfo=dt.UTC))
    assert bill_all()["transactions"] == 0
    # 05:30 UTC = March 14, 00:30 EST: the local date is the 14th, the period starts
    clock.set(dt.datetime(2027, 3, 14, 5, 30, tzinfo=dt.UTC))
    assert bill_all()["transactions"] == 2
    # April 14 02:00 UTC is still April 13 (22:00 EDT, UTC−4): the UTC date does not count
    clock.set(dt.datetime(2027, 4, 14, 2, 0, tzinfo=dt.UTC))
    assert bill_all()["transactions"] == 0
    clock.set(dt.datetime(2027, 4, 14, 4, 0, tzinfo=dt.UTC))  # 00:00 EDT on April 14
    assert bill_all()["transactions"] == 2
    assert bill_all()["transactions"] == 0
    assert [b[1] for b in billed(sub) if b[0] == "base"] == ["2027-02-14", "2027-03-14", "2027-04-14"]


def test_discount_and_fixed_price(clock: FixedClock, actor: Actor) -> None:
    at(clock, D(2027, 1, 1))
    make_plan(actor, clock)
    client = make_client()
    sub = subscription_create(actor=actor, client=client, plan="pro", quantity=3, discount_percent="10")
    # base 1490 − 149.00 = 1341.00; seats 900 − 90.00 = 810.00 (the discount is its own line)
    assert bill(actor, sub) == ["1341.00", "810.00"]
    lines = BilledPeriod.objects.get(subscription=sub, component="base").explanation["lines"]
    assert [ln["amount"] for ln in lines] == ["1490.00", "-149.00"]
    fixed = subscription_create(actor=actor, client=client, plan="pro", quantity=3, fixed_price="2000.00")
    assert bill(actor, fixed) == ["2000.00"]


def test_billing_future_date_is_refused(clock: FixedClock, actor: Actor) -> None:
    from kopeck.common.errors import ValidationFailed

    at(clock, D(2027, 1, 1))
    make_plan(actor, clock)
    sub = subscription_create(actor=actor, client=make_client(), plan="pro")
    with pytest.raises(ValidationFailed) as info:
        subscription_bill_due(actor=actor, subscription=sub, on=D(2027, 1, 2))
    assert "on" in info.value.errors


def test_the_statuses_are_the_cores() -> None:
    assert set(SubscriptionStatus.values) == {s.value for s in Status}
