from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.forms.models import model_to_dict

from kopeck.audit.services import audit_record
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import ValidationFailed
from kopeck.configuration.models import BillingSettings, VatRegime
from kopeck.configuration.selectors import billing_settings
from kopeck.core.calendar import CalendarError, zone
from kopeck.core.money import Currency, MoneyError

EDITABLE = ("time_zone", "default_currency", "vat_regime", "prices_include_vat", "auto_billing_time")


def _state(obj: BillingSettings) -> dict[str, Any]:
    return model_to_dict(obj, fields=EDITABLE)


def billing_settings_update(*, actor: Actor, **changes: Any) -> BillingSettings:
    errors: dict[str, list[str]] = {}
    for name in changes:
        if name not in EDITABLE:
            errors[name] = ["Unknown setting."]
    if "time_zone" in changes:
        try:
            zone(str(changes["time_zone"]))
        except CalendarError as exc:
            errors["time_zone"] = [str(exc)]
    if "default_currency" in changes:
        try:
            changes["default_currency"] = Currency.of(str(changes["default_currency"])).code
        except MoneyError as exc:
            errors["default_currency"] = [str(exc)]
    if "vat_regime" in changes and changes["vat_regime"] not in VatRegime.values:
        errors["vat_regime"] = [f"Choose one of {', '.join(VatRegime.values)}."]
    if "prices_include_vat" in changes and not isinstance(changes["prices_include_vat"], bool):
        errors["prices_include_vat"] = ["Must be true or false."]
    if "auto_billing_time" in changes:
        value = changes["auto_billing_time"]
        if isinstance(value, str):
            try:
                value = changes["auto_billing_time"] = dt.time.fromisoformat(value) if value else None
            except ValueError:
                errors["auto_billing_time"] = ["Give a time HH:MM, or null (off)."]
        if value is not None and "auto_billing_time" not in errors and not isinstance(value, dt.time):
            errors["auto_billing_time"] = ["Give a time HH:MM, or null (off)."]
    if errors:
        raise ValidationFailed("Invalid billing settings.", errors=errors)
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
