"""The scenarios of issue 17, with the clock moved day by day: dunning on the configured days, each
notice once however often the job runs, unblocking within one run after a payment, a manual block
surviving a payment, a promised payment lifting the block and its expiry bringing it back, billing
while blocked following the reason's effect."""

from __future__ import annotations

import datetime as dt

import pytest

from kopeck.billing.models import BillingRun
from kopeck.clients.models import Client, ClientStatus
from kopeck.configuration.services import billing_settings_update
from kopeck.credit.models import Block, Debt, Promise, PromiseStatus, StepRun
from kopeck.credit.selectors import credit_state, ladder_position
from kopeck.credit.services import block_lift, block_place, promise_grant
from kopeck.documents.models import Document, DocumentType
from kopeck.events.models import Event
from kopeck.ledger.models import JournalTransaction
from kopeck.subscriptions.models import Subscription, SubscriptionStatus
from tests.credit.conftest import World, notices

pytestmark = pytest.mark.django_db
D = dt.date
HOURLY = range(21)  # UTC hours of the provider-local day (Moscow 03:00–23:00)
REMIND = "Напоминание об оплате / Payment reminder"
WARN = "Предупреждение о блокировке / Warning: services will be suspended"
BLOCKED = "Обслуживание приостановлено за неуплату / Account blocked for non-payment"


def status(client: Client) -> str:
    return str(Client.objects.get(pk=client.pk).status)


def events(client: Client, *names: str) -> list[str]:
    return list(Event.objects.filter(client_id=client.pk, type__in=names).order_by("sequence")
                .values_list("type", flat=True))


def invoices(client: Client) -> list[tuple[str, str]]:
    return [(d.issue_date.isoformat(), f"{d.amount_minor / 100:.2f}")
            for d in Document.objects.filter(client=client, type=DocumentType.INVOICE).order_by("id")]


def dunned_until_blocked(w: World) -> None:
    """December invoiced on the 1st (due the 6th), unpaid; the job runs every hour."""
    w.daily_run(D(2026, 12, 1))
    assert invoices(w.client) == [("2026-12-01", "1300.00")]
    for day in range(1, 17):
        w.check(D(2026, 12, day), HOURLY)
        expected = ([REMIND] if day >= 7 else []) + ([WARN] if day >= 11 else []) + ([BLOCKED] if day >= 16 else [])
        assert notices(w.client) == expected, day
        assert status(w.client) == (ClientStatus.BLOCKED if day >= 16 else ClientStatus.ACTIVE), day


def test_a_postpaid_client_who_does_not_pay_is_reminded_warned_blocked_and_unblocked_after_paying(world: World) -> None:
    dunned_until_blocked(world)
    [debt] = Debt.objects.filter(client=world.client)
    assert (debt.opened_on, debt.due_date, debt.amount_minor) == (D(2026, 12, 7), D(2026, 12, 6), 130000)
    assert [(r.step.action, r.ran_on) for r in StepRun.objects.filter(debt=debt)] == [
        ("remind", D(2026, 12, 7)), ("warn", D(2026, 12, 11)), ("block_client", D(2026, 12, 16))]
    assert events(world.client, "dunning.step_reached", "client.blocked") == [
        "dunning.step_reached", "dunning.step_reached", "dunning.step_reached", "client.blocked"]
    [block] = Block.objects.filter(client=world.client)
    assert (block.reason, block.source, block.automatic, block.lifted_at) == ("non_payment", "credit_control", True,
                                                                             None)
    world.day(D(2026, 12, 17), 8)
    world.pay("1300.00")
    tally = world.check(D(2026, 12, 17), [9])  # the next run
    assert tally["unblocked"] == 1 and tally["debts_closed"] == 1
    assert status(world.client) == ClientStatus.ACTIVE
    block.refresh_from_db()
    assert block.lifted_at is not None and block.lifted_by == "credit control"
    assert Debt.objects.get().status == "paid"
    assert events(world.client, "client.blocked", "client.unblocked") == ["client.blocked", "client.unblocked"]
    world.check(D(2026, 12, 17), HOURLY)
    assert notices(world.client) == [REMIND, WARN, BLOCKED]  # nothing more


def test_the_ladder_restarts_for_a_new_debt(world: World) -> None:
    world.daily_run(D(2026, 12, 1))
    world.check(D(2026, 12, 7))
    world.pay("1300.00")
    world.check(D(2026, 12, 8))
    world.daily_run(D(2027, 1, 1))  # January invoiced, due the 6th, unpaid
    world.check(D(2027, 1, 7))
    assert notices(world.client) == [REMIND, REMIND]
    assert [d.status for d in Debt.objects.order_by("id")] == ["paid", "open"]


def test_a_step_is_skipped_when_the_debt_is_paid_meanwhile(world: World) -> None:
    world.daily_run(D(2026, 12, 1))
    world.check(D(2026, 12, 7))
    world.day(D(2026, 12, 9))
    world.pay("1300.00")
    for day in range(9, 20):
        world.check(D(2026, 12, day))
    assert notices(world.client) == [REMIND]
    assert status(world.client) == ClientStatus.ACTIVE


def test_the_client_page_shows_where_it_stands_on_the_ladder(world: World) -> None:
    world.daily_run(D(2026, 12, 1))
    world.check(D(2026, 12, 11))
    lines = [(line.step.action, line.date, line.status) for line in ladder_position(world.client, D(2026, 12, 11))
             if line.step.anchor == "due_date"]
    assert lines == [("remind", D(2026, 12, 7), "skipped"), ("warn", D(2026, 12, 11), "done"),
                     ("block_client", D(2026, 12, 16), "next")]


def test_a_manual_block_survives_a_payment(world: World) -> None:
    dunned_until_blocked(world)
    manual = block_place(actor=world.actor, client=world.client, reason="abuse", comment="Рассылка спама")
    world.pay("1300.00")
    world.check(D(2026, 12, 16), [23])
    assert status(world.client) == ClientStatus.BLOCKED  # the automatic block is lifted, the manual one holds
    assert list(Block.objects.filter(lifted_at__isnull=True)) == [manual]
    world.check(D(2026, 12, 17), HOURLY)
    assert status(world.client) == ClientStatus.BLOCKED
    block_lift(actor=world.actor, block=manual, comment="Проверено")
    assert status(world.client) == ClientStatus.ACTIVE


def test_a_promise_lifts_the_block_and_when_it_expires_unpaid_the_block_returns(world: World) -> None:
    dunned_until_blocked(world)
    billing_settings_update(actor=world.actor, promise_max_share="150")  # the debt is a bit above a month's cost
    world.day(D(2026, 12, 17), 10)
    promise = promise_grant(actor=world.actor, client=world.client, amount="1300.00", days=3)
    assert promise.until == D(2026, 12, 19)
    assert status(world.client) == ClientStatus.ACTIVE  # at once, not at the next run
    for day in (17, 18, 19):
        world.check(D(2026, 12, day), [12, 20])
        assert status(world.client) == ClientStatus.ACTIVE, day
    world.check(D(2026, 12, 20), [0])
    assert status(world.client) == ClientStatus.BLOCKED
    assert Promise.objects.get().status == PromiseStatus.EXPIRED
    assert events(world.client, "promise.granted", "promise.expired", "client.blocked", "client.unblocked") == [
        "client.blocked", "promise.granted", "client.unblocked", "promise.expired", "client.blocked"]
    assert notices(world.client) == [REMIND, WARN, BLOCKED]  # the ladder does not run again for the same debt


def test_a_promise_kept_ends_as_kept(world: World) -> None:
    dunned_until_blocked(world)
    world.day(D(2026, 12, 17), 10)
    promise_grant(actor=world.actor, client=world.client, amount="1000.00", days=3)
    world.pay("1300.00")
    world.check(D(2026, 12, 20))
    assert Promise.objects.get().status == PromiseStatus.KEPT
    assert status(world.client) == ClientStatus.ACTIVE


def test_a_blocked_client_is_not_invoiced_where_the_effect_pauses_billing(world: World) -> None:
    dunned_until_blocked(world)  # non-payment: billing pauses (the default)
    world.daily_run(D(2027, 1, 1))
    assert invoices(world.client) == [("2026-12-01", "1300.00")]  # no January invoice while blocked
    assert BillingRun.objects.filter(billing_date=D(2027, 1, 1)).exists()
    world.day(D(2027, 1, 3), 8)
    world.pay("1300.00")
    world.check(D(2027, 1, 3))
    assert status(world.client) == ClientStatus.ACTIVE
    world.daily_run(D(2027, 1, 4))  # the first run after the block: January, which waited
    assert invoices(world.client) == [("2026-12-01", "1300.00"), ("2027-01-04", "1300.00")]


def test_a_blocked_client_is_invoiced_where_charges_continue(world: World) -> None:
    billing_settings_update(actor=world.actor, effect_non_payment="continue")
    dunned_until_blocked(world)
    world.daily_run(D(2027, 1, 1))
    assert invoices(world.client) == [("2026-12-01", "1300.00"), ("2027-01-01", "1300.00")]


def test_a_block_pausing_with_proration_credits_the_blocked_days(world: World) -> None:
    world.daily_run(D(2026, 12, 1))
    world.day(D(2026, 12, 22))
    block = block_place(actor=world.actor, client=world.client, reason="client_request", comment="Отпуск")
    assert block.effect == "pause_prorated"
    sub = Subscription.objects.get(pk=world.sub.pk)
    assert (sub.status, sub.billing_paused) == (SubscriptionStatus.SUSPENDED, True)
    credits = sorted(t.amount_minor for t in JournalTransaction.objects.filter(operation="correction_credit"))
    assert credits == [9677, 32258]  # 10 of December's 31 days: 1000 × 10/31, 300 × 10/31
    world.daily_run(D(2027, 1, 1))
    assert invoices(world.client) == [("2026-12-01", "1300.00")]
    world.day(D(2027, 1, 15))
    block_lift(actor=world.actor, block=block)
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.ACTIVE
    assert status(world.client) == ClientStatus.ACTIVE


def test_blocks_of_a_subscription_and_several_blocks_at_once(world: World) -> None:
    first = block_place(actor=world.actor, client=world.client, subscription=world.sub, reason="abuse")
    second = block_place(actor=world.actor, client=world.client, subscription=world.sub, reason="legal")
    assert Subscription.objects.get(pk=world.sub.pk).status == SubscriptionStatus.SUSPENDED
    block_lift(actor=world.actor, block=first)
    assert Subscription.objects.get(pk=world.sub.pk).status == SubscriptionStatus.SUSPENDED  # the second holds
    block_lift(actor=world.actor, block=second)
    assert Subscription.objects.get(pk=world.sub.pk).status == SubscriptionStatus.ACTIVE
    assert events(world.client, "subscription.blocked", "subscription.unblocked", "subscription.suspended",
                  "subscription.resumed") == ["subscription.suspended", "subscription.blocked",
                                              "subscription.resumed", "subscription.unblocked"]
    assert status(world.client) == ClientStatus.ACTIVE


def test_twice_the_same_day_changes_nothing(world: World) -> None:
    dunned_until_blocked(world)
    before = (Event.objects.count(), StepRun.objects.count(), Block.objects.count())
    tally = world.check(D(2026, 12, 16), [20])
    assert tally["changed"] == 0
    assert (Event.objects.count(), StepRun.objects.count(), Block.objects.count()) == before


def test_the_credit_state_reads_the_debt(world: World) -> None:
    world.daily_run(D(2026, 12, 1))
    state = credit_state(world.client, D(2026, 12, 7))
    assert (state.balance_minor, state.overdue_minor, state.oldest_due, state.in_debt) == (
        -130000, 130000, D(2026, 12, 6), True)
    assert not credit_state(world.client, D(2026, 12, 6)).in_debt  # due today: not overdue yet


def test_a_payment_recorded_by_payments_unblocks_at_once_through_the_event(world: World) -> None:
    from kopeck.events.services import events_dispatch_all
    from kopeck.payments.services import payment_record

    dunned_until_blocked(world)
    events_dispatch_all()
    world.day(D(2026, 12, 17), 8)
    payment_record(actor=world.actor, client=world.client, amount="1300.00", external_id="bank-1")
    assert Document.objects.get(client=world.client, type=DocumentType.INVOICE).status == "paid"  # allocated
    assert status(world.client) == ClientStatus.BLOCKED  # until the event is dispatched
    events_dispatch_all()  # what the dispatcher does within seconds — no credit check run
    assert status(world.client) == ClientStatus.ACTIVE
    assert Debt.objects.get().status == "paid"
