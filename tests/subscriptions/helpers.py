"""Helpers of the subscription tests: plans published long ago, the clock on a provider-local day,
amounts posted to the ledger, and a snapshot of everything the services write."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kopeck.audit.models import AuditEntry
from kopeck.catalog import services as catalog
from kopeck.catalog.models import Plan, PlanVersion, Product
from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.ledger.models import JournalTransaction
from kopeck.subscriptions.models import BilledPeriod, ScheduledChange, Subscription, TimelineEntry
from tests.factories import ClientFactory

LONG_AGO = dt.datetime(2020, 1, 1, 9, 0, tzinfo=dt.UTC)


def at(clock: FixedClock, day: dt.date, hour_utc: int = 9) -> dt.date:
    """Move the clock to ``day`` 09:00 UTC (12:00 in Moscow, the default provider zone)."""
    clock.set(dt.datetime(day.year, day.month, day.day, hour_utc, 0, tzinfo=dt.UTC))
    return day


def plan_spec(code: str, base: str = "1490.00", seat: str = "300.00", *, trial: dict[str, int] | None = None,
              traffic: bool = False, unit: str = "month", currencies: tuple[str, ...] = ("RUB",)) -> dict[str, Any]:
    def prices(amount: str) -> dict[str, Any]:
        return {cur: {"model": "standard", "unit_price": amount} for cur in currencies}

    comps: list[dict[str, Any]] = [
        {"code": "base", "name": "Абонентская плата", "kind": "fixed", "billing": "in_advance",
         "prices": prices(base)},
        {"code": "seats", "name": "Места", "kind": "per_unit", "billing": "in_advance", "prices": prices(seat)},
    ]
    if traffic:
        comps.append({"code": "traffic", "name": "Трафик", "kind": "metered", "billing": "in_arrears",
                      "prices": prices("2.00")})
    return {"code": code, "name": code.upper(), "billing_period": {"unit": unit, "count": 1},
            "currencies": list(currencies), "trial": trial, "components": comps}


_products: dict[str, Product] = {}


def make_plan(actor: Actor, clock: FixedClock, code: str = "pro", base: str = "1490.00", seat: str = "300.00",
              **kwargs: Any) -> Plan:
    """A plan whose first version is in force since 2020-01-01 (published with the clock moved back)."""
    saved = clock.now()
    clock.set(LONG_AGO)
    try:
        product = Product.objects.filter(code="vps").first() or catalog.product_create(
            actor=actor, code="vps", name_ru="Виртуальный сервер", name_en="Virtual server")
        plan = catalog.plan_create(actor=actor, product=product, code=code, name_ru=code, name_en=code)
        version = catalog.plan_version_create(actor=actor, plan=plan, spec=plan_spec(code, base, seat, **kwargs))
        catalog.plan_version_publish(actor=actor, version=version, effective_from=LONG_AGO.date())
    finally:
        clock.set(saved)
    return plan


def make_client() -> Client:
    return ClientFactory()


def posted(**filters: Any) -> list[tuple[str, str]]:
    """(operation, amount) of the ledger transactions, in order."""
    return [(t.operation, f"{t.amount_minor / 100:.2f}")
            for t in JournalTransaction.objects.filter(**filters).order_by("id")]


def counts() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (JournalTransaction, BilledPeriod, TimelineEntry, AuditEntry,
                                                    Subscription, ScheduledChange, PlanVersion)}


def billed(sub: Subscription) -> list[tuple[str, str, str, str]]:
    return [(b.component, b.period_start.isoformat(), b.period_end.isoformat(), f"{b.amount_minor / 100:.2f}")
            for b in BilledPeriod.objects.filter(subscription=sub).order_by("period_start", "component", "id")]


def item_amounts(items: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    return [(i["kind"], i["component"], i["amount"]) for i in items]


def bill_all(on: dt.date | None = None) -> dict[str, Any]:
    """Bill every subscription up to ``on`` one by one (what takes effect first), as scripts do."""
    from kopeck.subscriptions.services import subscriptions_bill_due_all

    return subscriptions_bill_due_all(actor=Actor.system("tests"), on=on)
