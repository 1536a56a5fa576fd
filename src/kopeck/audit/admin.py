from django.contrib import admin

from kopeck.audit.models import AuditEntry
from kopeck.common.admin import ReadOnlyAdmin


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "action", "object_type", "object_id"]
    list_filter = ["actor_kind", "object_type", "action"]
    search_fields = ["object_id", "actor_label", "action"]
    date_hierarchy = "at"
