"""The engine's work per batch: the context of the events is loaded only when the conditions read it or
a rule matches; the enabled rules are compiled once and follow every change; a condition sees the
event's fields whatever it reads of them."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kopeck.events.models import Event
from kopeck.events.services import events_dispatch_all
from kopeck.rules import engine
from kopeck.rules.models import ExecutionStatus, Rule, RuleExecution
from kopeck.rules.services import rule_update
from tests.rules.conftest import make_client, make_rule
from tests.rules.test_engine import change, execution, tags

pytestmark = pytest.mark.django_db


def tables_read(queries: list[dict[str, Any]]) -> set[str]:
    found = set()
    for query in queries:
        sql = query["sql"].lower()
        for table in ("clients_client", "clients_client_tags", "subscriptions_subscription", "documents_variable",
                      "documents_legalentity"):
            if f'from "{table}"' in sql or f"from {table} " in sql:
                found.add(table)
    return found


def test_conditions_on_the_event_alone_load_nothing_else_when_no_rule_matches() -> None:
    make_rule("never", condition='event.data.changed.exists(c, c == "no such field")')
    client = make_client()
    event = change(client, name="Пётр")
    with CaptureQueriesContext(connection) as queries:
        events_dispatch_all()
    assert execution(event).status == ExecutionStatus.NO_MATCH
    assert tables_read(queries.captured_queries) == set()  # no client, subscription or variable was read


def test_a_matching_rule_still_sees_the_whole_context() -> None:
    make_rule("greet", condition='event.data.changed.exists(c, c == "name")',
              actions=[{"type": "set_client_field", "field": "full_name", "value": "{{ client.name }} ({{ vars.x }})"}])
    from kopeck.common.actor import Actor
    from kopeck.documents.services import variable_set

    variable_set(actor=Actor.system("tests"), code="x", value="икс")
    client = make_client()
    event = change(client, name="Пётр")
    with CaptureQueriesContext(connection) as queries:
        events_dispatch_all()
    assert execution(event).status == ExecutionStatus.MATCHED
    assert {"clients_client", "documents_variable"} <= tables_read(queries.captured_queries)
    client.refresh_from_db()
    assert client.fields["full_name"] == "Пётр (икс)"


def test_conditions_reading_the_client_load_the_batchs_clients_once() -> None:
    make_rule("vip", condition='"vip" in client.tags')
    clients = [make_client(f"Клиент {n}") for n in range(3)]
    events = [change(c, name=f"{c.name}!") for c in clients]
    with CaptureQueriesContext(connection) as queries:
        events_dispatch_all()
    client_reads = [q for q in queries.captured_queries if 'from "clients_client"' in q["sql"].lower()]
    assert len(client_reads) == 1
    assert [execution(e).status for e in events] == [ExecutionStatus.NO_MATCH] * 3


def test_every_field_of_the_event_can_be_read() -> None:
    rule = make_rule("all fields", condition=(
        'event.uid.startsWith("evt_") && event.type == "client.changed" && event.version == 1 && event.sequence == 2 '
        '&& event.subject.type == "client" && event.subject.id == event.client_id && event.depth == 0 '
        '&& event.id > 0 && event.timestamp <= now && event.data.changed == ["name"]'))
    client = make_client()
    event = change(client, name="Пётр")
    events_dispatch_all()
    assert execution(event).matched == f",{rule.pk},"
    assert tags(client) == ["all fields"]


def test_the_enabled_rules_follow_every_change() -> None:
    first = make_rule("first", priority=1)
    second = make_rule("second", priority=2)
    assert [r.id for r in engine.enabled_rules()] == [first.pk, second.pk]
    assert engine.enabled_rules() is engine.enabled_rules()  # compiled once while nothing changes
    rule_update(actor=engine.Actor.system("tests"), rule=second, priority=0)
    assert [r.id for r in engine.enabled_rules()] == [second.pk, first.pk]
    Rule.objects.filter(pk=first.pk).update(condition="false")  # even a change that bypasses the revision
    assert [r.condition.source if r.condition else None for r in engine.enabled_rules()] == ["", "false"]
    Rule.objects.filter(pk=second.pk).update(is_enabled=False)
    assert [r.id for r in engine.enabled_rules()] == [first.pk]
    client = make_client()
    event = change(client, name="Пётр")
    events_dispatch_all()
    assert RuleExecution.objects.get(event=event).status == ExecutionStatus.NO_MATCH
    assert Event.objects.filter(pk=event.pk).exists()
