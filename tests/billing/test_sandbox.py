"""Sandbox billing runs: exactly what billing would post, nothing written, errors isolated,
resumable, scoped; export and compare."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from pytest_django.fixtures import Settings

from kopeck.billing import services
from kopeck.billing.models import BillingRun, ItemStatus, RunItem, RunStatus
from kopeck.common.actor import Actor
from kopeck.common.errors import ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.ledger.models import JournalTransaction
from kopeck.subscriptions import batch
from kopeck.subscriptions.models import BilledPeriod, Subscription, TimelineEntry
from kopeck.subscriptions.services import subscription_bill_due, subscription_state
from tests.billing.conftest import TODAY, Book
from tests.subscriptions.helpers import at

pytestmark = pytest.mark.django_db


def sandbox(actor: Actor, scope: dict[str, Any] | None = None, **kwargs: Any) -> BillingRun:
    run = services.billing_run_create(actor=actor, billing_date=TODAY, mode="sandbox", scope=scope)
    return services.billing_run_execute(actor=actor, run=run, **kwargs)


def written() -> dict[str, Any]:
    return {"transactions": JournalTransaction.objects.count(), "billed": BilledPeriod.objects.count(),
            "timeline": TimelineEntry.objects.count(),
            "subs": [subscription_state(s) for s in Subscription.objects.order_by("id")]}


def results(run: BillingRun) -> dict[int, tuple[str, list[dict[str, Any]], int]]:
    return {i.subscription_id: (i.status, i.items, i.amount_minor) for i in RunItem.objects.filter(run=run)}


def test_sandbox_computes_what_billing_posts_and_writes_nothing(book: Book, actor: Actor) -> None:
    before = written()
    run = sandbox(actor)
    assert written() == before  # no ledger entry, no billed period, no timeline, no subscription change
    assert (run.status, run.processed, run.total) == (RunStatus.COMPLETED, 4, 4)
    assert run.started_at is not None and run.finished_at is not None
    items = results(run)
    # what a real billing on the same date posts, subscription by subscription
    for sub in book.subs:
        real = subscription_bill_due(actor=actor, subscription=sub, on=TODAY)
        assert items[sub.pk][0] == ItemStatus.OK
        assert items[sub.pk][1] == real.items
        assert all(line["explanation"]["ru"] and line["explanation"]["en"] for line in real.items)
    posted = sum(t.amount_minor for t in JournalTransaction.objects.filter(operation="charge"))
    assert posted == sum(i[2] for i in items.values()) > 0
    s = run.summary
    assert (s["clients"], s["subscriptions"], s["errors"]) == (3, 4, 0)
    assert s["charges"] == sum(len(i[1]) for i in items.values())
    assert s["totals_by_currency"] == {"RUB": f"{posted / 100:.2f}"}
    vat = {t.vat_rate for t in JournalTransaction.objects.filter(operation="charge")}
    assert set(s["totals_by_vat_rate"]["RUB"]) == vat == {"22"}


def test_an_error_is_recorded_and_the_others_proceed(book: Book, actor: Actor,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    real = batch.subscription_terms
    broken = book.subs[1].pk

    def failing(sub: Any, spec: Any = None, **kwargs: Any) -> Any:
        if sub.pk == broken:
            raise ValueError("price missing")
        return real(sub, spec, **kwargs)

    monkeypatch.setattr(batch, "subscription_terms", failing)
    run = sandbox(actor)
    assert run.status == RunStatus.COMPLETED
    errors = RunItem.objects.filter(run=run, status=ItemStatus.ERROR)
    assert [(e.subscription_id, e.error) for e in errors] == [(broken, "ValueError: price missing")]
    assert RunItem.objects.filter(run=run, status=ItemStatus.OK).count() == 3
    assert run.summary["errors"] == 1
    monkeypatch.setattr(batch, "subscription_terms", real)
    run = services.billing_run_retry_errors(actor=actor, run=run)
    assert run.summary["errors"] == 0
    assert results(run) == results(sandbox(actor))


def test_an_interrupted_run_resumes_to_the_same_result(book: Book, actor: Actor,
                                                       settings: Settings) -> None:
    whole = sandbox(actor)
    settings.KOPECK_BILLING_CHUNK = 2
    run = services.billing_run_create(actor=actor, billing_date=TODAY, mode="sandbox")
    seen: list[tuple[int, int]] = []

    def crash(processed: int, total: int) -> None:
        seen.append((processed, total))
        if processed == 2:
            raise KeyboardInterrupt  # the worker dies after the first chunk

    with pytest.raises(KeyboardInterrupt):
        services.billing_run_execute(actor=actor, run=run, progress=crash)
    run.refresh_from_db()
    assert (run.status, run.processed, RunItem.objects.filter(run=run).count()) == (RunStatus.COMPUTING, 2, 2)
    seen.clear()
    run = services.billing_run_execute(actor=actor, run=run, progress=lambda p, t: seen.append((p, t)))
    assert seen == [(2, 4), (4, 4)]  # the first two are skipped
    assert run.status == RunStatus.COMPLETED
    assert results(run) == results(whole)
    assert run.summary == whole.summary
    assert services.billing_run_execute(actor=actor, run=run).summary == whole.summary  # completed: no-op


def test_an_exception_marks_the_run_failed_and_it_can_resume(book: Book, actor: Actor,
                                                             settings: Settings) -> None:
    settings.KOPECK_BILLING_CHUNK = 3
    run = services.billing_run_create(actor=actor, billing_date=TODAY, mode="sandbox")

    def boom(processed: int, total: int) -> None:
        if processed == 3:
            raise RuntimeError("lost connection")

    with pytest.raises(RuntimeError):
        services.billing_run_execute(actor=actor, run=run, progress=boom)
    run.refresh_from_db()
    assert run.status == RunStatus.FAILED
    run = services.billing_run_execute(actor=actor, run=run)
    assert (run.status, run.processed) == (RunStatus.COMPLETED, 4)


@pytest.mark.parametrize(("scope", "expected"), [
    ({"clients": [0]}, [0, 3]), ({"plans": ["lite"]}, [1, 3]), ({"tags": ["vip"]}, [1]),
    ({"clients": [0], "plans": ["pro"]}, [0]), ({}, [0, 1, 2, 3]),
])
def test_scope(book: Book, actor: Actor, scope: dict[str, Any], expected: list[int]) -> None:
    if "clients" in scope:
        scope = {**scope, "clients": [book.clients[i].pk for i in scope["clients"]]}
    run = sandbox(actor, scope)
    assert sorted(results(run)) == [book.subs[i].pk for i in expected]
    assert run.total == len(expected)


def test_not_started_and_ended_subscriptions_are_out_of_scope(book: Book, actor: Actor, clock: FixedClock) -> None:
    run = services.billing_run_create(actor=actor, billing_date=TODAY.replace(day=5), mode="sandbox")
    run = services.billing_run_execute(actor=actor, run=run)
    assert sorted(results(run)) == [s.pk for s in book.subs]  # all started before Nov 5
    run = services.billing_run_create(actor=actor, billing_date=TODAY.replace(month=10, day=20), mode="sandbox")
    assert run.total == 2  # the Nov 1 subscriptions had not started


@pytest.mark.parametrize(("kwargs", "field", "message"), [
    ({"billing_date": TODAY.replace(day=26)}, "billing_date", "ahead of today"),
    ({"billing_date": "2026-13-01"}, "billing_date", "YYYY-MM-DD"),
    ({"mode": "bogus"}, "mode", "Unknown mode"),
    ({"scope": {"plans": ["nope"]}}, "scope.plans", "Unknown plans: nope"),
    ({"scope": {"clients": [999999]}}, "scope.clients", "Unknown clients"),
    ({"scope": {"tags": ["nope"]}}, "scope.tags", "Unknown tags"),
    ({"scope": {"colour": ["red"]}}, "scope", "Unknown keys: colour"),
])
def test_invalid_runs_are_refused(book: Book, actor: Actor, kwargs: dict[str, Any], field: str,
                                  message: str) -> None:
    args: dict[str, Any] = {"billing_date": TODAY, "mode": "sandbox", "scope": None, **kwargs}
    with pytest.raises(ValidationFailed) as err:
        services.billing_run_create(actor=actor, **args)
    assert message in " ".join(err.value.errors[field])
    assert BillingRun.objects.count() == 0


def test_csv_export(book: Book, actor: Actor) -> None:
    run = sandbox(actor, {"clients": [book.clients[2].pk]})
    rows = list(csv.DictReader(io.StringIO("".join(services.run_export_csv(run)))))
    assert list(rows[0]) == services.CSV_COLUMNS
    item = RunItem.objects.get(run=run)
    assert [(r["subscription_id"], r["kind"], r["component"], r["period_start"], r["period_end"], r["amount"],
             r["currency"]) for r in rows] == [
        (str(book.subs[2].pk), line["kind"], line["component"], line["period"]["start"], line["period"]["end"],
         line["amount"], "RUB") for line in item.items]
    assert rows[0]["client"] == book.clients[2].name
    assert rows[0]["explanation_ru"] and rows[0]["explanation_en"]


def test_compare(book: Book, actor: Actor, clock: FixedClock) -> None:
    first = sandbox(actor, {"clients": [book.clients[0].pk, book.clients[1].pk]})
    at(clock, TODAY)
    sub = Subscription.objects.get(pk=book.subs[0].pk)
    sub.quantity = 5  # more seats: the seat line changes
    sub.save()
    second = sandbox(actor, {"clients": [book.clients[0].pk, book.clients[2].pk]})
    diff = services.billing_runs_compare(first, second)
    by_client = {c["client_id"]: c for c in diff["clients"]}
    c1, c2, c3 = (by_client.get(c.pk) for c in book.clients)
    assert c1 is not None and c2 is not None and c3 is not None
    assert c2["removed"] and not c2["added"] and not c2["changed"]
    assert c3["added"] and not c3["removed"]
    changed = [(c["subscription_id"], c["component"], c["amount_a"], c["amount_b"]) for c in c1["changed"]]
    assert changed and all(s == sub.pk and comp == "seats" for s, comp, _a, _b in changed)
    assert diff["counts"]["changed"] == len(changed)
    assert services.billing_runs_compare(first, first)["clients"] == []
