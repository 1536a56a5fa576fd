from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import Group
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from kopeck.common import clock
from kopeck.common.admin import admin_actor, report_error
from kopeck.common.errors import KopeckError
from kopeck.operators.models import ApiKey, Operator
from kopeck.operators.roles import ALL_SCOPES
from kopeck.operators.services import (
    api_key_create,
    api_key_revoke,
    operator_grant_problems,
    operator_record_change,
    operator_state,
)


@admin.register(Operator)
class OperatorAdmin(UserAdmin):  # type: ignore[type-arg]
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


class ApiKeyForm(forms.ModelForm):  # type: ignore[type-arg]
    scopes = forms.MultipleChoiceField(label=_("scopes"), choices=[(s, s) for s in ALL_SCOPES],
                                       widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ["name", "scopes", "expires_at"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = ApiKeyForm
    list_display = ["name", "prefix", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at"]
    readonly_fields = ["prefix", "created_by", "created_at", "revoked_at", "last_used_at", "last_used_ip"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None:
            return [*self.readonly_fields, "name", "scopes", "expires_at"]
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
