"""The progress of a billing run: the selector (at a set clock), the admin's JSON view and live
progress bar, and the API's rate and seconds left."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client as WebClient
from rest_framework.test import APIClient

from kopeck.billing import services
from kopeck.billing.models import BillingRun, RunMode, RunStatus
from kopeck.billing.selectors import run_progress
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.operators.models import Operator
from kopeck.operators.roles import Role
from tests.billing.conftest import TODAY, Book

pytestmark = pytest.mark.django_db
T0 = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
ADMIN = "/admin/billing/billingrun/"
URL = "/api/v1/billing-runs/"


def seconds(n: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=n)


def make_run(**fields: Any) -> BillingRun:
    """A run in the state a test needs (the services are exercised elsewhere)."""
    values: dict[str, Any] = {"billing_date": TODAY, "mode": RunMode.SANDBOX, "status": RunStatus.COMPUTING,
                              "created_by": "tests", "created_at": T0, "started_at": T0, **fields}
    return BillingRun.objects.create(**values)


def expect(status: str, phase: str, done: int, total: int, percent: float, rate: float | None,
           left: float | None) -> dict[str, Any]:
    return {"status": status, "phase": phase, "done": done, "total": total, "percent": percent, "rate": rate,
            "seconds_left": left}


def test_computing(clock: FixedClock) -> None:
    run = make_run(total=100, processed=30)
    clock.set(seconds(10))
    assert run_progress(run) == expect("computing", "computing", 30, 100, 30.0, 3.0, 23.3)
    clock.set(seconds(20))  # slower now: 1.5 subscriptions/s
    assert run_progress(run) == expect("computing", "computing", 30, 100, 30.0, 1.5, 46.7)


def test_computing_before_anything_is_done(clock: FixedClock) -> None:
    clock.set(seconds(5))
    assert run_progress(make_run(total=100)) == expect("computing", "computing", 0, 100, 0.0, None, None)
    assert run_progress(make_run(status=RunStatus.PENDING, started_at=None, total=100)) == expect(
        "pending", "computing", 0, 100, 0.0, None, None)
    assert run_progress(make_run(status=RunStatus.PENDING, started_at=None, total=0)) == expect(
        "pending", "computing", 0, 0, 0.0, None, None)


def test_applying_an_auto_run_counts_both_phases_since_the_start(clock: FixedClock) -> None:
    run = make_run(mode=RunMode.AUTO, status=RunStatus.APPLYING, total=100, processed=100, apply_total=80,
                   applied=20)
    clock.set(seconds(60))
    assert run_progress(run) == expect("applying", "applying", 20, 80, 25.0, 2.0, 30.0)


def test_applying_a_confirmed_run_counts_from_the_confirmation(clock: FixedClock) -> None:
    run = make_run(mode=RunMode.CONFIRM, status=RunStatus.APPLYING, total=100, processed=100, apply_total=100,
                   applied=50, decided_at=seconds(3600), decided_by="op")
    clock.set(seconds(3610))
    assert run_progress(run) == expect("applying", "applying", 50, 100, 50.0, 5.0, 10.0)


def test_finished_runs(clock: FixedClock) -> None:
    clock.set(seconds(7200))  # long after: the rate is over the run's own time
    sandbox = make_run(status=RunStatus.COMPLETED, total=40, processed=40, finished_at=seconds(20))
    assert run_progress(sandbox) == expect("completed", "computing", 40, 40, 100.0, 2.0, 0.0)
    auto = make_run(mode=RunMode.AUTO, status=RunStatus.COMPLETED, total=40, processed=40, apply_total=30,
                    applied=30, finished_at=seconds(35))
    assert run_progress(auto) == expect("completed", "applying", 30, 30, 100.0, 2.0, 0.0)
    empty = make_run(status=RunStatus.COMPLETED, total=0, finished_at=seconds(1))
    assert run_progress(empty) == expect("completed", "computing", 0, 0, 100.0, None, 0.0)
    failed = make_run(status=RunStatus.FAILED, total=40, processed=10, finished_at=seconds(5))
    assert run_progress(failed) == expect("failed", "computing", 10, 40, 25.0, 2.0, None)
    awaiting = make_run(mode=RunMode.CONFIRM, status=RunStatus.AWAITING_CONFIRMATION, total=40, processed=40)
    assert run_progress(awaiting) == expect("awaiting_confirmation", "computing", 40, 40, 100.0, None, 0.0)


def test_a_real_run_at_the_clock(book: Book, actor: Actor, clock: FixedClock) -> None:
    run = services.billing_run_execute(actor=actor, run=services.billing_run_create(
        actor=actor, billing_date=TODAY, mode=RunMode.SANDBOX))
    assert run_progress(run) == expect("completed", "computing", 4, 4, 100.0, None, 0.0)  # no time passed


# ---------------------------------------------------------------------------------------------
# the admin


@pytest.fixture
def admin_client(db: Any, client: WebClient) -> WebClient:
    client.force_login(Operator.objects.create_superuser("root", "root@example.ru", "a-long-password-1"))
    return client


def test_progress_view_returns_json(clock: FixedClock, admin_client: WebClient) -> None:
    run = make_run(total=100, processed=30)
    clock.set(seconds(10))
    reply = admin_client.get(f"/en{ADMIN}{run.pk}/progress/")
    assert reply.status_code == 200 and reply["Content-Type"] == "application/json"
    assert "no-store" in reply["Cache-Control"]
    assert reply.json() == {**expect("computing", "computing", 30, 100, 30.0, 3.0, 23.3), "live": True,
                            "status_label": "Computing", "phase_label": "computing", "left_text": "0:00:24"}
    BillingRun.objects.filter(pk=run.pk).update(status=RunStatus.APPLYING, mode=RunMode.AUTO, processed=100,
                                                apply_total=100, applied=10)
    clock.set(seconds(3700))
    ru = admin_client.get(f"{ADMIN}{run.pk}/progress/").json()
    assert ru == {**expect("applying", "applying", 10, 100, 10.0, 0.03, 3000.0), "live": True,
                  "status_label": "Проведение", "phase_label": "проведение", "left_text": "0:50:00"}
    BillingRun.objects.filter(pk=run.pk).update(status=RunStatus.COMPLETED, applied=100, finished_at=seconds(3800))
    done = admin_client.get(f"{ADMIN}{run.pk}/progress/").json()
    assert done["live"] is False and done["percent"] == 100.0 and done["left_text"] == "0:00:00"
    assert admin_client.get(f"{ADMIN}999999/progress/").status_code == 404


def test_progress_view_is_for_staff_only(clock: FixedClock, client: WebClient) -> None:
    run = make_run(total=100, processed=30)
    anonymous = client.get(f"{ADMIN}{run.pk}/progress/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/admin/login/")
    assert anonymous["Content-Type"] != "application/json"
    client.force_login(Operator.objects.create(username="outsider", role=Role.ADMINISTRATOR, is_staff=False))
    assert client.get(f"{ADMIN}{run.pk}/progress/").status_code == 302
    client.force_login(Operator.objects.create(username="reader", role=Role.READ_ONLY, is_staff=True))
    reply = client.get(f"{ADMIN}{run.pk}/progress/")
    assert reply.status_code == 200 and reply.json()["done"] == 30
    run.refresh_from_db()
    assert (run.status, run.processed, run.total) == (RunStatus.COMPUTING, 30, 100)  # reading changes nothing


def test_run_page_polls_while_live_and_not_after(clock: FixedClock, admin_client: WebClient) -> None:
    run = make_run(total=100, processed=30)
    clock.set(seconds(10))
    page = admin_client.get(f"/en{ADMIN}{run.pk}/run/").content.decode()
    assert 'http-equiv="refresh"' not in page
    assert '<progress id="run-progress" value="30" max="100">' in page
    assert f'var url = "{ADMIN}{run.pk}/progress/";' in page.replace("/en/admin/", "/admin/")
    assert "setTimeout(poll, 1000)" in page and "window.location.reload()" in page
    assert '<span id="run-progress-rate">3.0</span>' in page and '<span id="run-progress-left">0:00:24</span>' in page
    assert re.search(r"<script nonce=\"[^\"]+\">\n\(function \(\) {", page)  # inline (with the CSP nonce): no external asset
    BillingRun.objects.filter(pk=run.pk).update(status=RunStatus.COMPLETED, processed=100, finished_at=seconds(20))
    page = admin_client.get(f"{ADMIN}{run.pk}/run/").content.decode()
    assert "setTimeout(poll" not in page and 'http-equiv="refresh"' not in page
    assert '<span id="run-progress-count">100/100</span>' in page


# ---------------------------------------------------------------------------------------------
# the API


def test_api_shows_rate_and_seconds_left(clock: FixedClock, api: APIClient) -> None:
    run = make_run(total=100, processed=30)
    clock.set(seconds(10))
    body = api.get(f"{URL}{run.pk}/").json()
    assert (body["rate"], body["seconds_left"]) == (3.0, 23.3)
    assert body["progress"] == {"processed": 30, "total": 100, "phase": "computing", "percent": 30.0,
                                "rate_per_second": 3.0, "seconds_left": 23.3}
    listed = api.get(URL).json()["results"]
    assert [(r["id"], r["rate"], r["seconds_left"]) for r in listed] == [(run.pk, 3.0, 23.3)]
    BillingRun.objects.filter(pk=run.pk).update(status=RunStatus.COMPLETED, processed=100, finished_at=seconds(50))
    body = api.get(f"{URL}{run.pk}/").json()
    assert (body["rate"], body["seconds_left"], body["progress"]["percent"]) == (2.0, 0.0, 100.0)


def test_schema_documents_rate_and_seconds_left() -> None:
    schema = WebClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    fields = schema["components"]["schemas"]["BillingRun"]["properties"]
    assert fields["rate"]["type"] == fields["seconds_left"]["type"] == "number"
    assert fields["rate"]["nullable"] is fields["seconds_left"]["nullable"] is True
    assert fields["rate"]["readOnly"] is True
