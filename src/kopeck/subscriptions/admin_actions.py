"""The subscription's actions in the admin: their forms, the outcome a preview shows and a confirmation
compares, and the runners that call the services (the pages are in :mod:`kopeck.subscriptions.admin`)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from kopeck.catalog.models import Plan
from kopeck.clients.models import Client
from kopeck.common import display
from kopeck.common.actor import Actor
from kopeck.configuration.selectors import provider_today
from kopeck.core.money import Money, money_sum
from kopeck.subscriptions import services
from kopeck.subscriptions.models import AnchorKind, FirstPeriodPolicy, Subscription, SubscriptionStatus

DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _english() -> bool:
    return (get_language() or "").startswith("en")


def _text(ru: str, en: str) -> str:
    """The operator's language: English under /en/, Russian otherwise (amounts and dates as the page
    writes them)."""
    return display.polish((en or ru) if _english() else (ru or en))


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

ITEM_KINDS: dict[str, Promise] = {"charge": pgettext_lazy("billed piece", "charge"),
                                  "credit": pgettext_lazy("billed piece", "credit")}


def component_label(sub: Subscription | None, code: str) -> str:
    """A component's name in the operator's language, from the subscription's plan version."""
    if code == "setup_fee":
        return capfirst(str(_("setup fee")))
    version = sub.plan_version if sub is not None and sub.plan_version_id else None
    for component in (version.spec or {}).get("components", []) if version is not None else []:
        if component.get("code") == code:
            names = component.get("names") or {}
            return str(names.get("en" if _english() else "ru") or component.get("name") or code)
    return code


def _rows(outcome: Outcome, sub: Subscription | None = None) -> list[dict[str, Any]]:
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
            "component": component_label(sub, str(item.get("component", ""))), "start": start,
            "last_day": end - dt.timedelta(days=1) if end else None,
            "amount": item.get("amount", ""), "currency": item.get("currency", outcome.currency),
            "explanation": main,
            "lines": [ln for ln in lines if ln and ln not in main],  # a single line is already in the main text
        })
    return rows
