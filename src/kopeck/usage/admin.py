"""The back office of usage: read-only lists of the received usage events and meter readings (written
by the API only), and the usage thresholds (added, changed and deleted through the services)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminTextInputWidget

from kopeck.catalog.models import PlanVersion
from kopeck.common import backoffice as bo
from kopeck.common.admin import (
    ModelAdmin,
    ReadOnlyAdmin,
    admin_actor,
    json_field,
    labelled_filter,
    report_error,
)
from kopeck.common.errors import KopeckError
from kopeck.usage import services
from kopeck.usage.models import MeterReading, UsageEvent, UsageThreshold
from kopeck.usage.services.thresholds import threshold_problems


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


def metered_components() -> dict[str, str]:
    """The metered components of the plans, code → name (the first name a code has)."""
    found: dict[str, str] = {}
    for spec in PlanVersion.objects.order_by("plan__code", "number").values_list("spec", flat=True):
        for component in (spec or {}).get("components", []):
            if component.get("kind") == "metered" and component.get("code"):
                found.setdefault(component["code"], component.get("name") or component["code"])
    return found


def component_title(code: str) -> str:
    return metered_components().get(code, code)


class UsageThresholdForm(forms.ModelForm):  # type: ignore[type-arg]
    metric = forms.ChoiceField(label=capfirst(_("metered component")), widget=UnfoldAdminSelectWidget(),
                               help_text=_("A metered component of the subscription's plan."))
    amount = forms.CharField(label=capfirst(_("threshold quantity")), max_length=40,
                             widget=UnfoldAdminTextInputWidget(),
                             help_text=_("The event «Usage above a threshold» is recorded once per billing period, "
                                         "when the period's usage goes above this quantity (e.g. 1000 or 0.5)."))

    class Meta:
        model = UsageThreshold
        fields = ["subscription", "metric", "amount"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = sorted(metered_components().items(), key=lambda item: item[1])
        if self.instance.pk and self.instance.metric not in dict(choices):
            choices.append((self.instance.metric, self.instance.metric))
        metric = self.fields["metric"]
        assert isinstance(metric, forms.ChoiceField)
        metric.choices = [("", "—"), *choices]
        if self.instance.pk:
            self.initial["amount"] = f"{self.instance.amount.normalize():f}"

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        subscription = self.instance.subscription if self.instance.pk else data.get("subscription")
        if subscription is None or not data.get("metric") or not data.get("amount"):
            return data
        _value, problems = threshold_problems(subscription, data["metric"], data["amount"],
                                              threshold=self.instance if self.instance.pk else None)
        for field, template, params in problems:
            if "metric" in params:
                params = {**params, "metric": f"«{component_title(data['metric'])}»"}
            if "known" in params:
                known = [component_title(code) for code in params["known"].split(", ") if params["known"] != "none"]
                params = {**params, "known": ", ".join(f"«{k}»" for k in known) or gettext("none")}
            self.add_error(field if field in self.fields else None, gettext(template) % params)
        return data


@admin.register(UsageThreshold)
class UsageThresholdAdmin(ModelAdmin):
    form = UsageThresholdForm
    list_display = ["subscription", "client", "component", "amount_text", "created_at"]
    list_filter = [labelled_filter("metric", _("metered component"), component_title), "created_at"]
    search_fields = ["=subscription__id", "subscription__external_id", "subscription__client__name"]
    list_select_related = ["subscription__client", "subscription__plan"]
    autocomplete_fields = ["subscription"]
    ordering = ["subscription", "metric", "amount"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["subscription", "created_at"] if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["subscription", "metric", "amount", "created_at"] if obj is not None else ["subscription", "metric",
                                                                                          "amount"]

    @admin.display(description=_("client"), ordering="subscription__client__name")
    def client(self, obj: UsageThreshold) -> str:
        return obj.subscription.client.name

    @admin.display(description=_("metered component"), ordering="metric")
    def component(self, obj: UsageThreshold) -> str:
        return component_title(obj.metric)

    @admin.display(description=_("threshold quantity"), ordering="amount")
    def amount_text(self, obj: UsageThreshold) -> str:
        return f"{obj.amount.normalize():f}"

    def save_model(self, request: HttpRequest, obj: UsageThreshold, form: Any, change: bool) -> None:
        data, actor = form.cleaned_data, admin_actor(request)
        try:
            if change:
                saved = services.usage_threshold_update(actor=actor, threshold=obj, metric=data["metric"],
                                                        amount=data["amount"])
            else:
                saved = services.usage_threshold_create(actor=actor, subscription=data["subscription"],
                                                        metric=data["metric"], amount=data["amount"])
        except KopeckError as exc:  # another operator's change in between
            report_error(request, exc)
            raise
        obj.pk = saved.pk
        obj.refresh_from_db()

    def delete_model(self, request: HttpRequest, obj: UsageThreshold) -> None:
        services.usage_threshold_delete(actor=admin_actor(request), threshold=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[UsageThreshold]) -> None:
        for threshold in queryset.order_by("id"):
            services.usage_threshold_delete(actor=admin_actor(request), threshold=threshold)


bo.nav_item("subscriptions", _("Usage thresholds"), model="usage.usagethreshold", order=45, icon="notifications_active")
bo.nav_item("subscriptions", _("Usage events"), model="usage.usageevent", order=40, icon="data_usage")
bo.nav_item("subscriptions", _("Meter readings"), model="usage.meterreading", order=50, icon="speed")

