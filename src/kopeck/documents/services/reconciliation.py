"""The акт сверки: a client's ledger statement for a period as a document."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kopeck.audit.services import audit_record
from kopeck.clients.models import Client
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import ValidationFailed
from kopeck.configuration.selectors import provider_today, provider_zone
from kopeck.core.ledger import LABELS, Operation
from kopeck.core.money import Money, to_minor
from kopeck.documents.data import build_data, client_requisites, provider_requisites
from kopeck.documents.models import (
    Document,
    DocumentStatus,
    DocumentType,
    Language,
    LegalEntity,
)
from kopeck.documents.selectors import (
    default_legal_entity,
    variables_for,
)
from kopeck.documents.services.common import ISSUED_STATES, _choices, _date_or_none, document_state
from kopeck.documents.services.issuing import document_issue


def document_reconciliation_create(*, actor: Actor, client: Client, start: Any, end: Any,
                                   legal_entity: LegalEntity | None = None, language: str = Language.RU,
                                   issue: bool = True) -> Document:
    """An акт сверки for ``[start, end]`` (provider-local dates) from the client's ledger statement:
    opening and closing balances, every operation as a debit (charges: the client owes more) or a
    credit (payments). Issued at once unless ``issue`` is false."""
    from kopeck.ledger.selectors import client_statement

    errors: dict[str, list[str]] = {}
    first = _date_or_none(start, "start", errors)
    last = _date_or_none(end, "end", errors)
    if first and last and last < first:
        errors["end"] = [_("Must not be before start.")]
    entity = legal_entity or default_legal_entity()
    if entity is None:
        errors["legal_entity"] = [_("Add the provider's legal entity first (none is the default).")]
    if language not in Language.values:
        errors["language"] = [_choices(Language.values)]
    if errors:
        raise ValidationFailed(_("The reconciliation statement is invalid."), errors=errors)
    assert first is not None and last is not None and entity is not None
    statement = client_statement(client, date_from=first, date_to=last)
    cur = statement.currency
    zero = Money.zero(cur)
    tz = provider_zone()
    from kopeck.core.calendar import local_date

    numbers: dict[int, list[str]] = defaultdict(list)
    for txn_id, number in Document.transactions.through.objects.filter(
            journaltransaction_id__in=[ln.transaction.pk for ln in statement.lines],
            document__status__in=ISSUED_STATES).values_list("journaltransaction_id", "document__number"):
        numbers[txn_id].append(str(number))
    rows = []
    for ln in statement.lines:
        t = ln.transaction
        label = LABELS[Operation(t.operation)][0 if language == "ru" else 1]
        text = f"{label}: {t.reason}" + (f" (№ {', '.join(numbers[t.pk])})" if numbers.get(t.pk) else "")
        rows.append({"date": local_date(t.recorded_at, tz).isoformat(), "text": text[:500],
                     "debit": ln.debit.to_str(), "credit": ln.credit.to_str(), "transaction": t.pk})

    def sides(balance: Money) -> tuple[str, str]:  # positive balance: prepaid, the provider owes (credit)
        return ((-balance).to_str() if balance.is_negative() else zero.to_str(),
                balance.to_str() if balance.is_positive() else zero.to_str())

    opening_debit, opening_credit = sides(statement.opening)
    closing_debit, closing_credit = sides(statement.closing)
    owed_by = "client" if statement.closing.is_negative() else "provider" if statement.closing.is_positive() else ""
    reconciliation = {"start": first.isoformat(), "end": last.isoformat(), "opening": statement.opening.to_str(),
                      "closing": statement.closing.to_str(), "opening_debit": opening_debit,
                      "opening_credit": opening_credit, "closing_debit": closing_debit,
                      "closing_credit": closing_credit, "total_debit": statement.total_debit.to_str(),
                      "total_credit": statement.total_credit.to_str(), "rows": rows, "owed_by": owed_by}
    data = build_data(type=DocumentType.RECONCILIATION, language=language, currency=cur, calc=None,
                      provider=provider_requisites(entity), client=client_requisites(client),
                      variables=variables_for(entity), period_start=first, period_end=last,
                      reconciliation=reconciliation)
    with transaction.atomic():
        doc = Document.objects.create(
            type=DocumentType.RECONCILIATION, legal_entity=entity, client=client, status=DocumentStatus.DRAFT,
            period_start=first, period_end=last, currency=cur, language=language, data=data,
            amount_minor=to_minor(abs(statement.closing)), created_by=str(actor)[:200], created_at=clock.now())
        doc.transactions.set([ln.transaction.pk for ln in statement.lines])
        audit_record(actor=actor, action="document.create_draft", object_type="document", object_id=doc.pk,
                     after=document_state(doc))
        if issue:
            doc = document_issue(actor=actor, document=doc, issue_date=min(last, provider_today()))
    return doc


