from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from kopeck.common.admin import admin_actor
from kopeck.configuration.models import BillingSettings
from kopeck.configuration.selectors import billing_settings
from kopeck.configuration.services import EDITABLE, billing_settings_update


@admin.register(BillingSettings)
class BillingSettingsAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    fields = [*EDITABLE, "updated_at"]
    readonly_fields = ["updated_at"]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        obj = billing_settings()
        return HttpResponseRedirect(reverse("admin:configuration_billingsettings_change", args=[obj.pk]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: BillingSettings, form: Any, change: bool) -> None:
        billing_settings_update(actor=admin_actor(request), **{f: form.cleaned_data[f] for f in EDITABLE})
