"""A client's credit policy: its overrides of the billing settings' credit-control defaults."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.forms.models import model_to_dict
from django.utils.translation import gettext as _

from kopeck.audit.services import audit_record
from kopeck.clients.models import Client
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import ValidationFailed
from kopeck.credit.models import CreditPolicy, LimitKind

FIELDS = ("mode", "limit_kind", "credit_limit", "grace_days", "low_balance_amount", "low_balance_days")


def _clean(changes: dict[str, Any]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for name in changes:
        if name not in FIELDS:
            errors[name] = [_("Unknown field.")]
    if "mode" in changes and changes["mode"] not in ("", None, "prepaid", "postpaid"):
        errors["mode"] = [_("Choose one of: prepaid, postpaid, or empty (as in the billing settings).")]
    if "limit_kind" in changes and changes["limit_kind"] not in LimitKind.values:
        errors["limit_kind"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(LimitKind.values)}]
    for name in ("credit_limit", "low_balance_amount"):
        if changes.get(name) is not None:
            try:
                value: Decimal = Decimal(str(changes[name]))
                if not value.is_finite() or value < 0 or value >= 10**15 or value != value.quantize(Decimal("0.01")):
                    raise InvalidOperation
                changes[name] = value
            except InvalidOperation:
                errors[name] = [_("A non-negative amount with at most 2 decimal places, or null.")]
    for name, low in (("grace_days", 0), ("low_balance_days", 1)):
        days = changes.get(name)
        if days is not None and (isinstance(days, bool) or not isinstance(days, int) or not low <= days <= 365):
            errors[name] = [_("A whole number of days from %(low)d to 365, or null.") % {"low": low}]
    return errors


def credit_policy_set(*, actor: Actor, client: Client, **changes: Any) -> CreditPolicy:
    """Set the client's overrides (a field left empty takes the billing settings' default)."""
    changes = {k: ("" if k == "mode" and v is None else v) for k, v in changes.items()}
    errors = _clean(changes)
    if not errors:
        kind = changes.get("limit_kind")
        if kind == LimitKind.AMOUNT and changes.get("credit_limit") is None:
            existing = CreditPolicy.objects.filter(client=client).values_list("credit_limit", flat=True).first()
            if "credit_limit" in changes or existing is None:
                errors["credit_limit"] = [_("Give the amount of the limit.")]
    if errors:
        raise ValidationFailed(_("The credit policy is invalid."), errors=errors)
    with transaction.atomic():
        policy, _created = CreditPolicy.objects.select_for_update().get_or_create(
            client=client, defaults={"updated_at": clock.now()})
        before = model_to_dict(policy, fields=FIELDS)
        for name, value in changes.items():
            setattr(policy, name, value)
        if policy.limit_kind != LimitKind.AMOUNT:
            policy.credit_limit = None
        after = model_to_dict(policy, fields=FIELDS)
        if after != before:
            policy.updated_at = clock.now()
            policy.save()
            audit_record(actor=actor, action="credit_policy.update", object_type="client", object_id=client.pk,
                         before=before, after=after)
    return policy
