from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext

from kopeck.common import backoffice as bo
from kopeck.common.admin import ReadOnlyAdmin, admin_actor, json_field, labelled_filter, report_error
from kopeck.common.errors import KopeckError
from kopeck.outbox.models import OutboxMessage
from kopeck.outbox.services import outbox_requeue

FIELDS = ("topic_label", "key_code", "status", "attempts", "available_at", "locked_until", "created_at", "delivered_at",
          "last_error", "payload_json")


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = ["id", "topic_label", "status", "attempts", "available_at", "created_at", "delivered_at", "error"]

    def object_title(self, obj: OutboxMessage) -> str:
        return f"{capfirst(pgettext('outbox topic', obj.topic))} #{obj.pk}"
    payload_json = json_field("payload", _("payload"))

    @admin.display(description=_("key"))
    def key_code(self, obj: OutboxMessage) -> str:
        return format_html('<code class="kopeck-code">{}</code>', obj.key or "—")

    @admin.display(description=_("topic"), ordering="topic")
    def topic_label(self, obj: OutboxMessage) -> str:
        """``documents.email`` → "Письмо с документом" (msgctxt "outbox topic"); unknown topics as they are."""
        return pgettext("outbox topic", obj.topic)
    list_filter = ["status", labelled_filter("topic", _("topic"), lambda v: pgettext("outbox topic", v))]
    search_fields = ["topic", "key"]
    fields = FIELDS
    readonly_fields = FIELDS
    actions = ["requeue"]

    @admin.display(description=_("last error"))
    def error(self, obj: OutboxMessage) -> str:
        text = obj.last_error.splitlines()[0] if obj.last_error else ""
        return text if len(text) <= 80 else text[:79] + "…"

    def has_requeue_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("outbox.change_outboxmessage"))

    @admin.action(description=_("Send the selected messages again"), permissions=["requeue"])
    def requeue(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        actor = admin_actor(request)
        done = 0
        for message in queryset.order_by("id"):
            try:
                outbox_requeue(actor=actor, message=message)
            except KopeckError as exc:
                report_error(request, exc)
            else:
                done += 1
        if done:
            messages.success(request, ngettext("%(count)d message is queued again.",
                                               "%(count)d messages are queued again.", done) % {"count": done})


bo.nav_item("settings", _("Outgoing messages"), model="outbox.outboxmessage", order=90, icon="outbox")

