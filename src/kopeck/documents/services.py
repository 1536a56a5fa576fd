"""Writers of documents: legal entities, variables, numbering rules, templates and settings; drafts,
issuing (one by hand, or many at once for a billing run or the monthly acts), cancelling, payments
of invoices, e-mail (re)sending, PDF caching. See docs/documents.md.

Issuing is the only place a number is taken (:mod:`kopeck.documents.numbering`): inside the issuing
transaction, together with the frozen data, the links to the ledger, the audit entry and the outbox
messages that render the PDF and send the e-mails after the commit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Max

from kopeck.audit.services import audit_record
from kopeck.billing.models import BillingRun, RunItem, RunMode, RunStatus
from kopeck.catalog.models import PlanVersion
from kopeck.clients.models import Client, ContactKind
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.bulk import bulk_insert, insert_rows
from kopeck.common.errors import Conflict, NotFound, ValidationFailed
from kopeck.configuration.selectors import billing_settings, provider_today, provider_zone
from kopeck.core import requisites as rq
from kopeck.core.calendar import end_of_local_day, start_of_local_day
from kopeck.core.documents import DocumentCalc, DocumentError, LineSpec, compute_document
from kopeck.core.ledger import LABELS, Operation
from kopeck.core.money import Currency, Money, MoneyError, to_decimal
from kopeck.core.vat import VatRate
from kopeck.documents.corrections import correction_data
from kopeck.documents.data import build_data, client_requisites, provider_requisites, sample_data, set_number
from kopeck.documents.models import (
    DeliveryStatus,
    Document,
    DocumentDelivery,
    DocumentPdf,
    DocumentSettings,
    DocumentStatus,
    DocumentTemplate,
    DocumentType,
    Language,
    LegalEntity,
    MonthlyActs,
    NumberCounter,
    NumberingRule,
    RunDocument,
    TemplateForm,
    Variable,
)
from kopeck.documents.numbering import (
    NUMBERED_SEQUENCES,
    SEQUENCE_OF_TYPE,
    allocate_numbers,
    period_key,
    rule_for,
    validate_rule,
)
from kopeck.documents.rendering import TemplateRefused, template_problems
from kopeck.documents.selectors import (
    default_legal_entity,
    document_html,
    document_settings,
    variables_for,
)
from kopeck.ledger.models import JournalTransaction
from kopeck.subscriptions.models import Subscription

log = logging.getLogger("kopeck.documents")

CHUNK = 500
TOPIC_PDF = "documents.render_pdf"
TOPIC_EMAIL = "documents.email"
CORRECTABLE = (DocumentType.INVOICE_FACTURA, DocumentType.ADVANCE_INVOICE_FACTURA, DocumentType.UPD)
ISSUED_STATES = (DocumentStatus.ISSUED, DocumentStatus.PARTLY_PAID, DocumentStatus.PAID)


def _choices(values: Iterable[str]) -> str:
    return f"Choose one of: {', '.join(values)}."


def _minor(money: Money) -> int:
    return int(money.round_line().amount.scaleb(money.currency.minor_units))


def _from_minor(units: int, currency: str) -> Money:
    cur = Currency.of(currency)
    return Money(Decimal(units).scaleb(-cur.minor_units), cur)


# ---------------------------------------------------------------------------------------------
# legal entities


ENTITY_FIELDS = ("name", "full_name", "inn", "kpp", "ogrn", "legal_address", "postal_address", "phone", "email",
                 "bank_name", "bik", "settlement_account", "correspondent_account", "director_title",
                 "director_name", "accountant_name", "is_default", "is_active")
ENTITY_REQUIRED = ("name", "full_name", "inn", "legal_address")


def legal_entity_state(entity: LegalEntity) -> dict[str, Any]:
    return {f: getattr(entity, f) for f in ENTITY_FIELDS}


def _requisite(errors: dict[str, list[str]], field: str, func: Any, *args: Any, **kwargs: Any) -> str:
    try:
        return str(func(*args, **kwargs))
    except rq.RequisiteError as exc:
        errors[field] = [exc.message_en]
        return str(args[0])


def legal_entity_clean(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The cleaned attributes of a legal entity and the errors, per field (requisites checked with
    :mod:`kopeck.core.requisites`)."""
    errors: dict[str, list[str]] = {k: ["Unknown attribute."] for k in data if k not in ENTITY_FIELDS}
    clean: dict[str, Any] = {}
    for key in ENTITY_FIELDS:
        if key in ("is_default", "is_active"):
            if key in data and not isinstance(data[key], bool):
                errors[key] = ["Must be true or false."]
            clean[key] = bool(data.get(key, key == "is_active"))
            continue
        clean[key] = str(data.get(key) or "").strip()
    for key in ENTITY_REQUIRED:
        if not clean[key]:
            errors[key] = ["This field is required."]
    if clean["inn"]:
        clean["inn"] = _requisite(errors, "inn", rq.validate_inn, clean["inn"])
    if clean["kpp"]:
        clean["kpp"] = _requisite(errors, "kpp", rq.validate_kpp, clean["kpp"])
    elif len(clean["inn"]) == 10 and "inn" not in errors:
        errors["kpp"] = ["A legal entity (10-digit ИНН) needs a КПП."]
    if clean["ogrn"]:
        check: Any = rq.validate_ogrnip if len(clean["ogrn"]) == 15 else rq.validate_ogrn
        clean["ogrn"] = _requisite(errors, "ogrn", check, clean["ogrn"])
    if clean["bik"]:
        clean["bik"] = _requisite(errors, "bik", rq.validate_bik, clean["bik"])
    func: Any
    for key, func in (("settlement_account", rq.validate_settlement_account),
                      ("correspondent_account", rq.validate_correspondent_account)):
        if clean[key]:
            if not clean["bik"] or "bik" in errors:
                errors[key] = ["Give a valid БИК to check the account against."]
            else:
                clean[key] = _requisite(errors, key, func, clean[key], clean["bik"])
    if clean["email"]:
        try:
            validate_email(clean["email"])
        except DjangoValidationError:
            errors["email"] = ["Enter a valid e-mail address."]
    for key in ENTITY_FIELDS:
        field = LegalEntity._meta.get_field(key)
        limit = getattr(field, "max_length", None)
        if limit and isinstance(clean[key], str) and len(clean[key]) > limit:
            errors[key] = [f"At most {limit} characters."]
    return clean, errors


def _make_default(entity: LegalEntity) -> None:
    LegalEntity.objects.filter(is_default=True).exclude(pk=entity.pk).update(is_default=False)


def legal_entity_create(*, actor: Actor, **data: Any) -> LegalEntity:
    """Add a legal entity of the provider; the first one (or one created with ``is_default``)
    becomes the default."""
    clean, errors = legal_entity_clean(data)
    if errors:
        raise ValidationFailed("The legal entity has invalid requisites.", errors=errors)
    now = clock.now()
    with transaction.atomic():
        if not LegalEntity.objects.filter(is_default=True).exists():
            clean["is_default"] = True
        if clean["is_default"]:
            LegalEntity.objects.filter(is_default=True).update(is_default=False)
        entity = LegalEntity.objects.create(**clean, created_at=now, updated_at=now)
        audit_record(actor=actor, action="legal_entity.create", object_type="legal_entity", object_id=entity.pk,
                     after=legal_entity_state(entity))
    return entity


def legal_entity_update(*, actor: Actor, entity: LegalEntity, **changes: Any) -> LegalEntity:
    """Change a legal entity's requisites (documents already issued keep theirs: their data is frozen)."""
    merged = {**legal_entity_state(entity), **changes}
    clean, errors = legal_entity_clean(merged)
    if entity.is_default and clean["is_default"] is False and "is_default" in changes:
        errors["is_default"] = ["Make another legal entity the default instead."]
    if errors:
        raise ValidationFailed("The legal entity has invalid requisites.", errors=errors)
    with transaction.atomic():
        entity = LegalEntity.objects.select_for_update().get(pk=entity.pk)
        before = legal_entity_state(entity)
        if clean["is_default"]:
            _make_default(entity)
        for key, value in clean.items():
            setattr(entity, key, value)
        if legal_entity_state(entity) != before:
            entity.updated_at = clock.now()
            entity.save()
            audit_record(actor=actor, action="legal_entity.update", object_type="legal_entity",
                         object_id=entity.pk, before=before, after=legal_entity_state(entity))
    return entity


# ---------------------------------------------------------------------------------------------
# variables, numbering rules, templates, settings


def variable_set(*, actor: Actor, code: str, value: str, legal_entity: LegalEntity | None = None,
                 description: str = "") -> Variable:
    """Create or change the variable ``code`` (global, or of ``legal_entity``). Codes ``entity_*``
    are the legal entity's requisites and cannot be set."""
    code = str(code or "").strip()
    errors: dict[str, list[str]] = {}
    if not code or not code.isascii() or not code.replace("_", "a").isalnum() or code[0].isdigit():
        errors["code"] = ["Use latin letters, digits and '_', starting with a letter."]
    elif code.startswith("entity_"):
        errors["code"] = ["Codes starting with 'entity_' are the legal entity's requisites."]
    elif len(code) > 100:
        errors["code"] = ["At most 100 characters."]
    if not isinstance(value, str):
        errors["value"] = ["Enter text."]
    if errors:
        raise ValidationFailed("The variable is invalid.", errors=errors)
    with transaction.atomic():
        row = Variable.objects.select_for_update().filter(code=code, legal_entity=legal_entity).first()
        before = {"value": row.value, "description": row.description} if row else None
        if row is None:
            row = Variable(code=code, legal_entity=legal_entity)
        row.value, row.description, row.updated_at = value, str(description or "")[:300], clock.now()
        row.save()
        audit_record(actor=actor, action="variable.set", object_type="variable", object_id=row.pk, before=before,
                     after={"code": code, "legal_entity": legal_entity.pk if legal_entity else None,
                            "value": value, "description": row.description})
    return row


def variable_delete(*, actor: Actor, variable: Variable) -> None:
    with transaction.atomic():
        audit_record(actor=actor, action="variable.delete", object_type="variable", object_id=variable.pk,
                     before={"code": variable.code, "value": variable.value}, after=None)
        variable.delete()


def numbering_rule_set(*, actor: Actor, sequence: str, legal_entity: LegalEntity, template: str,
                       reset: str) -> NumberingRule:
    """Set the number template and reset period of a sequence of a legal entity. Counters are kept:
    changing the template changes how the next numbers look, never which numbers come next."""
    if sequence not in NUMBERED_SEQUENCES:
        raise ValidationFailed.field("sequence", _choices(NUMBERED_SEQUENCES))
    validate_rule(template, reset)
    with transaction.atomic():
        rule = rule_for(sequence, legal_entity)
        rule = NumberingRule.objects.select_for_update().get(pk=rule.pk)
        before = {"template": rule.template, "reset": rule.reset}
        if rule.reset != reset and rule.counters.filter(last_number__gt=0).exists():
            raise Conflict("Numbers were already given under this reset period; it cannot change now.",
                           errors={"reset": ["Numbers were already given."]})
        rule.template, rule.reset, rule.updated_at = template, reset, clock.now()
        rule.save()
        audit_record(actor=actor, action="numbering_rule.set", object_type="numbering_rule", object_id=rule.pk,
                     before=before, after={"template": template, "reset": reset})
    return rule


def template_check(form: str, language: str, html: str) -> list[str]:
    """Problems of an operator template (empty: usable); renders it against sample data."""
    if form not in TemplateForm.values:
        return [_choices(TemplateForm.values)]
    if language not in Language.values:
        return [_choices(Language.values)]
    if not isinstance(html, str) or not html.strip():
        return ["The template is empty."]
    if len(html) > 200_000:
        return ["The template is too long (at most 200 000 characters)."]
    return template_problems(html, sample_data(form, language))


def document_template_save(*, actor: Actor, form: str, language: str, html: str) -> DocumentTemplate:
    """Save the operator's template of ``form`` in ``language`` after validating it (syntax, the
    sandbox rules, a render against sample data); refused templates change nothing."""
    problems = template_check(form, language, html)
    if problems:
        raise ValidationFailed("The template is refused: " + "; ".join(problems), errors={"html": problems})
    with transaction.atomic():
        row = DocumentTemplate.objects.select_for_update().filter(form=form, language=language).first()
        before = {"html": row.html} if row else None
        if row is None:
            row = DocumentTemplate(form=form, language=language)
        row.html, row.updated_at, row.updated_by = html, clock.now(), str(actor)[:200]
        row.save()
        audit_record(actor=actor, action="document_template.save", object_type="document_template",
                     object_id=row.pk, before=before, after={"form": form, "language": language, "html": html})
    return row


def document_template_reset(*, actor: Actor, form: str, language: str) -> None:
    """Drop the operator's template: the shipped default is used again."""
    with transaction.atomic():
        row = DocumentTemplate.objects.filter(form=form, language=language).first()
        if row is None:
            return
        audit_record(actor=actor, action="document_template.reset", object_type="document_template",
                     object_id=row.pk, before={"html": row.html}, after=None)
        row.delete()


SETTINGS_FIELDS = ("run_document", "upd_status", "send_by_email", "invoice_due_days", "monthly_acts")


def document_settings_update(*, actor: Actor, **changes: Any) -> DocumentSettings:
    errors: dict[str, list[str]] = {k: ["Unknown setting."] for k in changes if k not in SETTINGS_FIELDS}
    if "run_document" in changes and changes["run_document"] not in RunDocument.values:
        errors["run_document"] = [_choices(RunDocument.values)]
    if "monthly_acts" in changes and changes["monthly_acts"] not in MonthlyActs.values:
        errors["monthly_acts"] = [_choices(MonthlyActs.values)]
    if "upd_status" in changes and changes["upd_status"] not in (1, 2):
        errors["upd_status"] = ["Choose 1 or 2."]
    if "send_by_email" in changes and not isinstance(changes["send_by_email"], bool):
        errors["send_by_email"] = ["Must be true or false."]
    days = changes.get("invoice_due_days", 0)
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 365:
        errors["invoice_due_days"] = ["A whole number of days, 0 to 365."]
    if errors:
        raise ValidationFailed("Invalid document settings.", errors=errors)
    with transaction.atomic():
        row = DocumentSettings.objects.select_for_update().filter(pk=1).first() or DocumentSettings(pk=1)
        before = {f: getattr(row, f) for f in SETTINGS_FIELDS}
        for key, value in changes.items():
            setattr(row, key, value)
        row.updated_at = clock.now()
        row.save()
        audit_record(actor=actor, action="document_settings.update", object_type="document_settings", object_id=1,
                     before=before, after={f: getattr(row, f) for f in SETTINGS_FIELDS})
    return row


# ---------------------------------------------------------------------------------------------
# drafts


def _date_or_none(value: Any, field: str, errors: dict[str, list[str]]) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        errors[field] = ["Give a date, not a date and time."]
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        errors[field] = ["Enter a date as YYYY-MM-DD."]
        return None


def _line_specs(lines: Sequence[Mapping[str, Any]], currency: str, default_rate: str,
                errors: dict[str, list[str]]) -> list[LineSpec]:
    specs = []
    if not isinstance(lines, (list, tuple)):
        errors["lines"] = ["Give a list of lines."]
        return []
    for i, raw in enumerate(lines):
        if not isinstance(raw, Mapping):
            errors[f"lines.{i}"] = ["Give an object with name, price, quantity and vat_rate."]
            continue
        name = str(raw.get("name") or "").strip()
        if not name or len(name) > 1000:
            errors[f"lines.{i}.name"] = ["A name of 1 to 1000 characters is required."]
        try:
            price = Money(raw.get("price"), currency)
            if price.is_negative() or not price.is_rounded():
                errors[f"lines.{i}.price"] = [f"A price of zero or more, with at most "
                                              f"{price.currency.minor_units} decimals."]
        except MoneyError as exc:
            errors[f"lines.{i}.price"] = [str(exc)]
            price = Money.zero(currency)
        try:
            quantity = to_decimal(raw.get("quantity", "1"))
            if quantity <= 0 or quantity != quantity.quantize(Decimal("0.001")):
                raise MoneyError("quantity")
        except MoneyError:
            errors[f"lines.{i}.quantity"] = ["A quantity greater than zero, with at most 3 decimals."]
            quantity = Decimal(1)
        try:
            rate = VatRate.parse(str(raw.get("vat_rate") or default_rate))
        except ValueError as exc:
            errors[f"lines.{i}.vat_rate"] = [str(exc)]
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
        errors["legal_entity"] = ["Add the provider's legal entity first (none is the default)."]
    elif not entity.is_active:
        errors["legal_entity"] = ["This legal entity is not active."]
    try:
        cur = Currency.of(currency or client.currency).code
    except MoneyError as exc:
        errors["currency"] = [str(exc)]
        cur = "RUB"
    settings = billing_settings()
    inclusive = settings.prices_include_vat if prices_include_vat is None else prices_include_vat
    if not isinstance(inclusive, bool):
        errors["prices_include_vat"] = ["Must be true or false."]
    due = _date_or_none(due_date, "due_date", errors)
    start = _date_or_none(period_start, "period_start", errors)
    end = _date_or_none(period_end, "period_end", errors)
    if start and end and end < start:
        errors["period_end"] = ["Must not be before period_start."]
    if type == DocumentType.UPD:
        upd_status = upd_status or document_settings().upd_status
        if upd_status not in (1, 2):
            errors["upd_status"] = ["Choose 1 or 2."]
    elif upd_status is not None and type != DocumentType.CORRECTED:
        errors["upd_status"] = ["Only an УПД has a status."]
    needs_original = type in (DocumentType.CORRECTED, DocumentType.CORRECTIVE_INVOICE_FACTURA)
    if needs_original:
        if corrects is None:
            errors["corrects"] = ["Give the issued document this one corrects."]
        elif corrects.type not in CORRECTABLE or corrects.status not in ISSUED_STATES:
            errors["corrects"] = ["Only an issued счёт-фактура or УПД can be corrected."]
        elif corrects.client_id != client.pk:
            errors["corrects"] = ["The corrected document belongs to another client."]
        else:
            entity, cur = corrects.legal_entity, corrects.currency
            if type == DocumentType.CORRECTED:
                upd_status = corrects.upd_status
    elif corrects is not None:
        errors["corrects"] = ["Only a corrected or corrective document refers to another one."]
    specs = _line_specs(lines, cur, settings.default_vat_rate, errors)
    if needs_original and corrects is not None and not lines and "corrects" not in errors:
        specs = _original_specs(corrects)
        inclusive = bool(corrects.data.get("prices_include_vat", True))
    if not specs and "lines" not in errors and not any(k.startswith("lines.") for k in errors):
        errors["lines"] = ["A document needs at least one line."]
    txn_ids = sorted({int(t) for t in transactions})
    if txn_ids:
        found = set(JournalTransaction.objects.filter(pk__in=txn_ids, client=client).values_list("pk", flat=True))
        missing = [t for t in txn_ids if t not in found]
        if missing:
            errors["transactions"] = [f"Not this client's transactions: {', '.join(map(str, missing))}."]
    if not isinstance(notes, str) or len(notes) > 500:
        errors["notes"] = ["At most 500 characters of text."]
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
            errors["lines"] = [str(exc)]
    if errors:
        raise ValidationFailed("The document is invalid.", errors=errors)
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
            amount_minor=_minor(calc.totals.gross), vat_minor=_minor(calc.totals.vat), corrects=corrects,
            notes=notes, created_by=str(actor)[:200], created_at=clock.now())
        if txn_ids:
            doc.transactions.set(txn_ids)
        audit_record(actor=actor, action="document.create_draft", object_type="document", object_id=doc.pk,
                     after=document_state(doc))
    return doc


def document_state(doc: Document) -> dict[str, Any]:
    return {"type": doc.type, "status": doc.status, "number": doc.number, "issue_date": doc.issue_date,
            "client": doc.client_id, "legal_entity": doc.legal_entity_id, "amount_minor": doc.amount_minor,
            "vat_minor": doc.vat_minor, "paid_minor": doc.paid_minor, "currency": doc.currency,
            "correction_number": doc.correction_number}


# ---------------------------------------------------------------------------------------------
# issuing


def _issue_date(value: Any) -> dt.date:
    errors: dict[str, list[str]] = {}
    day = _date_or_none(value, "issue_date", errors) if value is not None else provider_today()
    if errors or day is None:
        raise ValidationFailed("The issue date is invalid.", errors=errors or {"issue_date": ["Required."]})
    if day > provider_today():
        raise ValidationFailed.field("issue_date", "A document cannot be issued with a date in the future.")
    return day


def _entity_problems(entity: LegalEntity, doc_type: str) -> list[str]:
    problems = []
    if not entity.is_active:
        problems.append("The legal entity is not active.")
    if doc_type == DocumentType.INVOICE and not (entity.bik and entity.settlement_account):
        problems.append("An invoice needs the legal entity's bank details (БИК and settlement account).")
    return problems


def _frozen_data(doc: Document, *, number: str, issue_date: dt.date, due: dt.date | None,
                 correction_number: int | None) -> dict[str, Any]:
    """The draft's data with the requisites, variables, number and dates as of issuing."""
    data = dict(doc.data)
    header = dict(data["document"])
    header.update(number=number, date=issue_date.isoformat(), due_date=due.isoformat() if due else "",
                  correction_number=correction_number)
    if doc.type == DocumentType.INVOICE:
        header["payment_purpose"] = (f"Оплата по счёту № {number} от {issue_date.strftime('%d.%m.%Y')}"
                                     if doc.language == "ru" else f"Payment of invoice No. {number}")
    data.update(document=header, provider=provider_requisites(doc.legal_entity),
                client=client_requisites(doc.client), vars=variables_for(doc.legal_entity))
    return data


def document_issue(*, actor: Actor, document: Document, issue_date: Any = None) -> Document:
    """Issue a draft: take the next number of its sequence (a corrected document keeps the
    original's number and takes the next correction number), freeze its data, and queue the PDF
    rendering and the e-mails. Refused (nothing written, no number taken) when the date is earlier
    than the sequence's last issue date or in the future."""
    day = _issue_date(issue_date)
    with transaction.atomic():
        doc = Document.objects.select_for_update(of=("self",)).select_related("legal_entity", "client", "corrects") \
            .filter(pk=document.pk).first()
        if doc is None:
            raise NotFound(f"Document {document.pk} does not exist.")
        if doc.status != DocumentStatus.DRAFT:
            raise Conflict(f"Only a draft can be issued; this document is {doc.status}.",
                           errors={"status": [f"Is {doc.status}."]})
        problems = _entity_problems(doc.legal_entity, doc.type)
        if problems:
            raise ValidationFailed("The document cannot be issued: " + " ".join(problems),
                                   errors={"legal_entity": problems})
        correction_number = None
        if doc.type == DocumentType.CORRECTED:
            assert doc.corrects_id is not None
            original = Document.objects.select_for_update().get(pk=doc.corrects_id)
            if original.status not in ISSUED_STATES:
                raise Conflict("The corrected document is not issued (any more).")
            if day < (original.issue_date or day):
                raise ValidationFailed.field("issue_date", "A correction cannot be dated before the original.")
            last = Document.objects.filter(corrects=original, type=DocumentType.CORRECTED,
                                           correction_number__isnull=False).order_by("-correction_number") \
                .values_list("correction_number", flat=True).first()
            correction_number = (last or 0) + 1
            doc.number, doc.correction_number = original.number, correction_number
        else:
            sequence = SEQUENCE_OF_TYPE[doc.type]
            assert sequence is not None
            rule = rule_for(sequence, doc.legal_entity)
            ((seq, number, key),) = allocate_numbers(rule, day, 1)
            doc.number, doc.numbering_rule, doc.number_seq, doc.number_period = number, rule, seq, key
        due = doc.due_date
        if doc.type == DocumentType.INVOICE and due is None:
            due = day + dt.timedelta(days=document_settings().invoice_due_days)
        doc.data = _frozen_data(doc, number=doc.number or "", issue_date=day, due=due,
                                correction_number=correction_number)
        doc.issue_date, doc.due_date, doc.status, doc.issued_at = day, due, DocumentStatus.ISSUED, clock.now()
        doc.save()
        _after_issue([doc], actor)
        audit_record(actor=actor, action="document.issue", object_type="document", object_id=doc.pk,
                     after=document_state(doc))
    return doc


def _recipients(client_ids: Iterable[int]) -> dict[int, list[str]]:
    from kopeck.clients.models import Contact

    found: dict[int, list[str]] = defaultdict(list)
    for client_id, value in Contact.objects.filter(client_id__in=list(client_ids), kind=ContactKind.EMAIL,
                                                   receives_documents=True).order_by("id") \
            .values_list("client_id", "value"):
        if value not in found[client_id]:
            found[client_id].append(value)
    return found


def _queue_emails(docs: Sequence[Document], recipients: Mapping[int, Sequence[str]]) -> list[DocumentDelivery]:
    from kopeck.outbox.services import outbox_enqueue_many

    now = clock.now()
    deliveries = [DocumentDelivery(document=d, recipient=r, status=DeliveryStatus.QUEUED, created_at=now)
                  for d in docs for r in recipients.get(d.pk, ())]
    if not deliveries:
        return []
    bulk_insert(DocumentDelivery, deliveries)
    ids = outbox_enqueue_many(messages=[(TOPIC_EMAIL, {"delivery": d.pk}, f"documents.email:{d.pk}")
                                        for d in deliveries], new=True)
    for delivery in deliveries:
        delivery.outbox_message_id = ids[f"documents.email:{delivery.pk}"]
    DocumentDelivery.objects.bulk_update(deliveries, ["outbox_message_id"], batch_size=1000)
    return deliveries


def _after_issue(docs: Sequence[Document], actor: Actor) -> None:
    """In the issuing transaction: queue each document's PDF rendering and, when sending by
    e-mail is on, one e-mail per recipient of its client."""
    from kopeck.outbox.services import outbox_enqueue_many

    outbox_enqueue_many(messages=[(TOPIC_PDF, {"document": d.pk}, f"documents.render_pdf:{d.pk}") for d in docs],
                        new=True)
    if document_settings().send_by_email:
        by_client = _recipients({d.client_id for d in docs})
        _queue_emails(docs, {d.pk: by_client.get(d.client_id, []) for d in docs})


def _issue_batch(actor: Actor, *, doc_type: str, entity: LegalEntity, issue_date: dt.date,
                 items: Sequence[dict[str, Any]], run: BillingRun | None, upd_status: int | None) -> list[Document]:
    """Issue one document per entry of ``items`` (``client``, ``calc``, ``transactions``,
    ``period_start``, ``period_end``) in one transaction: the numbers under one counter lock."""
    if not items:
        return []
    sequence = SEQUENCE_OF_TYPE[doc_type]
    assert sequence is not None
    settings = document_settings()
    variables = variables_for(entity)
    provider = provider_requisites(entity)
    now = clock.now()
    due = issue_date + dt.timedelta(days=settings.invoice_due_days) if doc_type == DocumentType.INVOICE else None
    # the data first, without the numbers: the sequence's lock is then held only while numbering
    prepared = [build_data(type=doc_type, language=Language.RU, currency=item["calc"].currency.code, calc=item["calc"],
                           provider=provider, client=client_requisites(item["client"]), variables=variables,
                           number=None, issue_date=issue_date, due_date=due, period_start=item.get("period_start"),
                           period_end=item.get("period_end"), upd_status=upd_status) for item in items]
    with transaction.atomic():
        rule = rule_for(sequence, entity)
        numbers = allocate_numbers(rule, issue_date, len(items))
        docs = []
        for item, data, (seq, number, key) in zip(items, prepared, numbers, strict=True):
            client: Client = item["client"]
            calc: DocumentCalc = item["calc"]
            set_number(data, number)
            docs.append(Document(
                type=doc_type, upd_status=upd_status, legal_entity=entity, client=client,
                status=DocumentStatus.ISSUED, number=number, numbering_rule=rule, number_period=key,
                number_seq=seq, issue_date=issue_date, due_date=due, period_start=item.get("period_start"),
                period_end=item.get("period_end"), currency=calc.currency.code, language=Language.RU, data=data,
                amount_minor=_minor(calc.totals.gross), vat_minor=_minor(calc.totals.vat), run=run,
                run_part=item.get("run_part", 1), created_by=str(actor)[:200], created_at=now, issued_at=now))
        bulk_insert(Document, docs)
        insert_rows(Document.transactions.through, ("document_id", "journaltransaction_id"),
                    [(d.pk, t) for d, item in zip(docs, items, strict=True) for t in item["transactions"]], ids=False)
        _after_issue(docs, actor)
        audit_record(actor=actor, action="document.issue_batch", object_type="document",
                     object_id=f"{docs[0].pk}-{docs[-1].pk}",
                     after={"type": doc_type, "count": len(docs), "run": run.pk if run else None,
                            "numbers": [d.number for d in docs], "issue_date": issue_date})
    return docs


# ---------------------------------------------------------------------------------------------
# the billing hook


def _component_names(spec: Any) -> dict[str, str]:
    spec = spec or {}
    return {str(c.get("code")): str(c.get("name") or c.get("code")) for c in spec.get("components", [])
            if isinstance(c, dict)}


def _charge_lines(item: RunItem, default_rate: str, names_of: Mapping[int, dict[str, str]] | None = None
                  ) -> list[LineSpec]:
    sub = item.subscription
    names = names_of[sub.plan_version_id] if names_of is not None else _component_names(
        getattr(sub.plan_version, "spec", None))
    plan = sub.plan
    product = plan.product.name_ru if plan.product_id else ""
    specs = []
    rate = VatRate.parse(item.vat_rate or default_rate)
    for line in item.items:
        if line.get("kind") == "credit":
            continue
        amount = Money(line["amount"], line.get("currency") or item.currency)
        if not amount.is_positive():
            continue
        period = line.get("period") or {}
        start, end = str(period.get("start") or ""), str(period.get("end") or "")
        last = (dt.date.fromisoformat(end) - dt.timedelta(days=1)).strftime("%d.%m.%Y") if end else ""
        first = dt.date.fromisoformat(start).strftime("%d.%m.%Y") if start else ""
        component = names.get(line.get("component"), line.get("component") or "")
        name = f"{product} «{plan.name_ru}»: {component}" + (f", {first}–{last}" if first else "")
        specs.append(LineSpec(name.strip(), amount, rate, period_start=start, period_end=end))
    return specs


def run_is_applied(run: BillingRun) -> bool:
    """Whether a run posted to the ledger: automatic, or confirmed (not sandbox, not rejected)."""
    if run.mode == RunMode.SANDBOX or run.status in (RunStatus.REJECTED, RunStatus.CANCELLED):
        return False
    if run.mode == RunMode.CONFIRM and run.decided_at is None:
        return False
    if run.mode == RunMode.AUTO and run.status == RunStatus.COMPUTING:
        return True  # an automatic run posts while it computes, chunk by chunk
    return run.status in (RunStatus.APPLYING, RunStatus.COMPLETED, RunStatus.FAILED)


def documents_issue_for_run(*, actor: Actor, run: BillingRun, clients: Sequence[int] | None = None,
                            items: Sequence[RunItem] | None = None, supplementary: bool = False) -> list[Document]:
    """Issue the run's document (DocumentSettings.run_document: invoice, act, УПД, or none) for every
    client with applied items (``applied_at`` set, ledger transactions posted), with one line per
    charge and links to the transactions. Idempotent and resumable: clients that already have the
    run's document are skipped (a unique constraint backs it), chunks of :data:`CHUNK` clients are
    issued in one transaction each (numbers under one counter lock per chunk). No PDF is rendered
    here (the outbox does it). Sandbox, unconfirmed and rejected runs issue nothing; without a
    default legal entity nothing is issued (logged). ``clients``: only these; ``items``: the run's
    items of those clients, already in memory (a run issues each chunk's documents in the chunk's
    transaction, from the items it has just written). ``supplementary`` (with ``items``: the items of
    errored subscriptions just billed on a retry): a client that already has the run's document gets
    a further one (``run_part`` 2, 3…) for these items only; items whose transactions are already
    on a document of the run are left out."""
    run = BillingRun.objects.get(pk=run.pk)
    settings = document_settings()
    if not run_is_applied(run) or settings.run_document == RunDocument.NONE:
        return []
    entity = default_legal_entity()
    if entity is None:
        log.warning("billing run %s: no default legal entity, no documents issued", run.pk)
        return []
    doc_type = str(settings.run_document)
    upd_status = settings.upd_status if doc_type == DocumentType.UPD else None
    issue_date = _run_issue_date(run, doc_type, entity)
    done_qs = Document.objects.filter(run=run, type=doc_type)
    if clients is not None:
        done_qs = done_qs.filter(client_id__in=list(clients))
    parts: dict[int, int] = {}  # the part each client's document takes
    if supplementary:
        if items is None:
            raise ValueError("supplementary documents are issued from the items given")
        parts = {c: n + 1 for c, n in done_qs.values("client_id").annotate(n=Max("run_part"))
                 .values_list("client_id", "n")}
        documented = set(Document.transactions.through.objects.filter(
            document__run=run, document__type=doc_type,
            journaltransaction_id__in=[t for i in items for t in i.transaction_ids])
            .values_list("journaltransaction_id", flat=True))
        items = [i for i in items if not set(i.transaction_ids) <= documented]
        done: set[int] = set()
    else:
        done = set(done_qs.values_list("client_id", flat=True))
    applied = RunItem.objects.filter(run=run, applied_at__isnull=False).exclude(transaction_ids=[])
    if clients is not None:
        applied = applied.filter(client_id__in=list(clients))
    if items is not None:
        client_ids = sorted({i.client_id for i in items if i.applied_at is not None and i.transaction_ids} - done)
    else:
        client_ids = sorted(set(applied.values_list("client_id", flat=True)) - done)
    default_rate = billing_settings().default_vat_rate
    issued: list[Document] = []
    given: dict[int, list[RunItem]] = defaultdict(list)
    if items is not None:
        for item in items:
            if item.applied_at is not None and item.transaction_ids:
                given[item.client_id].append(item)
    memo: dict[Any, Any] = {}  # equal lines (same plan, period, price) are computed once
    # CHUNK clients at a time: memory stays flat however large the run
    for start in range(0, len(client_ids), CHUNK):
        part = client_ids[start:start + CHUNK]
        by_client: dict[int, list[RunItem]] = defaultdict(list)
        if items is not None:
            mine = [i for c in part for i in sorted(given[c], key=lambda i: i.subscription_id)]
            missing = {i.subscription_id for i in mine if not RunItem.subscription.is_cached(i)}
            subs = Subscription.objects.select_related("plan__product").in_bulk(missing) if missing else {}
            people = Client.objects.in_bulk(set(part))
            for item in mine:
                if item.subscription_id in subs:
                    item.subscription = subs[item.subscription_id]
                item.client = people[item.client_id]
                by_client[item.client_id].append(item)
        else:
            for item in (applied.filter(client_id__in=part)
                         .select_related("client", "subscription__plan__product")
                         .order_by("client_id", "subscription_id")):
                by_client[item.client_id].append(item)
        versions = {i.subscription.plan_version_id for its in by_client.values() for i in its}
        names_of = {pk: _component_names(spec) for pk, spec in
                    PlanVersion.objects.filter(pk__in=versions).values_list("pk", "spec")}
        all_ids = [t for its in by_client.values() for i in its for t in i.transaction_ids]
        txn_ops = dict(JournalTransaction.objects.filter(pk__in=all_ids).values_list("pk", "operation"))
        batch = []
        for client_id in part:
            client_items = by_client[client_id]
            specs = [s for item in client_items for s in _charge_lines(item, default_rate, names_of)]
            if not specs:
                continue
            currency = client_items[0].currency
            calc = compute_document(specs, currency=currency, inclusive=True, memo=memo)
            txns = sorted({t for item in client_items for t in item.transaction_ids
                           if txn_ops.get(t) in (Operation.CHARGE, Operation.ONE_OFF_CHARGE)})
            starts = [s.period_start for s in specs if s.period_start]
            ends = [s.period_end for s in specs if s.period_end]
            batch.append({"client": client_items[0].client, "calc": calc, "transactions": txns,
                          "run_part": parts.get(client_id, 1),
                          "period_start": dt.date.fromisoformat(min(starts)) if starts else None,
                          "period_end": (dt.date.fromisoformat(max(ends)) - dt.timedelta(days=1)) if ends else None})
        issued += _issue_batch(actor, doc_type=doc_type, entity=entity, issue_date=issue_date, items=batch,
                               run=run, upd_status=upd_status)
    return issued


def _run_issue_date(run: BillingRun, doc_type: str, entity: LegalEntity) -> dt.date:
    """The run's billing date — unless the sequence already has a document dated later (numbers
    follow the issue dates), as when a past date is billed: then the day of issue (provider-local)."""
    sequence = SEQUENCE_OF_TYPE[doc_type]
    assert sequence is not None
    rule = rule_for(sequence, entity)
    latest = NumberCounter.objects.filter(rule=rule, period_key=period_key(rule.reset, run.billing_date)) \
        .values_list("last_issue_date", flat=True).first()
    if latest is not None and latest > run.billing_date:
        return provider_today()
    return run.billing_date


# ---------------------------------------------------------------------------------------------
# monthly acts, reconciliation


def _month(value: Any) -> tuple[dt.date, dt.date]:
    if isinstance(value, dt.date):
        first = value.replace(day=1)
    else:
        try:
            first = dt.date.fromisoformat(f"{str(value)[:7]}-01")
        except ValueError as exc:
            raise ValidationFailed.field("month", "Give a month as YYYY-MM (or a date in it).") from exc
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, nxt - dt.timedelta(days=1)


def documents_issue_monthly_acts(*, actor: Actor, month: Any, kind: str = "act",
                                 issue_date: Any = None) -> list[Document]:
    """One act (or УПД) per client for the month's charges (provider-local month) not yet on an act
    or УПД of that kind; one line per charge, linked to its transaction. Dated the month's last day
    (or today while the month runs, or ``issue_date``)."""
    if kind not in (DocumentType.ACT, DocumentType.UPD):
        raise ValidationFailed.field("kind", "Choose act or upd.")
    first, last = _month(month)
    day = _issue_date(issue_date if issue_date is not None else min(last, provider_today()))
    entity = default_legal_entity()
    if entity is None:
        raise Conflict("Add the provider's legal entity first (none is the default).",
                       errors={"legal_entity": ["No default legal entity."]})
    tz = provider_zone()
    taken = Document.transactions.through.objects.filter(
        document__type=kind, document__status__in=[*ISSUED_STATES, DocumentStatus.DRAFT]) \
        .values("journaltransaction_id")
    charges = (JournalTransaction.objects.filter(
        operation__in=[Operation.CHARGE, Operation.ONE_OFF_CHARGE], client__isnull=False,
        recorded_at__gte=start_of_local_day(first, tz), recorded_at__lt=end_of_local_day(last, tz))
        .exclude(pk__in=taken).filter(reversed_by__isnull=True).select_related("client").order_by("client_id", "id"))
    by_client: dict[int, list[JournalTransaction]] = defaultdict(list)
    for txn in charges.iterator(chunk_size=CHUNK):
        by_client[txn.client_id].append(txn)  # type: ignore[index]
    upd_status = document_settings().upd_status if kind == DocumentType.UPD else None
    issued: list[Document] = []
    ids = sorted(by_client)
    for start in range(0, len(ids), CHUNK):
        batch = []
        for client_id in ids[start:start + CHUNK]:
            txns = by_client[client_id]
            currency = txns[0].currency
            specs = [LineSpec(t.reason[:1000] or LABELS[Operation(t.operation)][0], _from_minor(t.amount_minor, currency),
                              VatRate.parse(t.vat_rate or "exempt")) for t in txns if t.currency == currency]
            calc = compute_document(specs, currency=currency, inclusive=True)
            batch.append({"client": txns[0].client, "calc": calc,
                          "transactions": [t.pk for t in txns if t.currency == currency],
                          "period_start": first, "period_end": last})
        issued += _issue_batch(actor, doc_type=kind, entity=entity, issue_date=day, items=batch, run=None,
                               upd_status=upd_status)
    return issued


def documents_monthly_acts_due(*, actor: Actor) -> list[Document]:
    """The periodic job: when the document settings' ``monthly_acts`` is on, issue the acts (or
    УПД) of the month before the provider-local today — every client's charges of that month not on
    such a document yet. Running it again (the job runs several times a day) issues nothing new."""
    kind = document_settings().monthly_acts
    if kind == MonthlyActs.OFF or default_legal_entity() is None:
        return []
    previous = provider_today().replace(day=1) - dt.timedelta(days=1)
    return documents_issue_monthly_acts(actor=actor, month=previous.strftime("%Y-%m"), kind=str(kind))


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
        errors["end"] = ["Must not be before start."]
    entity = legal_entity or default_legal_entity()
    if entity is None:
        errors["legal_entity"] = ["Add the provider's legal entity first (none is the default)."]
    if language not in Language.values:
        errors["language"] = [_choices(Language.values)]
    if errors:
        raise ValidationFailed("The reconciliation statement is invalid.", errors=errors)
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
            amount_minor=_minor(abs(statement.closing)), created_by=str(actor)[:200], created_at=clock.now())
        doc.transactions.set([ln.transaction.pk for ln in statement.lines])
        audit_record(actor=actor, action="document.create_draft", object_type="document", object_id=doc.pk,
                     after=document_state(doc))
        if issue:
            doc = document_issue(actor=actor, document=doc, issue_date=min(last, provider_today()))
    return doc


# ---------------------------------------------------------------------------------------------
# lifecycle after issuing


def document_cancel(*, actor: Actor, document: Document, reason: str) -> Document:
    """Cancel a draft or an issued (unpaid) document. An issued document keeps its number: the
    number is never given again."""
    if not str(reason or "").strip():
        raise ValidationFailed.field("reason", "A reason is required.")
    with transaction.atomic():
        doc = Document.objects.select_for_update().filter(pk=document.pk).first()
        if doc is None:
            raise NotFound(f"Document {document.pk} does not exist.")
        if doc.status not in (DocumentStatus.DRAFT, DocumentStatus.ISSUED):
            raise Conflict(f"A {doc.status} document cannot be cancelled.", errors={"status": [f"Is {doc.status}."]})
        before = document_state(doc)
        doc.status, doc.cancelled_at, doc.cancel_reason = DocumentStatus.CANCELLED, clock.now(), reason.strip()[:500]
        doc.save(update_fields=["status", "cancelled_at", "cancel_reason"])
        audit_record(actor=actor, action="document.cancel", object_type="document", object_id=doc.pk,
                     before=before, after={**document_state(doc), "reason": doc.cancel_reason})
    return doc


def document_mark_paid(*, actor: Actor, document: Document, amount: Any = None) -> Document:
    """Record a payment of an issued invoice: the whole rest (no ``amount``) or a part of it."""
    with transaction.atomic():
        doc = Document.objects.select_for_update().filter(pk=document.pk).first()
        if doc is None:
            raise NotFound(f"Document {document.pk} does not exist.")
        if doc.type != DocumentType.INVOICE:
            raise Conflict("Only an invoice (счёт на оплату) is paid.", errors={"type": ["Not an invoice."]})
        if doc.status not in (DocumentStatus.ISSUED, DocumentStatus.PARTLY_PAID):
            raise Conflict(f"A {doc.status} invoice cannot take a payment.", errors={"status": [f"Is {doc.status}."]})
        rest = doc.amount_minor - doc.paid_minor
        if amount in (None, ""):
            paid = rest
        else:
            try:
                money = Money(amount, doc.currency)
            except MoneyError as exc:
                raise ValidationFailed.field("amount", str(exc)) from exc
            if not money.is_positive() or not money.is_rounded():
                raise ValidationFailed.field("amount", "A positive amount in whole minor units.")
            paid = _minor(money)
            if paid > rest:
                raise ValidationFailed.field("amount", f"At most the unpaid rest, "
                                                       f"{_from_minor(rest, doc.currency).to_str()}.")
        before = document_state(doc)
        doc.paid_minor += paid
        doc.status = DocumentStatus.PAID if doc.paid_minor >= doc.amount_minor else DocumentStatus.PARTLY_PAID
        doc.save(update_fields=["paid_minor", "status"])
        audit_record(actor=actor, action="document.mark_paid", object_type="document", object_id=doc.pk,
                     before=before, after=document_state(doc))
    return doc


def document_resend(*, actor: Actor, document: Document, recipients: Sequence[str] | None = None) -> list[DocumentDelivery]:
    """E-mail an issued document again: to ``recipients``, or to the client's document recipients."""
    doc = Document.objects.filter(pk=document.pk).first()
    if doc is None:
        raise NotFound(f"Document {document.pk} does not exist.")
    if doc.status in (DocumentStatus.DRAFT, DocumentStatus.CANCELLED):
        raise Conflict(f"A {doc.status} document is not sent.", errors={"status": [f"Is {doc.status}."]})
    if recipients is None:
        to = _recipients([doc.client_id]).get(doc.client_id, [])
    else:
        to = []
        for i, address in enumerate(recipients):
            try:
                validate_email(str(address))
            except DjangoValidationError as exc:
                raise ValidationFailed.field(f"recipients.{i}", "Enter a valid e-mail address.") from exc
            to.append(str(address))
    if not to:
        raise ValidationFailed.field("recipients", "The client has no e-mail address that receives documents.")
    with transaction.atomic():
        deliveries = _queue_emails([doc], {doc.pk: to})
        audit_record(actor=actor, action="document.resend", object_type="document", object_id=doc.pk,
                     after={"recipients": to})
    return deliveries


def document_pdf(document: Document) -> bytes:
    """The PDF of a document: the cached one, or rendered now (and cached when issued)."""
    cached = DocumentPdf.objects.filter(document_id=document.pk).values_list("content", flat=True).first()
    if cached is not None:
        return bytes(cached)
    from kopeck.documents.pdf import html_to_pdf  # WeasyPrint is loaded only where PDFs are made

    pdf = html_to_pdf(document_html(document))
    if document.status != DocumentStatus.DRAFT:
        with transaction.atomic():
            DocumentPdf.objects.get_or_create(document_id=document.pk, defaults={
                "content": pdf, "sha256": hashlib.sha256(pdf).hexdigest(), "rendered_at": clock.now()})
        cached = DocumentPdf.objects.filter(document_id=document.pk).values_list("content", flat=True).first()
        return bytes(cached) if cached is not None else pdf
    return pdf


def template_preview(form: str, language: str, html: str) -> tuple[str, list[str]]:
    """The HTML of ``html`` rendered with sample data, or the problems that refuse it."""
    from kopeck.documents.rendering import render_source

    problems = template_check(form, language, html)
    if problems:
        return "", problems
    try:
        return render_source(html, sample_data(form, language)), []
    except TemplateRefused as exc:
        return "", exc.problems

