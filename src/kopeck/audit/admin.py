"""The audit log in the back office: entries with their actions and objects named in the operator's
language (a code the catalogue does not know is shown as it is)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from kopeck.audit.models import AuditEntry
from kopeck.common import backoffice as bo
from kopeck.common import display
from kopeck.common.admin import ReadOnlyAdmin, actor_cell, json_field, labelled_filter

ACTOR_KINDS = {"operator": _("operator"), "api_key": _("API key"), "system": _("system")}


def action_label(code: str) -> str:
    """``client.create`` → "Клиент создан" (msgctxt "audit action"); unknown codes as they are."""
    return pgettext("audit action", code)


def object_type_label(code: str) -> str:
    return pgettext("audit object", code)


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor", "action_text", "object_text", "object_id"]

    def object_title(self, obj: AuditEntry) -> str:
        return f"{display.datetime_text(obj.at)} · {action_label(obj.action)}"
    list_filter = [labelled_filter("actor_kind", _("actor kind"), lambda v: ACTOR_KINDS.get(v, v)),
                   labelled_filter("object_type", _("object type"), lambda v: object_type_label(v)),
                   labelled_filter("action", _("action"), lambda v: action_label(v))]
    fields = ["at", "actor", "actor_id", "action_text", "object_text", "object_id", "before_json",
              "after_json"]
    readonly_fields = fields
    before_json = json_field("before", _("before"))
    after_json = json_field("after", _("after"))

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        return lookup in ("object_type", "object_id") or super().lookup_allowed(lookup, value, request)
    search_fields = ["object_id", "actor_label", "action"]
    date_hierarchy = "at"

    @admin.display(description=_("actor"), ordering="actor_label")
    def actor(self, obj: AuditEntry) -> str:
        return actor_cell(obj.actor_label, obj.actor_kind)

    @admin.display(description=_("action"), ordering="action")
    def action_text(self, obj: AuditEntry) -> str:
        return action_label(obj.action)

    @admin.display(description=_("object type"), ordering="object_type")
    def object_text(self, obj: AuditEntry) -> str:
        return object_type_label(obj.object_type)


bo.nav_item("reports", _("Audit log"), model="audit.auditentry", order=90, icon="manage_history")


def _client_history(request: HttpRequest, client: Any) -> str | None:
    """The client page's "History" tab: the audit entries of the client (who changed what, when)."""
    if not request.user.has_perm("audit.view_auditentry"):
        return None
    entries = list(AuditEntry.objects.filter(object_type="client", object_id=str(client.pk)).order_by("-at", "-id")[:10])
    rows = [(format_html('<a href="{}">{}</a>', reverse("admin:audit_auditentry_change", args=[e.pk]),
                         display.datetime_text(e.at)), actor_cell(e.actor_label, e.actor_kind), action_label(e.action))
            for e in entries]
    url = reverse("admin:audit_auditentry_changelist")
    return bo.panel_table([_("when"), _("actor"), _("action")], rows, empty=_("No changes recorded yet."),
                          more_url=f"{url}?object_type=client&object_id={client.pk}" if entries else "",
                          more_text=_("The client's whole history"))


bo.page_tab("clients.client", "history", _("History"), _client_history, order=90)
