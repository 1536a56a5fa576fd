"""Gateways in the back office: the providers' settings (credentials write-only, the notification
addresses to give the provider), online payments (fetch the status now, refund), notifications with their
verdicts, saved methods (masked, removable), autopayments and their charges."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy
from unfold.widgets import UnfoldAdminPasswordWidget, UnfoldAdminTextareaWidget

from kopeck.common import backoffice as bo
from kopeck.common.admin import (
    ModelAdmin,
    ReadOnlyAdmin,
    ReadOnlyTabularInline,
    actor_cell,
    admin_actor,
    json_block,
    money_cell,
    report_error,
)
from kopeck.common.errors import KopeckError
from kopeck.core.money import from_minor
from kopeck.gateways import autopay, services
from kopeck.gateways.messages import event_label, told_html
from kopeck.gateways.models import (
    Autopay,
    AutopayCharge,
    GatewayPayment,
    GatewayRefund,
    GatewaySetting,
    Notification,
    SavedMethod,
)
from kopeck.gateways.providers import provider

CREDENTIALS: dict[str, tuple[str, ...]] = {
    "yookassa": ("secret_key",), "robokassa": ("password1", "password2", "test_password1", "test_password2"),
    "cloudpayments": ("api_secret",), "yoomoney": ("notification_secret",), "paypal": ("client_id", "client_secret"),
    "qiwi": ("secret_key",),
}
CREDENTIAL_LABELS = {
    "secret_key": _("Secret key"), "password1": _("Password #1"), "password2": _("Password #2"),
    "test_password1": _("Test password #1"), "test_password2": _("Test password #2"),
    "api_secret": _("API password"), "notification_secret": _("Notification secret"),
    "client_id": _("Client ID"), "client_secret": _("Client secret"),
}
KINDS = {"cloudpayments": ("check", "pay", "fail", "confirm", "refund", "recurrent", "cancel")}
# the gateways' system actors as a page names them (kopeck.common.display.actor_text: «Система: автоплатежи»)
SYSTEM_ACTORS = (pgettext_lazy("system actor", "gateways"), pgettext_lazy("system actor", "autopay"))


class _GatewaySettingForm(forms.ModelForm):  # type: ignore[type-arg]
    options = forms.JSONField(label=_("Options"), required=False, initial=dict,
                              widget=UnfoldAdminTextareaWidget(attrs={"rows": 6}),
                              help_text=_("Settings that are not secret, as JSON: shop ID, login, hash algorithm, "
                                          "tax system, receipts, allowed addresses (see the documentation)."))

    class Meta:
        model = GatewaySetting
        fields = ["provider", "name", "legal_entity", "is_live", "is_enabled", "options"]


    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        code = data.get("provider")
        if code and data.get("is_enabled") and provider(code).disabled_reason:
            self.add_error("is_enabled", str(provider(code).disabled_reason))
        if data.get("options") is None:
            data["options"] = {}
        elif not isinstance(data.get("options"), dict):
            self.add_error("options", _("Options are a JSON object."))
        return data


# the credential fields are declared on the class (the admin builds its form from the field sets)
GatewaySettingForm = type("GatewaySettingForm", (_GatewaySettingForm,), {
    f"cred_{name}": forms.CharField(label=label, required=False, strip=True,
                                    widget=UnfoldAdminPasswordWidget(render_value=False))
    for name, label in CREDENTIAL_LABELS.items()})


@admin.register(GatewaySetting)
class GatewaySettingAdmin(ModelAdmin):
    form = GatewaySettingForm
    list_display = ["name", "provider", "legal_entity", "is_live", "is_enabled"]
    list_filter = ["provider", "is_live", "is_enabled"]
    readonly_fields = ["notification_urls", "stored_credentials", "note"]

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        creds = [f"cred_{n}" for n in CREDENTIAL_LABELS]
        main = ["provider", "name", "legal_entity", "is_live", "is_enabled", "options"]
        sets: list[Any] = [(None, {"fields": main}), (_("Credentials"), {
            "fields": creds, "description": _("Only those of the chosen provider are kept. Stored encrypted; leave "
                                              "a field empty to keep the stored value.")})]
        if obj is not None:
            sets.append((_("For the provider's dashboard"), {"fields": ["notification_urls", "stored_credentials",
                                                                      "note"]}))
        return sets

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and (obj is None or not obj.payments.exists())

    @admin.display(description=_("notification addresses"))
    def notification_urls(self, obj: GatewaySetting) -> str:
        base = f"/gateways/{obj.provider}/{obj.pk}/"
        paths = [f"{base}{k}/" for k in KINDS.get(obj.provider, ())] or [base]
        return format_html_join("", "<div><code>{}</code></div>", ((p,) for p in paths))

    @admin.display(description=_("stored credentials"))
    def stored_credentials(self, obj: GatewaySetting) -> str:
        try:
            names = sorted(services.config_of(obj).credentials)
        except Exception:
            return str(_("cannot be decrypted with the current key"))
        return ", ".join(str(CREDENTIAL_LABELS.get(n, n)) for n in names) or "—"

    @admin.display(description=_("note"))
    def note(self, obj: GatewaySetting) -> str:
        return str(provider(obj.provider).disabled_reason or "—")

    def save_model(self, request: HttpRequest, obj: GatewaySetting, form: Any, change: bool) -> None:
        names = CREDENTIALS.get(obj.provider, ())
        creds = {n: form.cleaned_data.get(f"cred_{n}") or "" for n in names}
        try:
            services.setting_save(actor=admin_actor(request), setting=obj, credentials=creds)
        except KopeckError as exc:
            report_error(request, exc)


class RefundInline(ReadOnlyTabularInline):
    model = GatewayRefund
    fields = ("created_at", "amount", "status", "provider_refund_id", "reason", "created_by_text")
    readonly_fields = fields

    @admin.display(description=_("created by"))
    def created_by_text(self, obj: GatewayRefund) -> str:
        return actor_cell(obj.created_by)

    @admin.display(description=_("amount"))
    def amount(self, obj: GatewayRefund) -> str:
        return money_cell(obj.amount_minor, obj.payment.currency)


@admin.register(GatewayPayment)
class GatewayPaymentAdmin(ReadOnlyAdmin):
    list_display = ["order_id", "created_at", "client", "invoice", "amount", "setting", "status", "credited_at"]
    list_filter = ["status", "setting", "is_test", "created_at"]
    search_fields = ["order_id", "provider_payment_id", "client__name"]
    date_hierarchy = "created_at"
    readonly_fields = ("order_id", "setting", "client", "invoice", "amount", "status", "provider_payment_id",
                       "confirmation_url", "is_test", "saved_method", "credited_at", "credit_link", "failure_text",
                       "receipt_block", "notifications_link", "created_by_text", "created_at", "updated_at")
    fields = readonly_fields
    inlines = [RefundInline]
    actions = ["fetch_status", "send_final_receipt"]
    list_per_page = 50

    @admin.display(description=_("amount"))
    def amount(self, obj: GatewayPayment) -> str:
        return money_cell(obj.amount_minor, obj.currency)

    @admin.display(description=_("credit"))
    def credit_link(self, obj: GatewayPayment) -> str:
        """The payment of kopeck.payments that credited it (``payment:<id>``), as a link."""
        kind, _sep, pk = obj.credit_ref.partition(":")
        if kind != "payment" or not pk.isdigit():
            return obj.credit_ref or "—"
        url = reverse("admin:payments_payment_change", args=[int(pk)])
        return format_html('<a href="{}">{}</a>', url, _("Payment No. %(id)s") % {"id": pk})

    @admin.display(description=_("created by"))
    def created_by_text(self, obj: GatewayPayment) -> str:
        return actor_cell(obj.created_by)

    @admin.display(description=_("failure reason"))
    def failure_text(self, obj: GatewayPayment) -> str:
        return told_html(obj.failure_reason) or "—"

    @admin.display(description=_("receipt"))
    def receipt_block(self, obj: GatewayPayment) -> str:
        return json_block(obj.receipt) if obj.receipt else "—"

    @admin.display(description=_("notifications"))
    def notifications_link(self, obj: GatewayPayment) -> str:
        url = reverse("admin:gateways_notification_changelist") + f"?payment__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("notifications"))

    def has_fetch_status_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("gateways.change_gatewaypayment"))

    @admin.action(description=_("Ask the provider for the status now"), permissions=["fetch_status"])
    def fetch_status(self, request: HttpRequest, queryset: QuerySet[GatewayPayment]) -> None:
        credited = 0
        for payment in queryset.select_related("setting", "client"):
            outcome = services.payment_fetch(payment=payment, actor=admin_actor(request))
            credited += outcome.reason == "credited"
        messages.info(request, ngettext("%(count)d payment credited.", "%(count)d payments credited.", credited)
                      % {"count": credited})


    def has_send_final_receipt_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("gateways.change_gatewaypayment"))

    @admin.action(description=_("Send the final receipt (full payment: the service is delivered)"),
                  permissions=["send_final_receipt"])
    def send_final_receipt(self, request: HttpRequest, queryset: QuerySet[GatewayPayment]) -> None:
        sent = 0
        for payment in queryset.select_related("setting", "client", "invoice"):
            try:
                services.final_receipt_send(actor=admin_actor(request), payment=payment)
                sent += 1
            except KopeckError as exc:
                report_error(request, exc)
        messages.info(request, ngettext("%(count)d receipt sent.", "%(count)d receipts sent.", sent) % {"count": sent})


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "provider", "setting", "event_code", "transaction_code", "verdict", "reason",
                    "payment", "answer_status"]
    list_filter = ["verdict", "reason", "provider", "setting", "received_at"]
    search_fields = ["transaction_id", "payment__order_id"]
    date_hierarchy = "received_at"
    readonly_fields = ("received_at", "provider", "setting", "kind_code", "event_code", "transaction_code", "payment",
                       "verdict", "reason", "detail_text", "remote_addr", "headers_block", "body_block", "answer_status",
                       "answer_code", "decided_at", "verified_block", "settle_after")
    fields = readonly_fields
    list_per_page = 50
    show_full_result_count = False

    @admin.display(description=_("detail"))
    def detail_text(self, obj: Notification) -> str:
        return told_html(obj.detail) or "—"

    # the provider's own identifiers, shown as code (they are not Kopeck's words)
    @admin.display(description=_("kind"))
    def kind_code(self, obj: Notification) -> str:
        return format_html('<code class="kopeck-code">{}</code>', obj.kind) if obj.kind else "—"

    @admin.display(description=_("event"), ordering="event")
    def event_code(self, obj: Notification) -> str:
        """The event by its meaning; the provider's code beside it where it differs (kopeck.gateways.messages)."""
        if not obj.event:
            return "—"
        label = event_label(obj.event)
        if label == obj.event:
            return format_html('<code class="kopeck-code">{}</code>', obj.event)
        return format_html('{} <code class="kopeck-code">{}</code>', label, obj.event)

    @admin.display(description=_("provider's transaction"), ordering="transaction_id")
    def transaction_code(self, obj: Notification) -> str:
        return format_html('<code class="kopeck-code">{}</code>', obj.transaction_id) if obj.transaction_id else "—"

    @admin.display(description=_("answer"))
    def answer_code(self, obj: Notification) -> str:
        return format_html('<code class="kopeck-code">{}</code>', obj.answer) if obj.answer else "—"

    @admin.display(description=_("headers"))
    def headers_block(self, obj: Notification) -> str:
        return json_block(obj.headers)

    @admin.display(description=_("verified facts"))
    def verified_block(self, obj: Notification) -> str:
        """What the verification proved, kept for the settlement worker (a saved card's token never shown)."""
        facts = {k: v for k, v in (obj.verified or {}).items() if k != "saved"}
        if (obj.verified or {}).get("saved"):
            facts["saved"] = obj.verified["saved"].get("title", "")
        return json_block(facts) if facts else "—"

    @admin.display(description=_("body"))
    def body_block(self, obj: Notification) -> str:
        return format_html('<pre class="kopeck-code" style="white-space: pre-wrap; word-break: break-all">{}</pre>',
                           obj.body)


@admin.register(SavedMethod)
class SavedMethodAdmin(ReadOnlyAdmin):
    list_display = ["title", "client", "setting", "is_active", "created_at", "removed_at"]
    list_filter = ["is_active", "setting"]
    search_fields = ["client__name", "title"]
    readonly_fields = ("client", "setting", "title", "is_active", "created_at", "removed_at")
    fields = readonly_fields
    actions = ["remove"]

    def has_remove_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("gateways.change_savedmethod"))

    @admin.action(description=_("Remove the selected methods (they are never charged again)"),
                  permissions=["remove"])
    def remove(self, request: HttpRequest, queryset: QuerySet[SavedMethod]) -> None:
        count = 0
        for method in queryset.filter(is_active=True):
            services.saved_method_remove(actor=admin_actor(request), method=method)
            count += 1
        messages.success(request, ngettext("%(count)d method removed.", "%(count)d methods removed.", count)
                         % {"count": count})


class AutopayForm(forms.ModelForm):  # type: ignore[type-arg]
    threshold = forms.DecimalField(label=_("Balance threshold"), required=False, min_value=Decimal("0"),
                                   decimal_places=2, help_text=_("Top up when the balance falls below it."))
    top_up = forms.DecimalField(label=_("Top-up amount"), required=False, min_value=Decimal("0.01"),
                                decimal_places=2)

    class Meta:
        model = Autopay
        fields = ["client", "method", "on_invoice"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["method"].queryset = SavedMethod.objects.filter(is_active=True)  # type: ignore[attr-defined]
        if self.instance.pk and self.instance.threshold_minor is not None:
            cur = self.instance.client.currency
            self.initial["threshold"] = from_minor(self.instance.threshold_minor, cur).amount
            self.initial["top_up"] = from_minor(self.instance.top_up_minor or 0, cur).amount


@admin.register(Autopay)
class AutopayAdmin(ModelAdmin):
    form = AutopayForm
    list_display = ["client", "method", "is_enabled", "on_invoice", "threshold", "updated_at"]
    list_filter = ["is_enabled", "on_invoice"]
    search_fields = ["client__name"]
    autocomplete_fields = ["client"]
    actions = ["turn_off"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description=_("balance threshold"))
    def threshold(self, obj: Autopay) -> str:
        return money_cell(obj.threshold_minor, obj.client.currency) if obj.threshold_minor is not None else "—"

    def save_model(self, request: HttpRequest, obj: Autopay, form: Any, change: bool) -> None:
        try:
            saved = autopay.autopay_enable(actor=admin_actor(request), client=form.cleaned_data["client"],
                                           method=form.cleaned_data["method"], on_invoice=form.cleaned_data["on_invoice"],
                                           threshold=form.cleaned_data.get("threshold"),
                                           top_up=form.cleaned_data.get("top_up"))
        except KopeckError as exc:
            report_error(request, exc)
            return
        obj.pk = saved.pk

    @admin.action(description=_("Turn autopay off"))
    def turn_off(self, request: HttpRequest, queryset: QuerySet[Autopay]) -> None:
        for item in queryset.filter(is_enabled=True):
            autopay.autopay_disable(actor=admin_actor(request), autopay=item)


@admin.register(AutopayCharge)
class AutopayChargeAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "autopay", "invoice", "amount", "status", "attempts", "next_attempt_at",
                    "last_error_text"]
    list_filter = ["status", "created_at"]
    readonly_fields = ("autopay", "invoice", "amount", "status", "attempts", "next_attempt_at", "last_error_text",
                       "payment", "created_at")
    fields = readonly_fields

    @admin.display(description=_("amount"))
    def amount(self, obj: AutopayCharge) -> str:
        return money_cell(obj.amount_minor, obj.currency)

    @admin.display(description=_("last error"))
    def last_error_text(self, obj: AutopayCharge) -> str:
        return told_html(obj.last_error) or "—"


bo.nav_item("payments", _("Online payments"), model="gateways.gatewaypayment", order=20, icon="credit_card")
bo.nav_item("payments", _("Gateway notifications"), model="gateways.notification", order=30, icon="notifications",
            badge=lambda request: Notification.objects.filter(verdict="refused").exclude(
                reason__in=["signature", "ip", "malformed"]).count() or None)
bo.nav_item("payments", _("Autopayments"), model="gateways.autopay", order=40, icon="autorenew")
bo.nav_item("payments", _("Autopayment charges"), model="gateways.autopaycharge", order=41, icon="event_repeat")
bo.nav_item("payments", _("Saved payment methods"), model="gateways.savedmethod", order=42, icon="wallet")
bo.nav_item("settings", _("Payment gateways"), model="gateways.gatewaysetting", order=40, icon="account_balance")
