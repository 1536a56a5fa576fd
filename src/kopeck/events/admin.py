"""The event log in the back office: read-only, with filters by type, processing and date; a failed
event can be processed again."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext

from kopeck.common import backoffice as bo
from kopeck.common.admin import ReadOnlyAdmin, actor_cell, admin_actor, report_error
from kopeck.common.errors import KopeckError
from kopeck.events.catalog import CATALOG, EVENT_TYPES, group_title
from kopeck.events.models import DispatchStatus, Event, PendingEvent
from kopeck.events.services import event_redispatch


class TypeFilter(admin.SimpleListFilter):
    title = _("event type")
    parameter_name = "type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        groups = sorted({t.group for t in EVENT_TYPES})
        return [(f"{g}.*", group_choice_title(g)) for g in groups] + [(t.name, t.title) for t in EVENT_TYPES]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Event]) -> QuerySet[Event]:
        value = self.value()
        if not value:
            return queryset
        if value.endswith(".*"):
            return queryset.filter(type__startswith=value[:-1])
        return queryset.filter(type=value)


class ProcessingFilter(admin.SimpleListFilter):
    """Processed or not: an event is processed once it has left the queue (:class:`PendingEvent`)."""

    title = _("processing")
    parameter_name = "processing"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return list(DispatchStatus.choices)

    def queryset(self, request: HttpRequest, queryset: QuerySet[Event]) -> QuerySet[Event]:
        value = self.value()
        if value == DispatchStatus.DONE:
            return queryset.filter(pending__isnull=True)
        if value == DispatchStatus.PENDING:
            return queryset.filter(pending__isnull=False, pending__failed=False)
        if value == DispatchStatus.FAILED:
            return queryset.filter(pending__failed=True)
        return queryset


def group_choice_title(group: str) -> str:
    """``Клиент: все события`` — a group of event types by name (the audit objects' names)."""
    return str(_("%(group)s: all events") % {"group": capfirst(group_title(group))})


def types_title(names: list[str]) -> str:
    """A list of event types, groups (``client.*``) and ``*`` by their names."""
    def one(name: str) -> str:
        if name == "*":
            return str(_("all events"))
        if name.endswith(".*"):
            return group_choice_title(name[:-2])
        return event_title(name)

    return "; ".join(one(n) for n in names) or "—"


def event_title(name: str) -> str:
    kind = CATALOG.get(name)
    return str(kind.title) if kind is not None else name


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["id", "occurred_at", "title", "client_id", "sequence", "subject", "actor", "depth",
                    "processing"]

    def object_title(self, obj: Event) -> str:
        return f"{event_title(obj.type)} #{obj.pk}"
    list_filter = [TypeFilter, ProcessingFilter, "occurred_at"]
    search_fields = ["=client_id", "=subject_id", "type", "uid"]
    date_hierarchy = "occurred_at"
    readonly_fields = ("uid", "title", "version", "client_id", "sequence", "subject",
                       "occurred_at", "actor", "depth", "cause", "dedupe_key", "processing",
                       "processing_attempts", "processing_after", "processing_error", "payload")
    fields = tuple(readonly_fields)
    actions = ["process_again"]
    list_per_page = 50
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Event]:
        queryset: QuerySet[Event] = super().get_queryset(request)
        return queryset.select_related("pending")

    @staticmethod
    def _pending(obj: Event) -> PendingEvent | None:
        try:
            return obj.pending
        except PendingEvent.DoesNotExist:
            return None

    @admin.display(description=_("processing"))
    def processing(self, obj: Event) -> str:
        pending = self._pending(obj)
        return str(DispatchStatus(pending.status).label if pending is not None else DispatchStatus.DONE.label)

    @admin.display(description=_("processing attempts"))
    def processing_attempts(self, obj: Event) -> int:
        pending = self._pending(obj)
        return pending.attempts if pending is not None else 0

    @admin.display(description=_("next processing attempt"))
    def processing_after(self, obj: Event) -> Any:
        pending = self._pending(obj)
        return pending.after if pending is not None else None

    @admin.display(description=_("processing error"))
    def processing_error(self, obj: Event) -> str:
        pending = self._pending(obj)
        return pending.error if pending is not None else ""

    @admin.display(description=_("event"), ordering="type")
    def title(self, obj: Event) -> str:
        return event_title(obj.type)

    @admin.display(description=_("actor"), ordering="actor_label")
    def actor(self, obj: Event) -> str:
        label = obj.actor_label
        if obj.actor_kind == "system":  # a rule or a billing run acting: named, not coded
            for prefix, title in (("rule:", _("Rule #%(id)s")), ("billing run ", _("Billing run #%(id)s"))):
                if label.startswith(prefix) and label[len(prefix):].isdigit():
                    return str(title % {"id": label[len(prefix):]})
        return actor_cell(label, obj.actor_kind)

    @admin.display(description=_("subject"))
    def subject(self, obj: Event) -> str:
        kind = capfirst(pgettext("audit object", obj.subject_type)) if obj.subject_type else ""
        return f"{kind} #{obj.subject_id}" if obj.subject_id is not None else kind

    @admin.display(description=_("data"))
    def payload(self, obj: Event) -> str:
        return format_html("<pre class=\"kopeck-code\" style=\"white-space: pre-wrap\">{}</pre>",
                           json.dumps(obj.data, ensure_ascii=False, indent=2))

    def has_process_again_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("events.change_event"))

    @admin.action(description=_("Process the selected failed events again"), permissions=["process_again"])
    def process_again(self, request: HttpRequest, queryset: QuerySet[Event]) -> None:
        actor = admin_actor(request)
        done = 0
        for event in queryset.order_by("id"):
            try:
                event_redispatch(actor=actor, event=event)
            except KopeckError as exc:
                report_error(request, exc)
            else:
                done += 1
        if done:
            messages.success(request, ngettext("%(count)d event will be processed again.",
                                               "%(count)d events will be processed again.", done) % {"count": done})


bo.nav_item("reports", _("Events"), model="events.event", order=50, icon="bolt")
