"""Drafts: a document's lines computed (VAT per line, totals = sums of lines), no number yet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kopeck.audit.services import audit_record
from kopeck.clients.models import Client
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.decimals import decimal_text_refusal
from kopeck.common.errors import ValidationFailed
from kopeck.configuration.selectors import vat_policy
from kopeck.core.documents import DocumentCalc, DocumentError, LineSpec, compute_document
from kopeck.core.money import Currency, Money, MoneyError, to_decimal, to_minor
from kopeck.core.vat import VatRate
from kopeck.documents.corrections import correction_data
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
    document_settings,
    variables_for,
)
from kopeck.documents.services.common import (
    CORRECTABLE,
    ISSUED_STATES,
    _choices,
    _date_or_none,
    document_state,
)
from kopeck.ledger.models import JournalTransaction

# ---------------------------------------------------------------------------------------------
# drafts


def _line_specs(lines: Sequence[Mapping[str, Any]], currency: str, default_rate: str,
                errors: dict[str, list[str]]) -> list[LineSpec]:
    specs = []
    if not isinstance(lines, (list, tuple)):
        errors["lines"] = [_("Give a list of lines.")]
        return []
    for i, raw in enumerate(lines):
        if not isinstance(raw, Mapping):
            errors[f"lines.{i}"] = [_("Give an object with name, price, quantity and vat_rate.")]
            continue
        name = str(raw.get("name") or "").strip()
        if not name or len(name) > 1000:
            errors[f"lines.{i}.name"] = [_("A name of 1 to 1000 characters is required.")]
        try:
            price = Money(raw.get("price"), currency)
            if price.is_negative() or not price.is_rounded():
                places = price.currency.minor_units
                errors[f"lines.{i}.price"] = [ngettext("A price of zero or more, with at most %(places)d decimal.",
                                                       "A price of zero or more, with at most %(places)d decimals.",
                                                       places) % {"places": places}]
        except MoneyError:
            errors[f"lines.{i}.price"] = [decimal_text_refusal(raw.get("price"))
                                          or _("Give the price as a decimal number.")]
            price = Money.zero(currency)
        try:
            quantity = to_decimal(raw.get("quantity", "1"))
            if quantity <= 0 or quantity != quantity.quantize(Decimal("0.001")):
                raise MoneyError("quantity")
        except MoneyError:
            errors[f"lines.{i}.quantity"] = [_("A quantity greater than zero, with at most 3 decimals.")]
            quantity = Decimal(1)
        try:
            rate = VatRate.parse(str(raw.get("vat_rate") or default_rate))
        except ValueError:
            errors[f"lines.{i}.vat_rate"] = [_("unknown VAT rate %(rate)r; use one of %(choices)s") % {
                "rate": raw.get("vat_rate"), "choices": ", ".join(r.value for r in VatRate)}]
            rate = VatRate.EXEMPT
        unit = str(raw.get("unit") or "усл. ед.")[:50]
        unit_code = str(raw.get("unit_code") or "876")[:10]
        specs.append(LineSpec(name, price, rate, quantity, unit, unit_code, str(raw.get("period_start") or ""),
                              str(raw.get("period_end") or "")))
    return specs


def _original_specs(original: Document) -> list[LineSpec]:
    return [LineSpec(ln["name"], Money(ln["price"], original.currency), VatRate.parse(ln["rate"]),
                     Decimal(ln["quantity"]), ln["unit"], ln["unit_code"], ln.get("period_start", ""),
                     ln.get("period_end", "")) for ln in original.data.get("lines", [])]


def _calc_of(document: Document) -> DocumentCalc:
    specs = _original_specs(document)
    return compute_document(specs, currency=document.currency,
                            inclusive=bool(document.data.get("prices_include_vat", True)))


def document_create_draft(
    *, actor: Actor, type: str, client: Client, lines: Sequence[Mapping[str, Any]] = (),
    legal_entity: LegalEntity | None = None, currency: str | None = None, language: str = Language.RU,
    due_date: Any = None, period_start: Any = None, period_end: Any = None, prices_include_vat: bool | None = None,
    transactions: Sequence[int] = (), corrects: Document | None = None, upd_status: int | None = None,
    notes: str = "", payment_documents: Sequence[Mapping[str, Any]] = (),
) -> Document:
    """A draft: lines computed (VAT per line, totals = sums of lines), no number. ``lines`` are
    ``{name, price, quantity=1, vat_rate (default: the settings' rate), unit, unit_code}``; prices
    include VAT unless ``prices_include_vat`` is false (default: the billing settings).

    A corrected document (``corrected``) and a corrective счёт-фактура need ``corrects`` (an issued
    счёт-фактура or УПД); without lines they take the original's. A reconciliation statement is made
    by :func:`document_reconciliation_create`."""
    errors: dict[str, list[str]] = {}
    if type not in DocumentType.values or type == DocumentType.RECONCILIATION:
        errors["type"] = [_choices(t for t in DocumentType.values if t != DocumentType.RECONCILIATION)]
    if language not in Language.values:
        errors["language"] = [_choices(Language.values)]
    entity = legal_entity or default_legal_entity()
    if entity is None:
        errors["legal_entity"] = [_("Add the provider's legal entity first (none is the default).")]
    elif not entity.is_active:
        errors["legal_entity"] = [_("This legal entity is not active.")]
    try:
        cur = Currency.of(currency or client.currency).code
    except MoneyError:
        errors["currency"] = [_("unknown currency %(code)r") % {"code": str(currency or client.currency)}]
        cur = "RUB"
    policy = vat_policy()
    inclusive = policy.prices_include_vat if prices_include_vat is None else prices_include_vat
    if not isinstance(inclusive, bool):
        errors["prices_include_vat"] = [_("Must be true or false.")]
    due = _date_or_none(due_date, "due_date", errors)
    start = _date_or_none(period_start, "period_start", errors)
    end = _date_or_none(period_end, "period_end", errors)
    if start and end and end < start:
        errors["period_end"] = [_("Must not be before period_start.")]
    if type == DocumentType.UPD:
        upd_status = upd_status or document_settings().upd_status
        if upd_status not in (1, 2):
            errors["upd_status"] = [_("Choose 1 or 2.")]
    elif upd_status is not None and type != DocumentType.CORRECTED:
        errors["upd_status"] = [_("Only an УПД has a status.")]
    needs_original = type in (DocumentType.CORRECTED, DocumentType.CORRECTIVE_INVOICE_FACTURA)
    if needs_original:
        if corrects is None:
            errors["corrects"] = [_("Give the issued document this one corrects.")]
        elif corrects.type not in CORRECTABLE or corrects.status not in ISSUED_STATES:
            errors["corrects"] = [_("Only an issued счёт-фактура or УПД can be corrected.")]
        elif corrects.client_id != client.pk:
            errors["corrects"] = [_("The corrected document belongs to another client.")]
        else:
            entity, cur = corrects.legal_entity, corrects.currency
            if type == DocumentType.CORRECTED:
                upd_status = corrects.upd_status
    elif corrects is not None:
        errors["corrects"] = [_("Only a corrected or corrective document refers to another one.")]
    specs = _line_specs(lines, cur, policy.rate_for(None).value, errors)
    if needs_original and corrects is not None and not lines and "corrects" not in errors:
        specs = _original_specs(corrects)
        inclusive = bool(corrects.data.get("prices_include_vat", True))
    if not specs and "lines" not in errors and not any(k.startswith("lines.") for k in errors):
        errors["lines"] = [_("A document needs at least one line.")]
    txn_ids = sorted({int(t) for t in transactions})
    if txn_ids:
        found = set(JournalTransaction.objects.filter(pk__in=txn_ids, client=client).values_list("pk", flat=True))
        missing = [t for t in txn_ids if t not in found]
        if missing:
            errors["transactions"] = [ngettext("Not this client's transaction: %(ids)s.", "Not this client's transactions: %(ids)s.",
                                                len(missing)) % {"ids": ", ".join(map(str, missing))}]
    if not isinstance(notes, str) or len(notes) > 500:
        errors["notes"] = [_("At most 500 characters of text.")]
    calc: DocumentCalc | None = None
    correction: dict[str, Any] | None = None
    if not errors:
        try:
            calc = compute_document(specs, currency=cur, inclusive=bool(inclusive))
            if type == DocumentType.CORRECTIVE_INVOICE_FACTURA and corrects is not None:
                correction = correction_data(_calc_of(corrects), calc, original={
                    "number": corrects.number, "date": corrects.issue_date.isoformat() if corrects.issue_date else "",
                    "type": corrects.type})
        except DocumentError as exc:
            errors["lines"] = [_(str(exc))]  # the core's text, in the active language where the catalogue has it
    if errors:
        raise ValidationFailed(_("The document is invalid."), errors=errors)
    assert entity is not None and calc is not None
    corrects_info = None
    if corrects is not None:
        corrects_info = {"id": corrects.pk, "number": corrects.number, "type": corrects.type,
                         "date": corrects.issue_date.isoformat() if corrects.issue_date else ""}
    data = build_data(type=type, language=language, currency=cur, calc=calc, provider=provider_requisites(entity),
                      client=client_requisites(client), variables=variables_for(entity), due_date=due,
                      period_start=start, period_end=end, upd_status=upd_status, corrects=corrects_info,
                      notes=notes, correction=correction, payment_documents=payment_documents)
    with transaction.atomic():
        doc = Document.objects.create(
            type=type, upd_status=upd_status, legal_entity=entity, client=client, status=DocumentStatus.DRAFT,
            due_date=due, period_start=start, period_end=end, currency=cur, language=language, data=data,
            amount_minor=to_minor(calc.totals.gross), vat_minor=to_minor(calc.totals.vat), corrects=corrects,
            notes=notes, created_by=str(actor)[:200], created_at=clock.now())
        if txn_ids:
            doc.transactions.set(txn_ids)
        audit_record(actor=actor, action="document.create_draft", object_type="document", object_id=doc.pk,
                     after=document_state(doc))
    return doc


