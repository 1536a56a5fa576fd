"""Admin of the catalog. Every write goes through :mod:`kopeck.catalog.services`: forms check their
input with the services' own validators, ``save_model`` calls the services, and publishing has its
own page (the "Publish" button of a draft version)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.forms.fields import InvalidJSONInput
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from kopeck.catalog import selectors, services
from kopeck.catalog.models import ExistingSubscribers, Plan, PlanVersion, Product, VersionStatus
from kopeck.common import backoffice as bo
from kopeck.common.admin import ModelAdmin, TabularInline, admin_actor
from kopeck.common.errors import KopeckError
from kopeck.configuration.selectors import provider_today


def _add_errors(form: forms.BaseForm, errors: dict[str, list[str]]) -> None:
    for field, msgs in errors.items():
        if field in form.fields:
            form.add_error(field, msgs)
        elif field.startswith("spec.") and "spec" in form.fields:
            form.add_error("spec", [f"{field}: {m}" for m in msgs])
        else:
            form.add_error(None, [f"{field}: {m}" for m in msgs])


def _audit_history(object_type: str, object_id: str) -> HttpResponseRedirect:
    url = reverse("admin:audit_auditentry_changelist")
    return HttpResponseRedirect(f"{url}?object_type={object_type}&object_id={int(object_id)}")


def _pretty(spec: Any) -> str:
    return json.dumps(spec, ensure_ascii=False, indent=2)


# -- products ------------------------------------------------------------------------------------


class ProductForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Product
        fields = ["code", "name_ru", "name_en", "description", "vat_rate", "unit", "is_active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        present = {k: v for k, v in data.items() if k in self.fields and not self.fields[k].disabled}
        _add_errors(self, {k: v for k, v in services.product_errors(present).items() if k not in self.errors})
        return data


@admin.register(Product)
class ProductAdmin(ModelAdmin):
    form = ProductForm
    list_display = ["code", "name_ru", "english_name", "vat_rate", "unit", "is_active", "updated_at"]

    @admin.display(description=_("name (English)"), ordering="name_en")
    def english_name(self, obj: Product) -> str:
        return format_html('<span lang="en">{}</span>', obj.name_en)
    list_filter = ["is_active", "vat_rate"]
    search_fields = ["code", "name_ru", "name_en"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["code", "created_at", "updated_at"] if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: plans and documents refer to products

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        return _audit_history("product", object_id)

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        data = {k: v for k, v in form.cleaned_data.items() if k in ProductForm.Meta.fields}
        actor = admin_actor(request)
        if change:
            data.pop("code", None)
            saved = services.product_update(actor=actor, product=obj, **data)
        else:
            saved = services.product_create(actor=actor, **data)
        obj.pk = saved.pk
        obj.refresh_from_db()


# -- plans ---------------------------------------------------------------------------------------


class PlanForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Plan
        fields = ["product", "code", "name_ru", "name_en", "is_active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        present = {k: v for k, v in data.items() if k in self.fields and not self.fields[k].disabled}
        _add_errors(self, {k: v for k, v in services.plan_errors(present).items() if k not in self.errors})
        return data


class PlanVersionInline(TabularInline):
    """The plan's versions, newest first (read-only: versions are edited and published on their own page)."""

    model = PlanVersion
    fields = ("version_link", "status", "effective_from", "existing_subscribers", "created_at", "created_by",
              "published_at", "published_by")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("versions")

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).defer("spec").order_by("-number")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("version"))
    def version_link(self, obj: PlanVersion) -> str:
        url = reverse("admin:catalog_planversion_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, _("Version %(number)s") % {"number": obj.number})


@admin.register(Plan)
class PlanAdmin(ModelAdmin):
    form = PlanForm
    inlines = [PlanVersionInline]
    list_display = ["code", "name_ru", "product", "is_active", "version_in_force"]
    list_filter = ["is_active", "product"]
    search_fields = ["code", "name_ru", "name_en"]
    list_select_related = ["product"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related(
            Prefetch("versions", queryset=PlanVersion.objects.defer("spec")))

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        return self.inlines if obj is not None else []  # a new plan has no versions yet

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["product", "code", "created_at", "price_history"] if obj else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = ["product", "code", "name_ru", "name_en", "is_active"]
        return [*fields, "created_at", "price_history"] if obj else fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        return _audit_history("plan", object_id)

    @admin.display(description=_("version in force today"))
    def version_in_force(self, obj: Plan) -> str:
        version = selectors.in_force_among(list(obj.versions.all()), provider_today())
        if version is None:
            return "—"
        return str(_("Version %(number)s since %(date)s") % {"number": version.number, "date": version.effective_from})

    @admin.display(description=_("price history"))
    def price_history(self, obj: Plan) -> SafeString | str:
        spans = selectors.plan_price_history(obj)
        if not spans:
            return str(_("No published version yet: create a version and publish it."))
        today = provider_today()
        rows = []
        for span in spans:
            version = span.version
            in_force = span.effective_from <= today and (span.effective_until is None or today < span.effective_until)
            rows.append((
                reverse("admin:catalog_planversion_change", args=[version.pk]),
                _("Version %(number)s") % {"number": version.number},
                span.effective_from.isoformat(),
                span.effective_until.isoformat() if span.effective_until else "…",
                version.get_existing_subscribers_display(),
                _("in force today") if in_force else "",
            ))
        body = format_html_join("", '<tr><td><a href="{}">{}</a></td><td>{}</td><td>{}</td><td>{}</td>'
                                    "<td><strong>{}</strong></td></tr>", rows)
        return format_html("<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead>"
                           "<tbody>{}</tbody></table>", _("version"), _("effective from"), _("until (exclusive)"),
                           _("existing subscribers"), body)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        url = reverse("admin:catalog_planversion_add")
        extra_context = {**(extra_context or {}), "new_version_url": f"{url}?plan={int(object_id)}"}
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: Plan, form: Any, change: bool) -> None:
        data = {k: v for k, v in form.cleaned_data.items() if k in PlanForm.Meta.fields}
        actor = admin_actor(request)
        if change:
            data.pop("code", None)
            data.pop("product", None)
            saved = services.plan_update(actor=actor, plan=obj, **data)
        else:
            saved = services.plan_create(actor=actor, **data)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        for formset in formsets:  # the versions inline is read-only: nothing to save
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []


# -- plan versions -------------------------------------------------------------------------------


class PrettyJSONField(forms.JSONField):
    """The spec as indented JSON (Cyrillic kept as is) in a large monospace text area."""

    widget = forms.Textarea(attrs={"rows": 30, "style": "font-family: monospace; width: 100%", "class": "kopeck-code"})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, InvalidJSONInput):
            return value
        return _pretty(value)


class PlanVersionForm(forms.ModelForm):  # type: ignore[type-arg]
    spec = PrettyJSONField(label=_("prices (spec)"), help_text=_(
        "The plan's prices as JSON (see docs/catalog.md). Tiers are [from, up_to): each tier starts where the "
        "previous one ends; amounts are decimal strings."))

    class Meta:
        model = PlanVersion
        fields = ["plan", "spec"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        plan = data.get("plan") or (self.instance.plan if self.instance.pk else None)
        if plan is not None and "spec" in data:
            _canonical, errors = services.plan_spec_clean(plan, data["spec"])
            _add_errors(self, errors)
        return data


class PublishForm(forms.Form):
    effective_from = forms.DateField(label=_("effective from"), widget=forms.DateInput(
        attrs={"type": "date"}, format="%Y-%m-%d"), help_text=_("Today or later, in the provider's time zone."))
    existing_subscribers = forms.ChoiceField(
        label=_("existing subscribers"), required=False,
        choices=[("", "—"), *ExistingSubscribers.choices],
        help_text=_("Required when the plan already has published prices."))


@admin.register(PlanVersion)
class PlanVersionAdmin(ModelAdmin):
    form = PlanVersionForm
    list_display = ["__str__", "plan", "number", "status", "effective_from", "existing_subscribers",
                    "published_at", "created_by"]
    list_filter = ["status", "existing_subscribers", "plan"]
    search_fields = ["plan__code", "plan__name_ru"]
    list_select_related = ["plan"]
    INFO = ["number", "status", "effective_from", "existing_subscribers", "created_at", "created_by", "published_at",
            "published_by"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("plan")

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["plan", "spec"]
        if obj.status == VersionStatus.PUBLISHED:
            return ["plan", *self.INFO, "spec_pretty"]
        return ["plan", *self.INFO, "spec"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return []
        if obj.status == VersionStatus.PUBLISHED:
            return ["plan", *self.INFO, "spec_pretty"]
        return ["plan", *self.INFO]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """``?plan=<id>``: the new draft starts as a copy of the plan's latest version."""
        initial: dict[str, Any] = super().get_changeform_initial_data(request)
        raw = request.GET.get("plan", "")
        plan = Plan.objects.filter(pk=int(raw)).first() if raw.isdigit() else None
        if plan is not None:
            latest = selectors.plan_versions(plan).first()
            initial["spec"] = latest.spec if latest else {"code": plan.code, "components": []}
        return initial

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and obj.status == VersionStatus.PUBLISHED:
            return False  # a published version is never changed
        return bool(super().has_change_permission(request, obj))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        return _audit_history("plan_version", object_id)

    @admin.display(description=_("prices (spec)"))
    def spec_pretty(self, obj: PlanVersion) -> str:
        return format_html('<pre class="kopeck-code" style="white-space: pre-wrap">{}</pre>', _pretty(obj.spec))

    def save_model(self, request: HttpRequest, obj: PlanVersion, form: Any, change: bool) -> None:
        actor = admin_actor(request)
        spec = form.cleaned_data["spec"]
        if change:
            saved = services.plan_version_update(actor=actor, version=obj, spec=spec)
        else:
            saved = services.plan_version_create(actor=actor, plan=form.cleaned_data["plan"], spec=spec)
        obj.pk = saved.pk
        obj.refresh_from_db()

    # -- publishing --

    def get_urls(self) -> list[Any]:
        return [
            path("<int:pk>/publish/", self.admin_site.admin_view(self.publish_view),
                 name="catalog_planversion_publish"),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        version = PlanVersion.objects.filter(pk=object_id).only("status").first() if object_id.isdigit() else None
        if version is not None and version.status == VersionStatus.DRAFT:
            extra_context = {**(extra_context or {}),
                             "publish_url": reverse("admin:catalog_planversion_publish", args=[version.pk])}
        return super().change_view(request, object_id, form_url, extra_context)

    def publish_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Publish a draft through ``plan_version_publish``."""
        if not request.user.has_perm("catalog.change_planversion"):
            raise PermissionDenied
        version = get_object_or_404(PlanVersion.objects.select_related("plan"), pk=pk)
        change_url = reverse("admin:catalog_planversion_change", args=[version.pk])
        if version.status == VersionStatus.PUBLISHED:
            messages.warning(request, _("This version is already published."))
            return HttpResponseRedirect(change_url)
        form = PublishForm(request.POST or None, initial={"effective_from": provider_today()})
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            try:
                services.plan_version_publish(actor=admin_actor(request), version=version,
                                              effective_from=d["effective_from"],
                                              existing_subscribers=d["existing_subscribers"] or None)
            except KopeckError as exc:
                form.add_error(None, exc.detail)
                _add_errors(form, exc.errors)
            else:
                messages.success(request, _("Version %(number)s of %(plan)s is published.")
                                 % {"number": version.number, "plan": version.plan.code})
                return HttpResponseRedirect(change_url)
        latest = selectors.latest_published_version(version.plan)
        context = {
            **self.admin_site.each_context(request), "form": form, "opts": self.model._meta, "version": version,
            "latest": latest, "change_url": change_url, "spec": _pretty(version.spec),
            "title": _("Publish version %(number)s of %(plan)s") % {"number": version.number,
                                                                    "plan": version.plan.code},
        }
        return render(request, "admin/catalog/planversion/publish.html", context)


bo.nav_item("catalog", _("Products"), model="catalog.product", order=10, icon="inventory_2")
bo.nav_item("catalog", _("Plans"), model="catalog.plan", order=20, icon="sell")
bo.nav_item("catalog", _("Plan versions"), model="catalog.planversion", order=30, icon="history")

