"""The rules' block_client / unblock_client actions place and lift real blocks (kopeck.credit) with a
reason and the source "rule": once per event, never lifting a block a rule did not place."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import transaction

from kopeck.audit.models import AuditEntry
from kopeck.clients.models import Client
from kopeck.clients.services import client_update
from kopeck.common.actor import Actor
from kopeck.common.errors import ValidationFailed
from kopeck.credit.models import Block
from kopeck.credit.services import block_lift, block_place
from kopeck.events.models import Event
from kopeck.events.services import events_dispatch_all
from kopeck.rules import actions as rule_actions
from kopeck.rules.models import Rule, RuleExecution
from tests.rules.conftest import ACTOR, make_client, make_rule

pytestmark = pytest.mark.django_db


def status(client: Client) -> str:
    return str(Client.objects.get(pk=client.pk).status)


def blocks(client: Client) -> list[tuple[Any, ...]]:
    return list(Block.objects.filter(client=client).order_by("id").values_list(
        "reason", "source", "automatic", "effect", "comment", "created_by", "lifted_at", "lifted_by", "lift_comment"))


def tag(client: Client, *names: str) -> Event:
    client_update(actor=ACTOR, client=client, tags=list(names))
    return Event.objects.filter(type="client.changed", client_id=client.pk).latest("id")


def last_detail(rule: Rule, event: Event) -> str:
    run = RuleExecution.objects.filter(event=event).latest("id")
    [result] = [r for r in run.results if r.get("rule") == rule.pk]
    return str(result["actions"][0]["detail"])


def test_a_rule_places_a_real_block_with_its_reason_and_the_source_rule() -> None:
    rule = make_rule("abuse", triggers=["client.changed"], condition='"spam" in client.tags',
                     actions=[{"type": "block_client", "reason": "abuse", "comment": "Спам: {{ client.name }}"}])
    client = make_client()
    event = tag(client, "spam")
    events_dispatch_all()
    assert status(client) == "blocked"
    assert blocks(client) == [("abuse", "rule", False, "continue", "Спам: Иван Петров", f"rule:{rule.pk}", None, "",
                               "")]
    [block] = Block.objects.filter(client=client)
    assert block.key == f"rule-{rule.pk}-event-{event.pk}-action-0"
    blocked = Event.objects.get(type="client.blocked")
    assert (blocked.actor_label, blocked.data["source"], blocked.data["reason"], blocked.data["block_id"],
            blocked.depth) == (f"rule:{rule.pk}", "rule", "abuse", block.pk, 1)
    assert last_detail(rule, event) == f"Block client {client.pk} for «abuse» (active → blocked)"


def test_the_default_reason_is_non_payment_and_pauses_billing() -> None:
    make_rule("debtor", triggers=["client.changed"], condition='"debtor" in client.tags',
              actions=[{"type": "block_client"}])
    client = make_client()
    tag(client, "debtor")
    events_dispatch_all()
    assert [(row[0], row[1], row[3]) for row in blocks(client)] == [("non_payment", "rule", "pause")]


def test_the_same_event_processed_again_places_nothing() -> None:
    rule = make_rule("abuse", triggers=["client.changed"], condition='"spam" in client.tags',
                     actions=[{"type": "block_client", "reason": "abuse"}])
    client = make_client()
    event = tag(client, "spam")
    events_dispatch_all()
    [block] = Block.objects.filter(client=client)
    block_place(actor=ACTOR, client=client, reason="legal", source="operator")  # the operator's block: the client stays blocked
    block_lift(actor=ACTOR, block=block, comment="Проверено")  # the operator lifted the rule's block
    before = (Block.objects.count(), Event.objects.count(), AuditEntry.objects.count())
    # the rule's action delivered again for the same event (at least once): its key finds the block
    target = rule_actions.Target(event.pk, client.pk, None, {}, rule.pk, 0)
    with transaction.atomic():
        said = rule_actions.run({"type": "block_client", "reason": "abuse"}, target, Actor.system(f"rule:{rule.pk}"))
    assert said == f"Block client {client.pk}: placed for this event already (block {block.pk}), nothing to do"
    assert (Block.objects.count(), Event.objects.count(), AuditEntry.objects.count()) == before
    again = block_place(actor=ACTOR, client=client, reason="abuse", source="rule", key=block.key)
    assert again.pk == block.pk and again.lifted_at is not None
    assert (Block.objects.count(), Event.objects.count(), AuditEntry.objects.count()) == before


def test_a_rules_block_holding_for_the_reason_is_not_placed_twice() -> None:
    rule = make_rule("abuse", triggers=["client.changed"], condition='"spam" in client.tags',
                     actions=[{"type": "block_client", "reason": "abuse"}])
    client = make_client()
    tag(client, "spam")
    events_dispatch_all()
    [block] = Block.objects.filter(client=client)
    second = tag(client, "spam", "vip")  # another event the rule matches
    events_dispatch_all()
    assert Block.objects.filter(client=client).count() == 1
    assert last_detail(rule, second) == (f"Block client {client.pk} for «abuse»: a rule's block for it holds already "
                                         f"(block {block.pk}), nothing to do")


def test_unblock_lifts_only_the_blocks_rules_placed() -> None:
    make_rule("block", triggers=["client.changed"], condition='"spam" in client.tags',
              actions=[{"type": "block_client", "reason": "abuse"}])
    unblock = make_rule("unblock", triggers=["client.changed"], condition='"cleared" in client.tags',
                        actions=[{"type": "unblock_client", "comment": "Снято правилом"}])
    client = make_client()
    tag(client, "spam")
    events_dispatch_all()
    manual = block_place(actor=ACTOR, client=client, reason="fraud", comment="Проверка", source="operator")
    event = tag(client, "cleared")
    events_dispatch_all()
    rule_block = Block.objects.get(client=client, source="rule")
    assert (rule_block.lifted_by, rule_block.lift_comment) == (f"rule:{unblock.pk}", "Снято правилом")
    assert rule_block.lifted_at is not None
    assert list(Block.objects.filter(client=client, lifted_at__isnull=True)) == [manual]
    assert status(client) == "blocked"  # the operator's block holds
    assert last_detail(unblock, event) == (f"Unblock client {client.pk}: lift the rules' blocks #{rule_block.pk} "
                                           "(blocked → blocked)")
    assert Event.objects.filter(type="client.unblocked").count() == 0
    later = tag(client, "cleared", "again")
    events_dispatch_all()
    assert last_detail(unblock, later) == f"Unblock client {client.pk}: no block placed by a rule holds, nothing to do"


def test_unblock_of_one_reason_leaves_the_rules_other_blocks() -> None:
    make_rule("abuse", triggers=["client.changed"], condition='"spam" in client.tags',
              actions=[{"type": "block_client", "reason": "abuse"}, {"type": "block_client", "reason": "legal"}])
    make_rule("unblock", triggers=["client.changed"], condition='"cleared" in client.tags',
              actions=[{"type": "unblock_client", "reason": "abuse"}])
    client = make_client()
    tag(client, "spam")
    events_dispatch_all()
    tag(client, "cleared")
    events_dispatch_all()
    assert sorted(Block.objects.filter(client=client, lifted_at__isnull=True).values_list("reason", flat=True)) == [
        "legal"]
    assert status(client) == "blocked"


@pytest.mark.parametrize(("action", "message"), [
    ({"type": "block_client", "reason": "debt"}, "Choose a reason of: non_payment, client_request, abuse, fraud, legal."),
    ({"type": "unblock_client", "reason": "debt"},
     "Choose a reason of: non_payment, client_request, abuse, fraud, legal."),
    ({"type": "block_client", "comment": "x" * 501}, "The comment is a text of at most 500 characters."),
    ({"type": "block_client", "days": 3}, "Unknown parameter 'days'."),
])
def test_a_block_action_with_a_bad_parameter_is_refused_and_nothing_is_written(action: dict[str, Any],
                                                                                message: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        make_rule("bad", actions=[action])
    assert message in str(refused.value.errors)
    assert Rule.objects.count() == 0
