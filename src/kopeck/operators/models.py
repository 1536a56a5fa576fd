from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from kopeck.operators.roles import APP_AREAS, Access, Role, role_allows


class Operator(AbstractUser):
    """A person who works in Kopeck's back office. Permissions come from the role (see roles.py)."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.READ_ONLY)

    class Meta:
        verbose_name = _("operator")
        verbose_name_plural = _("operators")

    def _allowed(self, app_label: str, access: Access) -> bool:
        if not self.is_active:
            return False
        if self.is_superuser:
            return True
        area = APP_AREAS.get(app_label)
        return area is not None and role_allows(self.role, area, access)

    def has_perm(self, perm: str, obj: Any = None) -> bool:
        app_label, _sep, codename = perm.partition(".")
        return self._allowed(app_label, Access.READ if codename.startswith("view_") else Access.WRITE)

    def has_module_perms(self, app_label: str) -> bool:
        return self._allowed(app_label, Access.READ)


class ApiKey(models.Model):
    """An API key. The secret is shown once at creation; only its SHA-256 is stored."""

    name = models.CharField(_("name"), max_length=200)
    prefix = models.CharField(_("prefix"), max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    scopes = models.JSONField(_("scopes"), default=list)
    created_by = models.ForeignKey(
        Operator, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(_("last used from"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix})"


class AuthFailure(models.Model):
    """One failed authentication (a wrong password at the login, a refused API key), per what it
    counts against: the account (``login:<username>``, ``key:<prefix>``) and the address
    (``addr:<ip>``). Rows older than the window are deleted as new ones come (operators.throttle)."""

    key = models.CharField(max_length=250)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["key", "at"], name="auth_failure_key_at")]
