"""Admin of subscriptions: the list, the subscription's page (its terms, timeline, billed periods,
pending scheduled change and the client's balance), "Add subscription" and the action pages.

Every write goes through :mod:`kopeck.subscriptions.services`. An action page first shows the
service's preview (the exact charges and credits with their explanations, and the total); "Confirm"
applies it with ``preview=False`` inside a transaction and keeps the result only if it is what was
shown (effective date, total and a digest of the items travel in hidden fields): otherwise the
transaction is rolled back and the new preview is shown. Viewing needs read access to the
subscriptions area, every write needs write access."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kopeck.clients.models import Client
from kopeck.common import backoffice as bo
from kopeck.common import display
from kopeck.common.admin import (
    ReadOnlyAdmin,
    TabularInline,
    admin_actor,
    json_field,
    money_cell,
    report_error,
)
from kopeck.common.errors import KopeckError
from kopeck.configuration.selectors import provider_today
from kopeck.ledger.selectors import client_balance
from kopeck.subscriptions import services
from kopeck.subscriptions.admin_actions import (
    ACTION_NAMES,
    ACTIONS,
    ActionSpec,
    Outcome,
    SubscriptionCreateForm,
    _english,
    _Rollback,
    _rows,
    _text,
    component_label,
)
from kopeck.subscriptions.models import (
    BilledPeriod,
    ScheduledChange,
    Subscription,
    SubscriptionStatus,
    TimelineEntry,
)
from kopeck.subscriptions.selectors import subscription_pending_change

WRITE_PERM = "subscriptions.change_subscription"


def _require_write(request: HttpRequest) -> None:
    if not request.user.has_perm(WRITE_PERM):
        raise PermissionDenied


def _add_errors(form: forms.BaseForm, errors: Mapping[str, list[str]], aliases: Mapping[str, str], *,
                others: bool = True) -> None:
    """Show the service's field errors on the form's fields (``aliases`` maps service names to form
    fields); the others as non-field errors unless ``others`` is false (already in a message)."""
    for name, msgs in errors.items():
        target = aliases.get(name, name)
        if target in form.fields:
            form.add_error(target, list(msgs))
        elif others:
            form.add_error(None, [f"{name}: {m}" for m in msgs])


# -- inlines ------------------------------------------------------------------------------------


class TimelineInline(TabularInline):
    """What happened, in order (oldest first), in the operator's language."""

    model = TimelineEntry
    fields = ("at", "effective_date", "kind_label", "text", "transaction")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("at", "id")
    verbose_name_plural = _("timeline")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("kind"))
    def kind_label(self, obj: TimelineEntry) -> str:
        return str(TIMELINE_KINDS.get(obj.kind, obj.kind))

    @admin.display(description=_("what happened"))
    def text(self, obj: TimelineEntry) -> str:
        return _text(obj.text_ru, obj.text_en)


TIMELINE_KINDS: dict[str, Promise] = {"created": pgettext_lazy("subscription timeline", "created"),
                                      "charge": pgettext_lazy("billed piece", "charge"),
                                      "credit": pgettext_lazy("billed piece", "credit"),
                                      "status": _("status change")}


def component_name(sub: Subscription, code: str) -> str:
    """A component's name in the operator's language, from the plan version's prices ("base" → its name)."""
    return component_label(sub, code)


class BilledPeriodInline(TabularInline):
    """The service periods already charged (and what was credited back), by period."""

    model = BilledPeriod
    fields = ("component_label", "period_start", "last_day", "amount", "credited", "credited_from", "transaction",
              "explanation_text")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ("period_start", "component", "id")
    verbose_name_plural = _("billed periods")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("subscription__plan_version")

    @admin.display(description=_("component"))
    def component_label(self, obj: BilledPeriod) -> str:
        return component_name(obj.subscription, obj.component)

    @admin.display(description=_("last day"))
    def last_day(self, obj: BilledPeriod) -> str:
        return display.date_text(obj.period_end - dt.timedelta(days=1))

    @admin.display(description=_("amount"))
    def amount(self, obj: BilledPeriod) -> str:
        return money_cell(obj.amount_minor, obj.currency)

    @admin.display(description=_("credited back"))
    def credited(self, obj: BilledPeriod) -> str:
        if not obj.credited_minor:
            return "—"
        return money_cell(obj.credited_minor, obj.currency)

    @admin.display(description=_("explanation"))
    def explanation_text(self, obj: BilledPeriod) -> str:
        data = obj.explanation or {}
        return _text(str(data.get("ru", "")), str(data.get("en", "")))


# -- the subscription admin ---------------------------------------------------------------------


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["id", "client", "plan", "quantity", "currency", "status", "start_date", "end_date",
                    "external_id"]
    list_filter = ["status", "anchor_kind", "currency", "billing_paused", "first_period_policy", "plan"]
    search_fields = ["=id", "external_id", "client__name", "plan__code"]
    list_select_related = ["client", "plan"]
    date_hierarchy = "start_date"
    inlines = [TimelineInline, BilledPeriodInline]
    change_form_template = "admin/subscriptions/subscription/change_form.html"
    fieldsets = [
        (None, {"fields": ["client", "plan", "plan_version", "quantity", "currency", "status", "external_id"]}),
        (_("Dates and billing"), {"fields": ["start_date", "end_date", "trial_end", "anchor_kind", "billing_day",
                                             "first_period_policy", "billing_paused", "billing_from",
                                             "cycle_origin"]}),
        (_("Overrides"), {"fields": ["discount_percent", "fixed_price"]}),
        (_("Pending change and balance"), {"fields": ["pending_change", "balance", "created_at", "updated_at"]}),
    ]
    readonly_fields = ["pending_change", "balance"]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).select_related("client", "plan", "plan_version")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("subscriptions.add_subscription")

    @admin.display(description=_("pending scheduled change"))
    def pending_change(self, obj: Subscription) -> str:
        change = subscription_pending_change(obj)
        if change is None:
            return "—"
        return str(_("%(kind)s on %(date)s (%(details)s)") % {
            "kind": SCHEDULED_KINDS.get(change.kind, change.kind), "date": display.date_text(change.effective_date),
            "details": ", ".join(f"{k}: {v}" for k, v in sorted(change.payload.items()))})

    @admin.display(description=_("client's balance"))
    def balance(self, obj: Subscription) -> str:
        money = client_balance(obj.client, currency=obj.currency)
        url = reverse("admin:ledger_journaltransaction_statement", args=[obj.client_id])
        return format_html('{} (<a href="{}">{}</a>)', display.money_text(money), url, _("statement"))

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        url = reverse("admin:audit_auditentry_changelist")
        return HttpResponseRedirect(f"{url}?object_type=subscription&object_id={int(object_id)}")

    def get_urls(self) -> list[Any]:
        return [
            path("<int:pk>/action/<str:name>/", self.admin_site.admin_view(self.action_view),
                 name="subscriptions_subscription_action"),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        sub = Subscription.objects.filter(pk=object_id).only("status").first() if object_id.isdigit() else None
        buttons = []
        if sub is not None and request.user.has_perm(WRITE_PERM):
            buttons = [{"url": reverse("admin:subscriptions_subscription_action", args=[sub.pk, a.name]),
                        "title": a.title} for a in ACTIONS.values() if sub.status in a.statuses]
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "action_buttons": buttons})

    def _context(self, request: HttpRequest, title: Any, **extra: Any) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title, **extra}

    # -- add ---------------------------------------------------------------------------------

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        """The add form calls ``subscription_create``; its refusals are shown on the form."""
        _require_write(request)
        form = SubscriptionCreateForm(request.POST or None, initial={"client": request.GET.get("client")})
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            try:
                sub = services.subscription_create(
                    actor=admin_actor(request), client=d["client"], plan=d["plan"], quantity=d["quantity"],
                    currency=d["currency"].strip().upper() or None, start_date=d["start_date"],
                    anchor_kind=d["anchor_kind"], billing_day=d["billing_day"],
                    first_period_policy=d["first_period_policy"], trial_end=d["trial_end"], no_trial=d["no_trial"],
                    discount_percent=d["discount_percent"], fixed_price=d["fixed_price"],
                    external_id=d["external_id"].strip() or None)
            except KopeckError as exc:
                form.add_error(None, exc.detail)
                _add_errors(form, exc.errors, SubscriptionCreateForm.ERROR_FIELDS)
            else:
                messages.success(request, _("Subscription #%(id)s is created.") % {"id": sub.pk})
                return HttpResponseRedirect(reverse("admin:subscriptions_subscription_change", args=[sub.pk]))
        return render(request, "admin/subscriptions/subscription/add.html",
                      self._context(request, _("Add subscription"), form=form))

    # -- actions -----------------------------------------------------------------------------

    def action_view(self, request: HttpRequest, pk: int, name: str) -> HttpResponse:
        """GET: the parameters and, once given, the preview with a "Confirm" button. POST
        (confirm): apply exactly what was previewed, or show the new preview if it changed."""
        _require_write(request)
        spec = ACTIONS.get(name)
        if spec is None:
            raise Http404
        sub = get_object_or_404(Subscription.objects.select_related("client", "plan"), pk=pk)
        change_url = reverse("admin:subscriptions_subscription_change", args=[sub.pk])
        actor = admin_actor(request)
        data = request.POST if request.method == "POST" else request.GET
        bound = request.method == "POST" or "_preview" in data or not spec.form.base_fields
        form = spec.form(data if bound else None)
        outcome: Outcome | None = None
        if bound and form.is_valid():
            if request.method == "POST":
                try:
                    with transaction.atomic():
                        applied = spec.run(actor, sub, form.cleaned_data, False, str(data.get("_key", "")) or None)
                        if applied.stamp() != {k: str(data.get(k, "")) for k in applied.stamp()}:
                            raise _Rollback(applied)
                except _Rollback:
                    messages.warning(request, _("What this action posts has changed since the preview (for example, "
                                                "the date has changed). Nothing was applied: check the new preview "
                                                "and confirm again."))
                except KopeckError as exc:  # refused: the transaction is rolled back, nothing is written
                    report_error(request, exc)
                    _add_errors(form, exc.errors, getattr(spec.form, "ERROR_FIELDS", {}), others=False)
                    return render(request, "admin/subscriptions/subscription/action.html",
                                  self._action_context(request, spec, sub, form, None, change_url))
                else:
                    messages.success(request, str(spec.done))
                    return HttpResponseRedirect(change_url)
            try:
                outcome = spec.run(actor, sub, form.cleaned_data, True, None)
            except KopeckError as exc:
                report_error(request, exc)
                _add_errors(form, exc.errors, getattr(spec.form, "ERROR_FIELDS", {}), others=False)
        return render(request, "admin/subscriptions/subscription/action.html",
                      self._action_context(request, spec, sub, form, outcome, change_url))

    def _action_context(self, request: HttpRequest, spec: ActionSpec, sub: Subscription, form: forms.Form,
                        outcome: Outcome | None, change_url: str) -> dict[str, Any]:
        preview: dict[str, Any] | None = None
        if outcome is not None:
            preview = {
                "outcome": outcome, "rows": _rows(outcome, sub), "stamp": {**outcome.stamp(), "_key": uuid.uuid4().hex},
                "action_name": ACTION_NAMES.get(outcome.action, outcome.action),
                "status_label": SubscriptionStatus(outcome.status).label
                if outcome.status in SubscriptionStatus.values else outcome.status,
            }
        return self._context(
            request, _("%(action)s: subscription #%(id)s") % {"action": spec.title, "id": sub.pk},
            subscription=sub, form=form, has_params=bool(spec.form.base_fields), preview=preview,
            change_url=change_url, action_url=request.path,
            status_label=sub.get_status_display(), today=provider_today())


SCHEDULED_KINDS: dict[str, Promise] = {"cancel": _("cancellation"), "change_plan": _("plan change"),
                                       "billing_day": _("billing day change")}


@admin.register(BilledPeriod)
class BilledPeriodAdmin(ReadOnlyAdmin):
    list_display = ["subscription", "component_label", "period_start", "last_day", "amount", "transaction"]
    list_filter = ["currency"]
    list_select_related = ["subscription__plan", "subscription__plan_version", "transaction"]
    fields = ["subscription", "component_label", "period_start", "last_day", "amount", "credited", "credited_from",
              "transaction", "explanation_text", "created_at"]
    readonly_fields = fields

    component_label = BilledPeriodInline.component_label
    last_day = BilledPeriodInline.last_day
    amount = BilledPeriodInline.amount
    credited = BilledPeriodInline.credited
    explanation_text = BilledPeriodInline.explanation_text


@admin.register(ScheduledChange)
class ScheduledChangeAdmin(ReadOnlyAdmin):
    list_display = ["subscription", "kind_label", "effective_date", "status", "created_at", "decided_at"]
    payload_json = json_field("payload", _("what changes"))

    @admin.display(description=_("kind"), ordering="kind")
    def kind_label(self, obj: ScheduledChange) -> str:
        return str(SCHEDULED_KINDS.get(obj.kind, obj.kind))
    list_filter = ["status", "kind"]


bo.nav_item("subscriptions", _("Subscriptions"), model="subscriptions.subscription", order=10, icon="autorenew")
bo.nav_item("subscriptions", _("Scheduled changes"), model="subscriptions.scheduledchange", order=20,
            icon="event_upcoming")
bo.nav_item("subscriptions", _("Billed periods"), model="subscriptions.billedperiod", order=30, icon="date_range")


def _client_subscriptions(request: HttpRequest, client: Client) -> str | None:
    """The client page's "Subscriptions" tab: the latest ones, "Add subscription", the full list."""
    if not request.user.has_perm("subscriptions.view_subscription"):
        return None
    subs = list(Subscription.objects.filter(client=client).select_related("plan").order_by("-id")[:10])
    rows = [(format_html('<a href="{}">#{}</a>', reverse("admin:subscriptions_subscription_change", args=[s.pk]), s.pk),
             s.plan.name_ru if not _english() else (s.plan.name_en or s.plan.name_ru), s.quantity, s.get_status_display(),
             display.date_text(s.start_date), display.date_text(s.end_date) if s.end_date else "—") for s in subs]
    actions = []
    if request.user.has_perm("subscriptions.add_subscription"):
        actions.append((f"{reverse('admin:subscriptions_subscription_add')}?client={client.pk}", _("Add subscription")))
    total = Subscription.objects.filter(client=client).count()
    return bo.panel_table(
        [_("subscription"), _("plan"), _("quantity"), _("status"), _("start date"), _("end date")], rows,
        empty=_("The client has no subscriptions yet."), actions=actions,
        more_url=f"{reverse('admin:subscriptions_subscription_changelist')}?client__id__exact={client.pk}" if total else "",
        more_text=_("All subscriptions of the client (%(count)s)") % {"count": total})


bo.page_tab("clients.client", "subscriptions", _("Subscriptions"), _client_subscriptions, order=10,
            count=lambda client: Subscription.objects.filter(client=client).count())
