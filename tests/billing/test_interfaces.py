"""The API and the CLI of billing runs."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
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
    ({"billing_date": TODAY.isoformat(), "mode": "auto"}, "mode"),
    ({"billing_date": TODAY.isoformat(), "mode": "confirm"}, "mode"),
    ({"billing_date": "2026-11-26"}, "billing_date"),
    ({"billing_date": TODAY.isoformat(), "scope": {"tags": ["nope"]}}, "scope.tags"),
])
def test_api_refuses_bad_runs(book: Book, api: APIClient, body: dict[str, object], field: str) -> None:
    reply = api.post(URL, body, format="json")
    assert reply.status_code == 400, reply.content
    assert field in json.dumps(reply.json())
    if field == "mode":
        assert "not available yet" in json.dumps(reply.json())
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
    (["run", "--date", "2026-11-25", "--mode", "auto"], "mode: The auto mode is not available yet"),
    (["run", "--date", "2026-11-25", "--mode", "bogus"], "invalid choice"),
    (["run", "--date", "2026-11-25", "--mode", "sandbox", "--client", "999999"], "scope.clients: Unknown clients"),
    (["run", "--date", "2026-11-25", "--mode", "sandbox", "--client", "x"], "invalid int value"),
    (["export", "999999"], "billing run 999999 does not exist"),
    (["export", "1", "--format", "xlsx"], "invalid choice"),
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
