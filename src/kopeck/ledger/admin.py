from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kopeck.clients.models import Client
from kopeck.common import backoffice as bo
from kopeck.common import display
from kopeck.common.admin import (
    ReadOnlyAdmin,
    TabularInline,
    actor_cell,
    admin_actor,
    contribute_field,
    contributed_field,
    labelled_filter,
    money_cell,
    report_error,
)
from kopeck.common.errors import KopeckError
from kopeck.configuration.selectors import billing_settings, provider_today, provider_zone
from kopeck.core.calendar import start_of_local_day
from kopeck.core.ledger import INTERNAL_OPERATIONS, Operation
from kopeck.core.money import Currency
from kopeck.core.vat import VatRate
from kopeck.ledger import selectors, services
from kopeck.ledger.models import OPERATION_CHOICES, Account, JournalTransaction, Posting
from kopeck.ledger.selectors import client_balance


class PostingInline(TabularInline):
    model = Posting
    fields = ("account", "amount", "recorded_at")
    readonly_fields = fields

    @admin.display(description=_("amount (debit +)"))
    def amount(self, obj: Posting) -> str:
        return money_cell(obj.amount_minor, obj.currency)
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "role", "currency", "client", "sum_of_postings"]
    fields = ["__str__", "role", "currency", "client", "sum_of_postings"]
    readonly_fields = fields
    list_filter = ["role", "currency"]
    search_fields = ["code"]

    @admin.display(description=_("sum of postings (debit +)"))
    def sum_of_postings(self, obj: Account) -> str:
        total = obj.postings.aggregate(t=Sum("amount_minor"))["t"] or 0
        return money_cell(total, obj.currency)


ACTOR_KINDS = {"operator": _("operator"), "api_key": _("API key"), "system": _("system")}


class OperationForm(forms.Form):
    client = forms.ModelChoiceField(label=_("client"), queryset=Client.objects.all())
    operation = forms.ChoiceField(label=_("operation"), choices=[c for c in OPERATION_CHOICES
                                                                  if c[0] not in INTERNAL_OPERATIONS])
    amount = forms.DecimalField(label=_("amount"), min_value=0, decimal_places=3)
    reason = forms.CharField(label=_("reason"), max_length=500)
    source_ref = forms.CharField(label=_("source reference"), max_length=200, required=False)
    vat_rate = forms.ChoiceField(label=_("VAT rate (charges)"), required=False,
                                 choices=[("", "—")] + [(r.value, r.label_ru) for r in VatRate])


class ReverseForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=500)


@admin.register(JournalTransaction)
class JournalTransactionAdmin(ReadOnlyAdmin):
    list_display = ["id", "recorded_at", "client", "operation", "amount", "reason_text", "actor", "reverses"]

    @admin.display(description=_("who"), ordering="actor_label")
    def actor(self, obj: JournalTransaction) -> str:
        return actor_cell(obj.actor_label, obj.actor_kind)

    @admin.display(description=_("reason"), ordering="reason")
    def reason_text(self, obj: JournalTransaction) -> str:
        return display.polish(obj.reason)
    list_filter = ["operation", "currency",
                   labelled_filter("actor_kind", _("actor kind"), lambda v: ACTOR_KINDS.get(v, v))]
    search_fields = ["reason", "source_ref", "client__name"]
    inlines = [PostingInline]
    fields = ["recorded_at", "client", "operation", "amount", "vat_rate", "vat", "reason_text", "source_ref", "actor",
              "reverses", "explanation_text", "documents_links"]
    readonly_fields = fields

    @admin.display(description=_("VAT"))
    def vat(self, obj: JournalTransaction) -> str:
        return money_cell(obj.vat_minor, obj.currency)

    @admin.display(description=_("explanation"))
    def explanation_text(self, obj: JournalTransaction) -> str:
        data = obj.explanation or {}
        english = (get_language() or "").startswith("en")
        text = display.polish(str((data.get("en") or data.get("ru")) if english else (data.get("ru") or data.get("en")) or "—"))
        formula = data.get("formula")
        return format_html('{}<br><code class="kopeck-code">{}</code>', text, formula) if formula else text
    change_list_template = "admin/ledger/journaltransaction/change_list.html"

    @admin.display(description=_("documents"))
    def documents_links(self, obj: JournalTransaction) -> str:
        return contributed_field(obj, "documents")  # the documents fill it (kopeck.documents.admin)

    @admin.display(description=_("amount"), ordering="amount_minor")
    def amount(self, obj: JournalTransaction) -> str:
        return money_cell(obj.amount_minor, obj.currency)

    def get_urls(self) -> list[Any]:
        return [
            path("post/", self.admin_site.admin_view(self.post_view), name="ledger_journaltransaction_post"),
            path("<int:pk>/reverse/", self.admin_site.admin_view(self.reverse_view),
                 name="ledger_journaltransaction_reverse"),
            path("statement/<int:client_id>/", self.admin_site.admin_view(self.statement_view),
                 name="ledger_journaltransaction_statement"),
            *super().get_urls(),
        ]

    def has_write_permission(self, request: HttpRequest) -> bool:
        """Posting and reversing need write access to the ledger (the transactions themselves are
        never added, changed or deleted as model rows)."""
        return request.user.has_perm("ledger.add_journaltransaction")

    def _require_write(self, request: HttpRequest) -> None:
        if not self.has_write_permission(request):
            raise PermissionDenied

    def post_view(self, request: HttpRequest) -> HttpResponse:
        """Post a credit or a debit through the ledger service."""
        self._require_write(request)
        form = OperationForm(request.POST or None, initial={"client": request.GET.get("client")})
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            try:
                txn = services.ledger_operation_post(
                    actor=admin_actor(request), client=d["client"], operation=d["operation"],
                    amount=str(d["amount"]), reason=d["reason"], source_ref=d["source_ref"] or "",
                    vat_rate=d["vat_rate"] or None)
            except KopeckError as exc:
                for field, msgs in exc.errors.items():
                    form.add_error(field if field in form.fields else None, msgs)
            else:
                messages.success(request, _("Transaction #%(id)s posted.") % {"id": txn.pk})
                return HttpResponseRedirect(reverse("admin:ledger_journaltransaction_change", args=[txn.pk]))
        context = {**self.admin_site.each_context(request), "form": form, "title": _("Post an operation"),
                   "opts": self.model._meta}
        return render(request, "admin/ledger/form.html", context)

    def reverse_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._require_write(request)
        txn = get_object_or_404(JournalTransaction, pk=pk)
        form = ReverseForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                rev = services.ledger_transaction_reverse(actor=admin_actor(request), transaction_id=txn.pk,
                                                          reason=form.cleaned_data["reason"])
            except KopeckError as exc:
                report_error(request, exc)
            else:
                messages.success(request, _("Transaction #%(id)s posted.") % {"id": rev.pk})
                return HttpResponseRedirect(reverse("admin:ledger_journaltransaction_change", args=[rev.pk]))
        context = {**self.admin_site.each_context(request), "form": form, "opts": self.model._meta,
                   "title": _("Reverse transaction #%(id)s") % {"id": txn.pk}}
        return render(request, "admin/ledger/form.html", context)

    def statement_view(self, request: HttpRequest, client_id: int) -> HttpResponse:
        client = get_object_or_404(Client, pk=client_id)
        today = provider_today()
        try:
            date_from = dt.date.fromisoformat(request.GET.get("date_from", ""))
        except ValueError:
            date_from = today.replace(day=1)
        try:
            date_to = dt.date.fromisoformat(request.GET.get("date_to", ""))
        except ValueError:
            date_to = today
        statement = selectors.client_statement(client, date_from=date_from, date_to=date_to)
        context = {**self.admin_site.each_context(request), "statement": statement, "opts": self.model._meta,
                   "title": _("Statement of %(client)s") % {"client": client}}
        return render(request, "admin/ledger/statement.html", context)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        extra_context = {**(extra_context or {}),
                         "reverse_url": reverse("admin:ledger_journaltransaction_reverse", args=[object_id])}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description=_("Reverse selected transactions"), permissions=["write"])
    def reverse_selected(self, request: HttpRequest, queryset: QuerySet[JournalTransaction]) -> None:
        for txn in queryset:
            try:
                services.ledger_transaction_reverse(actor=admin_actor(request), transaction_id=txn.pk,
                                                    reason=str(_("Reversed from the admin")))
            except KopeckError as exc:
                report_error(request, exc)

    actions = ["reverse_selected"]


contribute_field(Client, "balance", lambda client: display.money_text(client_balance(client)))


bo.nav_item("billing", _("Account operations"), model="ledger.journaltransaction", order=20, icon="receipt_long")
bo.nav_item("billing", _("Client accounts"), model="ledger.account", order=30, icon="account_balance_wallet")


def _client_operations(request: HttpRequest, client: Client) -> str | None:
    """The client page's "Operations" tab: the balance, the latest operations, post one, the statement."""
    if not request.user.has_perm("ledger.view_journaltransaction"):
        return None
    txns = list(JournalTransaction.objects.filter(client=client).order_by("-recorded_at", "-id")[:10])
    labels = dict(OPERATION_CHOICES)
    rows = [(format_html('<a href="{}">#{}</a>', reverse("admin:ledger_journaltransaction_change", args=[t.pk]), t.pk),
             display.datetime_text(t.recorded_at), labels.get(t.operation, t.operation),
             money_cell(t.amount_minor, t.currency), display.polish(t.reason)) for t in txns]
    actions = [(reverse("admin:ledger_journaltransaction_statement", args=[client.pk]), _("Statement"))]
    if request.user.has_perm("ledger.add_journaltransaction"):
        actions.insert(0, (f"{reverse('admin:ledger_journaltransaction_post')}?client={client.pk}", _("Post an operation")))
    return bo.panel_table(
        [_("operation"), _("when"), _("kind"), _("amount"), _("reason")], rows, actions=actions,
        note=_("Balance: %(amount)s") % {"amount": display.money_text(client_balance(client))},
        empty=_("No operations on the client's account yet."),
        more_url=f"{reverse('admin:ledger_journaltransaction_changelist')}?client__id__exact={client.pk}" if txns else "",
        more_text=_("All operations of the client"))


bo.page_tab("clients.client", "operations", _("Operations"), _client_operations, order=20)


def _months_chart(request: HttpRequest) -> bo.Chart | None:
    """Charged and received per month, the last six months, in the default currency."""
    if not request.user.has_perm("ledger.view_journaltransaction"):
        return None
    currency = billing_settings().default_currency
    today = provider_today()
    months: list[tuple[int, int]] = []
    year, month = today.year, today.month
    for _i in range(6):
        months.insert(0, (year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    start = dt.date(months[0][0], months[0][1], 1)
    tz = zoneinfo.ZoneInfo(provider_zone())
    rows = (JournalTransaction.objects.filter(currency=currency, recorded_at__gte=start_of_local_day(start, provider_zone()),
                                              operation__in=[Operation.CHARGE, Operation.ONE_OFF_CHARGE, Operation.PAYMENT,
                                                             Operation.SUSPENSE_ASSIGN])
            .annotate(month=TruncMonth("recorded_at", tzinfo=tz)).values("month", "operation")
            .annotate(total=Sum("amount_minor")))
    charged = dict.fromkeys(months, 0)
    paid = dict.fromkeys(months, 0)
    for row in rows:
        key = (row["month"].year, row["month"].month)
        if key in charged:
            target = paid if row["operation"] in (Operation.PAYMENT, Operation.SUSPENSE_ASSIGN) else charged
            target[key] += int(row["total"] or 0)
    scale = 10 ** Currency.of(currency).minor_units
    labels = [display.date_text(dt.date(y, m, 1))[3:] for y, m in months]  # "12.2026" / "2026-12"
    if (get_language() or "").startswith("en"):
        labels = [f"{y}-{m:02d}" for y, m in months]
    return bo.Chart(_("Charged and received per month, %(currency)s") % {"currency": currency}, labels,
                    [(_("charged"), [charged[k] / scale for k in months]), (_("received"), [paid[k] / scale for k in months])],
                    url=reverse("admin:ledger_journaltransaction_changelist"))


bo.dashboard_chart("ledger.months", _months_chart, order=10)
