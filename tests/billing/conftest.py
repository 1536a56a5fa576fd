"""A small book of subscriptions for the billing-run tests: three clients (one tagged ``vip``), two
plans, four subscriptions started on 2026-10-10 / 2026-11-01, the clock on 2026-11-25."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.utils import translation

from kopeck.clients.models import Client, Tag
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.subscriptions.models import Subscription
from kopeck.subscriptions.services import subscription_create
from tests.subscriptions.helpers import at, make_client, make_plan

D = dt.date
TODAY = D(2026, 11, 25)


@dataclass
class Book:
    clients: list[Client]
    subs: list[Subscription]


@pytest.fixture
def book(clock: FixedClock, actor: Actor, db: object) -> Book:
    at(clock, D(2026, 10, 10))
    make_plan(actor, clock, "pro")
    make_plan(actor, clock, "lite", base="490.00", seat="100.00")
    c1, c2, c3 = make_client(), make_client(), make_client()
    c2.tags.add(Tag.objects.create(name="vip"))
    subs = [subscription_create(actor=actor, client=c1, plan="pro", quantity=2),
            subscription_create(actor=actor, client=c2, plan="lite")]
    at(clock, D(2026, 11, 1))
    subs += [subscription_create(actor=actor, client=c3, plan="pro", anchor_kind="calendar", billing_day=1),
             subscription_create(actor=actor, client=c1, plan="lite", quantity=3)]
    at(clock, TODAY)
    return Book([c1, c2, c3], subs)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The tests of this area run in English unless a test asks for Russian (the refusal messages are
    translated, and the installation's default language, KOPECK_LANGUAGE, is Russian)."""
    with translation.override("en"):
        yield


@pytest.fixture
def installation_language() -> Iterator[None]:
    """For a test of what the installation's default language (KOPECK_LANGUAGE, ru) gives."""
    with translation.override(settings.LANGUAGE_CODE):
        yield
