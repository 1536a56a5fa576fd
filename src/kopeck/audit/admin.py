from django.contrib import admin
from django.http import HttpRequest

from kopeck.audit.models import AuditEntry
from kopeck.common.admin import ReadOnlyAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "action", "object_type", "object_id"]
    list_filter = ["actor_kind", "object_type", "action"]
    fields = ["at", "actor_kind", "actor_id", "actor_label", "action", "object_type", "object_id", "before", "after"]

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return lookup in ("object_type", "object_id") or super().lookup_allowed(lookup, value, request)
    search_fields = ["object_id", "actor_label", "action"]
    date_hierarchy = "at"
