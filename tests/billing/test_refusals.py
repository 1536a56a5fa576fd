"""Billing runs: a run's date, mode and scope are checked before anything is written; a subscription
that fails while its chunk posts is recorded as an error alone — nothing of it is written, the
others are posted — and is posted once when its error is retried."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kopeck.audit.models import AuditEntry
from kopeck.billing import services
from kopeck.billing.models import BillingRun, ItemStatus, RunItem, RunMode, RunStatus
from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.common.errors import ValidationFailed
from kopeck.ledger.models import JournalTransaction
from kopeck.subscriptions.models import BilledPeriod
from tests.billing.conftest import TODAY, Book

pytestmark = pytest.mark.django_db


def create(actor: Actor, **kwargs: Any) -> BillingRun:
    return services.billing_run_create(actor=actor, **{"billing_date": TODAY, **kwargs})


def refused(actor: Actor, **kwargs: Any) -> dict[str, list[str]]:
    before = (BillingRun.objects.count(), AuditEntry.objects.count())
    with pytest.raises(ValidationFailed) as exc:
        create(actor, **kwargs)
    assert (BillingRun.objects.count(), AuditEntry.objects.count()) == before
    return exc.value.errors


@pytest.mark.parametrize(("kwargs", "errors"), [
    ({"billing_date": "2026-13-01"}, {"billing_date": ["Give a date YYYY-MM-DD."]}),
    ({"billing_date": 20261125}, {"billing_date": ["Give a date YYYY-MM-DD."]}),
    ({"billing_date": dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC)}, {"billing_date": ["Give a date YYYY-MM-DD."]}),
    ({"billing_date": "2026-11-26"}, {"billing_date": ["Cannot bill ahead of today (2026-11-25)."]}),
    ({"mode": "later"}, {"mode": ["Unknown mode 'later' (one of sandbox, auto, confirm)."]}),
    ({"scope": ["clients"]}, {"scope": ["Give an object with clients, plans and/or tags (empty: all)."]}),
    ({"scope": {"regions": ["msk"], "clients": []}}, {"scope": [
        "Unknown keys: regions (allowed: clients, plans, tags)."]}),
    ({"scope": {"clients": 5}}, {"scope.clients": ["Must be a list."]}),
    ({"scope": {"plans": "pro"}}, {"scope.plans": ["Must be a list."]}),
    ({"scope": {"clients": ["1"]}}, {"scope.clients": ["Give client ids (integers)."]}),
    ({"scope": {"clients": [True]}}, {"scope.clients": ["Give client ids (integers)."]}),
    ({"scope": {"clients": [999998, 999999, 999998]}}, {"scope.clients": ["Unknown clients: 999998, 999999."]}),
    ({"scope": {"plans": ["pro", " "]}}, {"scope.plans": ["Give non-empty names."]}),
    ({"scope": {"tags": [7]}}, {"scope.tags": ["Give non-empty names."]}),
    ({"scope": {"plans": ["pro", "gold"], "tags": ["vip", "big"]}}, {"scope.plans": ["Unknown plans: gold."],
                                                                     "scope.tags": ["Unknown tags: big."]}),
    ({"billing_date": "tomorrow", "mode": "x", "scope": {"clients": [0]}}, {
        "billing_date": ["Give a date YYYY-MM-DD."], "mode": ["Unknown mode 'x' (one of sandbox, auto, confirm)."],
        "scope.clients": ["Unknown clients: 0."]}),
])
def test_a_bad_run_is_refused_and_nothing_written(book: Book, actor: Actor, kwargs: dict[str, Any],
                                                  errors: dict[str, list[str]]) -> None:
    assert refused(actor, **kwargs) == errors


def test_a_scope_is_stored_clean_and_bounds_the_run(book: Book, actor: Actor) -> None:
    c1, c2, _c3 = book.clients
    run = create(actor, billing_date=TODAY.isoformat(), scope={"clients": [c2.pk, c1.pk, c2.pk], "plans": [" lite"],
                                                               "tags": []})
    assert run.scope == {"clients": sorted([c1.pk, c2.pk]), "plans": ["lite"]}
    assert run.total == 2  # lite of client 1 and of client 2
    assert create(actor, scope={"tags": ["vip"]}).total == 1
    assert create(actor, scope=None).scope == {} and create(actor, scope={}).total == 4


def _break_client(client: Client) -> None:
    """The client's account moved to another currency after its subscriptions were made in RUB: its
    charges are refused by the ledger."""
    Client.objects.filter(pk=client.pk).update(currency="USD")


def written_for(client: Client) -> tuple[int, int]:
    return (JournalTransaction.objects.filter(client=client).count(),
            BilledPeriod.objects.filter(subscription__client=client).count())


@pytest.mark.parametrize("mode", [RunMode.AUTO, RunMode.CONFIRM])
def test_a_subscription_that_fails_to_post_is_an_error_alone(book: Book, actor: Actor, mode: str) -> None:
    c1, c2, c3 = book.clients
    billed_before = {c.pk: written_for(c) for c in book.clients}
    _break_client(c2)
    run = services.billing_run_execute(actor=actor, run=create(actor, mode=mode))
    if mode == RunMode.CONFIRM:
        from kopeck.billing.selectors import run_fingerprint

        run = services.billing_run_confirm(actor=actor, run=run, fingerprint=run_fingerprint(run))
    assert run.status == RunStatus.COMPLETED
    failed = RunItem.objects.get(run=run, client_id=c2.pk)
    assert failed.status == ItemStatus.ERROR and failed.transaction_ids in ([], None)
    assert failed.error.startswith("ValidationFailed: ")  # the ledger refused its charge
    assert written_for(c2) == billed_before[c2.pk]  # nothing of it was written
    for client in (c1, c3):  # the others were posted
        posted = RunItem.objects.filter(run=run, client_id=client.pk)
        assert posted.exists() and all(i.status == ItemStatus.OK and i.transaction_ids for i in posted)
        charges = JournalTransaction.objects.filter(client=client, operation="charge")
        assert sum(t.amount_minor for t in charges) == sum(i.amount_minor for i in posted) > 0
    assert run.summary["errors"] == 1
    # the account is set right and the error retried: posted once
    Client.objects.filter(pk=c2.pk).update(currency="RUB")
    run = services.billing_run_retry_errors(actor=actor, run=run)
    retried = RunItem.objects.get(run=run, client_id=c2.pk)
    assert retried.status == ItemStatus.OK and len(retried.transaction_ids) >= 1
    charges = JournalTransaction.objects.filter(client=c2, operation="charge")
    assert sorted(charges.values_list("pk", flat=True)) == sorted(retried.transaction_ids)
    assert sum(t.amount_minor for t in charges) == retried.amount_minor > 0
    assert run.summary["errors"] == 0
    services.billing_run_retry_errors(actor=actor, run=run)
    assert JournalTransaction.objects.filter(client=c2, operation="charge").count() == charges.count()
