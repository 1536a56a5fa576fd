"""Billing many subscriptions at once (the path of billing runs) gives exactly what billing them one
by one gives: the same items, ledger transactions, billed periods, timeline and audit entries.

Every scenario is created twice, for twin clients A and B, with the same usage; A is billed with
``subscription_bill_due`` one subscription at a time, B with ``subscriptions_bill_batch`` in one
batch, and everything written is compared with the subscription and client ids taken out."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.db.models import Q

from kopeck.audit.models import AuditEntry
from kopeck.catalog import services as catalog
from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.ledger.models import JournalTransaction
from kopeck.subscriptions.batch import subscriptions_bill_batch
from kopeck.subscriptions.models import BilledPeriod, Subscription, TimelineEntry
from kopeck.subscriptions.services import subscription_bill_due, subscription_create, subscription_suspend
from kopeck.usage.models import UsageEvent
from tests.subscriptions.helpers import LONG_AGO, at, make_client, make_plan

pytestmark = pytest.mark.django_db
D = dt.date


def metered_plan(actor: Actor, clock: FixedClock, code: str, aggregation: dict[str, Any]) -> None:
    saved = clock.now()
    clock.set(LONG_AGO)
    product = catalog.product_create(actor=actor, code=f"p-{code}", name_ru=code, vat_rate="22")
    plan = catalog.plan_create(actor=actor, product=product, code=code, name_ru=code)
    spec = {"code": code, "billing_period": {"unit": "month", "count": 1}, "currencies": ["RUB"], "components": [
        {"code": "base", "kind": "fixed", "billing": "in_advance",
         "prices": {"RUB": {"model": "standard", "unit_price": "1000.00"}}},
        {"code": "traffic", "kind": "metered", "billing": "in_arrears",
         "prices": {"RUB": {"model": "graduated", "aggregation": aggregation,
                            "tiers": [{"from": "0", "up_to": "10", "unit_price": "0"},
                                      {"from": "10", "up_to": None, "unit_price": "2.50"}]}}}]}
    catalog.plan_version_publish(actor=actor, version=catalog.plan_version_create(actor=actor, plan=plan, spec=spec),
                                 effective_from=LONG_AGO.date())
    clock.set(saved)


SCENARIOS: list[tuple[str, dict[str, Any]]] = [
    ("pro", {"quantity": 2, "start_date": D(2026, 8, 10)}),                       # several periods due
    ("pro", {"anchor_kind": "calendar", "billing_day": 31, "start_date": D(2026, 8, 31)}),
    ("trial", {"start_date": D(2026, 11, 12)}),                                    # trial ends on the day
    ("trial", {"start_date": D(2026, 11, 20)}),                                    # still in trial
    ("pro", {"start_date": D(2026, 12, 20)}),                                      # pending (future start)
    ("m-sum", {"start_date": D(2026, 9, 1)}),
    ("m-count", {"start_date": D(2026, 9, 15)}),
    ("m-max", {"start_date": D(2026, 10, 1)}),
    ("m-unique", {"start_date": D(2026, 9, 1)}),                                   # read without the prefetch
    ("m-weighted", {"start_date": D(2026, 9, 1)}),                                 # read without the prefetch
    ("pro", {"start_date": D(2026, 10, 5), "suspend": True}),                      # suspended, billing paused
]


def world(actor: Actor, clock: FixedClock, client: Client) -> list[Subscription]:
    subs = []
    for n, (plan, params) in enumerate(SCENARIOS):
        params = dict(params)
        suspend = params.pop("suspend", False)
        at(clock, min(params["start_date"], D(2026, 11, 1)))
        sub = subscription_create(actor=actor, client=client, plan=plan, **params)
        if suspend:
            at(clock, D(2026, 11, 2))
            subscription_suspend(actor=actor, subscription=sub, billing_continues=False)
        for k in range(6):
            UsageEvent.objects.create(
                subscription=sub, event_id=f"e{n}-{k}", metric="traffic", received_at=LONG_AGO,
                timestamp=dt.datetime(2026, 9 + k % 3, 3 + 4 * k, 10, tzinfo=dt.UTC),
                properties={"gb": str(4 + 3 * k), "vm": f"vm-{k % 2}", "level": str(k % 4)})
        subs.append(sub)
    return subs


def snapshot(client: Client, subs: list[Subscription]) -> dict[str, Any]:
    ids = {s.pk: n for n, s in enumerate(subs)}

    def scrub(text: Any) -> str:
        text = str(text)
        for pk, n in sorted(ids.items(), reverse=True):
            text = re.sub(rf"(#|subscription:){pk}\b", rf"\g<1>S{n}", text)
        return text.replace(f"client:{client.pk}", "client:C").replace(f"'client': {client.pk}", "'client': C")

    txns = JournalTransaction.objects.filter(client=client).order_by("source_ref", "id")
    return {
        "ledger": sorted((scrub(t.source_ref), t.operation, t.amount_minor, t.vat_rate, t.vat_minor, scrub(t.reason),
                          str(t.explanation), sorted(p.amount_minor for p in t.postings.all())) for t in txns),
        "billed": sorted((ids[b.subscription_id], b.component, b.period_start, b.period_end, b.amount_minor,
                          scrub(b.explanation), b.transaction is not None)
                         for b in BilledPeriod.objects.filter(subscription__in=subs)),
        "timeline": sorted((ids[e.subscription_id], e.kind, e.effective_date, e.text_ru, e.text_en, scrub(e.data))
                           for e in TimelineEntry.objects.filter(subscription__in=subs)
                           if e.kind in ("charge", "credit", "status")),
        "audit": sorted((e.action, scrub(re.sub(r"'transactions': \[[0-9, ]*\]", "", str(e.after))))
                        for e in AuditEntry.objects.filter(
            Q(object_type="subscription", object_id__in=[str(s.pk) for s in subs],
              action__in=["subscription.bill", "subscription.status"])
            | Q(object_type="transaction", object_id__in=[str(t.pk) for t in txns]))),
        "status": [s.status for s in Subscription.objects.filter(pk__in=ids).order_by("pk")],
    }


def test_a_batch_bills_exactly_what_one_by_one_billing_does(actor: Actor, clock: FixedClock) -> None:
    make_plan(actor, clock, "pro")
    make_plan(actor, clock, "trial", trial={"days": 14})
    for code, agg in [("m-sum", {"type": "sum", "property": "gb"}), ("m-count", {"type": "count"}),
                      ("m-max", {"type": "max", "property": "gb"}),
                      ("m-unique", {"type": "unique_count", "property": "vm"}),
                      ("m-weighted", {"type": "weighted_sum", "property": "level"})]:
        metered_plan(actor, clock, code, agg)
    a, b = make_client(), make_client()
    subs_a, subs_b = world(actor, clock, a), world(actor, clock, b)
    day = at(clock, D(2026, 11, 26))

    previews = subscriptions_bill_batch(actor=actor, subscription_ids=[s.pk for s in subs_b], on=day, preview=True)
    one_by_one = [subscription_bill_due(actor=actor, subscription=s, on=day, preview=True) for s in subs_a]
    assert [p.items for p in previews] == [r.items for r in one_by_one]
    assert JournalTransaction.objects.count() == 0 or not JournalTransaction.objects.filter(
        recorded_at=clock.now()).exists()  # a preview writes nothing

    results_a = [subscription_bill_due(actor=actor, subscription=s, on=day) for s in subs_a]
    results_b = subscriptions_bill_batch(actor=actor, subscription_ids=[s.pk for s in subs_b], on=day, preview=False)
    assert [r.items for r in results_b] == [r.items for r in results_a]
    assert [len(r.transaction_ids) for r in results_b] == [len(r.transaction_ids) for r in results_a]
    assert not any(r.error for r in results_b)
    assert sum(len(r.items) for r in results_a) >= 15  # the scenarios do bill something
    assert snapshot(b, subs_b) == snapshot(a, subs_a)

    # and billing again on the same day adds nothing, either way
    again = subscriptions_bill_batch(actor=actor, subscription_ids=[s.pk for s in subs_b], on=day, preview=False)
    assert all(r.items == [] and r.transaction_ids == [] for r in again)


def test_excluded_lines_are_left_due(actor: Actor, clock: FixedClock) -> None:
    make_plan(actor, clock, "pro")
    at(clock, D(2026, 11, 1))
    sub = subscription_create(actor=actor, client=make_client(), plan="pro", quantity=2)
    day = at(clock, D(2026, 11, 1))
    [out] = subscriptions_bill_batch(actor=actor, subscription_ids=[sub.pk], on=day, preview=False,
                                     exclude={sub.pk: {("seats", "2026-11-01")}})
    assert [(i["component"], i["amount"]) for i in out.items] == [("base", "1490.00")]
    assert [(i.component, i.amount.to_str()) for i in out.excluded] == [("seats", "600.00")]
    assert list(BilledPeriod.objects.filter(subscription=sub).values_list("component", flat=True)) == ["base"]
    later = subscription_bill_due(actor=actor, subscription=sub, on=day)
    assert [(i["component"], i["amount"]) for i in later.items] == [("seats", "600.00")]

