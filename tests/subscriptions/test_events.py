"""Subscriptions record their events with the change: created, activated, plan and quantity changed,
cancelled, suspended, resumed, ended, trial ending."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict
from kopeck.core.clock import FixedClock
from kopeck.events.models import Event
from kopeck.subscriptions import services as s
from kopeck.subscriptions.events import subscriptions_trials_ending
from kopeck.subscriptions.tasks import trials_ending
from tests.subscriptions.helpers import at, make_client, make_plan

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def plans(clock: FixedClock, actor: Actor) -> None:
    at(clock, D(2027, 1, 1))
    make_plan(actor, clock, "basic", base="1000.00")
    make_plan(actor, clock, "pro", base="3100.00")
    make_plan(actor, clock, "trial", base="1000.00", trial={"days": 14})


def events(sub: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(e.type, {k: v for k, v in e.data.items() if k != "subscription"})
            for e in Event.objects.filter(subject_type="subscription", subject_id=sub.pk).order_by("id")]


def test_the_life_of_a_subscription(clock: FixedClock, actor: Actor, plans: None) -> None:
    sub = s.subscription_create(actor=actor, client=make_client(), plan="basic", start_date=D(2027, 1, 10))
    at(clock, D(2027, 1, 10))
    s.subscription_bill_due(actor=actor, subscription=sub)
    s.subscription_change_quantity(actor=actor, subscription=sub, quantity=3)
    s.subscription_change_plan(actor=actor, subscription=sub, plan="pro", timing="immediate")
    s.subscription_suspend(actor=actor, subscription=sub)
    s.subscription_resume(actor=actor, subscription=sub)
    s.subscription_cancel(actor=actor, subscription=sub, at_period_end=True)
    at(clock, D(2027, 2, 10))
    s.subscription_bill_due(actor=actor, subscription=sub)  # applies the cancellation due today
    assert events(sub) == [
        ("subscription.created", {}),
        ("subscription.activated", {"previous_status": "pending"}),
        ("subscription.quantity_changed", {"from_quantity": 1, "to_quantity": 3, "effective_date": "2027-01-10"}),
        ("subscription.plan_changed", {"from_plan": "basic", "from_version": 1, "to_plan": "pro", "to_version": 1,
                                       "effective_date": "2027-01-10"}),
        ("subscription.suspended", {"effective_date": "2027-01-10", "billing_continues": False}),
        ("subscription.resumed", {"effective_date": "2027-01-10"}),
        ("subscription.cancelled", {"effective_date": "2027-02-10", "at_period_end": True}),
        ("subscription.ended", {"end_date": "2027-02-10"}),
    ]
    last = Event.objects.filter(subject_id=sub.pk).latest("id")
    assert last.data["subscription"] == {
        "id": sub.pk, "client_id": sub.client_id, "plan": "pro", "plan_version": 1, "status": "ended",
        "quantity": 3, "currency": "RUB", "start_date": "2027-01-10", "end_date": "2027-02-10", "trial_end": None,
        "external_id": None}
    sequences = list(Event.objects.filter(client_id=sub.client_id).order_by("id").values_list("sequence", flat=True))
    assert sequences == list(range(1, len(sequences) + 1))


def test_created_active_is_activated_at_once_and_an_immediate_cancel_ends(clock: FixedClock, actor: Actor,
                                                                          plans: None) -> None:
    sub = s.subscription_create(actor=actor, client=make_client(), plan="basic")
    s.subscription_cancel(actor=actor, subscription=sub, at_period_end=False)
    assert [t for t, _ in events(sub)] == ["subscription.created", "subscription.activated",
                                           "subscription.cancelled", "subscription.ended"]
    assert events(sub)[2][1] == {"effective_date": "2027-01-01", "at_period_end": False}


def test_a_refused_action_records_no_event(clock: FixedClock, actor: Actor, plans: None) -> None:
    sub = s.subscription_create(actor=actor, client=make_client(), plan="basic")
    before = Event.objects.count()
    with pytest.raises(Conflict):
        s.subscription_resume(actor=actor, subscription=sub)
    s.subscription_suspend(actor=actor, subscription=sub, preview=True)
    assert Event.objects.count() == before


def test_trial_ending_fires_once_three_days_before(clock: FixedClock, actor: Actor, plans: None) -> None:
    sub = s.subscription_create(actor=actor, client=make_client(), plan="trial")
    assert sub.trial_end == D(2027, 1, 15)
    assert subscriptions_trials_ending(actor=actor, on=D(2027, 1, 11)) == 0
    at(clock, D(2027, 1, 12))
    assert trials_ending() == 1  # the hourly task
    assert trials_ending() == 0
    assert subscriptions_trials_ending(actor=actor, on=D(2027, 1, 13)) == 0
    [event] = [e for e in Event.objects.filter(type="subscription.trial_ending")]
    assert (event.data["trial_end"], event.data["days_left"]) == ("2027-01-15", 3)
    assert event.dedupe_key == f"subscription.trial_ending:{sub.pk}:2027-01-15"
    at(clock, D(2027, 1, 15))
    s.subscription_bill_due(actor=actor, subscription=sub)
    assert [t for t, _ in events(sub)][-1] == "subscription.activated"
