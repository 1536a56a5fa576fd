"""The six actions share one skeleton: the idempotency key is checked before the lock and again
under it, before the status (a request with the same key that committed while this one waited for
the lock is replayed, never refused or applied twice)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.subscriptions import services as s
from kopeck.subscriptions.models import Subscription, TimelineEntry
from kopeck.subscriptions.services import actions
from tests.subscriptions.helpers import at, counts, make_client, make_plan

pytestmark = pytest.mark.django_db
D = dt.date



def _race(monkeypatch: pytest.MonkeyPatch, call: Callable[[], s.ActionResult]) -> None:
    """Make the same request commit "meanwhile": the first time an action takes the lock, the
    request runs once more in full first (as another worker that got the lock earlier would)."""
    real = actions.lock
    raced: list[bool] = []

    def lock(sub: Subscription) -> Subscription:
        if not raced:
            raced.append(True)
            call()
        return real(sub)

    monkeypatch.setattr(actions, "lock", lock)


@pytest.fixture
def sub(clock: FixedClock, actor: Actor) -> Subscription:
    at(clock, D(2027, 1, 1))
    make_plan(actor, clock, "basic", base="1000.00")
    make_plan(actor, clock, "pro", base="3100.00")
    created = s.subscription_create(actor=actor, client=make_client(), plan="basic")
    s.subscription_bill_due(actor=actor, subscription=created)
    at(clock, D(2027, 1, 11))
    return created


def _prepare_cancelling(actor: Actor, sub: Subscription) -> None:
    s.subscription_cancel(actor=actor, subscription=sub, at_period_end=True)


def _prepare_suspended(actor: Actor, sub: Subscription) -> None:
    s.subscription_suspend(actor=actor, subscription=sub)


ACTIONS: dict[str, tuple[Callable[[Actor, Subscription], None] | None, Callable[..., s.ActionResult],
                         dict[str, Any]]] = {
    "change_plan": (None, s.subscription_change_plan, {"plan": "pro"}),
    "change_quantity": (None, s.subscription_change_quantity, {"quantity": 3}),
    "cancel": (None, s.subscription_cancel, {"at_period_end": False}),
    "uncancel": (_prepare_cancelling, s.subscription_uncancel, {}),
    "change_billing_day": (None, s.subscription_change_billing_day, {"billing_day": 15, "at_period_end": False}),
    "suspend": (None, s.subscription_suspend, {}),
    "resume": (_prepare_suspended, s.subscription_resume, {}),
}


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_a_request_that_committed_while_waiting_for_the_lock_is_replayed(
        name: str, monkeypatch: pytest.MonkeyPatch, actor: Actor, sub: Subscription) -> None:
    prepare, action, kwargs = ACTIONS[name]
    if prepare is not None:
        prepare(actor, sub)

    def request() -> s.ActionResult:
        return action(actor=actor, subscription=sub, idempotency_key="same-key", **kwargs)

    _race(monkeypatch, request)
    before = counts()
    result = request()  # the other request commits first, under the lock this one then replays it
    written = {k: counts()[k] - v for k, v in before.items()}
    monkeypatch.undo()
    again = request()
    assert again.as_dict() == result.as_dict()
    assert written == {k: counts()[k] - v for k, v in before.items()}  # the replay wrote nothing
    assert TimelineEntry.objects.filter(subscription=sub, data__idempotency_key="same-key").count() == 1
