"""The test button: a rule (saved or a draft) against a stored or hand-written event, with no side
effect."""

from __future__ import annotations

from typing import Any

import pytest

from kopeck.audit.models import AuditEntry
from kopeck.clients.models import Client
from kopeck.common.errors import ValidationFailed
from kopeck.events.models import Event
from kopeck.outbox.models import OutboxMessage
from kopeck.rules.models import RuleExecution
from kopeck.rules.services import rule_test
from tests.rules.conftest import ACTOR, make_client, make_rule

pytestmark = pytest.mark.django_db


def snapshot() -> dict[str, Any]:
    return {"events": Event.objects.count(), "audit": AuditEntry.objects.count(),
            "outbox": OutboxMessage.objects.count(), "executions": RuleExecution.objects.count(),
            "clients": list(Client.objects.values_list("status", "fields", "name")),
            "tags": sorted(Client.objects.values_list("tags__name", flat=True).exclude(tags__name=None))}


def test_a_saved_rule_against_a_stored_event_changes_nothing() -> None:
    rule = make_rule("block debtors", triggers=["client.changed"], condition='"debtor" in client.tags',
                     is_enabled=False, actions=[
                         {"type": "block_client"}, {"type": "add_tag", "tag": "blocked-by-rule"},
                         {"type": "notify", "to": ["client"], "subject": "Блокировка {{ client.name }}",
                          "body": "…"}])
    client = make_client(tags=["debtor"])
    from kopeck.clients.services import client_update

    client_update(actor=ACTOR, client=client, name="Иван Петрович Петров")
    event = Event.objects.filter(type="client.changed").latest("id")
    before = snapshot()
    result = rule_test(actor=ACTOR, rule=rule, event_id=event.pk)
    assert snapshot() == before
    assert (result["triggered"], result["condition"], result["error"]) == (True, True, "")
    assert result["actions"] == [
        {"type": "block_client", "would": f"Block client {client.pk} for «non_payment» (active → blocked)"},
        {"type": "add_tag", "would": f"Add tag «blocked-by-rule» to client {client.pk}"},
        {"type": "notify", "would": "E-mail to ivan@example.ru: «Блокировка Иван Петрович Петров»"},
    ]
    assert result["seen"]["client"]["tags"] == ["debtor"]


def test_a_draft_against_a_hand_written_event() -> None:
    client = make_client()
    draft = {"triggers": ["payment.received"], "condition": 'double(event.data.payment.amount) >= 1000.0',
             "actions": [{"type": "add_tag", "tag": "paid"}]}
    event = {"type": "payment.received", "client_id": client.pk, "subject_id": 5,
             "data": {"payment": {"id": 5, "amount": "1990.00", "currency": "RUB", "date": "2026-12-01",
                                  "method": "bank", "status": "received"}}}
    before = snapshot()
    result = rule_test(actor=ACTOR, rule=draft, event=event)
    assert snapshot() == before
    assert (result["triggered"], result["condition"]) == (True, True)
    assert result["actions"] == [{"type": "add_tag", "would": f"Add tag «paid» to client {client.pk}"}]
    small = rule_test(actor=ACTOR, rule=draft, event={**event, "data": {"payment": {"amount": "10.00"}}})
    assert (small["condition"], small["actions"]) == (False, [])
    broken = rule_test(actor=ACTOR, rule=draft, event={**event, "data": {}})
    assert (broken["condition"], broken["error"]) == (None, "No field 'payment' in the data (test for it with "
                                                            "has(…) first).")
    other = rule_test(actor=ACTOR, rule=draft, event={**event, "type": "payment.refunded"})
    assert other["triggered"] is False


def test_bad_tests_are_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        rule_test(actor=ACTOR, rule={"triggers": ["x.y"], "condition": "open('/')"}, event_id=1)
    assert set(caught.value.errors) == {"triggers", "condition"}
    with pytest.raises(ValidationFailed, match="Give either"):
        rule_test(actor=ACTOR, rule={"triggers": ["client.created"]})
    with pytest.raises(ValidationFailed) as caught:
        rule_test(actor=ACTOR, rule={"triggers": ["client.created"]}, event={"type": "nope"})
    assert caught.value.errors == {"event.type": ["Choose an event type of the catalog."]}
    with pytest.raises(ValidationFailed, match="does not exist"):
        rule_test(actor=ACTOR, rule={"triggers": ["client.created"]}, event_id=999)
