"""The rules engine: order, the stop flag, every action, the execution log, loop protection."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kopeck.clients.models import Client
from kopeck.clients.services import client_update
from kopeck.core.clock import FixedClock
from kopeck.documents.services import variable_set
from kopeck.events.models import Event, PendingEvent
from kopeck.events.services import events_dispatch_all
from kopeck.outbox.models import OutboxMessage
from kopeck.rules.models import ExecutionStatus, RuleExecution
from kopeck.rules.services import rule_update
from kopeck.subscriptions.services import subscription_create
from kopeck.webhooks.models import Delivery
from kopeck.webhooks.services import endpoint_create
from tests.rules.conftest import ACTOR, make_client, make_rule
from tests.subscriptions.helpers import make_plan

pytestmark = pytest.mark.django_db


def change(client: Client, **changes: Any) -> Event:
    client_update(actor=ACTOR, client=client, **changes)
    return Event.objects.filter(type="client.changed").latest("id")


def execution(event: Event) -> RuleExecution:
    return RuleExecution.objects.get(event=event)


def ran(run: RuleExecution) -> list[dict[str, Any]]:
    """The rules of an execution that ran or whose condition failed (false ones are only counted)."""
    return [r for r in run.results if "rule" in r]


def tags(client: Client) -> list[str]:
    return sorted(Client.objects.get(pk=client.pk).tags.values_list("name", flat=True))


def test_rules_run_in_priority_order_then_by_id() -> None:
    late = make_rule("late", priority=30)
    first = make_rule("first", priority=10)
    tie_a = make_rule("tie-a", priority=20)
    tie_b = make_rule("tie-b", priority=20)
    client = make_client()
    event = change(client, name="Иван Иванович Петров")
    events_dispatch_all()
    run = execution(event)
    assert [r["rule"] for r in ran(run)] == [first.pk, tie_a.pk, tie_b.pk, late.pk]
    assert run.results[-1] == {"evaluated": 4}
    assert run.status == ExecutionStatus.MATCHED
    assert run.matched == f",{first.pk},{tie_a.pk},{tie_b.pk},{late.pk},"
    assert tags(client) == ["first", "late", "tie-a", "tie-b"]


def test_a_matching_rule_with_the_stop_flag_ends_the_run() -> None:
    make_rule("a", priority=1)
    stopper = make_rule("b", priority=2, stop_processing=True, condition='client.name.contains("Иванович")')
    make_rule("c", priority=3)
    client = make_client()
    first = change(client, name="Иван Петров-Водкин")  # b's condition is false: c runs
    events_dispatch_all()
    second = change(client, name="Иван Иванович Петров")  # b matches and stops: c does not run
    events_dispatch_all()
    assert [(r["rule"], r["condition"]) for r in ran(execution(first))] == [(stopper.pk - 1, True),
                                                                          (stopper.pk + 1, True)]
    assert execution(first).results[-1] == {"evaluated": 3}  # b's condition was false: counted, not listed
    run = execution(second)
    assert [r["rule"] for r in ran(run)] == [stopper.pk - 1, stopper.pk]
    assert run.results[-1] == {"evaluated": 2}
    assert run.stopped_by == stopper.pk


def test_the_same_event_runs_the_same_rules_in_the_same_order() -> None:
    for n in range(6):
        make_rule(f"r{n}", priority=(n * 7) % 4)
    client = make_client()
    first, second = change(client, name="Пётр"), change(client, name="Павел")
    events_dispatch_all()
    order = [r["rule"] for r in ran(execution(first))]
    assert order == [r["rule"] for r in ran(execution(second))]
    assert len(order) == 6


def test_disabled_rules_and_other_triggers_do_not_run() -> None:
    make_rule("off", is_enabled=False)
    make_rule("other", triggers=["subscription.created"])
    make_rule("group", triggers=["client.*"])
    client = make_client()
    event = change(client, name="Пётр")
    events_dispatch_all()
    assert [r["condition"] for r in ran(execution(event))] == [True]
    assert tags(client) == ["group"]


def test_an_event_that_triggers_no_rule_is_not_logged() -> None:
    make_rule("subs", triggers=["subscription.created"])
    change(make_client(), name="Пётр")
    assert events_dispatch_all()["processed"] == 2
    assert RuleExecution.objects.count() == 0


def test_notify_sends_a_filled_template_by_e_mail(clock: FixedClock) -> None:
    variable_set(actor=ACTOR, code="support_phone", value="+7 495 123-45-67")
    rule = make_rule("notice", triggers=["client.blocked"], actions=[{
        "type": "notify", "to": ["client", "buh@provider.ru"],
        "subject": "{{ client.name }}: доступ приостановлен",
        "body": "Здравствуйте, {{ client.name }}!\nСтатус: {{ event.data.client.status }}. "
                "Телефон поддержки: {{ vars.support_phone }}.",
    }])
    client = make_client()
    client_update(actor=ACTOR, client=client, status="blocked")
    events_dispatch_all()
    message = OutboxMessage.objects.get(topic="email.send")
    blocked = Event.objects.get(type="client.blocked")
    assert message.key == f"rule-{rule.pk}-event-{blocked.pk}-action-0"
    assert message.payload == {"to": ["ivan@example.ru", "buh@provider.ru"],
                               "subject": "Иван Петров: доступ приостановлен",
                               "body": "Здравствуйте, Иван Петров!\nСтатус: blocked. "
                                       "Телефон поддержки: +7 495 123-45-67."}
    assert execution(blocked).results[0]["actions"] == [
        {"type": "notify", "status": "done",
         "detail": "E-mail to ivan@example.ru, buh@provider.ru: «Иван Петров: доступ приостановлен»",
         "said": {"text": "E-mail to %(to)s: «%(subject)s»",
                  "params": {"to": "ivan@example.ru, buh@provider.ru", "subject": "Иван Петров: доступ приостановлен"}}}]


def test_webhook_action_delivers_the_event_to_the_endpoint(settings: Any) -> None:
    settings.KOPECK_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
    endpoint, _secret = endpoint_create(actor=ACTOR, url="http://127.0.0.1:9/panel", event_types=[])
    make_rule("panel", triggers=["client.blocked"], actions=[{"type": "webhook", "endpoint": endpoint.pk}])
    client = make_client()
    client_update(actor=ACTOR, client=client, status="blocked")
    events_dispatch_all()
    blocked = Event.objects.get(type="client.blocked")
    assert list(Delivery.objects.values_list("endpoint_id", "event_id", "status")) == [
        (endpoint.pk, blocked.pk, "pending")]


def test_block_and_unblock_record_their_events_as_the_rule() -> None:
    blocker = make_rule("block", triggers=["client.changed"], condition='"debtor" in client.tags',
                        actions=[{"type": "block_client"}])
    make_rule("unblock", triggers=["client.changed"], condition='!("debtor" in client.tags)',
              actions=[{"type": "unblock_client"}])
    client = make_client()
    change(client, tags=["debtor"])
    events_dispatch_all()
    assert Client.objects.get(pk=client.pk).status == "blocked"
    blocked = Event.objects.get(type="client.blocked")
    assert (blocked.actor_label, blocked.data["source"], blocked.depth) == (f"rule:{blocker.pk}", "rule", 1)
    change(client, tags=[])
    events_dispatch_all()
    assert Client.objects.get(pk=client.pk).status == "active"
    assert Event.objects.filter(type="client.unblocked").count() == 1


def test_add_remove_tag_and_set_a_client_field() -> None:
    make_rule("tags", triggers=["client.created"], actions=[
        {"type": "add_tag", "tag": "new"}, {"type": "remove_tag", "tag": "lead"},
        {"type": "set_client_field", "field": "address", "value": "Клиент № {{ client.id }}"}])
    client = make_client(tags=["lead"])
    events_dispatch_all()
    client.refresh_from_db()
    assert tags(client) == ["new"]
    assert client.fields["address"] == f"Клиент № {client.pk}"


def test_subscription_status_suspends_the_events_subscription(clock: FixedClock) -> None:
    plan = make_plan(ACTOR, clock, code="vps-s")
    make_rule("suspend", triggers=["subscription.created"], condition='subscription.plan == "vps-s"',
              actions=[{"type": "subscription_status", "status": "suspended", "billing_continues": True}])
    client = Client.objects.get(pk=make_client().pk)
    sub = subscription_create(actor=ACTOR, client=client, plan=plan)  # records subscription.created
    events_dispatch_all()
    sub.refresh_from_db()
    assert sub.status == "suspended"
    run = RuleExecution.objects.get(event_type="subscription.created")
    assert run.results[0]["actions"][0]["status"] == "done"


def test_a_failed_action_is_logged_undone_and_the_next_one_runs() -> None:
    make_rule("mixed", triggers=["client.created"], actions=[
        {"type": "add_tag", "tag": "first"},
        {"type": "set_client_field", "field": "birth_date", "value": "not a date"},
        {"type": "add_tag", "tag": "third"}])
    client = make_client()
    events_dispatch_all()
    created = Event.objects.get(type="client.created")
    run = execution(created)
    assert run.status == ExecutionStatus.ERRORS
    assert [(a["type"], a["status"]) for a in run.results[0]["actions"]] == [
        ("add_tag", "done"), ("set_client_field", "failed"), ("add_tag", "done")]
    assert "birth_date" in run.results[0]["actions"][1]["detail"]
    client.refresh_from_db()
    assert "birth_date" not in client.fields
    assert tags(client) == ["first", "third"]
    assert not PendingEvent.objects.filter(event_id=created.pk).exists()


def test_a_condition_error_is_logged_and_the_rule_does_not_run() -> None:
    rule = make_rule("bad data", condition='client.fields.missing == "x"')
    client = make_client()
    event = change(client, name="Пётр")
    events_dispatch_all()
    run = execution(event)
    assert run.status == ExecutionStatus.ERRORS
    assert run.results == [{"rule": rule.pk, "revision": 1, "condition": None,
                            "error": "No field 'missing' in the data (test for it with has(…) first).",
                            "said": {"text": "No field '%(field)s' in the data (test for it with has(…) first).",
                                     "params": {"field": "missing"}}},
                           {"evaluated": 1}]
    assert tags(client) == []


def test_a_rule_that_feeds_itself_is_stopped_by_the_depth_limit(settings: Any) -> None:
    settings.KOPECK_RULES_MAX_DEPTH = 3
    rule = make_rule("loop", actions=[{"type": "set_client_field", "field": "address",
                                       "value": "round {{ event.depth }}"}])
    client = make_client()
    first = change(client, name="Пётр")
    totals = events_dispatch_all()
    assert totals["failed"] == 0
    chain = list(Event.objects.filter(type="client.changed").order_by("id").values_list("depth", flat=True))
    assert chain == [0, 1, 2, 3]
    runs = list(RuleExecution.objects.order_by("id").values_list("status", flat=True))
    assert runs == [ExecutionStatus.MATCHED, ExecutionStatus.MATCHED, ExecutionStatus.MATCHED, ExecutionStatus.LOOP]
    last = RuleExecution.objects.order_by("id").last()
    assert last is not None
    assert last.results[0]["loop"].startswith("The event was caused by 3 rule actions in a row; the limit is 3.")
    assert str(rule.pk) in last.results[0]["loop"]
    client.refresh_from_db()
    assert client.fields["address"] == "round 2"
    assert Event.objects.get(pk=first.pk).cause_id is None


def test_a_changed_rule_is_compiled_again() -> None:
    rule = make_rule("vip", condition='"vip" in client.tags')
    client = make_client()
    change(client, name="Пётр")
    events_dispatch_all()
    rule_update(actor=ACTOR, rule=rule, condition='client.name == "Павел"')
    event = change(client, name="Павел")
    events_dispatch_all()
    assert execution(event).results == [{"rule": rule.pk, "revision": 2, "condition": True,
                                         "actions": [{"type": "add_tag", "status": "done",
                                                      "detail": f"Add tag «vip» to client {client.pk}",
                                                      "said": {"text": "Add tag «%(tag)s» to client %(client)s",
                                                               "params": {"tag": "vip", "client": client.pk}}}]},
                                         {"evaluated": 1}]


def test_an_event_is_processed_once_even_if_dispatched_again(clock: FixedClock) -> None:
    make_rule("once")
    client = make_client()
    change(client, name="Пётр")
    events_dispatch_all()
    events_dispatch_all()
    clock.advance(dt.timedelta(hours=1))
    events_dispatch_all()
    # the change and the tag the rule added (which changes nothing the second time): one run each
    assert list(RuleExecution.objects.order_by("event_id").values_list("event_id", flat=True)) == list(
        Event.objects.filter(type="client.changed").order_by("id").values_list("id", flat=True))
    assert RuleExecution.objects.count() == 2


def test_one_failing_condition_does_not_hide_the_others() -> None:
    """The conditions of an event's rules are evaluated together; when one fails on the data, each is
    evaluated alone, so the failure is reported for its rule and the others still run."""
    broken = make_rule("broken", priority=1, condition='client.fields.missing == "x"')
    fine = make_rule("fine", priority=2, condition='client.name == "Пётр"')
    client = make_client()
    event = change(client, name="Пётр")
    events_dispatch_all()
    results = ran(execution(event))
    assert [(r["rule"], r["condition"]) for r in results] == [(broken.pk, None), (fine.pk, True)]
    assert tags(client) == ["fine"]


@pytest.mark.parametrize("fast", [True, False])
def test_the_log_is_the_same_with_compiled_conditions_or_the_interpreter(settings: Any, fast: bool) -> None:
    """Compiled conditions, conditions only the interpreter evaluates (matches, timestamps), and a
    condition failing on the data give the same execution log on both paths."""
    settings.KOPECK_RULES_FAST_CONDITIONS = fast
    rules = [make_rule("compiled", priority=1, condition='client.name == "Пётр" && event.type == "client.changed"'),
             make_rule("regex", priority=2, condition='client.name.matches("^П")'),
             make_rule("broken", priority=3, condition='client.fields.missing == "x"'),
             make_rule("time", priority=4, condition='event.timestamp < timestamp("2000-01-01T00:00:00Z")'),
             make_rule("guarded", priority=5, condition='event.type == "client.blocked" || size(client.tags) > 0')]
    client = make_client()
    event = change(client, name="Пётр")
    events_dispatch_all()
    run = execution(event)
    assert run.status == ExecutionStatus.ERRORS
    assert [(r["rule"], r["condition"], r.get("error")) for r in ran(run)] == [
        (rules[0].pk, True, None), (rules[1].pk, True, None),
        (rules[2].pk, None, "No field 'missing' in the data (test for it with has(…) first).")]
    assert run.results[-1] == {"evaluated": 5}  # "time" and "guarded" false (the client as the batch loaded it)
    assert tags(client) == ["compiled", "guarded", "regex"]  # "guarded" on the next event (the tags' change)
