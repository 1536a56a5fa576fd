from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.forms.models import model_to_dict
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kopeck.audit.services import audit_record
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import ValidationFailed
from kopeck.configuration.models import (
    BillingSettings,
    BlockEffect,
    CreditMode,
    MailSecurity,
    MailSettings,
    ScheduledRun,
    VatRegime,
)
from kopeck.configuration.selectors import billing_settings, mail_settings
from kopeck.core.calendar import CalendarError, zone
from kopeck.core.money import Currency, MoneyError

CREDIT_EDITABLE = ("credit_mode", "credit_limit", "credit_grace_days", "low_balance_amount", "low_balance_days",
                   "promise_max_share", "promise_max_days", "promise_interval_days", "effect_non_payment",
                   "effect_client_request", "effect_abuse", "effect_fraud", "effect_legal")
EDITABLE = ("time_zone", "default_currency", "vat_regime", "prices_include_vat", "scheduled_run", "auto_billing_time",
            "run_report_to", *CREDIT_EDITABLE)
_AMOUNTS = ("credit_limit", "low_balance_amount")
_DAYS = {"credit_grace_days": (0, 365, False), "low_balance_days": (1, 365, True), "promise_max_days": (1, 90, False),
         "promise_interval_days": (0, 365, False)}


def _credit_errors(changes: dict[str, Any]) -> dict[str, list[str]]:
    """The field errors of the credit-control defaults; normalises amounts to Decimal in place."""
    errors: dict[str, list[str]] = {}
    if "credit_mode" in changes and changes["credit_mode"] not in CreditMode.values:
        errors["credit_mode"] = [_("Choose one of %(choices)s.") % {"choices": ", ".join(CreditMode.values)}]
    for name in _AMOUNTS:
        if name in changes and changes[name] is not None:
            try:
                value = Decimal(str(changes[name]))
            except InvalidOperation:
                errors[name] = [_("Give an amount, e.g. 1000.00, or null.")]
                continue
            if not value.is_finite() or value < 0 or value >= 10**15 or value != value.quantize(Decimal("0.01")):
                errors[name] = [_("A non-negative amount with at most 2 decimal places.")]
            else:
                changes[name] = value
    for name, (low, high, nullable) in _DAYS.items():
        if name in changes:
            value = changes[name]
            if value is None and nullable:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                errors[name] = [(_("A whole number of days from %(low)d to %(high)d, or null.") if nullable
                                 else _("A whole number of days from %(low)d to %(high)d.")) % {"low": low, "high": high}]
    if "promise_max_share" in changes:
        try:
            share = Decimal(str(changes["promise_max_share"]))
            if not share.is_finite() or not 0 <= share <= 1000 or share != share.quantize(Decimal("0.01")):
                raise InvalidOperation
            changes["promise_max_share"] = share
        except InvalidOperation:
            errors["promise_max_share"] = [_("A percentage from 0 to 1000 with at most 2 decimal places.")]
    for name in CREDIT_EDITABLE:
        if name.startswith("effect_") and name in changes and changes[name] not in BlockEffect.values:
            errors[name] = [_("Choose one of %(choices)s.") % {"choices": ", ".join(BlockEffect.values)}]
    return errors


def clean_addresses(value: object) -> tuple[str, list[str]]:
    """E-mail addresses separated by commas (or whitespace) → (the stored form "a@x, b@y", errors)."""
    if value is None:
        return "", []
    if not isinstance(value, str):
        return "", [_("Give e-mail addresses separated by commas.")]
    addresses = [a for a in value.replace(";", ",").replace("\n", ",").split(",") if a.strip()]
    cleaned, errors = [], []
    for address in (a.strip() for a in addresses):
        try:
            validate_email(address)
        except DjangoValidationError:
            errors.append(_("Not an e-mail address: %(address)r.") % {"address": address})
        cleaned.append(address)
    text = ", ".join(dict.fromkeys(cleaned))
    if len(text) > 1000:
        errors.append(ngettext("At most %(count)d character.", "At most %(count)d characters.", 1000) % {"count": 1000})
    return text, errors


def _state(obj: BillingSettings) -> dict[str, Any]:
    return model_to_dict(obj, fields=EDITABLE)


def billing_settings_update(*, actor: Actor, **changes: Any) -> BillingSettings:
    errors: dict[str, list[str]] = {}
    for name in changes:
        if name not in EDITABLE:
            errors[name] = [_("Unknown setting.")]
    if "time_zone" in changes:
        try:
            zone(str(changes["time_zone"]))
        except CalendarError:
            errors["time_zone"] = [_("unknown time zone %(zone)r") % {"zone": str(changes["time_zone"])}]
    if "default_currency" in changes:
        try:
            changes["default_currency"] = Currency.of(str(changes["default_currency"])).code
        except MoneyError:
            errors["default_currency"] = [_("unknown currency %(code)r") % {"code": str(changes["default_currency"])}]
    if "vat_regime" in changes and changes["vat_regime"] not in VatRegime.values:
        errors["vat_regime"] = [_("Choose one of %(choices)s.") % {"choices": ", ".join(VatRegime.values)}]
    if "prices_include_vat" in changes and not isinstance(changes["prices_include_vat"], bool):
        errors["prices_include_vat"] = [_("Must be true or false.")]
    if "scheduled_run" in changes and changes["scheduled_run"] not in ScheduledRun.values:
        errors["scheduled_run"] = [_("Choose one of %(choices)s.") % {"choices": ", ".join(ScheduledRun.values)}]
    if "auto_billing_time" in changes:
        value = changes["auto_billing_time"]
        if isinstance(value, str):
            try:
                value = changes["auto_billing_time"] = dt.time.fromisoformat(value)
            except ValueError:
                value = None
        if not isinstance(value, dt.time):
            errors["auto_billing_time"] = [_("Give a time HH:MM (to turn the daily run off, set scheduled_run to off).")]
    if "run_report_to" in changes:
        changes["run_report_to"], problems = clean_addresses(changes["run_report_to"])
        if problems:
            errors["run_report_to"] = problems
    errors.update(_credit_errors(changes))
    if errors:
        raise ValidationFailed(_("Invalid billing settings."), errors=errors)
    with transaction.atomic():
        if not BillingSettings.objects.filter(pk=1).exists():
            billing_settings().save()
        obj = BillingSettings.objects.select_for_update().get(pk=1)
        before = _state(obj)
        for name, value in changes.items():
            setattr(obj, name, value)
        if _state(obj) != before:
            obj.updated_at = clock.now()
            obj.save()
            audit_record(actor=actor, action="settings.update", object_type="billing_settings", object_id=1,
                         before=before, after=_state(obj))
    return obj


# -- mail settings -------------------------------------------------------------------------------

MAIL_EDITABLE = ("enabled", "host", "port", "security", "username", "password", "from_email", "from_name",
                 "timeout")
_MAIL_TEXT_LIMITS = {"host": 255, "username": 255, "password": 255, "from_email": 254, "from_name": 200}


def mail_state(obj: MailSettings) -> dict[str, Any]:
    """The settings as audited: the password only as whether one is set."""
    state = {name: getattr(obj, name) for name in MAIL_EDITABLE if name != "password"}
    state["password_set"] = bool(obj.password)
    return state


def _mail_errors(changes: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name in changes:
        if name not in MAIL_EDITABLE:
            errors[name] = [_("Unknown setting.")]
    for name, limit in _MAIL_TEXT_LIMITS.items():
        if name not in changes:
            continue
        value = changes[name]
        if not isinstance(value, str):
            errors[name] = [_("Must be a string.")]
            continue
        if name != "password":
            value = changes[name] = value.strip()
        if len(value) > limit:
            errors[name] = [ngettext("At most %(count)d character.", "At most %(count)d characters.", limit)
                           % {"count": limit}]
        elif any(c in value for c in "\r\n\0"):
            errors[name] = [_("Must be one line.")]
    if "host" in changes and "host" not in errors and any(c.isspace() for c in changes["host"]):
        errors["host"] = [_("A host name or IP address, without spaces.")]
    if "from_email" in changes and "from_email" not in errors and changes["from_email"]:
        try:
            validate_email(changes["from_email"])
        except DjangoValidationError:
            errors["from_email"] = [_("Enter a valid e-mail address.")]
    if "enabled" in changes and not isinstance(changes["enabled"], bool):
        errors["enabled"] = [_("Must be true or false.")]
    for name, low, high in (("port", 1, 65535), ("timeout", 1, 600)):
        if name in changes:
            value = changes[name]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                errors[name] = [_("A whole number from %(low)d to %(high)d.") % {"low": low, "high": high}]
    if "security" in changes and changes["security"] not in MailSecurity.values:
        errors["security"] = [_("Choose one of %(choices)s.") % {"choices": ", ".join(MailSecurity.values)}]
    return errors


def mail_settings_validate(changes: dict[str, Any]) -> dict[str, list[str]]:
    """The field errors of a change to the mail settings (empty: valid). Normalises ``changes`` in
    place (text is stripped, the password excepted). Enabled sending needs a host and a sender."""
    errors = _mail_errors(changes)
    if errors:
        return errors
    current = mail_settings()
    result = {name: changes.get(name, getattr(current, name)) for name in MAIL_EDITABLE}
    if result["enabled"]:
        for name in ("host", "from_email"):
            if not result[name]:
                errors[name] = [_("Required when sending is enabled.")]
    return errors


def mail_settings_update(*, actor: Actor, **changes: Any) -> MailSettings:
    """Change the outgoing mail settings (see :func:`mail_settings_validate`). The audit entry
    records whether a password is set, never the password."""
    errors = mail_settings_validate(changes)
    if errors:
        raise ValidationFailed(_("Invalid mail settings."), errors=errors)
    with transaction.atomic():
        if not MailSettings.objects.filter(pk=1).exists():
            mail_settings().save()
        obj = MailSettings.objects.select_for_update().get(pk=1)
        before = mail_state(obj)
        old_password = obj.password
        for name, value in changes.items():
            setattr(obj, name, value)
        if mail_state(obj) != before or obj.password != old_password:
            obj.updated_at = clock.now()
            obj.save()
            after = mail_state(obj)
            if obj.password != old_password:
                after["password_changed"] = True
            audit_record(actor=actor, action="settings.update", object_type="mail_settings", object_id=1,
                         before=before, after=after)
    return obj
