"""Read-only admin lists of the received usage events and meter readings (written by the API only)."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from kopeck.common import backoffice as bo
from kopeck.common.admin import ReadOnlyAdmin, json_field
from kopeck.usage.models import MeterReading, UsageEvent


@admin.register(UsageEvent)
class UsageEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "subscription", "metric", "timestamp", "received_at"]
    list_filter = ["metric", "received_at", "timestamp"]
    search_fields = ["=event_id", "=subscription__external_id", "=subscription__id"]
    list_select_related = ["subscription"]
    fields = ["subscription", "event_id", "metric", "timestamp", "properties_json", "received_at"]
    readonly_fields = fields
    properties_json = json_field("properties", _("properties"))
    show_full_result_count = False  # the table is large: no second COUNT(*) over it


@admin.register(MeterReading)
class MeterReadingAdmin(ReadOnlyAdmin):
    list_display = ["reading_id", "subscription", "meter", "timestamp", "value", "kind", "old_final", "received_at"]
    list_filter = ["meter", "kind", "received_at", "timestamp"]
    search_fields = ["=reading_id", "=subscription__external_id", "=subscription__id"]
    list_select_related = ["subscription"]
    fields = ["subscription", "meter", "reading_id", "timestamp", "value", "kind", "old_final", "received_at"]
    show_full_result_count = False


bo.nav_item("subscriptions", _("Usage events"), model="usage.usageevent", order=40, icon="data_usage")
bo.nav_item("subscriptions", _("Meter readings"), model="usage.meterreading", order=50, icon="speed")

