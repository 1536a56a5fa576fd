"""Payments in the back office: payments (record one, refund, assign an unidentified one, allocate,
re-allocate, reverse), refunds, allocations, bank statements (upload with the preview, apply, their
lines), the payments settings; the client page's "Payments" tab, the sidebar and a dashboard card."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kopeck.clients.models import Client
from kopeck.common import backoffice as bo
from kopeck.common import display
from kopeck.common.admin import ModelAdmin, ReadOnlyAdmin, ReadOnlyTabularInline, admin_actor, money_cell
from kopeck.common.errors import KopeckError
from kopeck.documents.models import Document
from kopeck.payments import services
from kopeck.payments.methods import method_label, methods
from kopeck.payments.models import (
    AdvanceOffset,
    Allocation,
    BankStatement,
    LineOutcome,
    Payment,
    PaymentAdvance,
    PaymentSettings,
    PaymentStatus,
    Refund,
    StatementLine,
)
from kopeck.payments.statements.apply import bank_statement_apply
from kopeck.payments.statements.preview import bank_statement_preview

WRITE = "payments.add_payment"


def _form_page(request: HttpRequest, admin_site: Any, opts: Any, form: forms.Form, title: Any, *,
               intro: Any = "", submit: Any = "", multipart: bool = False) -> HttpResponse:
    context = {**admin_site.each_context(request), "form": form, "title": title, "opts": opts, "intro": intro,
               "submit": submit, "multipart": multipart}
    return render(request, "admin/payments/form.html", context)


def _errors_to_form(form: forms.Form, exc: KopeckError) -> None:
    if not exc.errors:
        form.add_error(None, exc.detail)
    for field, msgs in exc.errors.items():
        form.add_error(field if field in form.fields else None, msgs)


class PaymentForm(forms.Form):
    client = forms.ModelChoiceField(label=_("client"), queryset=Client.objects.all(), required=False,
                                    help_text=_("Empty: the payer is unknown and the payment waits as unidentified."))
    amount = forms.DecimalField(label=_("amount"), max_digits=17, decimal_places=2, min_value=0)
    date = forms.DateField(label=_("payment date"), required=False, help_text=_("Empty: today."))
    method = forms.ChoiceField(label=_("method"), choices=lambda: [(m.code, m.label) for m in methods()])
    payer_name = forms.CharField(label=_("payer"), max_length=500, required=False)
    payer_inn = forms.CharField(label=_("payer's ИНН"), max_length=12, required=False)
    purpose = forms.CharField(label=_("payment purpose"), max_length=2000, required=False,
                              widget=forms.Textarea(attrs={"rows": 2}))
    external_id = forms.CharField(label=_("external id"), max_length=200, required=False)


class RefundForm(forms.Form):
    amount = forms.DecimalField(label=_("amount"), max_digits=17, decimal_places=2, required=False,
                                help_text=_("Empty: all that is left of the payment."))
    reason = forms.CharField(label=_("reason"), max_length=500)


class AssignForm(forms.Form):
    client = forms.ModelChoiceField(label=_("client"), queryset=Client.objects.all())


class AllocateForm(forms.Form):
    document = forms.ModelChoiceField(label=_("invoice"), queryset=Document.objects.none(), required=False,
                                      help_text=_("Empty: automatically (the invoice named in the purpose, then "
                                                  "the oldest open ones)."))
    again = forms.BooleanField(label=_("release the current allocations first"), required=False)


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("reason"), max_length=500)


class UploadForm(forms.Form):
    file = forms.FileField(label=_("statement file"),
                           help_text=_("1CClientBankExchange (kl_to_1c.txt) from the bank's client program, "
                                       "version 1.02 or 1.03."))


class ExchangeForm(forms.Form):
    what = forms.ChoiceField(label=_("what"), choices=[
        ("enterprisedata", _("Period for 1С:Бухгалтерия (EnterpriseData, zip)")),
        ("refunds", _("Refunds as payment orders for the bank (1CClientBankExchange)"))])
    date_from = forms.DateField(label=_("from"))
    date_to = forms.DateField(label=_("to"))
    version = forms.CharField(label=_("EnterpriseData format version"), initial="1.17", max_length=10,
                              help_text=_("The version the 1C base accepts."))


class AllocationInline(ReadOnlyTabularInline):
    model = Allocation
    fields = ["document", "amount", "automatic", "created_at", "released_at", "release_reason"]
    readonly_fields = fields

    @admin.display(description=_("amount"))
    def amount(self, obj: Allocation) -> str:
        return money_cell(obj.amount_minor, obj.currency)


class RefundInline(ReadOnlyTabularInline):
    model = Refund
    fields = ["date", "amount", "reason", "transaction", "created_by"]
    readonly_fields = fields

    @admin.display(description=_("amount"))
    def amount(self, obj: Refund) -> str:
        return money_cell(obj.amount_minor, obj.currency)


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["number", "date", "client", "payer_name", "amount", "method_name", "status", "match_rule",
                    "unallocated"]
    list_filter = ["status", "match_rule", "date"]
    search_fields = ["payer_name", "payer_inn", "purpose", "external_id", "client__name"]
    list_select_related = ["client"]
    date_hierarchy = "date"
    inlines = [AllocationInline, RefundInline]
    fields = ["client", "amount", "date", "method_name", "status", "match_rule", "payer_name", "payer_inn",
              "payer_kpp", "payer_account", "payer_bik", "payer_bank", "purpose", "external_id", "refunded",
              "allocated", "unallocated", "transaction", "assign_transaction", "created_by", "created_at",
              "reversed_at", "reverse_reason", "advance_invoice", "operations"]
    readonly_fields = fields

    @admin.display(description=_("advance invoice-factura"))
    def advance_invoice(self, obj: Payment) -> str:
        adv = PaymentAdvance.objects.filter(payment=obj).select_related("document").first()
        if adv is None or adv.document is None:
            return adv.note if adv is not None else "—"
        return format_html('<a href="{}">№ {}</a>: {}, {} {}, {} {}',
                           reverse("admin:payments_paymentadvance_change", args=[adv.pk]), adv.document.number,
                           money_cell(adv.amount_minor, adv.currency), _("VAT"),
                           money_cell(adv.vat_minor, adv.currency), _("offset"),
                           money_cell(adv.offset_minor, adv.currency))

    def object_title(self, obj: Payment) -> str:
        return str(_("Payment № %(id)s of %(date)s") % {"id": obj.pk, "date": display.date_text(obj.date)})

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm(WRITE)

    @admin.display(description=_("number"), ordering="id")
    def number(self, obj: Payment) -> str:
        return f"№ {obj.pk}"

    @admin.display(description=_("amount"), ordering="amount_minor")
    def amount(self, obj: Payment) -> str:
        return money_cell(obj.amount_minor, obj.currency)

    @admin.display(description=pgettext_lazy("amount column", "refunded"))
    def refunded(self, obj: Payment) -> str:
        return money_cell(obj.refunded_minor, obj.currency)

    @admin.display(description=_("allocated to invoices"))
    def allocated(self, obj: Payment) -> str:
        return money_cell(obj.allocated_minor, obj.currency)

    @admin.display(description=_("advance (not allocated)"))
    def unallocated(self, obj: Payment) -> str:
        return money_cell(obj.unallocated_minor, obj.currency)

    @admin.display(description=_("method"), ordering="method")
    def method_name(self, obj: Payment) -> str:
        return method_label(obj.method)

    @admin.display(description=_("actions"))
    def operations(self, obj: Payment) -> str:
        links = []
        if obj.status == PaymentStatus.UNIDENTIFIED:
            links.append((reverse("admin:payments_payment_assign", args=[obj.pk]), _("Assign to a client")))
        if obj.status in (PaymentStatus.CREDITED, PaymentStatus.PARTLY_REFUNDED):
            links.append((reverse("admin:payments_payment_allocate", args=[obj.pk]), _("Allocate to invoices")))
        if obj.status in (PaymentStatus.UNIDENTIFIED, PaymentStatus.CREDITED, PaymentStatus.PARTLY_REFUNDED):
            links.append((reverse("admin:payments_payment_refund", args=[obj.pk]), pgettext_lazy("action", "Refund")))
        if obj.status != PaymentStatus.REVERSED and not obj.refunded_minor:
            links.append((reverse("admin:payments_payment_reverse", args=[obj.pk]), _("Reverse")))
        return format_html_join(" ", '<a class="kopeck-button" href="{}">{}</a>', links) or "—"

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [path("<int:pk>/refund/", view(self.refund_view), name="payments_payment_refund"),
                path("<int:pk>/assign/", view(self.assign_view), name="payments_payment_assign"),
                path("<int:pk>/allocate/", view(self.allocate_view), name="payments_payment_allocate"),
                path("<int:pk>/reverse/", view(self.reverse_view), name="payments_payment_reverse"),
                *super().get_urls()]

    def _require_write(self, request: HttpRequest) -> None:
        if not request.user.has_perm(WRITE):
            raise PermissionDenied

    def _done(self, request: HttpRequest, pay: Payment, text: Any) -> HttpResponse:
        messages.success(request, text)
        return HttpResponseRedirect(reverse("admin:payments_payment_change", args=[pay.pk]))

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        self._require_write(request)
        form = PaymentForm(request.POST or None, initial={"method": "manual", "client": request.GET.get("client")})
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            try:
                pay = services.payment_record(
                    actor=admin_actor(request), client=d["client"], amount=str(d["amount"]), date=d["date"],
                    method=d["method"], payer_name=d["payer_name"], payer_inn=d["payer_inn"], purpose=d["purpose"],
                    external_id=d["external_id"])
            except KopeckError as exc:
                _errors_to_form(form, exc)
            else:
                return self._done(request, pay, _("Payment № %(id)s recorded.") % {"id": pay.pk})
        return _form_page(request, self.admin_site, self.model._meta, form, _("Record a payment"))

    def refund_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._require_write(request)
        pay = get_object_or_404(Payment, pk=pk)
        form = RefundForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            try:
                services.payment_refund(actor=admin_actor(request), payment=pay, reason=d["reason"],
                                        amount=str(d["amount"]) if d["amount"] is not None else None)
            except KopeckError as exc:
                _errors_to_form(form, exc)
            else:
                return self._done(request, pay, _("The refund is recorded."))
        left = display.minor_text(pay.amount_minor - pay.refunded_minor, pay.currency)
        return _form_page(request, self.admin_site, self.model._meta, form,
                          _("Refund of payment № %(id)s") % {"id": pay.pk},
                          intro=_("Left to refund: %(amount)s.") % {"amount": left}, submit=pgettext_lazy("action", "Refund"))

    def assign_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._require_write(request)
        pay = get_object_or_404(Payment, pk=pk)
        form = AssignForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.payment_assign(actor=admin_actor(request), payment=pay, client=form.cleaned_data["client"])
            except KopeckError as exc:
                _errors_to_form(form, exc)
            else:
                return self._done(request, pay, _("The payment is assigned to the client."))
        return _form_page(request, self.admin_site, self.model._meta, form,
                          _("Assign payment № %(id)s to a client") % {"id": pay.pk},
                          intro=f"{pay.payer_name} {pay.payer_inn} — {pay.purpose}", submit=_("Assign"))

    def allocate_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._require_write(request)
        pay = get_object_or_404(Payment, pk=pk)
        form = AllocateForm(request.POST or None)
        field: Any = form.fields["document"]
        field.queryset = Document.objects.filter(client_id=pay.client_id or 0, type="invoice",
                                                 status__in=("issued", "partly_paid"))
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            try:
                if d["again"]:
                    services.payment_reallocate(actor=admin_actor(request), payment=pay, document=d["document"],
                                                reason=str(_("Re-allocated in the back office")))
                else:
                    services.payment_allocate(actor=admin_actor(request), payment=pay, document=d["document"])
            except KopeckError as exc:
                _errors_to_form(form, exc)
            else:
                return self._done(request, pay, _("The payment is allocated."))
        return _form_page(request, self.admin_site, self.model._meta, form,
                          _("Allocate payment № %(id)s") % {"id": pay.pk}, submit=_("Allocate"))

    def reverse_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self._require_write(request)
        pay = get_object_or_404(Payment, pk=pk)
        form = ReasonForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.payment_reverse(actor=admin_actor(request), payment=pay, reason=form.cleaned_data["reason"])
            except KopeckError as exc:
                _errors_to_form(form, exc)
            else:
                return self._done(request, pay, _("The payment is reversed."))
        return _form_page(request, self.admin_site, self.model._meta, form,
                          _("Reverse payment № %(id)s") % {"id": pay.pk},
                          intro=_("Its allocations are released and its ledger transactions reversed."),
                          submit=_("Reverse"))


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["id", "date", "payment", "amount", "reason", "created_by"]
    list_filter = ["date"]
    search_fields = ["reason", "payment__payer_name"]

    @admin.display(description=_("amount"), ordering="amount_minor")
    def amount(self, obj: Refund) -> str:
        return money_cell(obj.amount_minor, obj.currency)


class AdvanceOffsetInline(ReadOnlyTabularInline):
    model = AdvanceOffset
    fields = ["date", "shipment", "refund", "amount", "vat", "cancelled_at"]
    readonly_fields = fields

    @admin.display(description=_("amount"))
    def amount(self, obj: AdvanceOffset) -> str:
        return money_cell(obj.amount_minor, obj.currency)

    @admin.display(description=_("VAT accepted for deduction"))
    def vat(self, obj: AdvanceOffset) -> str:
        return money_cell(obj.vat_minor, obj.currency)


@admin.register(PaymentAdvance)
class PaymentAdvanceAdmin(ReadOnlyAdmin):
    list_display = ["payment", "client", "document", "amount", "vat", "offset", "offset_vat", "note"]
    list_select_related = ["payment", "client", "document"]
    search_fields = ["client__name", "document__number"]
    inlines = [AdvanceOffsetInline]
    fields = ["payment", "client", "document", "amount", "vat", "offset", "offset_vat", "note", "created_at"]
    readonly_fields = fields

    @admin.display(description=_("advance"), ordering="amount_minor")
    def amount(self, obj: PaymentAdvance) -> str:
        return money_cell(obj.amount_minor, obj.currency)

    @admin.display(description=_("VAT"))
    def vat(self, obj: PaymentAdvance) -> str:
        return money_cell(obj.vat_minor, obj.currency)

    @admin.display(description=_("offset"))
    def offset(self, obj: PaymentAdvance) -> str:
        return money_cell(obj.offset_minor, obj.currency)

    @admin.display(description=_("VAT accepted for deduction"))
    def offset_vat(self, obj: PaymentAdvance) -> str:
        return money_cell(obj.offset_vat_minor, obj.currency)


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdmin):
    list_display = ["id", "payment", "document", "amount", "automatic", "created_at", "released_at"]
    list_filter = ["automatic", "released_at"]

    @admin.display(description=_("amount"), ordering="amount_minor")
    def amount(self, obj: Allocation) -> str:
        return money_cell(obj.amount_minor, obj.currency)


OUTCOME_LABELS = dict(LineOutcome.choices)


@admin.register(BankStatement)
class BankStatementAdmin(ReadOnlyAdmin):
    list_display = ["file_name", "date_from", "date_to", "status", "created_at", "matched", "unidentified"]
    list_filter = ["status"]
    fields = ["file_name", "version", "encoding", "sender", "date_from", "date_to", "accounts_text", "status",
              "totals_table", "balances_text", "created_by", "created_at", "applied_by", "applied_at", "apply_button",
              "lines_table"]
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("payments.add_bankstatement")

    def _count(self, obj: BankStatement, outcome: str) -> int:
        return int((obj.totals.get(outcome) or {}).get("count", 0))

    @admin.display(description=_("matched"))
    def matched(self, obj: BankStatement) -> int:
        return self._count(obj, LineOutcome.MATCHED)

    @admin.display(description=_("unidentified"))
    def unidentified(self, obj: BankStatement) -> int:
        return self._count(obj, LineOutcome.UNIDENTIFIED)

    @admin.display(description=_("accounts"))
    def accounts_text(self, obj: BankStatement) -> str:
        return ", ".join(obj.accounts) or "—"

    @admin.display(description=_("totals"))
    def totals_table(self, obj: BankStatement) -> str:
        rows = [(OUTCOME_LABELS[o], (obj.totals.get(o) or {}).get("count", 0),
                 display.money_text((obj.totals.get(o) or {}).get("amount", "0.00"), "RUB")) for o in LineOutcome.values]
        return format_html('<table class="kopeck-table">{}</table>', format_html_join(
            "", "<tr><td>{}</td><td>{}</td><td class=\"kopeck-amount\">{}</td></tr>", rows))

    @admin.display(description=_("balances"))
    def balances_text(self, obj: BankStatement) -> str:
        if not obj.balances:
            return "—"
        return format_html_join(", ", "{} {} → {} {}", [
            (b.get("РасчСчет", ""), b.get("НачальныйОстаток", ""), b.get("КонечныйОстаток", ""),
             _("adds up") if b.get("adds_up") else _("does not add up")) for b in obj.balances])

    @admin.display(description=_("apply"))
    def apply_button(self, obj: BankStatement) -> str:
        if obj.status == "applied":
            return str(_("Applied."))
        return format_html('<a class="kopeck-button primary" href="{}">{}</a>',
                           reverse("admin:payments_bankstatement_apply", args=[obj.pk]), _("Apply the statement"))

    @admin.display(description=_("documents of the statement"))
    def lines_table(self, obj: BankStatement) -> str:
        lines = list(StatementLine.objects.filter(statement=obj).order_by("line")[:200])
        rows = [(ln.number, display.date_text(ln.date), ln.payer_name or "—", ln.payer_inn or "—",
                 money_cell(ln.amount_minor, ln.currency), OUTCOME_LABELS.get(ln.outcome, ln.outcome),
                 ln.get_match_rule_display() if ln.match_rule else "—", ln.client or "—", ln.note or "") for ln in lines]
        more = reverse("admin:payments_statementline_changelist") + f"?statement__id__exact={obj.pk}"
        return bo.panel_table([_("number"), _("date"), _("payer"), _("payer's ИНН"), _("amount"), _("outcome"),
                               _("how the payer was identified"), _("client"), _("note")], rows,
                              empty=_("No payment documents in the file."), more_url=more,
                              more_text=_("All documents of the statement"))

    def get_urls(self) -> list[Any]:
        return [path("<int:pk>/apply/", self.admin_site.admin_view(self.apply_view),
                     name="payments_bankstatement_apply"),
                path("exchange/", self.admin_site.admin_view(self.exchange_view), name="payments_bankstatement_exchange"),
                *super().get_urls()]

    def exchange_view(self, request: HttpRequest) -> HttpResponse:
        """Downloads for 1C and the bank: a period as EnterpriseData, refunds as payment orders."""
        if not request.user.has_perm("payments.view_payment"):
            raise PermissionDenied
        form = ExchangeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            d = form.cleaned_data
            try:
                if d["what"] == "enterprisedata":
                    from kopeck.payments.exchange.enterprisedata import enterprisedata_export

                    data = enterprisedata_export(date_from=d["date_from"], date_to=d["date_to"], version=d["version"])
                    response = HttpResponse(data, content_type="application/zip")
                    response["Content-Disposition"] = (f'attachment; filename="enterprisedata-{d["date_from"]}-'
                                                       f'{d["date_to"]}.zip"')
                    return response
                from kopeck.payments.statements.orders import refund_orders_file

                response = HttpResponse(refund_orders_file(date_from=d["date_from"], date_to=d["date_to"]),
                                        content_type="text/plain; charset=windows-1251")
                response["Content-Disposition"] = f'attachment; filename="refunds-{d["date_from"]}-{d["date_to"]}.txt"'
                return response
            except KopeckError as exc:
                _errors_to_form(form, exc)
        return _form_page(request, self.admin_site, self.model._meta, form, _("Exchange with 1C and the bank"),
                          submit=_("Download"))

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                st = bank_statement_preview(actor=admin_actor(request), stream=upload, file_name=upload.name)
            except KopeckError as exc:
                _errors_to_form(form, exc)
            else:
                messages.success(request, _("The statement is read: check the preview, then apply it."))
                return HttpResponseRedirect(reverse("admin:payments_bankstatement_change", args=[st.pk]))
        return _form_page(request, self.admin_site, self.model._meta, form, _("Upload a bank statement"),
                          submit=_("Upload"), multipart=True)

    def apply_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        st = get_object_or_404(BankStatement, pk=pk)
        form = forms.Form(request.POST or None)
        if request.method == "POST":
            try:
                bank_statement_apply(actor=admin_actor(request), statement=st)
            except KopeckError as exc:
                _errors_to_form(form, exc)
            else:
                messages.success(request, _("The statement is applied."))
                return HttpResponseRedirect(reverse("admin:payments_bankstatement_change", args=[st.pk]))
        return _form_page(request, self.admin_site, self.model._meta, form,
                          _("Apply the statement %(name)s") % {"name": st.file_name},
                          intro=_("Matched payments are credited to their clients, unidentified ones wait on the "
                                  "suspense account. A statement is applied once."), submit=_("Apply"))


@admin.register(StatementLine)
class StatementLineAdmin(ReadOnlyAdmin):
    list_display = ["line", "number", "date", "payer_name", "payer_inn", "amount", "outcome", "match_rule", "client",
                    "note"]
    list_filter = ["outcome", "match_rule", "direction"]
    search_fields = ["payer_name", "payer_inn", "purpose", "number"]
    list_select_related = ["client"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[StatementLine]:
        qs: QuerySet[StatementLine] = super().get_queryset(request)
        return qs.order_by("statement", "line")

    @admin.display(description=_("amount"), ordering="amount_minor")
    def amount(self, obj: StatementLine) -> str:
        return money_cell(obj.amount_minor, obj.currency)


@admin.register(PaymentSettings)
class PaymentSettingsAdmin(ModelAdmin):
    fields = ["auto_allocate", "advance_invoice_factura"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        PaymentSettings.objects.get_or_create(pk=1)
        return HttpResponseRedirect(reverse("admin:payments_paymentsettings_change", args=[1]))


def _unidentified_count(request: HttpRequest) -> int | None:
    return Payment.objects.filter(status=PaymentStatus.UNIDENTIFIED).count() or None


bo.nav_item("payments", _("Payments"), model="payments.payment", order=10, icon="payments",
            badge=_unidentified_count)  # the badge: unidentified payments waiting for an operator
bo.nav_item("payments", _("Bank statements"), model="payments.bankstatement", order=20, icon="upload_file")
bo.nav_item("payments", _("Refunds"), model="payments.refund", order=30, icon="undo")
bo.nav_item("payments", _("Advances (VAT)"), model="payments.paymentadvance", order=35, icon="receipt_long")
bo.nav_item("payments", _("Exchange with 1C"), url_name="admin:payments_bankstatement_exchange",
            permission="payments.view_payment", order=40, icon="sync_alt")
bo.nav_item("settings", _("Payment settings"), model="payments.paymentsettings", order=40, icon="tune")


def _unidentified_card(request: HttpRequest) -> bo.Card | None:
    if not request.user.has_perm("payments.view_payment"):
        return None
    count = Payment.objects.filter(status=PaymentStatus.UNIDENTIFIED).count()
    return bo.Card(_("Unidentified payments"), count,
                   url=reverse("admin:payments_payment_changelist") + "?status__exact=unidentified",
                   tone="attention" if count else "ok")


bo.dashboard_card("payments.unidentified", _unidentified_card, order=30)


def _client_payments(request: HttpRequest, client: Client) -> str | None:
    if not request.user.has_perm("payments.view_payment"):
        return None
    latest = list(Payment.objects.filter(client=client).order_by("-date", "-id")[:10])
    rows = [(format_html('<a href="{}">№ {}</a>', reverse("admin:payments_payment_change", args=[p.pk]), p.pk),
             display.date_text(p.date), money_cell(p.amount_minor, p.currency), method_label(p.method),
             PaymentStatus(p.status).label, money_cell(p.unallocated_minor, p.currency)) for p in latest]
    actions = [(f"{reverse('admin:payments_payment_add')}?client={client.pk}", _("Record a payment"))] \
        if request.user.has_perm(WRITE) else []
    return bo.panel_table([_("payment"), _("date"), _("amount"), _("method"), _("status"),
                           _("advance (not allocated)")], rows, actions=actions, empty=_("No payments yet."),
                          more_url=f"{reverse('admin:payments_payment_changelist')}?client__id__exact={client.pk}"
                          if latest else "", more_text=_("All payments of the client"))


bo.page_tab("clients.client", "payments", _("Payments"), _client_payments, order=40)
