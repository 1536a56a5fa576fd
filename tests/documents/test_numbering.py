"""Numbering resets (every month, every year, never), the counter's period keys and the refusals of
kopeck.documents.numbering, through issuing documents as the operator does."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import transaction

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.documents import services
from kopeck.documents.models import DocumentType, LegalEntity, NumberingRule, ResetPeriod
from kopeck.documents.numbering import (
    allocate_numbers,
    format_number,
    period_key,
    rule_for,
    template_errors,
    validate_rule,
)
from tests.documents.conftest import counters, counts
from tests.subscriptions.helpers import at

pytestmark = pytest.mark.django_db
D = dt.date
LINES = [{"name": "Хостинг", "price": "1220.00", "vat_rate": "22"}]


def issue(actor: Actor, buyer: Client, clock: FixedClock, day: dt.date, type: str = DocumentType.INVOICE) -> str:
    at(clock, day)
    draft = services.document_create_draft(actor=actor, type=type, client=buyer, lines=LINES)
    number = services.document_issue(actor=actor, document=draft).number
    assert number is not None
    return number


def set_rule(actor: Actor, entity: LegalEntity, template: str, reset: str, sequence: str = "invoice") -> None:
    services.numbering_rule_set(actor=actor, sequence=sequence, legal_entity=entity, template=template, reset=reset)


@pytest.mark.parametrize(("reset", "day", "key"), [
    (ResetPeriod.YEAR, D(2026, 1, 1), "2026"), (ResetPeriod.YEAR, D(2026, 12, 31), "2026"),
    (ResetPeriod.MONTH, D(2026, 1, 31), "2026-01"), (ResetPeriod.MONTH, D(2027, 12, 1), "2027-12"),
    (ResetPeriod.NEVER, D(2026, 1, 1), ""), (ResetPeriod.NEVER, D(2027, 12, 31), ""),
])
def test_period_keys(reset: str, day: dt.date, key: str) -> None:
    assert period_key(reset, day) == key


def test_a_monthly_sequence_restarts_on_the_first_of_every_month(entity: LegalEntity, buyer: Client, actor: Actor,
                                                                 clock: FixedClock) -> None:
    set_rule(actor, entity, "{YY}{MM}-{N:3}", ResetPeriod.MONTH)
    days = [D(2026, 10, 31), D(2026, 11, 1), D(2026, 11, 30), D(2026, 11, 30), D(2026, 12, 1), D(2027, 1, 1)]
    assert [issue(actor, buyer, clock, d) for d in days] == [
        "2610-001", "2611-001", "2611-002", "2611-003", "2612-001", "2701-001"]
    assert counters() == [("invoice", "2026-10", 1), ("invoice", "2026-11", 3), ("invoice", "2026-12", 1),
                          ("invoice", "2027-01", 1)]


def test_a_never_reset_sequence_runs_on_across_months_and_years(entity: LegalEntity, buyer: Client, actor: Actor,
                                                                clock: FixedClock) -> None:
    set_rule(actor, entity, "СЧ-{N:4}", ResetPeriod.NEVER)
    days = [D(2026, 11, 30), D(2026, 12, 1), D(2026, 12, 31), D(2027, 1, 1), D(2027, 2, 1)]
    assert [issue(actor, buyer, clock, d) for d in days] == ["СЧ-0001", "СЧ-0002", "СЧ-0003", "СЧ-0004", "СЧ-0005"]
    assert counters() == [("invoice", "", 5)]


def test_a_yearly_sequence_runs_on_across_months_and_restarts_on_new_year(
        entity: LegalEntity, buyer: Client, actor: Actor, clock: FixedClock) -> None:
    set_rule(actor, entity, "{YYYY}/{N}", ResetPeriod.YEAR)
    days = [D(2026, 1, 1), D(2026, 2, 1), D(2026, 12, 31), D(2027, 1, 1), D(2027, 6, 30)]
    assert [issue(actor, buyer, clock, d) for d in days] == ["2026/1", "2026/2", "2026/3", "2027/1", "2027/2"]
    assert counters() == [("invoice", "2026", 3), ("invoice", "2027", 2)]


def test_the_default_rule_restarts_every_year(entity: LegalEntity, buyer: Client, actor: Actor,
                                              clock: FixedClock) -> None:
    assert [issue(actor, buyer, clock, d) for d in (D(2026, 11, 30), D(2026, 12, 1), D(2027, 1, 1))] == ["1", "2", "1"]
    rule = NumberingRule.objects.get(sequence="invoice", legal_entity=entity)
    assert (rule.template, rule.reset) == ("{N}", ResetPeriod.YEAR)


def test_shared_sequence_resets_monthly_for_every_type_in_it(entity: LegalEntity, buyer: Client, actor: Actor,
                                                             clock: FixedClock) -> None:
    """счёт-фактура and advance счёт-фактура share one sequence (ПП 1137), reset as its rule says."""
    set_rule(actor, entity, "{MM}/{N}", ResetPeriod.MONTH, sequence="invoice_factura")
    numbers = [issue(actor, buyer, clock, D(2026, 11, 30), DocumentType.INVOICE_FACTURA),
               issue(actor, buyer, clock, D(2026, 11, 30), DocumentType.ADVANCE_INVOICE_FACTURA),
               issue(actor, buyer, clock, D(2026, 12, 1), DocumentType.ADVANCE_INVOICE_FACTURA),
               issue(actor, buyer, clock, D(2026, 12, 2), DocumentType.INVOICE_FACTURA)]
    assert numbers == ["11/1", "11/2", "12/1", "12/2"]
    assert counters() == [("invoice_factura", "2026-11", 2), ("invoice_factura", "2026-12", 2)]


@pytest.mark.parametrize(("first", "then"), [(ResetPeriod.YEAR, ResetPeriod.MONTH), (ResetPeriod.MONTH,
                                                                                    ResetPeriod.NEVER)])
def test_the_reset_period_cannot_change_once_numbers_were_given(entity: LegalEntity, buyer: Client, actor: Actor,
                                                                clock: FixedClock, first: str, then: str) -> None:
    set_rule(actor, entity, "{N}", first)
    set_rule(actor, entity, "A-{N}", first)  # the template may change
    issue(actor, buyer, clock, D(2026, 11, 25))
    before = counts()
    with pytest.raises(Conflict) as exc:
        set_rule(actor, entity, "{N}", then)
    assert exc.value.errors == {"reset": ["Numbers were already given."]}
    assert counts() == before
    rule = NumberingRule.objects.get(sequence="invoice", legal_entity=entity)
    assert (rule.template, rule.reset) == ("A-{N}", first)


def test_unknown_sequences_and_reset_periods_are_refused(entity: LegalEntity, actor: Actor) -> None:
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        set_rule(actor, entity, "{N}", "week")
    assert exc.value.errors == {"reset": ["Choose one of: never, year, month."]}
    with pytest.raises(ValidationFailed) as exc:
        set_rule(actor, entity, "{N}", ResetPeriod.YEAR, sequence="corrected")  # keeps the original's number
    assert list(exc.value.errors) == ["sequence"]
    with pytest.raises(ValidationFailed) as exc:
        validate_rule("{N:0}", "daily")
    assert str(exc.value) == "The numbering rule is invalid."
    assert exc.value.errors == {"template": ["The counter width must be 1 to 12."],
                                "reset": ["Choose one of: never, year, month."]}
    assert counts() == before


@pytest.mark.django_db(transaction=True)  # no test transaction around: outside any transaction
def test_numbers_are_given_only_inside_the_issuing_transaction(entity: LegalEntity) -> None:
    rule = rule_for("invoice", entity)
    with pytest.raises(RuntimeError) as exc:
        allocate_numbers(rule, D(2026, 11, 25), 1)
    assert str(exc.value) == "allocate_numbers() must run inside the issuing transaction"
    with transaction.atomic():
        assert allocate_numbers(rule, D(2026, 11, 25), 0) == []
        assert allocate_numbers(rule, D(2026, 11, 25), 3) == [(1, "1", "2026"), (2, "2", "2026"), (3, "3", "2026")]
        assert allocate_numbers(rule, D(2026, 12, 1), 1) == [(4, "4", "2026")]
    assert counters() == [("invoice", "2026", 4)]


@pytest.mark.parametrize(("template", "errors"), [
    ("", ["Give a template of 1 to 100 characters.", "Use the counter token {N} (or {N:width}) exactly once."]),
    ("{N}" + "x" * 98, ["Give a template of 1 to 100 characters."]),
    ("A-{N}-{N}", ["Use the counter token {N} (or {N:width}) exactly once."]),
    ("{N:0}", ["The counter width must be 1 to 12."]),
    ("{N:13}", ["The counter width must be 1 to 12."]),
    ("{X}{N}", ["Unknown token: use {N}, {N:width}, {YYYY}, {YY} or {MM}; other braces are not allowed."]),
    ("a}{N}", ["Unknown token: use {N}, {N:width}, {YYYY}, {YY} or {MM}; other braces are not allowed."]),
    ("{N}{", ["Unknown token: use {N}, {N:width}, {YYYY}, {YY} or {MM}; other braces are not allowed."]),
    ("{N}" + "x" * 97, []), ("{N:1}", []), ("{N:12}", []), ("{YYYY}{YY}{MM}{N}", []),
])
def test_template_errors(template: str, errors: list[str]) -> None:
    assert template_errors(template) == errors


def test_numbers_are_formatted_by_their_template() -> None:
    assert format_number("СФ-{YYYY}/{YY}{MM}-{N:6}", 42, D(2026, 3, 5)) == "СФ-2026/2603-000042"
    assert format_number("{N:1}", 42, D(2026, 3, 5)) == "42"
    assert format_number("{N}", 7, D(906, 1, 1)) == "7" and format_number("{YYYY}{YY}", 7, D(906, 1, 1)) == "090606"


def test_numbers_follow_the_issue_dates(entity: LegalEntity, buyer: Client, actor: Actor, clock: FixedClock) -> None:
    """A number of the same day is given; one dated before the last issue date is refused, naming it."""
    set_rule(actor, entity, "{N}", ResetPeriod.NEVER)
    assert [issue(actor, buyer, clock, D(2026, 11, 25)) for _ in range(2)] == ["1", "2"]
    rule = rule_for("invoice", entity)
    before = counters()
    with transaction.atomic(), pytest.raises(Conflict) as exc:
        allocate_numbers(rule, D(2026, 11, 24), 1)
    assert str(exc.value) == ("Numbers follow the issue dates: a document of this sequence was already issued on "
                              "2026-11-25, so none can be issued on 2026-11-24.")
    assert exc.value.errors == {"issue_date": ["Must be 2026-11-25 or later."]}
    assert counters() == before == [("invoice", "", 2)]
    with transaction.atomic():
        assert allocate_numbers(rule, D(2026, 11, 25), 2) == [(3, "3", ""), (4, "4", "")]
