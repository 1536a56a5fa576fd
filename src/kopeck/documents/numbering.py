"""Document numbers: templates, periods and the gapless counters.

A number is given only when a document is issued, inside the issuing transaction: the counter row of
the rule's period is locked (``SELECT … FOR UPDATE``; SQLite's writer lock serialises anyway),
checked (no issue date earlier than the last one: numbers follow the issue dates), incremented and
formatted. If the transaction rolls back, so does the counter: no gaps, no reuse.

Sequences: the счёт-фактура, the advance and the corrective счёт-фактура share one chronological
sequence (ПП 1137); every other type has its own; a corrected (исправленный) document keeps the
number of the document it corrects and takes no number.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from kopeck.common import clock
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.documents.models import DocumentType, LegalEntity, NumberCounter, NumberingRule, ResetPeriod

TOKEN_RE: Final = re.compile(r"\{(N(?::(\d{1,2}))?|YYYY|YY|MM)\}")
MAX_WIDTH: Final = 12

SEQUENCE_OF_TYPE: Final[dict[str, str | None]] = {
    DocumentType.INVOICE: DocumentType.INVOICE,
    DocumentType.ACT: DocumentType.ACT,
    DocumentType.INVOICE_FACTURA: DocumentType.INVOICE_FACTURA,
    DocumentType.ADVANCE_INVOICE_FACTURA: DocumentType.INVOICE_FACTURA,
    DocumentType.CORRECTIVE_INVOICE_FACTURA: DocumentType.INVOICE_FACTURA,
    DocumentType.CORRECTED: None,
    DocumentType.UPD: DocumentType.UPD,
    DocumentType.RECONCILIATION: DocumentType.RECONCILIATION,
}
NUMBERED_SEQUENCES: Final = sorted({s for s in SEQUENCE_OF_TYPE.values() if s})


def template_errors(template: str) -> list[str]:
    """Why ``template`` cannot number documents (empty list: it can)."""
    errors = []
    if not template or len(template) > 100:
        errors.append(_("Give a template of 1 to 100 characters."))
    counters = [m for m in TOKEN_RE.finditer(template or "") if m.group(1).startswith("N")]
    if len(counters) != 1:
        errors.append(_("Use the counter token {N} (or {N:width}) exactly once."))
    for match in counters:
        if match.group(2) and not 1 <= int(match.group(2)) <= MAX_WIDTH:
            errors.append(_("The counter width must be 1 to %(max)d.") % {"max": MAX_WIDTH})
    leftover = TOKEN_RE.sub("", template or "")
    if "{" in leftover or "}" in leftover:
        errors.append(_("Unknown token: use {N}, {N:width}, {YYYY}, {YY} or {MM}; other braces are not allowed."))
    return errors


def format_number(template: str, counter: int, issue_date: dt.date) -> str:
    """``"СФ-{YYYY}/{N:6}"`` with 42 on 2026-11-25 → ``"СФ-2026/000042"``."""

    def token(match: re.Match[str]) -> str:
        name = match.group(1)
        if name.startswith("N"):
            return str(counter).zfill(int(match.group(2) or 0))
        return {"YYYY": f"{issue_date.year:04d}", "YY": f"{issue_date.year % 100:02d}",
                "MM": f"{issue_date.month:02d}"}[name]

    return TOKEN_RE.sub(token, template)


def period_key(reset: str, issue_date: dt.date) -> str:
    if reset == ResetPeriod.YEAR:
        return f"{issue_date.year:04d}"
    if reset == ResetPeriod.MONTH:
        return f"{issue_date.year:04d}-{issue_date.month:02d}"
    return ""


def rule_for(sequence: str, legal_entity: LegalEntity) -> NumberingRule:
    """The rule of a sequence; a default one (``{N}``, restarting every year) when none is set."""
    rule = NumberingRule.objects.filter(sequence=sequence, legal_entity=legal_entity).first()
    if rule is not None:
        return rule
    try:
        with transaction.atomic():
            return NumberingRule.objects.create(sequence=sequence, legal_entity=legal_entity, template="{N}",
                                                reset=ResetPeriod.YEAR, updated_at=clock.now())
    except IntegrityError:
        return NumberingRule.objects.get(sequence=sequence, legal_entity=legal_entity)


def _locked_counter(rule: NumberingRule, key: str) -> NumberCounter:
    """The counter row of ``(rule, key)``, created if missing, locked for this transaction."""
    for _attempt in range(3):
        counter = NumberCounter.objects.select_for_update().filter(rule=rule, period_key=key).first()
        if counter is not None:
            return counter
        try:
            with transaction.atomic():  # a savepoint: a concurrent creator wins, we lock its row
                NumberCounter.objects.create(rule=rule, period_key=key, last_number=0)
        except IntegrityError:
            continue
    raise Conflict(_("The number counter could not be created; try again."))  # pragma: no cover


def allocate_numbers(rule: NumberingRule, issue_date: dt.date, count: int) -> list[tuple[int, str, str]]:
    """``count`` consecutive numbers of ``rule`` for documents issued on ``issue_date``: a list of
    (counter value, formatted number, period key). Must run inside the issuing transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("allocate_numbers() must run inside the issuing transaction")
    if count < 1:
        return []
    key = period_key(rule.reset, issue_date)
    counter = _locked_counter(rule, key)
    if counter.last_issue_date is not None and issue_date < counter.last_issue_date:
        dates = {"last": counter.last_issue_date.isoformat(), "date": issue_date.isoformat()}
        raise Conflict(
            _("Numbers follow the issue dates: a document of this sequence was already issued on %(last)s, so none "
              "can be issued on %(date)s.") % dates,
            errors={"issue_date": [_("Must be %(last)s or later.") % dates]})
    first = counter.last_number + 1
    counter.last_number += count
    counter.last_issue_date = issue_date
    counter.save(update_fields=["last_number", "last_issue_date"])
    return [(n, format_number(rule.template, n, issue_date), key) for n in range(first, first + count)]


def validate_rule(template: str, reset: str) -> None:
    errors: dict[str, list[str]] = {}
    problems = template_errors(template)
    if problems:
        errors["template"] = problems
    if reset not in ResetPeriod.values:
        errors["reset"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(ResetPeriod.values)}]
    if errors:
        raise ValidationFailed(_("The numbering rule is invalid."), errors=errors)
