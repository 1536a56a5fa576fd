"""Auto and confirm runs: what is posted is exactly what was computed (or reviewed), once."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_django.fixtures import Settings

from kopeck.billing import services
from kopeck.billing.models import BillingRun, RunItem, RunMode, RunStatus
from kopeck.billing.selectors import run_fingerprint
from kopeck.billing.services import dispatch, engine
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.ledger.models import JournalTransaction
from kopeck.subscriptions.models import BilledPeriod
from kopeck.subscriptions.services import subscription_change_quantity
from tests.billing.conftest import TODAY, Book

pytestmark = pytest.mark.django_db


def run(actor: Actor, mode: str, scope: dict[str, Any] | None = None, **kwargs: Any) -> BillingRun:
    created = services.billing_run_create(actor=actor, billing_date=TODAY, mode=mode, scope=scope)
    return services.billing_run_execute(actor=actor, run=created, **kwargs)


def charges() -> list[tuple[str, int]]:
    return sorted(JournalTransaction.objects.values_list("source_ref", "amount_minor"))


def computed(r: BillingRun) -> int:
    return sum(i.amount_minor for i in RunItem.objects.filter(run=r))


def test_auto_posts_what_it_computed_and_a_second_run_adds_nothing(book: Book, actor: Actor) -> None:
    sandbox = run(actor, RunMode.SANDBOX)
    first = run(actor, RunMode.AUTO)
    assert first.status == RunStatus.COMPLETED and (first.applied, first.apply_total) == (4, 4)
    items = {i.subscription_id: i for i in RunItem.objects.filter(run=first)}
    assert {k: i.items for k, i in items.items()} == {
        i.subscription_id: i.items for i in RunItem.objects.filter(run=sandbox)}
    assert all(i.applied_at is not None and not i.changed for i in items.values())
    posted = JournalTransaction.objects.filter(operation="charge")
    assert sum(t.amount_minor for t in posted) == computed(first) > 0
    assert sorted(t for i in items.values() for t in i.transaction_ids) == sorted(posted.values_list("pk", flat=True))
    event = first.summary["events"][0]
    assert event["type"] == "billing_run.completed" and event["run"] == first.pk
    assert event["transactions"] == posted.count()
    before = charges()
    second = run(actor, RunMode.AUTO)
    assert second.status == RunStatus.COMPLETED and charges() == before
    assert computed(second) == 0
    # nothing was due: every subscription is counted, none is stored as an empty item (a daily run
    # would otherwise add an item per subscription every day)
    assert (second.total, second.processed, second.applied, second.apply_total) == (4, 4, 4, 4)
    assert (second.summary["subscriptions"], second.summary["clients"], second.summary["charges"]) == (4, 3, 0)
    assert not RunItem.objects.filter(run=second).exists()
    # executing a completed run again changes nothing
    assert services.billing_run_execute(actor=actor, run=first).status == RunStatus.COMPLETED
    assert charges() == before


def test_an_interrupted_auto_run_keeps_whole_chunks_and_resumes_to_the_same_result(
        book: Book, actor: Actor, monkeypatch: pytest.MonkeyPatch, settings: Settings) -> None:
    settings.KOPECK_BILLING_CHUNK = 2  # chunks: client 1 (2 subscriptions); clients 2 and 3
    real = engine.fault_point
    passes: list[str] = []

    def crash(name: str) -> None:
        passes.append(name)
        if name == "chunk.posted" and passes.count(name) >= 2:  # the careful retry of the chunk too
            raise RuntimeError("worker lost after posting the second chunk")
        real(name)

    monkeypatch.setattr(engine, "fault_point", crash)
    created = services.billing_run_create(actor=actor, billing_date=TODAY, mode=RunMode.AUTO)
    with pytest.raises(RuntimeError):
        services.billing_run_execute(actor=actor, run=created)
    created.refresh_from_db()
    assert created.status == RunStatus.FAILED
    # the second chunk's posting was rolled back with it: only client 1 is in the ledger
    first = [s.pk for s in book.subs if s.client_id == book.clients[0].pk]
    assert sorted(RunItem.objects.filter(run=created).values_list("subscription_id", flat=True)) == first
    assert {int(ref.split(":")[1]) for ref, _ in charges()} == set(first)
    assert (created.processed, created.applied) == (2, 2)
    monkeypatch.setattr(engine, "fault_point", real)
    done = services.billing_run_execute(actor=actor, run=created)
    assert done.status == RunStatus.COMPLETED and (done.processed, done.applied) == (4, 4)
    after = charges()
    assert len(after) == len(set(after)) == JournalTransaction.objects.count()
    assert sum(a for _, a in after) == computed(done)  # nothing posted twice
    assert {int(ref.split(":")[1]) for ref, _ in after} == {s.pk for s in book.subs}
    assert all(i.transaction_ids and not i.changed for i in RunItem.objects.filter(run=done))


def test_confirm_records_a_subscription_changed_after_the_check(book: Book, actor: Actor,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    r = run(actor, RunMode.CONFIRM, scope={"clients": [book.clients[1].pk]})
    real_confirm = dispatch._confirm

    def confirm_then_change(actor: Actor, r: BillingRun, fingerprint: str) -> BillingRun:
        confirmed = real_confirm(actor, r, fingerprint)
        subscription_change_quantity(actor=actor, subscription=book.subs[1], quantity=5)
        return confirmed

    monkeypatch.setattr(dispatch, "_confirm", confirm_then_change)
    done = services.billing_run_confirm(actor=actor, run=r, fingerprint=run_fingerprint(r))
    item = RunItem.objects.get(run=done)
    assert done.status == RunStatus.COMPLETED and item.applied_at is not None
    assert item.changed and item.previous_items and item.items != item.previous_items
    assert done.summary["changed"] == 1
    assert done.summary["events"][0]["type"] == "billing_run.completed"


def test_confirm_applies_exactly_the_reviewed_set(book: Book, actor: Actor) -> None:
    r = run(actor, RunMode.CONFIRM)
    assert r.status == RunStatus.AWAITING_CONFIRMATION and JournalTransaction.objects.count() == 0
    c1 = book.clients[0]
    services.billing_run_exclude(actor=actor, run=r, client=c1)
    third = RunItem.objects.get(run=r, subscription=book.subs[2])
    services.billing_run_exclude(actor=actor, run=r, item=third)
    services.billing_run_include(actor=actor, run=r, item=third)
    services.billing_run_exclude(actor=actor, run=r, item=third.pk)
    reviewed = run_fingerprint(r)
    with pytest.raises(Conflict):
        services.billing_run_confirm(actor=actor, run=r, fingerprint="stale")
    assert JournalTransaction.objects.count() == 0
    done = services.billing_run_confirm(actor=actor, run=r, fingerprint=reviewed)
    assert done.status == RunStatus.COMPLETED and done.decided_by == str(actor)
    included = RunItem.objects.get(run=r, subscription=book.subs[1])
    refs = {ref.split(":")[1] for ref, _ in charges()}
    assert refs == {str(book.subs[1].pk)}
    assert sum(a for _, a in charges()) == included.amount_minor > 0
    assert sorted(included.transaction_ids) == sorted(JournalTransaction.objects.values_list("pk", flat=True))
    assert RunItem.objects.filter(run=r, applied_at__isnull=False).count() == 1
    assert not BilledPeriod.objects.exclude(subscription=book.subs[1]).exists()
    with pytest.raises(Conflict):
        services.billing_run_reject(actor=actor, run=r)


def test_confirm_detects_a_change_since_computing_and_applies_nothing(book: Book, actor: Actor) -> None:
    r = run(actor, RunMode.CONFIRM)
    reviewed = run_fingerprint(r)
    old = RunItem.objects.get(run=r, subscription=book.subs[3]).items
    subscription_change_quantity(actor=actor, subscription=book.subs[3], quantity=7)
    before = charges()
    with pytest.raises(services.RunChanged) as info:
        services.billing_run_confirm(actor=actor, run=r, fingerprint=reviewed)
    assert f"#{book.subs[3].pk}" in str(info.value.errors)
    assert charges() == before  # nothing applied
    r.refresh_from_db()
    assert r.status == RunStatus.AWAITING_CONFIRMATION and r.summary["recomputed"] == [book.subs[3].pk]
    item = RunItem.objects.get(run=r, subscription=book.subs[3])
    assert item.changed and item.previous_items == old and item.items != old
    assert run_fingerprint(r) != reviewed
    done = services.billing_run_confirm(actor=actor, run=r, fingerprint=run_fingerprint(r))
    assert done.status == RunStatus.COMPLETED
    assert sum(a for _, a in charges()) - sum(a for _, a in before) == computed(done)


def test_reject_posts_nothing(book: Book, actor: Actor) -> None:
    r = run(actor, RunMode.CONFIRM)
    counts = (JournalTransaction.objects.count(), BilledPeriod.objects.count())
    rejected = services.billing_run_reject(actor=actor, run=r)
    assert rejected.status == RunStatus.REJECTED and rejected.decided_at is not None
    assert (JournalTransaction.objects.count(), BilledPeriod.objects.count()) == counts == (0, 0)
    with pytest.raises(Conflict):
        services.billing_run_confirm(actor=actor, run=r, fingerprint=run_fingerprint(r))
    with pytest.raises(Conflict):
        services.billing_run_execute(actor=actor, run=r)
    with pytest.raises(Conflict):
        services.billing_run_exclude(actor=actor, run=r, client=book.clients[0])


def test_confirm_applies_everything_but_an_excluded_line(book: Book, actor: Actor) -> None:
    r = run(actor, RunMode.CONFIRM, scope={"clients": [book.clients[0].pk]})
    item = RunItem.objects.get(run=r, subscription=book.subs[0])
    lines = [(ln["component"], ln["period"]["start"], ln["amount"]) for ln in item.items]
    assert len(lines) >= 2
    component, start, _amount = lines[0]
    with pytest.raises(ValidationFailed):  # not a line of the item: refused, nothing changed
        services.billing_run_exclude(actor=actor, run=r, item=item, line={"component": "nope", "period_start": start})
    with pytest.raises(ValidationFailed):
        services.billing_run_exclude(actor=actor, run=r, client=book.clients[0], line=[component, start])
    assert RunItem.objects.get(pk=item.pk).excluded_lines == []
    services.billing_run_exclude(actor=actor, run=r, item=item, line={"component": component, "period_start": start})
    assert RunItem.objects.get(pk=item.pk).excluded_lines == [[component, start]]
    done = services.billing_run_confirm(actor=actor, run=r, fingerprint=run_fingerprint(r))
    assert done.status == RunStatus.COMPLETED
    posted = {ref for ref, _ in charges()}
    assert f"subscription:{book.subs[0].pk}:{component}:{start}" not in posted
    others = [f"subscription:{book.subs[0].pk}:{c}:{s}" for c, s, _ in lines[1:]]
    assert set(others) <= posted
    applied = RunItem.objects.get(pk=item.pk)
    assert not applied.changed and applied.items == item.items  # the reviewed lines, the excluded one marked
    assert not BilledPeriod.objects.filter(subscription=book.subs[0], component=component,
                                           period_start=start).exists()  # it stays due


def test_excluding_a_line_changes_the_fingerprint(book: Book, actor: Actor) -> None:
    r = run(actor, RunMode.CONFIRM, scope={"clients": [book.clients[0].pk]})
    before = run_fingerprint(r)
    item = RunItem.objects.filter(run=r).first()
    assert item is not None
    line = item.items[0]
    services.billing_run_exclude(actor=actor, run=r, item=item,
                                 line={"component": line["component"], "period_start": line["period"]["start"]})
    with pytest.raises(services.RunChanged):
        services.billing_run_confirm(actor=actor, run=r, fingerprint=before)
    assert JournalTransaction.objects.count() == 0
    services.billing_run_include(actor=actor, run=r, item=item,
                                 line={"component": line["component"], "period_start": line["period"]["start"]})
    assert run_fingerprint(r) == before


def test_to_post_follows_the_exclusions(book: Book, actor: Actor) -> None:
    from decimal import Decimal

    from kopeck.billing.selectors import run_to_post

    r = run(actor, RunMode.CONFIRM)
    items = list(RunItem.objects.filter(run=r).order_by("subscription_id"))
    everything = run_to_post(r)
    assert everything["lines"] == sum(len(i.items) for i in items)
    assert Decimal(everything["totals_by_currency"]["RUB"]) == Decimal(r.summary["totals_by_currency"]["RUB"])
    first = items[0]
    line = first.items[0]
    services.billing_run_exclude(actor=actor, run=r, item=first,
                                 line={"component": line["component"], "period_start": line["period"]["start"]})
    services.billing_run_exclude(actor=actor, run=r, item=items[1])
    after = run_to_post(r)
    assert after["lines"] == everything["lines"] - 1 - len(items[1].items)
    assert Decimal(after["totals_by_currency"]["RUB"]) == (Decimal(everything["totals_by_currency"]["RUB"])
                                                          - Decimal(line["amount"]) - items[1].amount_minor / Decimal(100))
    done = services.billing_run_confirm(actor=actor, run=r, fingerprint=run_fingerprint(r))
    assert sum(a for _, a in charges()) == int(Decimal(after["totals_by_currency"]["RUB"]) * 100)
    assert done.status == RunStatus.COMPLETED


@pytest.mark.parametrize(("mode", "ensured"), [(RunMode.AUTO, [["RUB"]]), (RunMode.SANDBOX, [])])
def test_posting_runs_create_the_system_accounts_before_their_chunks(book: Book, actor: Actor, mode: str,
                                                                     ensured: list[list[str]],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # chunks post in parallel: creating a missing system account inside two of them made them wait
    # for (and once deadlock with) each other; a sandbox run touches no account
    calls: list[list[str]] = []
    monkeypatch.setattr(engine, "ledger_system_accounts_ensure",
                        lambda *, currencies: calls.append(sorted(currencies)))
    run(actor, mode)
    assert calls == ensured


def test_a_run_refreshes_stale_statistics_once_before_planning_its_chunks(book: Book, actor: Actor,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[list[str]] = []
    monkeypatch.setattr(engine, "analyze_stale",
                        lambda tables: seen.append(sorted(m._meta.db_table for m in tables)) or [])
    r = run(actor, RunMode.AUTO)
    assert seen == [["billing_runitem", "clients_client", "ledger_account", "subscriptions_billedperiod",
                     "subscriptions_subscription", "usage_usageevent"]]
    services.billing_run_execute(actor=actor, run=r)  # a completed run: nothing planned again
    assert len(seen) == 1
