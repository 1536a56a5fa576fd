"""Webhooks in the back office: endpoints (their secret, rotation), deliveries with every attempt,
redelivery of the selected ones."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kopeck.common.admin import ReadOnlyAdmin, admin_actor, report_error
from kopeck.common.errors import KopeckError
from kopeck.events.admin import event_title, group_choice_title, types_title
from kopeck.events.catalog import EVENT_TYPES
from kopeck.webhooks import services
from kopeck.webhooks.messages import told
from kopeck.webhooks.models import Attempt, Delivery, Endpoint


def event_type_choices() -> list[tuple[str, Any]]:
    groups = sorted({t.group for t in EVENT_TYPES})
    return [("*", _("all events"))] + [(f"{g}.*", group_choice_title(g)) for g in groups] + [
        (t.name, t.title) for t in EVENT_TYPES]


class EndpointForm(forms.ModelForm):  # type: ignore[type-arg]
    url = forms.CharField(label="URL", max_length=2000, widget=forms.URLInput(attrs={"size": 80}),
                          help_text=_("http or https; internal addresses are refused unless the operator allows "
                                      "their network (KOPECK_WEBHOOK_ALLOWED_NETWORKS)."))
    event_types = forms.MultipleChoiceField(label=capfirst(_("events")), choices=event_type_choices, required=False,
                                            widget=forms.SelectMultiple(attrs={"size": 12}),
                                            help_text=_("Events sent to this address. Rules may send others."))

    class Meta:
        model = Endpoint
        fields = ["url", "description", "event_types", "is_enabled"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        merged = {"url": data.get("url") or "", "event_types": list(data.get("event_types") or []),
                  "description": data.get("description") or "", "is_enabled": bool(data.get("is_enabled"))}
        for field, problems in services._check_endpoint(merged).items():
            for problem in problems:
                self.add_error(field if field in self.fields else None, problem)  # in the operator's language
        return data


@admin.register(Endpoint)
class EndpointAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = EndpointForm
    list_display = ["url", "events", "is_enabled", "failing_since", "deliveries_link"]
    list_filter = ["is_enabled"]
    search_fields = ["url", "description"]
    readonly_fields = ["secret", "disabled_at", "why_disabled", "failing_since", "deliveries_link"]
    actions = ["rotate_secret"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = ["url", "description", "event_types", "is_enabled"]
        return [*fields, "secret", "disabled_at", "why_disabled", "failing_since", "deliveries_link"] \
            if obj is not None else fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and (
            obj is None or not Delivery.objects.filter(endpoint=obj).exists())

    @admin.display(description=_("events"))
    def events(self, obj: Endpoint) -> str:
        return types_title(obj.event_types)

    @admin.display(description=_("why disabled"))
    def why_disabled(self, obj: Endpoint) -> str:
        return told(obj.disabled_reason) or "—"

    @admin.display(description=_("signing secret"))
    def secret(self, obj: Endpoint) -> str:
        try:
            value = services.endpoint_current_secret(obj)
        except KopeckError:
            return "—"
        return format_html("<code>{}</code>", value)

    @admin.display(description=_("deliveries"))
    def deliveries_link(self, obj: Endpoint) -> str:
        url = reverse("admin:webhooks_delivery_changelist") + f"?endpoint__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("deliveries"))

    def save_model(self, request: HttpRequest, obj: Endpoint, form: Any, change: bool) -> None:
        data = {k: form.cleaned_data.get(k) for k in services.ENDPOINT_FIELDS}
        data["event_types"] = list(data["event_types"] or [])
        data["description"] = data["description"] or ""
        actor = admin_actor(request)
        if change:
            saved = services.endpoint_update(actor=actor, endpoint=Endpoint.objects.get(pk=obj.pk), **data)
        else:
            saved, secret = services.endpoint_create(actor=actor, **data)
            messages.info(request, _("The signing secret of the new address: %(secret)s") % {"secret": secret})
        obj.pk = saved.pk
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})

    def delete_model(self, request: HttpRequest, obj: Endpoint) -> None:
        services.endpoint_delete(actor=admin_actor(request), endpoint=obj)

    @admin.action(description=_("Rotate the signing secret (the old one stays valid for 24 hours)"))
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        for endpoint in queryset.order_by("id"):
            _row, secret = services.endpoint_rotate_secret(actor=admin_actor(request), endpoint=endpoint)
            messages.info(request, _("New secret of %(url)s: %(secret)s") % {"url": endpoint.url, "secret": secret})


class AttemptInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Attempt
    readonly_fields = ("at", "ok", "status_code", "latency_ms", "response", "error_told")
    fields = tuple(readonly_fields)
    extra = 0

    @admin.display(description=_("error"))
    def error_told(self, obj: Attempt) -> str:
        return told(obj.error) or "—"
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "created_at", "event_link", "endpoint", "status", "attempts", "last_status_code",
                    "next_attempt_at", "delivered_at"]
    list_filter = ["status", "endpoint", "event_type", "created_at"]
    search_fields = ["=event__id", "endpoint__url"]
    date_hierarchy = "created_at"
    readonly_fields = ("endpoint", "event_link", "status", "attempts", "next_attempt_at", "retry_from", "last_status_code",
                       "last_error_told", "created_at", "delivered_at")
    fields = tuple(readonly_fields)
    inlines = [AttemptInline]
    actions = ["redeliver"]
    list_per_page = 50
    show_full_result_count = False

    @admin.display(description=_("last error"))
    def last_error_told(self, obj: Delivery) -> str:
        return told(obj.last_error) or "—"

    @admin.display(description=_("event"))
    def event_link(self, obj: Delivery) -> str:
        return format_html('<a href="{}">{} #{}</a>', reverse("admin:events_event_change", args=[obj.event_id]),
                           event_title(obj.event_type), obj.event_id)

    def has_redeliver_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("webhooks.change_delivery"))

    @admin.action(description=_("Deliver the selected messages again"), permissions=["redeliver"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        try:
            done = services.deliveries_redeliver(actor=admin_actor(request), deliveries=list(queryset))
        except KopeckError as exc:
            report_error(request, exc)
            return
        messages.success(request, ngettext("%(count)d message will be delivered again.",
                                           "%(count)d messages will be delivered again.", done) % {"count": done})
