"""Conditions are CEL, compiled once: nothing outside the data can be named or called."""

from __future__ import annotations

import pytest

from kopeck.common.errors import ValidationFailed
from kopeck.rules.conditions import ConditionError, compile_condition, context
from kopeck.rules.models import Rule
from tests.rules.conftest import make_rule

CTX = {"event": {"type": "payment.received", "data": {"payment": {"amount": "1990.00", "method": "bank"}}},
       "client": {"type": "legal", "tags": ["vip", "hosting"], "fields": {"inn": "7707083893"}, "status": "active"},
       "subscription": {"plan": "vps-s", "status": "active", "quantity": 3}, "vars": {"min_amount": "1000"},
       "now": None}


@pytest.mark.parametrize(("source", "message"), [
    ('__import__("os").system("id")', "Unknown function '__import__'"),
    ('open("/etc/passwd")', "Unknown function 'open'"),
    ('http.get("http://169.254.169.254/")', "Unknown name 'http'"),
    ("os.environ", "Unknown name 'os'"),
    ("settings.SECRET_KEY", "Unknown name 'settings'"),
    ("event.__class__.__mro__", "Names starting with '_' are not allowed ('__class__')"),
    ("dyn(client).__globals__", "Names starting with '_' are not allowed"),
    ('client._meta == 1', "Names starting with '_' are not allowed ('_meta')"),
    ("eval('1+1')", "Unknown function 'eval'"),
    ('client.tags.exists(t, t == "vip") &&', "Error in the condition, line 1, column 37: the condition ends too early."),
    ("x" * 4001, "too long"),
])
def test_a_condition_reaching_outside_its_data_does_not_compile(source: str, message: str) -> None:
    with pytest.raises(ConditionError, match=message.replace("(", r"\(").replace(")", r"\)").replace("'", "'")):
        compile_condition(source)


@pytest.mark.django_db
def test_a_rule_with_such_a_condition_is_refused_and_nothing_written() -> None:
    with pytest.raises(ValidationFailed) as caught:
        make_rule(condition='__import__("os").system("rm -rf /")')
    assert caught.value.errors["condition"][0].startswith("Unknown function '__import__'")
    assert Rule.objects.count() == 0


@pytest.mark.parametrize(("source", "expected"), [
    ("", True),
    ('double(event.data.payment.amount) >= 1000.0', True),
    ('double(event.data.payment.amount) > double(vars.min_amount) && "vip" in client.tags', True),
    ('client.tags.exists(t, t.startsWith("host"))', True),
    ('subscription.plan.startsWith("vps") && subscription.quantity > 5', False),
    ('client.fields.inn.matches("^77")', True),
    ('has(event.data.payment.refund)', False),
    ('event.type in ["payment.received", "payment.refunded"]', True),
])
def test_conditions_over_the_data(source: str, expected: bool) -> None:
    assert compile_condition(source).evaluate(context(CTX)) is expected


@pytest.mark.parametrize(("source", "message"), [
    ("event.data.payment.refund.amount == '1'", "No field 'refund' in the data"),
    ("client.tags.size() + 1.5 > 2.0", "No such overload"),
    ("event.data.payment.amount", "gave str '1990.00', not true or false"),
])
def test_a_condition_that_fails_on_the_data_is_neither_true_nor_false(source: str, message: str) -> None:
    with pytest.raises(ConditionError, match=message):
        compile_condition(source).evaluate(context(CTX))


# -- what a condition reads: the interpreter is given only that, and must answer the same -----------

RICH = {
    "event": {"id": 9, "type": "payment.received", "version": 1, "client_id": 3, "sequence": 4,
              "subject": {"type": "payment", "id": 77},
              "data": {"payment": {"amount": "1990.00", "method": "bank", "lines": [{"sku": "a"}, {"sku": "b"}]},
                       "client": {"id": 3}, "note": "client.fields.inn", "exists": True}},
    "client": {"id": 3, "type": "legal", "name": "ООО «Ромашка»", "status": "active", "tags": ["vip", "hosting"],
               "fields": {"inn": "7707083893", "kpp": "770701001", "region": "77"}, "external_id": None},
    "subscription": {"id": 5, "plan": "vps-s", "status": "active", "quantity": 3, "trial_end": None},
    "vars": {"min_amount": "1000", "region": "77", "unused": "x" * 50},
    "now": None,
}

EQUIVALENT = [
    'event.type == "payment.received" && double(event.data.payment.amount) > double(vars.min_amount)',
    'has(event.data.client) && has(client.fields.kpp) && !has(client.fields.ogrn)',
    'has(event.data.missing.deeper)',
    'event.data.payment.lines.exists(l, l.sku == "b") && size(client.tags) == 2',
    'event.data.payment["method"] == "bank" && client["fields"].inn.startsWith("77")',
    'client.fields.region == vars.region // client.status and vars.unused in a comment',
    '"client.fields.inn" == event.data.note && r"\\d" == "\\\\d" && \'\'\'vars.unused\'\'\' != ""',
    'client.tags.all(client, client.size() > 2) && client.name.contains("Ромашка")',
    'subscription != null && subscription.quantity >= 3 && subscription.trial_end == null',
    'event.data.exists == true && event.subject.id == 77',
    'size(event) > 3 && size(vars) == 3',
    'client.fields.ogrn == "1"',  # a missing field: an error both ways
    'event.data.payment.lines[1].sku == "b" ? client.status == "active" : false',
    'dyn(client).fields.inn == "7707083893"',
]


@pytest.mark.parametrize("source", EQUIVALENT)
def test_the_projected_context_gives_what_the_whole_one_gives(source: str) -> None:
    from kopeck.rules.conditions import project, reads

    compiled = compile_condition(source)
    needed = reads(source, compiled.program)
    projected = {name: project(RICH[name], tree) for name, tree in needed.items()}

    def outcome(variables: dict[str, object]) -> object:
        try:
            return compiled.evaluate(context(variables))
        except ConditionError as exc:
            return ("error", str(exc))

    assert outcome(projected) == outcome(RICH)
    assert set(needed) <= set(RICH)


def test_only_what_is_read_is_given() -> None:
    from kopeck.rules.conditions import project, reads

    source = 'double(event.data.payment.amount) > 1.0 && "vip" in client.tags && client.fields.inn != vars.region'
    needed = reads(source)
    assert needed == {"event": {"data": {"payment": {"amount": True}}}, "client": {"tags": True, "fields": {"inn": True}},
                      "vars": {"region": True}}
    assert project(RICH["client"], needed["client"]) == {"tags": ["vip", "hosting"], "fields": {"inn": "7707083893"}}
    assert project(None, needed["client"]) is None
