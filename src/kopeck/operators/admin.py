from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm
from unfold.widgets import UnfoldAdminSelectWidget

from kopeck.common import backoffice as bo
from kopeck.common import clock
from kopeck.common.admin import ModelAdmin, admin_actor, report_error
from kopeck.common.errors import KopeckError
from kopeck.operators.models import ApiKey, Operator
from kopeck.operators.roles import Access, Area, validate_scopes
from kopeck.operators.services import (
    api_key_create,
    api_key_revoke,
    operator_grant_problems,
    operator_record_change,
    operator_state,
)


@admin.register(Operator)
class OperatorAdmin(UserAdmin, ModelAdmin):  # type: ignore[type-arg]
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ["username", "email", "role", "is_active", "last_login"]
    list_filter = ["role", "is_active"]
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Personal info"), {"fields": ("first_name", "last_name", "email")}),
        (_("Access"), {"fields": ("role", "is_active", "is_staff", "is_superuser")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "role", "password1", "password2")}),)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        """Nobody grants more than they hold: the form refuses a role beyond the editor's own, the
        superuser flag (unless the editor is a superuser) and any change of a superuser by a
        non-superuser (operators.services.operator_grant_problems)."""
        base = super().get_form(request, obj, change=change, **kwargs)
        editor, target = request.user, obj

        class GrantCheckedForm(base):  # type: ignore[misc, valid-type]
            def clean(self) -> dict[str, Any]:
                data: dict[str, Any] = super().clean() or {}
                if isinstance(editor, Operator):
                    role = data.get("role", target.role if target is not None else "")
                    superuser = bool(data.get("is_superuser", target.is_superuser if target is not None else False))
                    for field, messages_ in operator_grant_problems(editor=editor, role=role, superuser=superuser,
                                                                    target=target).items():
                        self.add_error(field if field in self.fields else None, messages_)
                return data

        return GrantCheckedForm

    def save_model(self, request: HttpRequest, obj: Operator, form: Any, change: bool) -> None:
        """Operators are saved by Django's user admin (it hashes passwords); the change is audited in
        the same transaction."""
        with transaction.atomic():
            before = operator_state(Operator.objects.get(pk=obj.pk)) if change else None
            password_changed = change and "password" in form.changed_data
            if not change:
                obj.date_joined = clock.now()
            super().save_model(request, obj, form, change)
            operator_record_change(actor=admin_actor(request), operator=obj, before=before,
                                   password_changed=password_changed)


AREA_LABELS: dict[Area, Any] = {
    Area.CLIENTS: _("Clients"), Area.CATALOG: _("Catalog"), Area.SUBSCRIPTIONS: _("Subscriptions"),
    Area.USAGE: _("Usage"), Area.LEDGER: _("Account operations"), Area.SETTINGS: _("Settings"),
    Area.OPERATORS: _("Operators and API keys"), Area.AUDIT: _("Audit log"), Area.BILLING: _("Billing"),
    Area.DOCUMENTS: _("Documents"), Area.EVENTS: _("Events and webhooks"),
}
ACCESS_CHOICES = [("", _("no access")), (Access.READ.value, _("read")), (Access.WRITE.value, _("read and write"))]
R, W = Access.READ.value, Access.WRITE.value
# Presets: what a key usually needs; the operator adjusts area by area.
PRESETS: dict[str, tuple[Any, dict[str, str]]] = {
    "read_only": (_("Read-only: every area"), {a.value: R for a in Area}),
    "billing": (_("Billing operator"), {Area.CLIENTS: W, Area.SUBSCRIPTIONS: W, Area.BILLING: W, Area.DOCUMENTS: W,
                                        Area.LEDGER: W, Area.CATALOG: R, Area.USAGE: R, Area.SETTINGS: R, Area.AUDIT: R}),
    "integration": (_("Integration (a provider's panel or 1C)"),
                    {Area.CLIENTS: W, Area.SUBSCRIPTIONS: W, Area.USAGE: W, Area.CATALOG: R, Area.LEDGER: R,
                     Area.BILLING: R, Area.DOCUMENTS: R}),
}


def scopes_from_areas(access: dict[str, str]) -> list[str]:
    """``{"clients": "write", "audit": ""}`` → ``["clients:write"]`` (all areas read: ``*:read``)."""
    chosen = {a: x for a, x in access.items() if x}
    if len(chosen) == len(Area) and set(chosen.values()) == {W}:
        return ["*:write"]
    if len(chosen) == len(Area) and set(chosen.values()) == {R}:
        return ["*:read"]
    return [f"{a}:{x}" for a, x in sorted(chosen.items())]


def scopes_text(scopes: list[str]) -> str:
    """The scopes as the operator reads them: "Клиенты: чтение и запись; Биллинг: чтение"."""
    labels = dict(ACCESS_CHOICES)
    parts = []
    for scope in scopes:
        area, _sep, access = scope.partition(":")
        name = str(_("All areas")) if area == "*" else str(AREA_LABELS.get(Area(area), area)) \
            if area in Area.__members__.values() else area
        parts.append(f"{name}: {labels.get(access, access)}")
    return "; ".join(parts) or "—"


class ApiKeyForm(forms.ModelForm):  # type: ignore[type-arg]
    """A key's scopes: a preset, then the access to each area (none, read, read and write)."""

    preset = forms.ChoiceField(label=capfirst(_("preset")), required=False,
                               choices=[("", _("— choose the areas below —")), *[(k, v[0]) for k, v in PRESETS.items()]],
                               help_text=_("Fills the areas below; adjust them as needed."),
                               widget=UnfoldAdminSelectWidget())

    class Meta:
        model = ApiKey
        fields = ["name", "expires_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for area in Area:
            self.fields[f"area_{area.value}"] = forms.ChoiceField(
                label=AREA_LABELS.get(area, area.value), choices=ACCESS_CHOICES, required=False, widget=UnfoldAdminSelectWidget())
        self.fields["preset"].widget.attrs["data-presets"] = json.dumps(
            {k: {str(a): x for a, x in v[1].items()} for k, v in PRESETS.items()})

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        access = {a.value: str(data.get(f"area_{a.value}") or "") for a in Area}
        if not any(access.values()) and data.get("preset") in PRESETS:
            access = {a.value: str(PRESETS[data["preset"]][1].get(a, PRESETS[data["preset"]][1].get(a.value, "")))
                      for a in Area}
        scopes = scopes_from_areas(access)
        if not scopes:
            raise forms.ValidationError(_("Give the key access to at least one area (or choose a preset)."))
        bad = validate_scopes(scopes)
        if bad:
            raise forms.ValidationError(_("Unknown scopes: %(scopes)s") % {"scopes": ", ".join(bad)})
        data["scopes"] = scopes
        return data


@admin.register(ApiKey)
class ApiKeyAdmin(ModelAdmin):
    form = ApiKeyForm
    list_display = ["name", "prefix", "access", "created_at", "expires_at", "revoked_at", "last_used_at"]
    readonly_fields = ["prefix", "created_by", "created_at", "revoked_at", "last_used_at", "last_used_ip"]
    actions = ["revoke"]
    change_form_after_template = "admin/operators/apikey/presets.html"

    @admin.display(description=_("access"))
    def access(self, obj: ApiKey) -> str:
        return scopes_text(list(obj.scopes or []))

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None:
            return [(None, {"fields": ["name", "prefix", "access", "expires_at", "created_by", "created_at",
                                       "revoked_at", "last_used_at", "last_used_ip"]})]
        return [(None, {"fields": ["name", "expires_at"]}),
                (_("Access"), {"fields": ["preset", *[f"area_{a.value}" for a in Area]]})]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:  # the per-area fields are added by ApiKeyForm itself
            kwargs["fields"] = ["name", "expires_at", "preset"]
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None:
            return [*self.readonly_fields, "name", "access", "expires_at"]
        return self.readonly_fields

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        operator = request.user if isinstance(request.user, Operator) else None
        issued = api_key_create(
            name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data.get("expires_at"), actor=admin_actor(request),
            created_by=operator, grantor=operator,
        )
        obj.pk = issued.key.pk
        messages.warning(request, _("The key's secret, shown only now: %(token)s") % {"token": issued.token})

    @admin.action(description=_("Revoke selected API keys"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for key in queryset.filter(revoked_at__isnull=True):
            try:
                api_key_revoke(key=key, actor=admin_actor(request))
            except KopeckError as exc:
                report_error(request, exc)


admin.site.unregister(Group)  # access is by role (roles.py), not by Django groups


bo.nav_item("settings", _("Operators"), model="operators.operator", order=70, icon="badge")
bo.nav_item("settings", _("API keys"), model="operators.apikey", order=80, icon="key")

