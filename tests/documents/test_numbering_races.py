"""The paths of kopeck.documents.numbering taken when another transaction creates the same rule or
counter first: the second creator waits on the unique index, fails, and uses the row the first one
committed (PostgreSQL: the insert waits for the other transaction instead of failing at once). And
each sequence and each legal entity numbers on its own."""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Any

import pytest
from django.db import connection, transaction

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.documents import services
from kopeck.documents.models import DocumentType, LegalEntity, NumberCounter, NumberingRule, ResetPeriod
from kopeck.documents.numbering import _locked_counter, allocate_numbers, rule_for
from tests.documents.conftest import ENTITY
from tests.subscriptions.helpers import at

D = dt.date


def _in_thread(call: Any) -> tuple[threading.Thread, dict[str, Any]]:
    """Run ``call`` in a thread with its own connection; its result (or exception) in the dict."""
    out: dict[str, Any] = {}

    def run() -> None:
        try:
            with transaction.atomic():
                out["result"] = call()
        except BaseException as exc:  # reported to the test
            out["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_rule_created_meanwhile_is_the_one_used(clock: FixedClock, actor: Actor) -> None:
    entity = services.legal_entity_create(actor=actor, **ENTITY)
    other = LegalEntity.objects.get(pk=entity.pk)
    other.pk, other.is_default = None, False
    other.save()
    rule_for("invoice", entity), rule_for("act", other)  # other rules of the entity, and of the sequence
    with transaction.atomic():
        first = rule_for("act", entity)  # created, not committed yet
        thread, out = _in_thread(lambda: rule_for("act", entity).pk)
        time.sleep(0.5)  # the thread's insert now waits on the unique index
    thread.join(30)
    assert out == {"result": first.pk}
    assert NumberingRule.objects.filter(sequence="act", legal_entity=entity).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_counter_created_meanwhile_is_the_one_counted(clock: FixedClock, actor: Actor) -> None:
    entity = services.legal_entity_create(actor=actor, **ENTITY)
    rule = rule_for("invoice", entity)
    with transaction.atomic():
        _locked_counter(rule, "2026")  # created and locked, not committed yet
        thread, out = _in_thread(lambda: allocate_numbers(rule, D(2026, 11, 25), 1))
        time.sleep(0.5)  # the thread's insert now waits on the unique index
    thread.join(30)
    assert out == {"result": [(1, "1", "2026")]}
    assert list(NumberCounter.objects.values_list("period_key", "last_number")) == [("2026", 1)]


@pytest.mark.django_db
def test_each_sequence_and_each_legal_entity_numbers_on_its_own(entity: LegalEntity, buyer: Client, actor: Actor,
                                                                clock: FixedClock) -> None:
    other = LegalEntity.objects.get(pk=entity.pk)
    other.pk = None
    other.name, other.is_default = "ООО «Грош»", False
    other.save()
    for seq, template in (("act", "А-{N}"), ("invoice", "С-{N}")):
        services.numbering_rule_set(actor=actor, sequence=seq, legal_entity=entity, template=template,
                                    reset=ResetPeriod.YEAR)
    services.numbering_rule_set(actor=actor, sequence="invoice", legal_entity=other, template="Г-{N}",
                                reset=ResetPeriod.YEAR)
    at(clock, D(2026, 11, 25))

    def issue(type: str, legal_entity: LegalEntity) -> str | None:
        draft = services.document_create_draft(actor=actor, type=type, client=buyer, legal_entity=legal_entity,
                                               lines=[{"name": "Хостинг", "price": "1220.00"}])
        return services.document_issue(actor=actor, document=draft).number

    assert [issue(DocumentType.INVOICE, entity), issue(DocumentType.INVOICE, entity), issue(DocumentType.ACT, entity),
            issue(DocumentType.INVOICE, other)] == ["С-1", "С-2", "А-1", "Г-1"]
    assert rule_for("invoice", other).template == "Г-{N}" and rule_for("act", entity).template == "А-{N}"
