"""Roles, areas and scopes: the one permission matrix for operators (admin and API) and API keys.

An *area* is a part of the product (clients, ledger, …); access is ``read`` or ``write``; ``write``
implies ``read``. Operators get access from their role; API keys from their scopes
(``"<area>:<access>"``, or ``"*:read"`` / ``"*:write"``).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.utils.translation import gettext_lazy as _

from kopeck.common.access import Access, Area

__all__ = ["Access", "Area", "Role", "allows", "role_allows", "scopes_allow", "validate_scopes"]


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    ACCOUNTANT = "accountant", _("Accountant")
    MANAGER = "manager", _("Manager")
    READ_ONLY = "read_only", _("Read-only")


R, W = Access.READ, Access.WRITE
ROLE_MATRIX: dict[str, dict[Area, Access]] = {
    Role.ADMINISTRATOR: {a: W for a in Area},
    Role.ACCOUNTANT: {Area.CLIENTS: W, Area.CATALOG: R, Area.SUBSCRIPTIONS: W, Area.USAGE: R, Area.LEDGER: W,
                      Area.SETTINGS: R, Area.AUDIT: R, Area.BILLING: W, Area.DOCUMENTS: W, Area.EVENTS: R},
    Role.MANAGER: {Area.CLIENTS: W, Area.CATALOG: W, Area.SUBSCRIPTIONS: W, Area.USAGE: W, Area.LEDGER: R,
                   Area.SETTINGS: R, Area.AUDIT: R, Area.BILLING: R, Area.DOCUMENTS: R, Area.EVENTS: R},
    Role.READ_ONLY: {Area.CLIENTS: R, Area.CATALOG: R, Area.SUBSCRIPTIONS: R, Area.USAGE: R, Area.LEDGER: R,
                     Area.SETTINGS: R, Area.AUDIT: R, Area.BILLING: R, Area.DOCUMENTS: R, Area.EVENTS: R},
}

# Django app label -> area, used for the admin's model permissions.
APP_AREAS: dict[str, Area] = {
    "clients": Area.CLIENTS,
    "catalog": Area.CATALOG,
    "subscriptions": Area.SUBSCRIPTIONS,
    "usage": Area.USAGE,
    "ledger": Area.LEDGER,
    "configuration": Area.SETTINGS,
    "operators": Area.OPERATORS,
    "audit": Area.AUDIT,
    "billing": Area.BILLING,
    "documents": Area.DOCUMENTS,
    "payments": Area.LEDGER,
    "outbox": Area.SETTINGS,
    "events": Area.EVENTS,
    "rules": Area.EVENTS,
    "webhooks": Area.EVENTS,
    "gateways": Area.LEDGER,  # online payments: money; their settings too
}

ALL_SCOPES: list[str] = [f"{a}:{x}" for a in Area for x in Access] + ["*:read", "*:write"]


def allows(granted: Access | None, needed: Access) -> bool:
    if granted is None:
        return False
    return granted == Access.WRITE or needed == Access.READ


def role_allows(role: str, area: Area, needed: Access) -> bool:
    return allows(ROLE_MATRIX.get(role, {}).get(area), needed)


def scopes_allow(scopes: Iterable[str], area: Area, needed: Access) -> bool:
    for scope in scopes:
        scope_area, _sep, scope_access = scope.partition(":")
        if scope_area not in ("*", area.value):
            continue
        if allows(Access(scope_access), needed):
            return True
    return False


def validate_scopes(scopes: Iterable[str]) -> list[str]:
    """Return the unknown scopes in ``scopes`` (empty when all are valid)."""
    return [s for s in scopes if s not in ALL_SCOPES]
