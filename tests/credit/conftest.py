"""A postpaid client of a VPS provider: plan "basic" 1000.00 + one seat 300.00 a month from
2026-11-01 (November billed by hand and paid), invoiced by the daily billing run, the default
dunning ladder (remind +1, warn +5, block the client +10 days after the due date; invoices due in 5
days)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import translation

from kopeck.cli.scheduler import run_task
from kopeck.clients.models import Client, Contact, ContactKind
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.credit.services import credit_check
from kopeck.ledger.services import ledger_operation_post
from kopeck.outbox.models import OutboxMessage
from kopeck.subscriptions.models import Subscription
from kopeck.subscriptions.services import subscription_bill_due, subscription_create
from tests.documents.conftest import entity  # noqa: F401 — the provider's legal entity, as a fixture
from tests.subscriptions.helpers import at, make_client, make_plan

D = dt.date


@dataclass
class World:
    client: Client
    sub: Subscription
    clock: FixedClock
    actor: Actor

    def day(self, day: dt.date, hour_utc: int = 9) -> dt.date:
        return at(self.clock, day, hour_utc)

    def check(self, day: dt.date | None = None, hours: Iterable[int] = (9,)) -> dict[str, int]:
        """The credit check at each hour of ``day`` (UTC); the last tally."""
        tally: dict[str, int] = {}
        for hour in hours:
            if day is not None:
                self.day(day, hour)
            tally = credit_check()
        return tally

    def pay(self, amount: str) -> None:
        ledger_operation_post(actor=self.actor, client=self.client, operation="payment", amount=Decimal(amount),
                              reason="Оплата по счёту")

    def daily_run(self, day: dt.date) -> None:
        self.day(day, 0)  # 03:00 in Moscow: after the daily run's time
        run_task("kopeck.billing.daily_run")


def notices(client: Client) -> list[str]:
    """The subjects of the credit notices queued for the client, in order."""
    return [m.payload["subject"] for m in OutboxMessage.objects.filter(key__startswith="credit-").order_by("id")
            if client.name in m.payload["body"]]


@pytest.fixture
def world(clock: FixedClock, actor: Actor, request: pytest.FixtureRequest) -> World:
    request.getfixturevalue("entity")
    at(clock, D(2026, 11, 1))
    make_plan(actor, clock, "basic", base="1000.00", seat="300.00")
    client = make_client()
    Contact.objects.create(client=client, kind=ContactKind.EMAIL, value="buh@client.example")
    sub = subscription_create(actor=actor, client=client, plan="basic")
    subscription_bill_due(actor=actor, subscription=sub)  # November, by hand, no invoice
    w = World(client, sub, clock, actor)
    w.pay("1300.00")
    return w


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
