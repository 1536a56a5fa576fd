"""Payments as records of their own: a payment (money received), its refunds, its allocations to
invoices, and the payments settings. Amounts are integers in minor units; the services are the only
writers (docs/payments.md)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class PaymentStatus(models.TextChoices):
    UNIDENTIFIED = "unidentified", _("Unidentified")
    CREDITED = "credited", _("Credited")
    PARTLY_REFUNDED = "partly_refunded", _("Partly refunded")
    REFUNDED = "refunded", _("Refunded")
    REVERSED = "reversed", _("Reversed")


class MatchRule(models.TextChoices):
    NONE = "", _("not identified")
    GIVEN = "given", _("client given")
    INN = "inn", _("payer's ИНН")
    INN_KPP = "inn_kpp", _("payer's ИНН and КПП")
    ACCOUNT = "account", _("payer's account")
    INVOICE = "invoice", _("invoice number in the purpose")
    ASSIGNED = "assigned", _("assigned by an operator")


class PaymentSettings(models.Model):
    """Настройки платежей: one row (pk=1)."""

    auto_allocate = models.BooleanField(
        _("allocate payments to invoices automatically"), default=True,
        help_text=_("A payment pays the invoice named in its purpose first, then the oldest open invoices of "
                    "the client; off: payments stay on the account until an operator allocates them."))
    advance_invoice_factura = models.BooleanField(
        _("issue advance invoices-factura"), default=False,
        help_text=_("Issue a счёт-фактура on the advance for money received beyond the open invoices "
                    "(within five calendar days, п. 3 ст. 168 НК)."))
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment settings")
        verbose_name_plural = _("payment settings")
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="payment_settings_singleton")]

    def __str__(self) -> str:
        return str(_("Payment settings"))


class Payment(models.Model):
    client = models.ForeignKey("clients.Client", verbose_name=_("client"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="payments")
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    date = models.DateField(_("payment date"))
    method = models.CharField(_("method"), max_length=30,
                              help_text=_("manual, bank, or a payment gateway's code (kopeck.payments.methods)."))
    status = models.CharField(_("status"), max_length=20, choices=PaymentStatus.choices)
    match_rule = models.CharField(_("how the payer was identified"), max_length=20, choices=MatchRule.choices,
                                  blank=True, default="")
    payer_name = models.CharField(_("payer"), max_length=500, blank=True, default="")
    payer_inn = models.CharField(_("payer's ИНН"), max_length=12, blank=True, default="")
    payer_kpp = models.CharField(_("payer's КПП"), max_length=9, blank=True, default="")
    payer_account = models.CharField(_("payer's account"), max_length=20, blank=True, default="")
    payer_bik = models.CharField(_("payer's БИК"), max_length=9, blank=True, default="")
    payer_bank = models.CharField(_("payer's bank"), max_length=500, blank=True, default="")
    purpose = models.CharField(_("payment purpose"), max_length=2000, blank=True, default="")
    external_id = models.CharField(_("external id"), max_length=200, blank=True, default="",
                                   help_text=_("The payment's id at its source (a gateway, a bank statement's "
                                               "order); a payment is recorded once per method and external id."))
    refunded_minor = models.BigIntegerField(_("refunded (minor units)"), default=0)
    allocated_minor = models.BigIntegerField(_("allocated (minor units)"), default=0)
    transaction = models.ForeignKey("ledger.JournalTransaction", verbose_name=_("ledger transaction"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="+")
    assign_transaction = models.ForeignKey("ledger.JournalTransaction", verbose_name=_("assignment transaction"),
                                           null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    notes = models.CharField(_("notes"), max_length=500, blank=True, default="")
    created_by = models.CharField(_("created by"), max_length=200)
    created_at = models.DateTimeField(_("created at"))
    reversed_at = models.DateTimeField(_("reversed at"), null=True, blank=True)
    reverse_reason = models.CharField(_("reversal reason"), max_length=500, blank=True, default="")

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-id"]
        indexes = [models.Index(fields=["client", "status"], name="payment_client_status"),
                   models.Index(fields=["status", "date"], name="payment_status_date")]
        constraints = [
            models.UniqueConstraint(fields=["method", "external_id"], condition=~models.Q(external_id=""),
                                    name="payment_once_per_method_external_id"),
            models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(refunded_minor__gte=0, allocated_minor__gte=0)
                & models.Q(refunded_minor__lte=models.F("amount_minor") - models.F("allocated_minor")),
                name="payment_never_beyond_its_amount"),
        ]

    def __str__(self) -> str:
        return f"№ {self.pk} {self.date:%d.%m.%Y}"

    @property
    def unallocated_minor(self) -> int:
        """What is left of the payment on the client's account: neither refunded nor on an invoice."""
        return self.amount_minor - self.refunded_minor - self.allocated_minor


class Refund(models.Model):
    payment = models.ForeignKey(Payment, verbose_name=_("payment"), on_delete=models.PROTECT, related_name="refunds")
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    date = models.DateField(_("refund date"))
    reason = models.CharField(_("reason"), max_length=500)
    external_id = models.CharField(_("external id"), max_length=200, blank=True, default="")
    transaction = models.ForeignKey("ledger.JournalTransaction", verbose_name=_("ledger transaction"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.CharField(_("created by"), max_length=200)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        ordering = ["-id"]
        constraints = [models.CheckConstraint(condition=models.Q(amount_minor__gt=0), name="refund_amount_positive")]

    def __str__(self) -> str:
        return f"№ {self.pk} {self.date:%d.%m.%Y}"


class Allocation(models.Model):
    """A part of a payment that pays an invoice. Released (never deleted) when the operator
    re-allocates, the payment is refunded beyond what was free, or reversed."""

    payment = models.ForeignKey(Payment, verbose_name=_("payment"), on_delete=models.PROTECT,
                                related_name="allocations")
    document = models.ForeignKey("documents.Document", verbose_name=_("invoice"), on_delete=models.PROTECT,
                                 related_name="allocations")
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    automatic = models.BooleanField(_("automatic"), default=False)
    created_by = models.CharField(_("created by"), max_length=200)
    created_at = models.DateTimeField(_("created at"))
    released_at = models.DateTimeField(_("released at"), null=True, blank=True)
    release_reason = models.CharField(_("release reason"), max_length=500, blank=True, default="")

    class Meta:
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")
        ordering = ["id"]
        indexes = [models.Index(fields=["document"], condition=models.Q(released_at__isnull=True),
                                name="allocation_active_document")]
        constraints = [models.CheckConstraint(condition=models.Q(amount_minor__gt=0),
                                              name="allocation_amount_positive")]

    def __str__(self) -> str:
        return f"№ {self.pk}"


class StatementStatus(models.TextChoices):
    PREVIEW = "preview", _("Preview")
    APPLIED = "applied", pgettext_lazy("bank statement status", "Applied")  # «Применена»: a выписка


class LineOutcome(models.TextChoices):
    MATCHED = "matched", _("Matched")
    UNIDENTIFIED = "unidentified", _("Unidentified")
    DUPLICATE = "duplicate", _("Duplicate")
    IGNORED = "ignored", _("Ignored")


class BankStatement(models.Model):
    """A bank statement file (1CClientBankExchange) read into lines: a preview until applied."""

    file_name = models.CharField(_("file name"), max_length=255)
    sha256 = models.CharField(_("SHA-256 of the file"), max_length=64, unique=True)
    size = models.BigIntegerField(_("size (bytes)"), default=0)
    version = models.CharField(_("format version"), max_length=10)
    encoding = models.CharField(_("encoding"), max_length=10)
    sender = models.CharField(_("sender"), max_length=255, blank=True, default="")
    date_from = models.DateField(_("from"), null=True, blank=True)
    date_to = models.DateField(_("to"), null=True, blank=True)
    accounts = models.JSONField(_("accounts"), default=list, blank=True)
    balances = models.JSONField(_("balances"), default=list, blank=True,
                                help_text=_("The balance sections and whether each adds up."))
    totals = models.JSONField(_("totals"), default=dict, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=StatementStatus.choices,
                              default=StatementStatus.PREVIEW)
    created_by = models.CharField(_("uploaded by"), max_length=200)
    created_at = models.DateTimeField(_("uploaded at"))
    applied_by = models.CharField(_("applied by"), max_length=200, blank=True, default="")
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)

    class Meta:
        verbose_name = _("bank statement")
        verbose_name_plural = _("bank statements")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.file_name


class StatementLine(models.Model):
    """One payment document of a statement and what became of it. Its payment — the one it made
    when applied, or for a duplicate the one that took it before — is the bank payment whose
    ``external_id`` is the line's ``dedupe_key`` (``selectors.statement_line_payments``)."""

    statement = models.ForeignKey(BankStatement, verbose_name=_("bank statement"), on_delete=models.CASCADE,
                                  related_name="lines")
    line = models.PositiveIntegerField(_("line in the file"))
    kind = models.CharField(_("document kind"), max_length=100, blank=True, default="")
    number = models.CharField(_("number"), max_length=50)
    date = models.DateField(_("date"))
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3, default="RUB")
    direction = models.CharField(_("direction"), max_length=10)  # incoming, outgoing, internal, foreign
    our_account = models.CharField(_("our account"), max_length=20, blank=True, default="")
    payer_name = models.CharField(_("payer"), max_length=500, blank=True, default="")
    payer_inn = models.CharField(_("payer's ИНН"), max_length=12, blank=True, default="")
    payer_kpp = models.CharField(_("payer's КПП"), max_length=9, blank=True, default="")
    payer_account = models.CharField(_("payer's account"), max_length=20, blank=True, default="")
    payer_bik = models.CharField(_("payer's БИК"), max_length=9, blank=True, default="")
    payer_bank = models.CharField(_("payer's bank"), max_length=500, blank=True, default="")
    purpose = models.CharField(_("payment purpose"), max_length=2000, blank=True, default="")
    outcome = models.CharField(_("outcome"), max_length=15, choices=LineOutcome.choices)
    match_rule = models.CharField(_("how the payer was identified"), max_length=20, choices=MatchRule.choices,
                                  blank=True, default="")
    note = models.CharField(_("note"), max_length=500, blank=True, default="")
    dedupe_key = models.CharField(_("dedupe key"), max_length=200)
    client = models.ForeignKey("clients.Client", verbose_name=_("client"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="+")
    invoice = models.ForeignKey("documents.Document", verbose_name=_("invoice"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")
        ordering = ["statement", "line"]
        indexes = [models.Index(fields=["statement", "outcome"], name="statement_line_outcome"),
                   models.Index(fields=["statement", "dedupe_key"], name="statement_line_key")]

    def __str__(self) -> str:
        return f"№ {self.number} {self.date:%d.%m.%Y}"


class PaymentAdvance(models.Model):
    """The VAT advance of one payment (п. 1 ст. 154, п. 3 ст. 168 НК): the part of it received before
    the services were shipped (acts, УПД), decided once per payment by the advance job, with the
    advance счёт-фактура issued for it. ``offset_minor`` is what shipments and refunds have taken off
    it since (зачёт аванса: its VAT accepted for deduction, ``offset_vat_minor``). See docs/payments.md."""

    payment = models.OneToOneField(Payment, verbose_name=_("payment"), on_delete=models.PROTECT,
                                   related_name="advance")
    client = models.ForeignKey("clients.Client", verbose_name=_("client"), on_delete=models.PROTECT,
                               related_name="+")
    currency = models.CharField(_("currency"), max_length=3)
    amount_minor = models.BigIntegerField(_("advance (minor units)"))
    rate = models.CharField(_("VAT rate"), max_length=10, blank=True, default="")
    vat_minor = models.BigIntegerField(_("VAT (minor units)"), default=0)
    document = models.OneToOneField("documents.Document", verbose_name=_("advance invoice-factura"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="payment_advance")
    offset_minor = models.BigIntegerField(_("offset (minor units)"), default=0)
    offset_vat_minor = models.BigIntegerField(_("VAT accepted for deduction (minor units)"), default=0)
    note = models.CharField(_("note"), max_length=500, blank=True, default="")
    created_by = models.CharField(_("created by"), max_length=200)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("advance")
        verbose_name_plural = _("advances")
        ordering = ["-id"]
        indexes = [models.Index(fields=["client", "currency"], name="payment_advance_client")]
        constraints = [models.CheckConstraint(
            condition=models.Q(amount_minor__gte=0, offset_minor__gte=0, offset_vat_minor__gte=0)
            & models.Q(offset_minor__lte=models.F("amount_minor"), offset_vat_minor__lte=models.F("vat_minor")),
            name="payment_advance_offset_within")]

    def __str__(self) -> str:
        return f"№ {self.payment_id}"

    @property
    def remaining_minor(self) -> int:
        return self.amount_minor - self.offset_minor


class AdvanceOffset(models.Model):
    """Зачёт аванса: a part of an advance taken by a shipment (an act or УПД of the client) or
    returned by a refund; the VAT of that part is accepted for deduction (п. 8 ст. 171, п. 6 ст. 172
    НК; a refund: п. 5 ст. 171)."""

    advance = models.ForeignKey(PaymentAdvance, verbose_name=_("advance"), on_delete=models.PROTECT,
                                related_name="offsets")
    shipment = models.ForeignKey("documents.Document", verbose_name=_("shipment document"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="advance_offsets")
    refund = models.ForeignKey(Refund, verbose_name=_("refund"), null=True, blank=True, on_delete=models.PROTECT,
                               related_name="advance_offsets")
    date = models.DateField(_("date"))
    currency = models.CharField(_("currency"), max_length=3)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    vat_minor = models.BigIntegerField(_("VAT (minor units)"))
    created_by = models.CharField(_("created by"), max_length=200)
    created_at = models.DateTimeField(_("created at"))
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True,
                                        help_text=_("The shipment document was cancelled: the advance is open again."))

    class Meta:
        verbose_name = _("advance offset")
        verbose_name_plural = _("advance offsets")
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount_minor__gt=0, vat_minor__gte=0),
                                   name="advance_offset_positive"),
            models.CheckConstraint(condition=(models.Q(shipment__isnull=False) & models.Q(refund__isnull=True))
                                   | (models.Q(shipment__isnull=True) & models.Q(refund__isnull=False)),
                                   name="advance_offset_one_source"),
            models.UniqueConstraint(fields=["advance", "shipment"], condition=models.Q(shipment__isnull=False),
                                    name="advance_offset_once_per_shipment"),
            models.UniqueConstraint(fields=["advance", "refund"], condition=models.Q(refund__isnull=False),
                                    name="advance_offset_once_per_refund"),
        ]

    def __str__(self) -> str:
        return f"№ {self.pk}"
