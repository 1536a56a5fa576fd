"""Validation of a client's field values against the operator-configured field set of its type."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from kopeck.clients.models import ClientFieldDefinition, ClientType, FieldKind
from kopeck.core import requisites as rq

PHONE_RE = re.compile(r"^\+?[0-9]{10,15}$")
DATE_RE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def normalize_phone(value: str) -> str:
    digits = re.sub(r"[\s()\-.]", "", value)
    if not PHONE_RE.match(digits):
        raise ValueError(_("Enter a phone number of 10–15 digits, e.g. +7 495 123-45-67."))
    if digits.startswith("8") and len(digits) == 11:
        digits = "+7" + digits[1:]
    if not digits.startswith("+"):
        digits = "+" + digits
    return digits


def _requisite_message(exc: rq.RequisiteError) -> str:
    return exc.message_ru if (get_language() or "").startswith("ru") else exc.message_en


def _check_simple(defn: ClientFieldDefinition, raw: Any, client_type: str) -> Any:
    kind = defn.kind
    if kind == FieldKind.NUMBER:
        try:
            number = Decimal(str(raw))
        except InvalidOperation as exc:
            raise ValueError(_("Enter a number.")) from exc
        if isinstance(raw, float) or not number.is_finite():
            raise ValueError(_("Enter a number as a string or an integer."))
        return str(number)
    if not isinstance(raw, str):
        raise ValueError(_("Enter text."))
    value = raw.strip()
    if kind == FieldKind.TEXT:
        return value
    if kind == FieldKind.DATE:
        try:
            if not DATE_RE.match(value):
                raise ValueError(value)
            return dt.date.fromisoformat(value).isoformat()
        except ValueError as exc:
            raise ValueError(_("Enter a date as YYYY-MM-DD.")) from exc
    if kind == FieldKind.CHOICE:
        if value not in (defn.choices or []):
            raise ValueError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(map(str, defn.choices or []))})
        return value
    if kind == FieldKind.EMAIL:
        try:
            validate_email(value)
        except DjangoValidationError as exc:
            raise ValueError(_("Enter a valid e-mail address.")) from exc
        return value
    if kind == FieldKind.PHONE:
        return normalize_phone(value)
    if kind == FieldKind.INN:
        inn_kind = "legal" if client_type == ClientType.LEGAL else "individual"
        return rq.validate_inn(value, kind=inn_kind)
    if kind == FieldKind.KPP:
        return rq.validate_kpp(value)
    if kind == FieldKind.OGRN:
        return rq.validate_ogrn(value)
    if kind == FieldKind.OGRNIP:
        return rq.validate_ogrnip(value)
    if kind == FieldKind.BIK:
        return rq.validate_bik(value)
    return value  # account kinds are checked with the БИК below


def validate_fields(
    client_type: str, values: Mapping[str, Any], definitions: Iterable[ClientFieldDefinition]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Return (cleaned values, errors keyed ``fields.<code>``). Unknown codes and missing required
    fields are errors; empty optional fields are dropped."""
    defs = {d.code: d for d in definitions if d.is_active}
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for code in values:
        if code not in defs:
            errors[f"fields.{code}"] = [_("Unknown field for this client type.")]
    for code, defn in defs.items():
        raw = values.get(code)
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            if defn.required:
                errors[f"fields.{code}"] = [_("This field is required.")]
            continue
        try:
            cleaned[code] = _check_simple(defn, raw, client_type)
        except rq.RequisiteError as exc:
            errors[f"fields.{code}"] = [_requisite_message(exc)]
        except ValueError as exc:
            errors[f"fields.{code}"] = [str(exc)]
    # Account keys depend on the БИК of the same field set.
    bik_codes = [c for c, d in defs.items() if d.kind == FieldKind.BIK]
    bik = next((cleaned[c] for c in bik_codes if c in cleaned), None)
    for code, defn in defs.items():
        if defn.kind not in (FieldKind.SETTLEMENT_ACCOUNT, FieldKind.CORRESPONDENT_ACCOUNT) or code not in cleaned:
            continue
        if bik is None:
            if not any(f"fields.{c}" in errors for c in bik_codes):
                errors[f"fields.{code}"] = [_("An account number needs the bank's БИК in the same record.")]
            continue
        try:
            if defn.kind == FieldKind.SETTLEMENT_ACCOUNT:
                cleaned[code] = rq.validate_settlement_account(cleaned[code], bik)
            else:
                cleaned[code] = rq.validate_correspondent_account(cleaned[code], bik)
        except rq.RequisiteError as exc:
            errors[f"fields.{code}"] = [_requisite_message(exc)]
    return cleaned, errors
