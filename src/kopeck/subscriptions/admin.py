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
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.functional import Promise
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kopeck.catalog.models import Plan
from kopeck.clients.models import Client
from kopeck.common import backoffice as bo
from kopeck.common import display
from kopeck.common.actor import Actor
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
from kopeck.core.money import Money, money_sum
from kopeck.ledger.selectors import client_balance
from kopeck.subscriptions import services
from kopeck.subscriptions.models import (
    AnchorKind,
    BilledPeriod,
    FirstPeriodPolicy,
    ScheduledChange,
    Subscription,
    SubscriptionStatus,
    TimelineEntry,
)
from kopeck.subscriptions.selectors import subscription_pending_change

WRITE_PERM = "subscriptions.change_subscription"
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _english() -> bool:
    return (get_language() or "").startswith("en")


def _text(ru: str, en: str) -> str:
    """The operator's language: English under /en/, Russian otherwise (amounts and dates as the page
    writes them)."""
    return display.polish((en or ru) if _english() else (ru or en))


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


TIMELINE_KINDS: dict[str, Promise] = {"created": _("created"), "charge": _("charge"), "credit": _("credit"),
                                      "status": _("status change")}


def component_name(sub: Subscription, code: str) -> str:
    """A component's name in the operator's language, from the plan version's prices ("base" → its name)."""
    if code == "setup_fee":
        return str(_("setup fee"))
    for component in (sub.plan_version.spec or {}).get("components", []) if sub.plan_version_id else []:
        if component.get("code") == code:
            names = component.get("names") or {}
            return str(names.get("en" if _english() else "ru") or component.get("name") or code)
    return code


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


# -- forms --------------------------------------------------------------------------------------


class SubscriptionCreateForm(forms.Form):
    # a client is found by typing (there may be many thousands): the admin's autocomplete
    client = forms.ModelChoiceField(label=_("client"), queryset=Client.objects.order_by("name"),
                                    widget=AutocompleteSelect(Subscription._meta.get_field("client"), admin.site))
    plan = forms.ModelChoiceField(label=_("plan"), queryset=Plan.objects.filter(is_active=True).order_by("code"))
    quantity = forms.IntegerField(label=_("quantity"), min_value=1, initial=1)
    currency = forms.CharField(label=_("currency"), max_length=3, required=False,
                               help_text=_("Empty: the currency of the client's account."))
    start_date = forms.DateField(label=_("start date"), required=False, widget=DATE_WIDGET,
                                 help_text=_("Empty: today. A past date bills every period up to today; a future "
                                             "date makes the subscription pending."))
    anchor_kind = forms.ChoiceField(label=_("billing anchor"), choices=AnchorKind.choices,
                                    initial=AnchorKind.ANNIVERSARY)
    billing_day = forms.IntegerField(label=_("billing day"), required=False, min_value=1, max_value=31,
                                     help_text=_("Calendar billing only: 1–31 (29–31 mean the last day of shorter "
                                                 "months)."))
    first_period_policy = forms.ChoiceField(label=_("first partial period"), choices=FirstPeriodPolicy.choices,
                                            initial=FirstPeriodPolicy.PRORATE)
    trial_end = forms.DateField(label=_("trial ends"), required=False, widget=DATE_WIDGET,
                                help_text=_("The first paid day. Empty: the plan's trial."))
    no_trial = forms.BooleanField(label=_("no trial"), required=False)
    discount_percent = forms.DecimalField(label=_("discount, %"), required=False, max_digits=5, decimal_places=2)
    fixed_price = forms.DecimalField(label=_("fixed price per period"), required=False, max_digits=18,
                                     decimal_places=4)
    external_id = forms.CharField(label=_("external id"), max_length=100, required=False)

    ERROR_FIELDS = {"plan_version": "plan"}


class ChangePlanForm(forms.Form):
    plan = forms.ModelChoiceField(label=_("new plan"), queryset=Plan.objects.filter(is_active=True).order_by("code"))
    quantity = forms.IntegerField(label=_("quantity"), min_value=1, required=False,
                                  help_text=_("Empty: keep the current quantity."))
    timing = forms.ChoiceField(label=_("when"), initial="default", choices=[
        ("default", _("As usual: an upgrade now, a downgrade at period end")),
        ("immediate", _("Now")),
        ("period_end", _("At the end of the current period")),
    ])
    ERROR_FIELDS = {"plan_version": "plan", "currency": "plan"}


class ChangeQuantityForm(forms.Form):
    quantity = forms.IntegerField(label=_("new quantity"), min_value=1)
    ERROR_FIELDS: dict[str, str] = {}


WHEN_CHOICES = [("period_end", _("At the end of the current period")), ("now", _("Now"))]


class CancelForm(forms.Form):
    when = forms.ChoiceField(label=_("when"), choices=WHEN_CHOICES, initial="period_end",
                             widget=forms.RadioSelect)
    ERROR_FIELDS = {"at_period_end": "when"}


class BillingDayForm(forms.Form):
    billing_day = forms.IntegerField(label=_("new billing day"), min_value=1, max_value=31)
    when = forms.ChoiceField(label=_("from"), choices=WHEN_CHOICES, initial="period_end", widget=forms.RadioSelect)
    ERROR_FIELDS = {"at_period_end": "when"}


class SuspendForm(forms.Form):
    billing = forms.ChoiceField(label=_("billing while suspended"), initial="paused", widget=forms.RadioSelect,
                                choices=[("paused", _("Stops: settle and credit the unused days now")),
                                         ("continues", _("Continues: only the status changes"))])
    ERROR_FIELDS = {"billing_continues": "billing"}


class NoParamsForm(forms.Form):
    ERROR_FIELDS: dict[str, str] = {}


# -- action outcomes ----------------------------------------------------------------------------


@dataclass(slots=True)
class Outcome:
    """What an action posts (preview) or posted, as the admin shows and compares it."""

    action: str
    effective_date: dt.date
    status: str
    currency: str
    items: list[dict[str, Any]] = field(default_factory=list)
    total: str = "0"
    scheduled: bool = False

    @property
    def digest(self) -> str:
        raw = json.dumps([self.action, self.effective_date.isoformat(), self.total, self.items], sort_keys=True,
                         ensure_ascii=False, default=str)
        return hashlib.sha256(raw.encode()).hexdigest()

    def stamp(self) -> dict[str, str]:
        return {"_effective_date": self.effective_date.isoformat(), "_total": self.total, "_digest": self.digest}


def _outcome(sub: Subscription, result: services.ActionResult) -> Outcome:
    return Outcome(result.action, result.effective_date, result.status, sub.currency, list(result.items),
                   result.total, scheduled=not result.items and result.effective_date > provider_today())


class _Rollback(Exception):
    def __init__(self, outcome: Outcome) -> None:
        super().__init__("rolled back")
        self.outcome = outcome


Runner = Callable[[Actor, Subscription, dict[str, Any], bool, "str | None"], Outcome]


def _run_change_plan(actor: Actor, sub: Subscription, d: dict[str, Any], preview: bool, key: str | None) -> Outcome:
    return _outcome(sub, services.subscription_change_plan(
        actor=actor, subscription=sub, plan=d["plan"], quantity=d.get("quantity"), timing=d["timing"],
        preview=preview, idempotency_key=key))


def _run_change_quantity(actor: Actor, sub: Subscription, d: dict[str, Any], preview: bool,
                         key: str | None) -> Outcome:
    return _outcome(sub, services.subscription_change_quantity(
        actor=actor, subscription=sub, quantity=d["quantity"], preview=preview, idempotency_key=key))


def _run_cancel(actor: Actor, sub: Subscription, d: dict[str, Any], preview: bool, key: str | None) -> Outcome:
    return _outcome(sub, services.subscription_cancel(
        actor=actor, subscription=sub, at_period_end=d["when"] == "period_end", preview=preview,
        idempotency_key=key))


def _run_uncancel(actor: Actor, sub: Subscription, d: dict[str, Any], preview: bool, key: str | None) -> Outcome:
    return _outcome(sub, services.subscription_uncancel(actor=actor, subscription=sub, preview=preview,
                                                        idempotency_key=key))


def _run_billing_day(actor: Actor, sub: Subscription, d: dict[str, Any], preview: bool, key: str | None) -> Outcome:
    return _outcome(sub, services.subscription_change_billing_day(
        actor=actor, subscription=sub, billing_day=d["billing_day"], at_period_end=d["when"] == "period_end",
        preview=preview, idempotency_key=key))


def _run_suspend(actor: Actor, sub: Subscription, d: dict[str, Any], preview: bool, key: str | None) -> Outcome:
    return _outcome(sub, services.subscription_suspend(
        actor=actor, subscription=sub, billing_continues=d["billing"] == "continues", preview=preview,
        idempotency_key=key))


def _run_resume(actor: Actor, sub: Subscription, d: dict[str, Any], preview: bool, key: str | None) -> Outcome:
    return _outcome(sub, services.subscription_resume(actor=actor, subscription=sub, preview=preview,
                                                      idempotency_key=key))


def _run_bill_due(actor: Actor, sub: Subscription, d: dict[str, Any], preview: bool, key: str | None) -> Outcome:
    result = services.subscription_bill_due(actor=actor, subscription=sub, preview=preview)
    total = money_sum((Money(i["amount"], sub.currency) * (1 if i["kind"] == "charge" else -1)
                       for i in result.items), sub.currency)
    return Outcome("bill_due", result.on, result.status, sub.currency, list(result.items), total.to_str())


RUNNING = (SubscriptionStatus.TRIAL, SubscriptionStatus.ACTIVE)


@dataclass(frozen=True, slots=True)
class ActionSpec:
    name: str
    title: Promise
    done: Promise
    form: type[forms.Form]
    run: Runner
    statuses: tuple[str, ...]


ACTIONS: dict[str, ActionSpec] = {a.name: a for a in (
    ActionSpec("change_plan", _("Change plan"), _("The plan change is applied."), ChangePlanForm,
               _run_change_plan, RUNNING),
    ActionSpec("change_quantity", _("Change quantity"), _("The quantity is changed."), ChangeQuantityForm,
               _run_change_quantity, (*RUNNING, SubscriptionStatus.CANCELLING)),
    ActionSpec("cancel", _("Cancel"), _("The subscription is cancelled."), CancelForm, _run_cancel,
               (*RUNNING, SubscriptionStatus.SUSPENDED, SubscriptionStatus.PENDING, SubscriptionStatus.CANCELLING)),
    ActionSpec("uncancel", _("Undo the cancellation"), _("The cancellation is undone."), NoParamsForm,
               _run_uncancel, (SubscriptionStatus.CANCELLING,)),
    ActionSpec("change_billing_day", _("Change billing day"), _("The billing day is changed."), BillingDayForm,
               _run_billing_day, RUNNING),
    ActionSpec("suspend", _("Suspend"), _("The subscription is suspended."), SuspendForm, _run_suspend, RUNNING),
    ActionSpec("resume", _("Resume"), _("The subscription is resumed."), NoParamsForm, _run_resume,
               (SubscriptionStatus.SUSPENDED,)),
    ActionSpec("bill_due", _("Bill what is due now"), _("What was due is billed."), NoParamsForm, _run_bill_due,
               (*RUNNING, SubscriptionStatus.CANCELLING, SubscriptionStatus.PENDING, SubscriptionStatus.SUSPENDED)),
)}

ACTION_NAMES: dict[str, Promise] = {
    "upgrade": _("upgrade"), "downgrade": _("downgrade"), "crossgrade": _("crossgrade"),
    "change_quantity": _("quantity change"), "cancel": _("cancellation"), "uncancel": _("cancellation undone"),
    "change_billing_day": _("billing day change"), "suspend": _("suspension"), "resume": _("resumption"),
    "bill_due": _("billing of what is due"),
}

ITEM_KINDS: dict[str, Promise] = {"charge": _("charge"), "credit": _("credit")}


def _rows(outcome: Outcome) -> list[dict[str, Any]]:
    """The items as the preview table shows them: explanations in the operator's language."""
    rows = []
    for item in outcome.items:
        period = item.get("period") or {}
        start = dt.date.fromisoformat(period["start"]) if period.get("start") else None
        end = dt.date.fromisoformat(period["end"]) if period.get("end") else None
        expl = item.get("explanation") or {}
        main = _text(expl.get("ru", ""), expl.get("en", ""))
        lines = [_text(ln.get("explanation", {}).get("ru", ""), ln.get("explanation", {}).get("en", ""))
                 for ln in item.get("lines") or []]
        rows.append({
            "kind": ITEM_KINDS.get(item.get("kind", ""), item.get("kind", "")), "credit": item.get("kind") == "credit",
            "component": item.get("component", ""), "start": start,
            "last_day": end - dt.timedelta(days=1) if end else None,
            "amount": item.get("amount", ""), "currency": item.get("currency", outcome.currency),
            "explanation": main,
            "lines": [ln for ln in lines if ln and ln not in main],  # a single line is already in the main text
        })
    return rows


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
                "outcome": outcome, "rows": _rows(outcome), "stamp": {**outcome.stamp(), "_key": uuid.uuid4().hex},
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
