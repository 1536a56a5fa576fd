"""Setting documents up: the provider's legal entities, variables, numbering rules, templates and
the document settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _

from kopeck.audit.services import audit_record
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.core import requisites as rq
from kopeck.documents.data import sample_data
from kopeck.documents.models import (
    DocumentSettings,
    DocumentTemplate,
    Language,
    LegalEntity,
    MonthlyActs,
    NumberingRule,
    RunDocument,
    TemplateForm,
    Variable,
)
from kopeck.documents.numbering import (
    NUMBERED_SEQUENCES,
    rule_for,
    validate_rule,
)
from kopeck.documents.rendering import template_problems
from kopeck.documents.services.common import _choices

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
        errors[field] = [exc.message_ru if (get_language() or "").startswith("ru") else exc.message_en]
        return str(args[0])


def legal_entity_clean(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The cleaned attributes of a legal entity and the errors, per field (requisites checked with
    :mod:`kopeck.core.requisites`)."""
    errors: dict[str, list[str]] = {k: [_("Unknown attribute.")] for k in data if k not in ENTITY_FIELDS}
    clean: dict[str, Any] = {}
    for key in ENTITY_FIELDS:
        if key in ("is_default", "is_active"):
            if key in data and not isinstance(data[key], bool):
                errors[key] = [_("Must be true or false.")]
            clean[key] = bool(data.get(key, key == "is_active"))
            continue
        clean[key] = str(data.get(key) or "").strip()
    for key in ENTITY_REQUIRED:
        if not clean[key]:
            errors[key] = [_("This field is required.")]
    if clean["inn"]:
        clean["inn"] = _requisite(errors, "inn", rq.validate_inn, clean["inn"])
    if clean["kpp"]:
        clean["kpp"] = _requisite(errors, "kpp", rq.validate_kpp, clean["kpp"])
    elif len(clean["inn"]) == 10 and "inn" not in errors:
        errors["kpp"] = [_("A legal entity (10-digit ИНН) needs a КПП.")]
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
                errors[key] = [_("Give a valid БИК to check the account against.")]
            else:
                clean[key] = _requisite(errors, key, func, clean[key], clean["bik"])
    if clean["email"]:
        try:
            validate_email(clean["email"])
        except DjangoValidationError:
            errors["email"] = [_("Enter a valid e-mail address.")]
    for key in ENTITY_FIELDS:
        field = LegalEntity._meta.get_field(key)
        limit = getattr(field, "max_length", None)
        if limit and isinstance(clean[key], str) and len(clean[key]) > limit:
            errors[key] = [ngettext("At most %(count)d character.", "At most %(count)d characters.", limit) % {"count": limit}]
    return clean, errors


def _make_default(entity: LegalEntity) -> None:
    LegalEntity.objects.filter(is_default=True).exclude(pk=entity.pk).update(is_default=False)


def legal_entity_create(*, actor: Actor, **data: Any) -> LegalEntity:
    """Add a legal entity of the provider; the first one (or one created with ``is_default``)
    becomes the default."""
    clean, errors = legal_entity_clean(data)
    if errors:
        raise ValidationFailed(_("The legal entity has invalid requisites."), errors=errors)
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
    """Change a legal entity's requisites (documents already issued keep theirs: their data is frozen).
    Only the fields in ``changes`` change: the others are kept as stored, whatever the caller's copy
    of ``entity`` says (an operator's older copy does not undo another's change)."""
    with transaction.atomic():
        entity = LegalEntity.objects.select_for_update().get(pk=entity.pk)
        before = legal_entity_state(entity)
        clean, errors = legal_entity_clean({**before, **changes})
        if entity.is_default and clean["is_default"] is False and "is_default" in changes:
            errors["is_default"] = [_("Make another legal entity the default instead.")]
        if errors:
            raise ValidationFailed(_("The legal entity has invalid requisites."), errors=errors)
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
        errors["code"] = [_("Use latin letters, digits and '_', starting with a letter.")]
    elif code.startswith("entity_"):
        errors["code"] = [_("Codes starting with 'entity_' are the legal entity's requisites.")]
    elif len(code) > 100:
        errors["code"] = [_("At most 100 characters.")]
    if not isinstance(value, str):
        errors["value"] = [_("Enter text.")]
    if errors:
        raise ValidationFailed(_("The variable is invalid."), errors=errors)
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
            raise Conflict(_("Numbers were already given under this reset period; it cannot change now."),
                           errors={"reset": [_("Numbers were already given.")]})
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
        return [_("The template is empty.")]
    if len(html) > 200_000:
        return [_("The template is too long (at most 200 000 characters).")]
    return template_problems(html, sample_data(form, language))


def document_template_save(*, actor: Actor, form: str, language: str, html: str) -> DocumentTemplate:
    """Save the operator's template of ``form`` in ``language`` after validating it (syntax, the
    sandbox rules, a render against sample data); refused templates change nothing."""
    problems = template_check(form, language, html)
    if problems:
        raise ValidationFailed(_("The template is refused: %(problems)s") % {"problems": "; ".join(problems)},
                               errors={"html": problems})
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
    errors: dict[str, list[str]] = {k: [_("Unknown setting.")] for k in changes if k not in SETTINGS_FIELDS}
    if "run_document" in changes and changes["run_document"] not in RunDocument.values:
        errors["run_document"] = [_choices(RunDocument.values)]
    if "monthly_acts" in changes and changes["monthly_acts"] not in MonthlyActs.values:
        errors["monthly_acts"] = [_choices(MonthlyActs.values)]
    if "upd_status" in changes and changes["upd_status"] not in (1, 2):
        errors["upd_status"] = [_("Choose 1 or 2.")]
    if "send_by_email" in changes and not isinstance(changes["send_by_email"], bool):
        errors["send_by_email"] = [_("Must be true or false.")]
    days = changes.get("invoice_due_days", 0)
    if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 365:
        errors["invoice_due_days"] = [_("A whole number of days, 0 to 365.")]
    if errors:
        raise ValidationFailed(_("Invalid document settings."), errors=errors)
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


