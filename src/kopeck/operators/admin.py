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
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from kopeck.common import backoffice as bo
from kopeck.common import clock
from kopeck.common.admin import ModelAdmin, admin_actor, report_error
from kopeck.common.errors import KopeckError
from kopeck.operators.models import ApiKey, Operator
from kopeck.operators.roles import ALL_SCOPES
from kopeck.operators.services import api_key_create, api_key_revoke, operator_record_change, operator_state


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
class ApiKeyAdmin(ModelAdmin):
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
        issued = api_key_create(
            name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data.get("expires_at"), actor=admin_actor(request),
            created_by=request.user if isinstance(request.user, Operator) else None,
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

