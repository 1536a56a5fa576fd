"""The back office of credit control: the client page's "Blocks" tab (credit state, where the
client stands on the ladder and what comes next, blocks, promises), the ladder, blocks, promised
payments, credit policies and debts. Writes go through the services."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from kopeck.clients.models import Client
from kopeck.common import backoffice as bo
from kopeck.common import display
from kopeck.common.admin import (
    ModelAdmin,
    ReadOnlyAdmin,
    ReadOnlyTabularInline,
    admin_actor,
    money_cell,
    report_error,
)
from kopeck.common.errors import KopeckError
from kopeck.configuration.selectors import provider_today
from kopeck.credit import selectors, services
from kopeck.credit.models import (
    Block,
    CreditPolicy,
    Debt,
    DunningStep,
    Promise,
    StepRun,
)


@admin.register(DunningStep)
class DunningStepAdmin(ModelAdmin):
    list_display = ["name", "action", "anchor", "offset_days", "notify", "is_active"]
    list_editable = ["offset_days", "notify", "is_active"]
    list_filter = ["action", "anchor", "is_active"]
    fields = ["name", "action", "anchor", "offset_days", "notify", "is_active"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or not obj.runs.exists()  # a step that ran stays (deactivate it instead)


class BlockForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Block
        fields = ["client", "subscription", "reason", "comment"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        sub, client = data.get("subscription"), data.get("client")
        if sub is not None and client is not None and sub.client_id != client.pk:
            self.add_error("subscription", _("The subscription belongs to another client."))
        return data


@admin.register(Block)
class BlockAdmin(ModelAdmin):
    form = BlockForm
    list_display = ["id", "client", "subscription", "reason", "source", "automatic", "effect_text", "holding",
                    "created_at", "lifted_at"]
    list_filter = ["reason", "source", "automatic", ("lifted_at", admin.EmptyFieldListFilter)]
    search_fields = ["client__name", "comment"]
    autocomplete_fields = ["client", "subscription"]
    actions = ["lift_selected"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["client", "subscription", "reason", "comment"]
        return ["client", "subscription", "reason", "source", "automatic", "effect_text", "debt", "comment",
                "created_at", "created_by", "lifted_at", "lifted_by", "lift_comment"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else self.get_fields(request, obj)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"client": request.GET.get("client"), "subscription": request.GET.get("subscription")}

    @admin.display(description=_("billing while blocked"))
    def effect_text(self, obj: Block) -> str:
        from kopeck.configuration.models import BlockEffect

        return str(dict(BlockEffect.choices).get(obj.effect, obj.effect))

    @admin.display(description=_("holds"), boolean=True)
    def holding(self, obj: Block) -> bool:
        return obj.lifted_at is None

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Block, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            block = services.block_place(actor=admin_actor(request), client=data["client"],
                                         subscription=data.get("subscription"), reason=data["reason"],
                                         comment=data.get("comment") or "")
        except KopeckError as exc:
            report_error(request, exc)
            raise
        obj.pk = block.pk

    @admin.action(description=_("Lift the selected blocks"), permissions=["view"])
    def lift_selected(self, request: HttpRequest, queryset: QuerySet[Block]) -> None:
        lifted = 0
        for block in queryset.filter(lifted_at__isnull=True):
            try:
                services.block_lift(actor=admin_actor(request), block=block, comment=str(_("Lifted by hand")))
                lifted += 1
            except KopeckError as exc:
                report_error(request, exc)
        messages.success(request, _("Blocks lifted: %(count)s") % {"count": lifted})


class PromiseForm(forms.ModelForm):  # type: ignore[type-arg]
    amount = forms.DecimalField(label=_("amount"), min_value=0, decimal_places=2, max_digits=18)
    days = forms.IntegerField(label=_("days"), min_value=1, max_value=365)

    class Meta:
        model = Promise
        fields = ["client", "comment"]


@admin.register(Promise)
class PromiseAdmin(ModelAdmin):
    form = PromiseForm
    list_display = ["id", "client", "amount_text", "granted_on", "until", "status", "granted_by"]
    list_filter = ["status"]
    search_fields = ["client__name"]
    autocomplete_fields = ["client"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return ["client", "amount", "days", "comment"]
        return ["client", "amount_text", "granted_on", "until", "status", "ended_on", "comment", "granted_by"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [] if obj is None else self.get_fields(request, obj)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"client": request.GET.get("client")}

    @admin.display(description=_("amount"))
    def amount_text(self, obj: Promise) -> str:
        return money_cell(obj.amount_minor, obj.currency)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Promise, form: Any, change: bool) -> None:
        data = form.cleaned_data
        try:
            promise = services.promise_grant(actor=admin_actor(request), client=data["client"], amount=data["amount"],
                                             days=data["days"], comment=data.get("comment") or "")
        except KopeckError as exc:
            report_error(request, exc)
            raise
        obj.pk = promise.pk


@admin.register(CreditPolicy)
class CreditPolicyAdmin(ModelAdmin):
    list_display = ["client", "mode", "limit_kind", "credit_limit", "grace_days", "low_balance_amount",
                    "low_balance_days"]
    fields = ["client", "mode", "limit_kind", "credit_limit", "grace_days", "low_balance_amount", "low_balance_days"]
    autocomplete_fields = ["client"]
    search_fields = ["client__name"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["client"] if obj is not None else []

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"client": request.GET.get("client")}

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: CreditPolicy, form: Any, change: bool) -> None:
        fields = [f for f in self.fields if f != "client"]
        policy = services.credit_policy_set(actor=admin_actor(request), client=form.cleaned_data.get("client") or obj.client,
                                            **{f: form.cleaned_data[f] for f in fields})
        obj.pk = policy.pk


class StepRunInline(ReadOnlyTabularInline):
    model = StepRun
    fields = ["step", "action", "status", "due_on", "ran_on"]


@admin.register(Debt)
class DebtAdmin(ReadOnlyAdmin):
    list_display = ["id", "client", "status", "opened_on", "due_date", "limit_crossed_on", "amount_text", "closed_on"]
    list_filter = ["status"]
    search_fields = ["client__name"]
    fields = ["client", "status", "opened_on", "due_date", "limit_crossed_on", "amount_text", "closed_on"]
    readonly_fields = fields
    inlines = [StepRunInline]

    @admin.display(description=_("debt when opened"))
    def amount_text(self, obj: Debt) -> str:
        return money_cell(obj.amount_minor, obj.currency)


bo.nav_item("clients", _("Blocks"), model="credit.block", order=40, icon="block")
bo.nav_item("clients", _("Promised payments"), model="credit.promise", order=50, icon="handshake")
bo.nav_item("clients", _("Debts"), model="credit.debt", order=60, icon="money_off")
bo.nav_item("settings", _("Dunning ladder"), model="credit.dunningstep", order=15, icon="stairs")
bo.nav_item("settings", _("Credit policies of clients"), model="credit.creditpolicy", order=16, icon="credit_score")


def _client_blocks(request: HttpRequest, client: Client) -> str | None:
    """The client page's "Blocks" tab: credit state, the ladder with dates, blocks, promises."""
    if not request.user.has_perm("credit.view_block"):
        return None
    on = provider_today()
    state = selectors.credit_state(client, on)
    cur = state.currency

    def money(minor: int | None) -> str:
        return display.minor_text(minor, cur) if minor is not None else str(_("no limit"))

    facts = [
        (_("Payment terms"), _("Prepaid") if state.policy.mode == "prepaid" else _("Postpaid")),
        (_("Balance"), money(state.balance_minor)),
        (_("Credit limit"), money(state.policy.limit_minor)),
        (_("Overdue"), money(state.overdue_minor)),
        (_("Promised payment"), money(state.promised_minor)),
        (_("Grace period, days"), state.policy.grace_days),
    ]
    if state.days_left is not None:
        facts.append((_("Days left at the forecast daily cost"), state.days_left))
    status_labels = {"done": pgettext("dunning step", "done"), "skipped": pgettext("dunning step", "skipped"),
                     "next": pgettext("dunning step", "next"), "planned": pgettext("dunning step", "planned"),
                     "not_applicable": pgettext("dunning step", "does not apply")}
    ladder = [(line.step.name, line.step.get_action_display(),
               display.date_text(line.date) if line.date else "—", status_labels[line.status],
               display.date_text(line.ran_on) if line.ran_on else "—")
              for line in selectors.ladder_position(client, on)]
    blocks = [(format_html('<a href="{}">#{}</a>', reverse("admin:credit_block_change", args=[b.pk]), b.pk),
               f"#{b.subscription_id}" if b.subscription_id else _("the client"), b.get_reason_display(),
               b.get_source_display(), pgettext("block", "automatic") if b.automatic else pgettext("block", "manual"),
               display.datetime_text(b.created_at), b.comment or "—")
              for b in selectors.holding_blocks(client)]
    promises = [(display.minor_text(p.amount_minor, p.currency), display.date_text(p.granted_on),
                 display.date_text(p.until), p.get_status_display())
                for p in Promise.objects.filter(client=client).order_by("-id")[:5]]
    actions = []
    if request.user.has_perm("credit.add_block"):
        actions.append((f"{reverse('admin:credit_block_add')}?client={client.pk}", _("Block")))
    if request.user.has_perm("credit.add_promise"):
        actions.append((f"{reverse('admin:credit_promise_add')}?client={client.pk}", _("Grant a promised payment")))
    policy = CreditPolicy.objects.filter(client=client).first()
    if request.user.has_perm("credit.change_creditpolicy"):
        url = reverse("admin:credit_creditpolicy_change", args=[policy.pk]) if policy \
            else f"{reverse('admin:credit_creditpolicy_add')}?client={client.pk}"
        actions.append((url, _("Credit policy")))
    return render_to_string("credit/client_tab.html", {
        "facts": facts, "in_debt": state.in_debt, "covered": state.covered, "ladder": ladder, "blocks": blocks,
        "promises": promises, "actions": actions, "debt": (debt := selectors.open_debt(client)),
        "debt_opened": display.date_text(debt.opened_on) if debt else "",
        "blocks_url": f"{reverse('admin:credit_block_changelist')}?client__id__exact={client.pk}",
    })


bo.page_tab("clients.client", "blocks", _("Blocks"), _client_blocks, order=50,
            count=lambda client: Block.objects.filter(client=client, lifted_at__isnull=True).count())


