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
    ('client.tags.exists(t, t == "vip") &&', "Syntax error"),
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
