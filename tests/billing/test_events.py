"""Billing runs record billing_run.completed / awaiting_confirmation / failed; sandboxes record none."""

from __future__ import annotations

from typing import Any

import pytest

from kopeck.billing import services
from kopeck.billing.models import BillingRun, RunMode, RunStatus
from kopeck.billing.selectors import run_fingerprint
from kopeck.billing.services import dispatch
from kopeck.common.actor import Actor
from kopeck.events.models import Event
from tests.billing.conftest import TODAY, Book

pytestmark = pytest.mark.django_db


def run_events() -> list[tuple[str, Any, Any]]:
    return [(e.type, e.subject_id, e.data["run"]["status"]) for e in
            Event.objects.filter(type__startswith="billing_run.").order_by("id")]


def test_runs_record_their_events(book: Book, actor: Actor) -> None:
    sandbox = services.billing_run_execute(actor=actor, run=services.billing_run_create(
        actor=actor, billing_date=TODAY, mode=RunMode.SANDBOX))
    assert sandbox.status == RunStatus.COMPLETED
    assert run_events() == []
    confirm = services.billing_run_execute(actor=actor, run=services.billing_run_create(
        actor=actor, billing_date=TODAY, mode=RunMode.CONFIRM))
    services.billing_run_confirm(actor=actor, run=confirm, fingerprint=run_fingerprint(confirm))
    assert run_events() == [("billing_run.awaiting_confirmation", confirm.pk, "awaiting_confirmation"),
                            ("billing_run.completed", confirm.pk, "completed")]
    completed = Event.objects.get(type="billing_run.completed")
    assert (completed.client_id, completed.sequence) == (None, None)
    assert completed.data["run"]["summary"]["subscriptions"] == 4
    assert completed.data["run"]["mode"] == "confirm"


def test_a_failed_run_records_its_event(book: Book, actor: Actor, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(**kwargs: Any) -> int:
        raise RuntimeError("worker lost")

    monkeypatch.setattr(dispatch, "process_chunk", broken)
    created = services.billing_run_create(actor=actor, billing_date=TODAY, mode=RunMode.AUTO)
    with pytest.raises(RuntimeError, match="worker lost"):
        services.billing_run_execute(actor=actor, run=created)
    assert BillingRun.objects.get(pk=created.pk).status == RunStatus.FAILED
    [failed] = Event.objects.filter(type="billing_run.failed")
    assert failed.subject_id == created.pk
    assert failed.data["error"]
