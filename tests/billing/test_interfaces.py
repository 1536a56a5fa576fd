"""The API and the CLI of billing runs."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import translation
from rest_framework.test import APIClient

from kopeck.billing.models import BillingRun, RunItem, RunStatus
from kopeck.common.actor import Actor
from kopeck.ledger.models import JournalTransaction
from kopeck.operators.roles import Role
from tests.billing.conftest import TODAY, Book

pytestmark = pytest.mark.django_db
URL = "/api/v1/billing-runs/"


def test_api_create_executes_a_sandbox_run(book: Book, api: APIClient) -> None:
    reply = api.post(URL, {"billing_date": TODAY.isoformat(), "mode": "sandbox",
                           "scope": {"plans": ["pro"]}}, format="json")
    assert reply.status_code == 201, reply.content
    body = reply.json()
    assert body["status"] == RunStatus.COMPLETED and body["mode"] == "sandbox"
    assert body["progress"]["processed"] == body["progress"]["total"] == 2
    assert body["summary"]["subscriptions"] == 2
    assert JournalTransaction.objects.count() == 0
    run_id = body["id"]
    detail = api.get(f"{URL}{run_id}/").json()
    assert detail["summary"] == body["summary"]
    assert [r["id"] for r in api.get(URL).json()["results"]] == [run_id]
    items = api.get(f"{URL}{run_id}/items/", {"status": "ok", "page_size": 1}).json()
    assert items["count"] == 2 and len(items["results"]) == 1
    assert items["results"][0]["items"][0]["explanation"]["en"]
    first = items["results"][0]  # amounts are decimal strings, as everywhere in the API (issue 13)
    assert "amount_minor" not in first
    assert first["amount"] == f"{sum(Decimal(ln['amount']) for ln in first['items']):.2f}" != "0.00"
    assert api.get(f"{URL}{run_id}/items/", {"status": "error"}).json()["count"] == 0
    assert api.get(f"{URL}{run_id}/items/", {"status": "bad"}).status_code == 400
    export = api.get(f"{URL}{run_id}/export.csv")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode())))  # type: ignore[arg-type]
    assert len(rows) == sum(len(i.items) for i in RunItem.objects.filter(run_id=run_id))
    other = api.post(URL, {"billing_date": TODAY.isoformat()}, format="json").json()
    diff = api.get(f"{URL}compare/", {"a": run_id, "b": other["id"]})
    assert diff.status_code == 200 and diff.json()["counts"]["added"] > 0
    assert api.get(f"{URL}compare/", {"a": run_id}).status_code == 400
    assert api.get(f"{URL}compare/", {"a": run_id, "b": 999999}).status_code == 404


@pytest.mark.parametrize(("body", "field"), [
    ({"billing_date": TODAY.isoformat(), "mode": "later"}, "mode"),
    ({"billing_date": "2026-11-26"}, "billing_date"),
    ({"billing_date": TODAY.isoformat(), "scope": {"tags": ["nope"]}}, "scope.tags"),
])
def test_api_refuses_bad_runs(book: Book, api: APIClient, body: dict[str, object], field: str) -> None:
    reply = api.post(URL, body, format="json")
    assert reply.status_code == 400, reply.content
    assert field in json.dumps(reply.json())
    assert BillingRun.objects.count() == 0


def test_api_permissions(book: Book, operator_as: Callable[[str], APIClient],
                         api_as: Callable[..., APIClient]) -> None:
    body = {"billing_date": TODAY.isoformat()}
    assert operator_as(Role.MANAGER).post(URL, body, format="json").status_code == 403
    read_only = operator_as(Role.READ_ONLY)
    assert read_only.post(URL, body, format="json").status_code == 403
    assert read_only.get(URL).status_code == 200
    assert operator_as(Role.ACCOUNTANT).post(URL, body, format="json").status_code == 201
    assert api_as("billing:read").post(URL, body, format="json").status_code == 403
    assert api_as("subscriptions:write").get(URL).status_code == 403
    assert api_as("billing:write").post(URL, body, format="json").status_code == 201


def test_cli_run_export_compare(book: Book, actor: Actor, tmp_path: Path) -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("billing", "run", "--date", TODAY.isoformat(), "--mode", "sandbox", "--plan", "lite",
                 stdout=out, stderr=err)
    result = json.loads(out.getvalue())
    assert result["status"] == "completed" and result["summary"]["subscriptions"] == 2
    assert "2/2" in err.getvalue()  # the progress bar
    run_id = result["run"]
    target = tmp_path / "run.csv"
    call_command("billing", "export", str(run_id), "--format", "csv", "-o", str(target))
    assert target.read_text().startswith("client_id,client,subscription_id")
    out = io.StringIO()
    call_command("billing", "export", str(run_id), stdout=out)
    assert out.getvalue() == target.read_text()
    out = io.StringIO()
    call_command("billing", "run", "--date", TODAY.isoformat(), "--mode", "sandbox", "--no-progress", stdout=out)
    other = json.loads(out.getvalue())["run"]
    out = io.StringIO()
    call_command("billing", "compare", str(run_id), str(other), stdout=out)
    assert json.loads(out.getvalue())["counts"]["added"] > 0


@pytest.mark.parametrize(("args", "message"), [
    (["run", "--date", "2026-11-26", "--mode", "sandbox"], "billing_date: Cannot bill ahead of today"),
    (["run", "--date", "yesterday", "--mode", "sandbox"], "billing_date: Give a date"),
    (["confirm", "999999"], "billing run 999999 does not exist"),
    (["reject", "999999"], "billing run 999999 does not exist"),
    (["run", "--date", "2026-11-25", "--mode", "bogus"], "invalid choice"),
    (["run", "--date", "2026-11-25", "--mode", "sandbox", "--client", "999999"], "scope.clients: Unknown clients"),
    (["run", "--date", "2026-11-25", "--mode", "sandbox", "--client", "x"], "invalid int value"),
    (["export", "999999"], "billing run 999999 does not exist"),
    (["export", "1", "--format", "pdf"], "invalid choice"),
    (["compare", "999998", "999999"], "billing run 999998 does not exist"),
])
def test_cli_refuses_bad_input(book: Book, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("billing", *args, stdout=io.StringIO(), stderr=io.StringIO())
    assert BillingRun.objects.count() == 0


def test_cli_exit_code(book: Book) -> None:
    from django.core.management import ManagementUtility

    utility = ManagementUtility(["kopeck", "billing", "run", "--date", "2026-11-26", "--mode", "sandbox"])
    with pytest.raises(SystemExit) as exit_:
        utility.execute()
    assert exit_.value.code == 1


def test_api_confirm_mode_exclude_confirm_and_reject(book: Book, api: APIClient) -> None:
    reply = api.post(URL, {"billing_date": TODAY.isoformat(), "mode": "confirm"}, format="json")
    assert reply.status_code == 201, reply.content
    body = reply.json()
    assert body["status"] == RunStatus.AWAITING_CONFIRMATION and body["fingerprint"]
    run_id = body["id"]
    assert JournalTransaction.objects.count() == 0
    excluded = api.post(f"{URL}{run_id}/exclude/", {"client": book.clients[0].pk}, format="json")
    assert excluded.status_code == 200 and excluded.json()["fingerprint"] != body["fingerprint"]
    assert api.post(f"{URL}{run_id}/exclude/", {}, format="json").status_code == 400
    stale = api.post(f"{URL}{run_id}/confirm/", {"fingerprint": body["fingerprint"]}, format="json")
    assert stale.status_code == 409 and JournalTransaction.objects.count() == 0
    item = RunItem.objects.filter(run_id=run_id, client=book.clients[0]).first()
    assert item is not None
    assert api.post(f"{URL}{run_id}/include/", {"item": item.pk}, format="json").status_code == 200
    current = api.get(f"{URL}{run_id}/").json()["fingerprint"]
    done = api.post(f"{URL}{run_id}/confirm/", {"fingerprint": current}, format="json")
    assert done.status_code == 200 and done.json()["status"] == RunStatus.COMPLETED
    applied = RunItem.objects.filter(run_id=run_id, applied_at__isnull=False)
    assert applied.count() == 3 and item.pk in applied.values_list("pk", flat=True)
    assert sorted(JournalTransaction.objects.values_list("pk", flat=True)) == sorted(
        t for ids in applied.values_list("transaction_ids", flat=True) for t in ids)
    items = api.get(f"{URL}{run_id}/items/").json()["results"]
    assert {"excluded", "changed", "applied_at", "transaction_ids"} <= set(items[0])
    assert api.post(f"{URL}{run_id}/reject/").status_code == 409
    other = api.post(URL, {"billing_date": TODAY.isoformat(), "mode": "confirm"}, format="json").json()
    rejected = api.post(f"{URL}{other['id']}/reject/")
    assert rejected.status_code == 200 and rejected.json()["status"] == RunStatus.REJECTED


def test_api_auto_run_twice_posts_once(book: Book, api: APIClient) -> None:
    first = api.post(URL, {"billing_date": TODAY.isoformat(), "mode": "auto"}, format="json").json()
    assert first["status"] == RunStatus.COMPLETED and first["summary"]["events"][0]["type"] == "billing_run.completed"
    count = JournalTransaction.objects.count()
    assert count > 0
    second = api.post(URL, {"billing_date": TODAY.isoformat(), "mode": "auto"}, format="json").json()
    assert second["status"] == RunStatus.COMPLETED and JournalTransaction.objects.count() == count


def test_cli_auto_confirm_reject(book: Book) -> None:
    out = io.StringIO()
    call_command("billing", "run", "--date", TODAY.isoformat(), "--mode", "confirm", "--plan", "lite",
                 "--no-progress", stdout=out)
    result = json.loads(out.getvalue())
    assert result["status"] == RunStatus.AWAITING_CONFIRMATION and result["fingerprint"]
    with pytest.raises(CommandError, match="fingerprint: Does not match"):
        call_command("billing", "confirm", str(result["run"]), "--fingerprint", "x", stdout=io.StringIO())
    out = io.StringIO()
    call_command("billing", "confirm", str(result["run"]), "--fingerprint", result["fingerprint"],
                 "--no-progress", stdout=out)
    assert json.loads(out.getvalue())["status"] == RunStatus.COMPLETED
    lite = JournalTransaction.objects.count()
    assert lite > 0
    out = io.StringIO()
    call_command("billing", "run", "--date", TODAY.isoformat(), "--mode", "confirm", "--no-progress", stdout=out)
    pending = json.loads(out.getvalue())["run"]
    out = io.StringIO()
    call_command("billing", "reject", str(pending), stdout=out)
    assert json.loads(out.getvalue())["status"] == RunStatus.REJECTED and JournalTransaction.objects.count() == lite
    out, err = io.StringIO(), io.StringIO()
    call_command("billing", "run", "--date", TODAY.isoformat(), "--mode", "auto", stdout=out, stderr=err)
    assert json.loads(out.getvalue())["status"] == RunStatus.COMPLETED and JournalTransaction.objects.count() > lite
    with pytest.raises(CommandError, match="status"):
        call_command("billing", "reject", str(pending), stdout=io.StringIO())


def test_api_excludes_one_line_and_refuses_a_bad_one(book: Book, api: APIClient) -> None:
    body = api.post(URL, {"billing_date": TODAY.isoformat(), "mode": "confirm",
                          "scope": {"clients": [book.clients[0].pk]}}, format="json").json()
    item = RunItem.objects.filter(run_id=body["id"]).order_by("subscription_id").first()
    assert item is not None
    line = {"component": item.items[0]["component"], "period_start": item.items[0]["period"]["start"]}
    bad = api.post(f"{URL}{body['id']}/exclude/", {"item": item.pk, "line": {"component": "x",
                                                                            "period_start": "2026-01-01"}},
                   format="json")
    assert bad.status_code == 400 and [e["field"] for e in bad.json()["errors"]] == ["line"]
    assert RunItem.objects.get(pk=item.pk).excluded_lines == []
    ok = api.post(f"{URL}{body['id']}/exclude/", {"item": item.pk, "line": line}, format="json")
    assert ok.status_code == 200, ok.content
    items = api.get(f"{URL}{body['id']}/items/").json()["results"]
    assert [i["excluded_lines"] for i in items if i["id"] == item.pk] == [[[line["component"],
                                                                           line["period_start"]]]]
    fingerprint = ok.json()["fingerprint"]
    done = api.post(f"{URL}{body['id']}/confirm/", {"fingerprint": fingerprint}, format="json")
    assert done.status_code == 200 and done.json()["status"] == RunStatus.COMPLETED
    refs = set(JournalTransaction.objects.values_list("source_ref", flat=True))
    assert f"subscription:{item.subscription_id}:{line['component']}:{line['period_start']}" not in refs
    assert refs  # the other lines were posted


def test_resume_finishes_a_failed_run_from_the_api_and_the_cli(book: Book, api: APIClient, actor: Actor,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from kopeck.billing import services

    for how in ("api", "cli"):
        run = services.billing_run_create(actor=actor, billing_date=TODAY, mode="sandbox")
        BillingRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED)  # as after a crash
        if how == "api":
            reply = api.post(f"{URL}{run.pk}/resume/", format="json")
            assert reply.status_code == 200 and reply.json()["status"] == RunStatus.COMPLETED
        else:
            call_command("billing", "resume", str(run.pk), "--no-progress")
            assert json.loads(capsys.readouterr().out)["status"] == RunStatus.COMPLETED
        run.refresh_from_db()
        assert run.status == RunStatus.COMPLETED and run.processed == run.total == 4
    assert api.post(f"{URL}999999/resume/", format="json").status_code == 404
    # the API activated the caller's language (ru by default); the command speaks the active one
    with translation.override("en"), pytest.raises(CommandError, match="does not exist"):
        call_command("billing", "resume", "999999")
