from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from kopeck.common import backoffice as bo
from kopeck.common.admin import ModelAdmin, admin_actor
from kopeck.configuration.models import BillingSettings
from kopeck.configuration.selectors import billing_settings
from kopeck.configuration.services import (
    CREDIT_EDITABLE,
    EDITABLE,
    billing_settings_update,
    clean_addresses,
)
from kopeck.core.calendar import CalendarError, zone
from kopeck.core.money import Currency, MoneyError


class BillingSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = BillingSettings
        fields = list(EDITABLE)

    def clean_time_zone(self) -> str:
        value = str(self.cleaned_data["time_zone"]).strip()
        try:
            zone(value)
        except CalendarError as exc:
            raise forms.ValidationError(str(exc)) from exc
        return value

    def clean_run_report_to(self) -> str:
        text, errors = clean_addresses(self.cleaned_data["run_report_to"])
        if errors:
            raise forms.ValidationError(errors)
        return text

    def clean_default_currency(self) -> str:
        try:
            return Currency.of(str(self.cleaned_data["default_currency"])).code
        except MoneyError as exc:
            raise forms.ValidationError(str(exc)) from exc


@admin.register(BillingSettings)
class BillingSettingsAdmin(ModelAdmin):
    form = BillingSettingsForm
    fieldsets = [
        (None, {"fields": [f for f in EDITABLE if f not in CREDIT_EDITABLE] + ["updated_at"]}),
        (_("Credit control"), {"fields": list(CREDIT_EDITABLE)}),
    ]
    readonly_fields = ["updated_at"]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        obj = billing_settings()
        if obj._state.adding:
            obj.save()  # the admin's change page needs a row to edit
        return HttpResponseRedirect(reverse("admin:configuration_billingsettings_change", args=[obj.pk]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: BillingSettings, form: Any, change: bool) -> None:
        billing_settings_update(actor=admin_actor(request), **{f: form.cleaned_data[f] for f in EDITABLE})


bo.nav_item("settings", _("Billing settings"), model="configuration.billingsettings", order=10, icon="settings")

