"""Monthly acts: the periodic job (by the document settings), the API and the CLI."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.common.errors import ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.documents import services
from kopeck.documents.models import Document, LegalEntity
from kopeck.documents.tasks import monthly_acts
from kopeck.ledger.services import ledger_operation_post
from tests.documents.conftest import counters
from tests.subscriptions.helpers import at

pytestmark = pytest.mark.django_db
D = dt.date


def charge_in_october(actor: Actor, clock: FixedClock, buyer: Client) -> None:
    at(clock, D(2026, 10, 3))
    ledger_operation_post(actor=actor, client=buyer, operation="charge", amount="1220.00", reason="VPS",
                          vat_rate="22")


def test_the_job_issues_last_months_acts_once_when_switched_on(entity: LegalEntity, buyer: Client, actor: Actor,
                                                               clock: FixedClock) -> None:
    charge_in_october(actor, clock, buyer)
    at(clock, D(2026, 11, 1))
    assert monthly_acts.delay().get() == 0  # off by default
    assert Document.objects.count() == 0 and counters() == []
    with pytest.raises(ValidationFailed):
        services.document_settings_update(actor=actor, monthly_acts="weekly")
    services.document_settings_update(actor=actor, monthly_acts="upd")
    assert monthly_acts.delay().get() == 1
    doc = Document.objects.get()
    assert (doc.type, doc.period_start, doc.period_end, doc.issue_date) == ("upd", D(2026, 10, 1), D(2026, 10, 31),
                                                                           D(2026, 10, 31))
    at(clock, D(2026, 11, 2))
    assert monthly_acts.delay().get() == 0  # the job runs every few hours: nothing twice


def test_api_and_cli_issue_a_months_acts(entity: LegalEntity, buyer: Client, actor: Actor, clock: FixedClock,
                                         api: APIClient, capsys: pytest.CaptureFixture[str]) -> None:
    charge_in_october(actor, clock, buyer)
    at(clock, D(2026, 11, 5))
    bad = api.post("/api/v1/documents/monthly-acts/", {"month": "октябрь"}, format="json")
    assert bad.status_code == 400 and Document.objects.count() == 0
    reply = api.post("/api/v1/documents/monthly-acts/", {"month": "2026-10"}, format="json")
    assert reply.status_code == 201, reply.content
    assert [(d["type"], d["number"]) for d in reply.json()] == [("act", "1")]
    with pytest.raises(CommandError, match="kind"):
        call_command("documents", "monthly-acts", "--month", "2026-10", "--kind", "invoice")
    call_command("documents", "monthly-acts", "--month", "2026-10", "--kind", "upd")
    assert [d["number"] for d in json.loads(capsys.readouterr().out)] == ["1"]  # УПД: its own sequence
    call_command("documents", "monthly-acts", "--month", "2026-10")
    assert json.loads(capsys.readouterr().out) == []  # the act was issued already
    with pytest.raises(CommandError, match="month"):
        call_command("documents", "monthly-acts", "--month", "2026-13")
