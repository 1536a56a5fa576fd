"""Concurrent writers of one plan's versions (PostgreSQL): numbers stay unique and gapless, and a draft
is published once; versions are published in number order."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections

from kopeck.audit.models import AuditEntry
from kopeck.catalog import services
from kopeck.catalog.models import PlanVersion, VersionStatus
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict
from kopeck.core.clock import FixedClock
from tests.catalog.catalog_helpers import hosting_spec, make_plan

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]



def run_together(calls: list[Callable[[], Any]]) -> tuple[list[Any], list[BaseException]]:
    barrier = threading.Barrier(len(calls))
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker(call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results.append(call())
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(c,)) for c in calls]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


def test_concurrent_drafts_get_consecutive_numbers(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    results, errors = run_together([
        lambda i=i: services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec(base_rub=f"{1000 + i}.00"))
        for i in range(20)])
    assert errors == []
    assert sorted(v.number for v in results) == list(range(1, 21))


def test_a_draft_is_published_once(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    draft = services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec())
    results, errors = run_together([
        lambda: services.plan_version_publish(actor=actor, version=draft, effective_from=dt.date(2026, 12, 1),
                                              existing_subscribers="next_period")
        for _ in range(10)])
    assert len(results) == 1
    assert len(errors) == 9
    assert all(isinstance(e, Conflict) for e in errors)


def test_concurrent_publications_keep_the_number_order(clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    drafts = [services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec()) for _ in range(8)]
    results, errors = run_together([
        lambda d=d: services.plan_version_publish(actor=actor, version=d, effective_from=dt.date(2026, 12, 1),
                                                  existing_subscribers="next_period")
        for d in drafts])
    assert results
    assert all(isinstance(e, Conflict) for e in errors)
    assert PlanVersion.objects.filter(plan=plan, status=VersionStatus.PUBLISHED).count() == len(results)
    # Publications are serialised by the plan's row lock, so the audit log has them in the order they
    # happened: whatever order the threads ran in, no version was published after a newer one.
    order = [e.after["number"] for e in AuditEntry.objects.filter(action="plan_version.publish").order_by("pk")]
    assert order == sorted(order)
    assert len(order) == len(set(order)) == len(results)
