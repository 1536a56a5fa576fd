"""Property: for random sequences of actions (quantity changes, upgrades, downgrades, cancel and
uncancel, billing, days passing) every action's preview equals what it posts, every ledger
transaction sums to zero, a refusal writes nothing, and no piece is ever billed twice."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from kopeck.common import clock as clock_mod
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.ledger.models import JournalTransaction, Posting
from kopeck.subscriptions import services as s
from kopeck.subscriptions.models import BilledPeriod, Subscription
from tests.subscriptions.helpers import at, bill_all, counts, make_client, make_plan

ACTIONS = st.one_of(
    st.tuples(st.just("days"), st.integers(1, 20)),
    st.tuples(st.just("quantity"), st.integers(1, 4)),
    st.tuples(st.just("plan"), st.sampled_from(["mini", "basic", "pro"]), st.booleans()),
    st.tuples(st.just("cancel"), st.booleans()),
    st.tuples(st.just("uncancel")),
    st.tuples(st.just("bill")),
)


class ActionSequences(TestCase):
    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(start=st.dates(dt.date(2027, 1, 1), dt.date(2028, 12, 31)), calendar=st.booleans(),
           actions=st.lists(ACTIONS, min_size=1, max_size=10))
    def test_preview_equals_posting_and_transactions_balance(self, start: dt.date, calendar: bool,
                                                             actions: list[tuple[Any, ...]]) -> None:
        clock = FixedClock(dt.datetime(2027, 1, 1, 9, tzinfo=dt.UTC))
        actor = Actor.system("tests")
        with clock_mod.use_clock(clock):
            for code, base in (("mini", "500.00"), ("basic", "1000.00"), ("pro", "3100.00")):
                make_plan(actor, clock, code, base=base)
            day = at(clock, start)
            sub = s.subscription_create(actor=actor, client=make_client(), plan="basic",
                                        **({"anchor_kind": "calendar", "billing_day": 31} if calendar else {}))
            s.subscription_bill_due(actor=actor, subscription=sub)
            for action in actions:
                if action[0] == "days":
                    day = at(clock, day + dt.timedelta(days=action[1]))
                    bill_all()
                    continue
                if action[0] == "bill":
                    s.subscription_bill_due(actor=actor, subscription=sub)
                    continue
                self._preview_then_apply(actor, sub, action)
            self._check_ledger()

    def _preview_then_apply(self, actor: Actor, sub: Subscription, action: tuple[Any, ...]) -> None:
        kind = action[0]
        kwargs: dict[str, Any] = {"actor": actor, "subscription": sub}
        if kind == "quantity":
            call, kwargs["quantity"] = s.subscription_change_quantity, action[1]
        elif kind == "plan":
            call, kwargs["plan"] = s.subscription_change_plan, action[1]
            kwargs["timing"] = "immediate" if action[2] else "default"
        elif kind == "cancel":
            call, kwargs["at_period_end"] = s.subscription_cancel, action[1]
        else:
            call = s.subscription_uncancel
        before = counts()
        try:
            preview = call(preview=True, **kwargs)
        except (Conflict, ValidationFailed):
            assert counts() == before
            try:
                call(**kwargs)
            except (Conflict, ValidationFailed):
                assert counts() == before
                return
            raise AssertionError("refused in preview but applied") from None
        assert counts() == before, "a preview wrote something"
        txn_before = JournalTransaction.objects.count()
        applied = call(**kwargs)
        assert applied.items == preview.items
        posted = [i for i in applied.items if i["amount"] != "0.00"]
        assert len(applied.transaction_ids) == len(posted)
        assert JournalTransaction.objects.count() - txn_before == len(posted)
        for item, txn_id in zip(posted, applied.transaction_ids, strict=True):
            txn = JournalTransaction.objects.get(pk=txn_id)
            assert txn.operation == ("charge" if item["kind"] == "charge" else "correction_credit")
            assert f"{txn.amount_minor / 100:.2f}" == item["amount"]

    def _check_ledger(self) -> None:
        sums = Posting.objects.values("transaction").annotate(total=Sum("amount_minor"))
        assert all(row["total"] == 0 for row in sums)
        for b in BilledPeriod.objects.all():
            assert 0 <= b.credited_minor <= b.amount_minor
