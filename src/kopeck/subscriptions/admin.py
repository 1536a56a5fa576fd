from __future__ import annotations

from django.contrib import admin

from kopeck.common.admin import ReadOnlyAdmin
from kopeck.subscriptions.models import BilledPeriod, ScheduledChange, Subscription, TimelineEntry


class TimelineInline(admin.TabularInline):  # type: ignore[type-arg]
    model = TimelineEntry
    fields = ("at", "effective_date", "kind", "text_ru", "text_en", "transaction")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("at", "id")

    def has_add_permission(self, request: object, obj: object = None) -> bool:
        return False


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["id", "client", "plan", "quantity", "currency", "status", "start_date", "end_date"]
    list_filter = ["status", "anchor_kind", "currency"]
    search_fields = ["external_id", "client__name", "plan__code"]
    inlines = [TimelineInline]


@admin.register(BilledPeriod)
class BilledPeriodAdmin(ReadOnlyAdmin):
    list_display = ["subscription", "component", "period_start", "period_end", "amount_minor", "currency",
                    "transaction"]
    list_filter = ["currency"]


@admin.register(ScheduledChange)
class ScheduledChangeAdmin(ReadOnlyAdmin):
    list_display = ["subscription", "kind", "effective_date", "status", "created_at", "decided_at"]
    list_filter = ["status", "kind"]
