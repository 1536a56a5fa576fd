"""Gateway settings (credentials encrypted at rest), Kopeck's own order records (GatewayPayment), the
notification store, refunds, saved payment methods and autopayments. Writes go through
kopeck.gateways.services."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _


class ProviderCode(models.TextChoices):
    YOOKASSA = "yookassa", _("YooKassa")
    ROBOKASSA = "robokassa", _("Robokassa")
    CLOUDPAYMENTS = "cloudpayments", _("CloudPayments")
    YOOMONEY = "yoomoney", _("YooMoney (quickpay)")
    PAYPAL = "paypal", _("PayPal")
    QIWI = "qiwi", _("Qiwi P2P (licence revoked)")


class GatewaySetting(models.Model):
    """One connection to a provider (a shop): several may be enabled at once, for one or several
    legal entities. ``credentials`` is a JSON object encrypted with kopeck.common.secrets; ``options``
    holds what is not secret (shop id, login, hash algorithm, tax system, allowed IP ranges…)."""

    provider = models.CharField(_("provider"), max_length=20, choices=ProviderCode.choices)
    name = models.CharField(_("name"), max_length=200)
    legal_entity = models.ForeignKey("documents.LegalEntity", verbose_name=_("legal entity"), null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="gateway_settings")
    is_live = models.BooleanField(_("live mode"), default=False,
                                  help_text=_("Off: the provider's test mode. On: real money; test notifications "
                                              "are refused."))
    is_enabled = models.BooleanField(_("enabled"), default=True)
    options = models.JSONField(_("options"), default=dict, blank=True)
    credentials_encrypted = models.TextField(_("credentials (encrypted)"), blank=True, default="")
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("payment gateway")
        verbose_name_plural = _("payment gateways")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class PaymentStatus(models.TextChoices):  # of an онлайн-платёж: «создан», «оплачен», «отклонён»
    CREATED = "created", pgettext_lazy("online payment status", "created")
    PENDING = "pending", pgettext_lazy("online payment status", "awaiting payment")
    AUTHORIZED = "authorized", pgettext_lazy("online payment status", "authorized, awaiting capture")
    SUCCEEDED = "succeeded", pgettext_lazy("online payment status", "paid")
    CANCELED = "canceled", pgettext_lazy("online payment status", "canceled")
    FAILED = "failed", pgettext_lazy("online payment status", "declined")


class GatewayPayment(models.Model):
    """Kopeck's own record of an order sent to a provider: every notification is checked against it
    (order, amount, currency) before anything is credited."""

    setting = models.ForeignKey(GatewaySetting, verbose_name=_("gateway"), on_delete=models.PROTECT,
                                related_name="payments")
    client = models.ForeignKey("clients.Client", verbose_name=_("client"), on_delete=models.PROTECT,
                               related_name="gateway_payments")
    invoice = models.ForeignKey("documents.Document", verbose_name=_("invoice"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="gateway_payments")
    order_id = models.CharField(_("order"), max_length=64, unique=True)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    description = models.CharField(_("description"), max_length=250, blank=True, default="")
    status = models.CharField(_("status"), max_length=12, choices=PaymentStatus.choices,
                              default=PaymentStatus.CREATED)
    provider_payment_id = models.CharField(_("provider's payment id"), max_length=100, blank=True, default="")
    confirmation_url = models.CharField(_("payment page"), max_length=2000, blank=True, default="")
    widget = models.JSONField(_("widget parameters"), default=dict, blank=True)
    receipt = models.JSONField(_("receipt"), default=dict, blank=True)
    is_test = models.BooleanField(_("test"), default=False)
    save_method = models.BooleanField(_("save the method"), default=False)
    saved_method = models.ForeignKey("SavedMethod", verbose_name=_("saved method"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="payments")
    credited_at = models.DateTimeField(_("credited at"), null=True, blank=True)
    credit_ref = models.CharField(_("credit"), max_length=100, blank=True, default="")
    failure_reason = models.CharField(_("failure reason"), max_length=500, blank=True, default="")
    created_by = models.CharField(_("created by"), max_length=200)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("online payment")
        verbose_name_plural = _("online payments")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="gateway_payment_status"),
                   models.Index(fields=["setting", "provider_payment_id"], name="gateway_payment_provider_id")]

    def __str__(self) -> str:
        return self.order_id


class Verdict(models.TextChoices):  # of an уведомление: «принято», «отклонено»
    RECEIVED = "received", pgettext_lazy("notification verdict", "received, not checked yet")
    QUEUED = "queued", pgettext_lazy("notification verdict", "accepted, awaiting settlement")
    ACCEPTED = "accepted", pgettext_lazy("notification verdict", "accepted")
    DUPLICATE = "duplicate", pgettext_lazy("notification verdict", "duplicate")
    IGNORED = "ignored", pgettext_lazy("notification verdict", "ignored")
    REFUSED = "refused", pgettext_lazy("notification verdict", "refused")


class Reason(models.TextChoices):  # why a notification got its verdict (stored as the code, shown by its label)
    NONE = "", _("—")
    CREDITED = "credited", pgettext_lazy("notification reason", "credited")
    STATUS = "status", _("status recorded")
    SIGNATURE = "signature", _("signature does not match")
    IP = "ip", _("sender's address not allowed")
    MALFORMED = "malformed", _("malformed body")
    UNKNOWN_ORDER = "unknown_order", _("unknown order")
    AMOUNT = "amount", _("amount differs from the order")
    CURRENCY = "currency", _("currency differs from the order")
    TEST_ON_LIVE = "test_on_live", _("test notification on a live gateway")
    REPLAY = "replay", _("replay of an old notification")
    ALREADY_PAID = "already_paid", _("order already paid by another transaction")
    DISABLED = "disabled", _("gateway disabled")
    NOT_FOUND = "not_found", _("payment not found at the provider")
    PROVIDER_ERROR = "provider_error", _("provider unreachable")
    REFUSED_PROTECTION = "protection", _("payment under protection code")
    UNACCEPTED = "unaccepted", _("transfer not accepted yet")


class Notification(models.Model):
    """A notification as received: stored (raw body, headers, sender) with the verdict of its
    verification in one insert, before anything is acted on. A verified notification that moves money
    is stored ``queued`` ("accepted, awaiting settlement") with what its verification proved
    (``verified``); the settlement worker (kopeck.gateways.notifications) turns it into ``accepted``
    (credited, status recorded), ``duplicate`` or ``refused``. Idempotent by the provider's transaction
    id: a unique index lets one notification of a (setting, transaction, event) be queued or accepted."""

    setting = models.ForeignKey(GatewaySetting, verbose_name=_("gateway"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="notifications")
    provider = models.CharField(_("provider"), max_length=20, choices=ProviderCode.choices)
    kind = models.CharField(_("kind"), max_length=30, blank=True, default="")
    received_at = models.DateTimeField(_("received at"))
    remote_addr = models.CharField(_("sender's address"), max_length=45, blank=True, default="")
    headers = models.JSONField(_("headers"), default=dict)
    body = models.TextField(_("body"), blank=True, default="")
    transaction_id = models.CharField(_("provider's transaction"), max_length=100, blank=True, default="")
    event = models.CharField(_("event"), max_length=60, blank=True, default="")
    payment = models.ForeignKey(GatewayPayment, verbose_name=_("online payment"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="notifications")
    verdict = models.CharField(_("verdict"), max_length=10, choices=Verdict.choices, default=Verdict.RECEIVED)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, blank=True, default="")
    detail = models.CharField(_("detail"), max_length=500, blank=True, default="")
    answer_status = models.PositiveSmallIntegerField(_("answer code"), null=True, blank=True)
    answer = models.CharField(_("answer"), max_length=200, blank=True, default="")
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    verified = models.JSONField(_("verified facts"), default=dict, blank=True)
    settle_after = models.DateTimeField(_("settle after"), null=True, blank=True)

    class Meta:
        verbose_name = _("gateway notification")
        verbose_name_plural = _("gateway notifications")
        ordering = ["-id"]
        indexes = [models.Index(fields=["setting", "transaction_id"], name="gateway_notification_txn"),
                   models.Index(fields=["verdict", "received_at"], name="gateway_notification_verdict"),
                   models.Index(fields=["id"], condition=models.Q(verdict="queued"), name="gateway_notification_queue")]
        constraints = [models.UniqueConstraint(
            fields=["setting", "transaction_id", "event"],
            condition=models.Q(verdict__in=["queued", "accepted"]) & ~models.Q(transaction_id=""),
            name="gateway_notification_taken_once")]

    def __str__(self) -> str:
        return gettext("%(provider)s: notification No. %(id)s") % {"provider": self.get_provider_display(), "id": self.pk}


class RefundStatus(models.TextChoices):  # of a возврат онлайн-платежа: «проведён», «не проведён»
    PENDING = "pending", pgettext_lazy("online refund status", "pending")
    SUCCEEDED = "succeeded", pgettext_lazy("online refund status", "refunded")
    FAILED = "failed", pgettext_lazy("online refund status", "failed")


class GatewayRefund(models.Model):
    payment = models.ForeignKey(GatewayPayment, verbose_name=_("online payment"), on_delete=models.PROTECT,
                                related_name="refunds")
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    status = models.CharField(_("status"), max_length=10, choices=RefundStatus.choices,
                              default=RefundStatus.PENDING)
    provider_refund_id = models.CharField(_("provider's refund id"), max_length=100, blank=True, default="")
    reason = models.CharField(_("reason"), max_length=500)
    created_by = models.CharField(_("created by"), max_length=200)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("online refund")
        verbose_name_plural = _("online refunds")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.payment.order_id} −{self.amount_minor}"


class SavedMethod(models.Model):
    """A payment method the payer allowed to save (a card token, ЮKassa's payment_method_id). The token
    is encrypted at rest; only the masked title is ever shown."""

    client = models.ForeignKey("clients.Client", verbose_name=_("client"), on_delete=models.PROTECT,
                               related_name="saved_payment_methods")
    setting = models.ForeignKey(GatewaySetting, verbose_name=_("gateway"), on_delete=models.PROTECT,
                                related_name="saved_methods")
    token_encrypted = models.TextField(_("token (encrypted)"))
    title = models.CharField(_("method"), max_length=100)
    is_active = models.BooleanField(pgettext_lazy("saved method", "active"), default=True)  # «действует»: a способ
    created_at = models.DateTimeField(_("created at"))
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("saved payment method")
        verbose_name_plural = _("saved payment methods")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.title


class Autopay(models.Model):
    """A client's autopayment: charge the saved method for each open invoice, and/or when the balance
    falls below ``threshold`` (topping it up by ``top_up``)."""

    client = models.OneToOneField("clients.Client", verbose_name=_("client"), on_delete=models.PROTECT,
                                  related_name="autopay")
    method = models.ForeignKey(SavedMethod, verbose_name=_("saved method"), on_delete=models.PROTECT,
                               related_name="autopays")
    is_enabled = models.BooleanField(_("enabled"), default=True)
    on_invoice = models.BooleanField(_("pay invoices"), default=True)
    threshold_minor = models.BigIntegerField(_("balance threshold (minor units)"), null=True, blank=True)
    top_up_minor = models.BigIntegerField(_("top-up (minor units)"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("autopayment")
        verbose_name_plural = _("autopayments")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.client} — {self.method}"


class AttemptStatus(models.TextChoices):  # of a списание автоплатежа: «запланировано», «проведено», «отклонено»
    SCHEDULED = "scheduled", pgettext_lazy("autopayment charge status", "scheduled")
    SUCCEEDED = "succeeded", pgettext_lazy("autopayment charge status", "paid")
    FAILED = "failed", pgettext_lazy("autopayment charge status", "declined")
    GAVE_UP = "gave_up", pgettext_lazy("autopayment charge status", "given up")


class AutopayCharge(models.Model):
    """One autopayment of one invoice (or one top-up), with its attempts on the retry schedule."""

    autopay = models.ForeignKey(Autopay, verbose_name=_("autopayment"), on_delete=models.PROTECT,
                                related_name="charges")
    invoice = models.ForeignKey("documents.Document", verbose_name=_("invoice"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="autopay_charges")
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=10, choices=AttemptStatus.choices,
                              default=AttemptStatus.SCHEDULED)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True, default="")
    payment = models.ForeignKey(GatewayPayment, verbose_name=_("online payment"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="autopay_charges")
    created_at = models.DateTimeField(pgettext_lazy("autopayment charge", "created at"))  # «создано»: a списание

    class Meta:
        verbose_name = _("autopayment charge")
        verbose_name_plural = _("autopayment charges")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["invoice"], condition=models.Q(invoice__isnull=False),
                                               name="autopay_charge_once_per_invoice")]

    def __str__(self) -> str:
        return f"{self.autopay.client} {self.amount_minor} {self.currency}"
