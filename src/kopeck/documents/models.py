"""Primary documents (счёт, акт, счёт-фактура, УПД, акт сверки), the provider's legal entities, their
variables, numbering rules and counters, templates, e-mail deliveries and the document settings.
Writes go through :mod:`kopeck.documents.services`. See docs/documents.md."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class DocumentType(models.TextChoices):
    INVOICE = "invoice", _("Invoice for payment (счёт на оплату)")
    ACT = "act", _("Act of services rendered (акт)")
    INVOICE_FACTURA = "invoice_factura", _("VAT invoice (счёт-фактура)")
    ADVANCE_INVOICE_FACTURA = "advance_invoice_factura", _("Advance VAT invoice (счёт-фактура на аванс)")
    CORRECTIVE_INVOICE_FACTURA = "corrective_invoice_factura", _("Corrective VAT invoice (корректировочный)")
    CORRECTED = "corrected", _("Corrected document (исправленный)")
    UPD = "upd", _("Universal transfer document (УПД)")
    RECONCILIATION = "reconciliation", _("Reconciliation statement (акт сверки)")


class TemplateForm(models.TextChoices):
    """The printed forms; several document types share one (see ``FORM_OF_TYPE``)."""

    INVOICE = "invoice", _("Invoice for payment (счёт на оплату)")
    ACT = "act", _("Act of services rendered (акт)")
    INVOICE_FACTURA = "invoice_factura", _("VAT invoice (счёт-фактура, also advance and corrected)")
    CORRECTIVE_INVOICE_FACTURA = "corrective_invoice_factura", _("Corrective VAT invoice (корректировочный)")
    UPD = "upd", _("Universal transfer document (УПД)")
    RECONCILIATION = "reconciliation", _("Reconciliation statement (акт сверки)")


class DocumentStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    ISSUED = "issued", _("Issued")
    PARTLY_PAID = "partly_paid", _("Partly paid")
    PAID = "paid", _("Paid")
    CANCELLED = "cancelled", pgettext_lazy("document status", "Cancelled")  # «Аннулирован»


class Language(models.TextChoices):
    RU = "ru", _("Russian")
    EN = "en", pgettext_lazy("language name", "English")  # «Английский» (the settings name it in English)


class ResetPeriod(models.TextChoices):
    NEVER = "never", _("Never")
    YEAR = "year", _("Every year")
    MONTH = "month", _("Every month")


class RunDocument(models.TextChoices):
    INVOICE = "invoice", _("Invoice for payment (счёт на оплату)")
    ACT = "act", _("Act of services rendered (акт)")
    UPD = "upd", _("Universal transfer document (УПД)")
    NONE = "none", _("None")


class MonthlyActs(models.TextChoices):
    OFF = "off", _("Off")
    ACT = "act", _("Act of services rendered (акт)")
    UPD = "upd", _("Universal transfer document (УПД)")


class DeliveryStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", pgettext_lazy("document delivery status", "Sent")  # «Отправлена»: an отправка
    FAILED = "failed", pgettext_lazy("document delivery status", "Failed")
    NO_MAIL = "no_mail", _("Mail not configured")  # waits: sent once the mail settings are complete


class LegalEntity(models.Model):
    """One of the provider's legal entities (the seller on documents), each with its own numbering."""

    name = models.CharField(_("short name"), max_length=300)
    full_name = models.CharField(_("full legal name"), max_length=500)
    inn = models.CharField(_("ИНН"), max_length=12)
    kpp = models.CharField(_("КПП"), max_length=9, blank=True)
    ogrn = models.CharField(_("ОГРН / ОГРНИП"), max_length=15, blank=True)
    legal_address = models.CharField(_("legal address"), max_length=500)
    postal_address = models.CharField(_("postal address"), max_length=500, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    email = models.CharField(_("e-mail"), max_length=254, blank=True)
    bank_name = models.CharField(_("bank"), max_length=300, blank=True)
    bik = models.CharField(_("БИК"), max_length=9, blank=True)
    settlement_account = models.CharField(_("settlement account (р/с)"), max_length=20, blank=True)
    correspondent_account = models.CharField(_("correspondent account (к/с)"), max_length=20, blank=True)
    director_title = models.CharField(_("head's job title"), max_length=200, blank=True,
                                      default="Генеральный директор")
    director_name = models.CharField(_("head (surname and initials)"), max_length=200, blank=True)
    accountant_name = models.CharField(_("chief accountant (surname and initials)"), max_length=200, blank=True)
    is_default = models.BooleanField(_("default"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("legal entity")
        verbose_name_plural = _("legal entities")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True),
                                               name="legal_entity_one_default")]

    def __str__(self) -> str:
        return self.name


class Variable(models.Model):
    """Переменные: a value usable in every template as ``vars.<code>``; global, or for one legal
    entity (which then wins over the global one)."""

    code = models.SlugField(_("code"), max_length=100)
    value = models.TextField(_("value"), blank=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    legal_entity = models.ForeignKey(LegalEntity, verbose_name=_("legal entity"), null=True, blank=True,
                                     on_delete=models.CASCADE, related_name="variables")
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("variable")
        verbose_name_plural = _("variables")
        ordering = ["code", "id"]
        constraints = [
            models.UniqueConstraint(fields=["code"], condition=models.Q(legal_entity__isnull=True),
                                    name="variable_global_code_once"),
            models.UniqueConstraint(fields=["code", "legal_entity"], name="variable_entity_code_once"),
        ]

    def __str__(self) -> str:
        return self.code


class NumberingRule(models.Model):
    """Настройки нумерации: the number template of one sequence (a document type of a legal entity)."""

    sequence = models.CharField(_("document type"), max_length=40, choices=DocumentType.choices)
    legal_entity = models.ForeignKey(LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT,
                                     related_name="numbering_rules")
    template = models.CharField(_("number template"), max_length=100, default="{N}",
                                help_text=_("Literal text with tokens: {N} the counter ({N:6} zero-padded to 6 "
                                            "digits), {YYYY}, {YY}, {MM}."))
    reset = models.CharField(_("restart numbering"), max_length=10, choices=ResetPeriod.choices,
                             default=ResetPeriod.YEAR)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("numbering rule")
        verbose_name_plural = _("numbering rules")
        ordering = ["legal_entity", "sequence"]
        constraints = [models.UniqueConstraint(fields=["sequence", "legal_entity"], name="numbering_rule_once")]

    def __str__(self) -> str:
        return f"{self.legal_entity_id}: {self.sequence} {self.template}"


class NumberCounter(models.Model):
    """The last number given in one period of a rule (period key "" for never, "2026", "2026-11")."""

    rule = models.ForeignKey(NumberingRule, verbose_name=_("numbering rule"), on_delete=models.CASCADE,
                             related_name="counters")
    period_key = models.CharField(_("period"), max_length=7, blank=True)
    last_number = models.PositiveIntegerField(_("last number"), default=0)
    last_issue_date = models.DateField(_("last issue date"), null=True, blank=True)

    class Meta:
        verbose_name = _("number counter")
        verbose_name_plural = _("number counters")
        ordering = ["rule", "period_key"]
        constraints = [models.UniqueConstraint(fields=["rule", "period_key"], name="number_counter_once")]

    def __str__(self) -> str:
        return f"{self.rule_id} {self.period_key}: {self.last_number}"


class Document(models.Model):
    type = models.CharField(_("type"), max_length=40, choices=DocumentType.choices)
    upd_status = models.PositiveSmallIntegerField(_("УПД status"), null=True, blank=True,
                                                  choices=[(1, "1"), (2, "2")])
    legal_entity = models.ForeignKey(LegalEntity, verbose_name=_("legal entity"), on_delete=models.PROTECT,
                                     related_name="documents")
    client = models.ForeignKey("clients.Client", verbose_name=_("client"), on_delete=models.PROTECT,
                               related_name="documents")
    status = models.CharField(_("status"), max_length=20, choices=DocumentStatus.choices,
                              default=DocumentStatus.DRAFT)
    number = models.CharField(_("number"), max_length=100, null=True, blank=True)
    numbering_rule = models.ForeignKey(NumberingRule, verbose_name=_("numbering rule"), null=True, blank=True,
                                       on_delete=models.PROTECT, related_name="documents")
    number_period = models.CharField(_("numbering period"), max_length=7, blank=True, default="")
    number_seq = models.PositiveIntegerField(_("counter value"), null=True, blank=True)
    correction_number = models.PositiveIntegerField(_("correction number"), null=True, blank=True)
    issue_date = models.DateField(_("issue date"), null=True, blank=True)
    due_date = models.DateField(_("payment due"), null=True, blank=True)
    period_start = models.DateField(_("service period from"), null=True, blank=True)
    period_end = models.DateField(_("service period to"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices, default=Language.RU)
    data = models.JSONField(_("data"), default=dict)
    amount_minor = models.BigIntegerField(_("total (minor units)"), default=0)
    vat_minor = models.BigIntegerField(_("VAT (minor units)"), default=0)
    paid_minor = models.BigIntegerField(_("paid (minor units)"), default=0)
    run = models.ForeignKey("billing.BillingRun", verbose_name=_("billing run"), null=True, blank=True,
                            on_delete=models.PROTECT, related_name="documents")
    run_part = models.PositiveSmallIntegerField(
        _("part of the run"), default=1,
        help_text=_("1: the run's document of the client; 2, 3…: supplementary documents for the charges of "
                    "subscriptions that failed in the run and were billed on a retry."))
    transactions = models.ManyToManyField("ledger.JournalTransaction", verbose_name=_("ledger transactions"),
                                          blank=True, related_name="documents")
    corrects = models.ForeignKey("self", verbose_name=_("corrects"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="corrections")
    notes = models.CharField(_("notes"), max_length=500, blank=True)
    created_by = models.CharField(_("created by"), max_length=200)
    created_at = models.DateTimeField(_("created at"))
    issued_at = models.DateTimeField(_("issued at"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("cancellation reason"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["-id"]
        indexes = [models.Index(fields=["client", "type", "issue_date"], name="document_client_type_date"),
                   models.Index(fields=["status", "issue_date"], name="document_status_date")]
        constraints = [
            models.UniqueConstraint(fields=["run", "client", "type", "run_part"], condition=models.Q(run__isnull=False),
                                    name="document_once_per_run_client_type_part"),
            models.UniqueConstraint(fields=["numbering_rule", "number_period", "number_seq"],
                                    condition=models.Q(number_seq__isnull=False), name="document_number_once"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} № {self.number or '—'}"


class DocumentPdf(models.Model):
    """The cached PDF of an issued document (rendered off the critical path by the outbox)."""

    document = models.OneToOneField(Document, verbose_name=_("document"), on_delete=models.CASCADE,
                                    related_name="pdf", primary_key=True)
    content = models.BinaryField(_("content"))
    sha256 = models.CharField(_("SHA-256"), max_length=64)
    rendered_at = models.DateTimeField(_("rendered at"))

    class Meta:
        verbose_name = _("document PDF")
        verbose_name_plural = _("document PDFs")


class DocumentTemplate(models.Model):
    """An operator's HTML template of a form in a language; without one the shipped default is used."""

    form = models.CharField(_("form"), max_length=40, choices=TemplateForm.choices)
    language = models.CharField(_("language"), max_length=2, choices=Language.choices)
    html = models.TextField(_("HTML (Jinja2)"))
    updated_at = models.DateTimeField(_("updated at"))
    updated_by = models.CharField(_("updated by"), max_length=200)

    class Meta:
        verbose_name = _("document template")
        verbose_name_plural = _("document templates")
        ordering = ["form", "language"]
        constraints = [models.UniqueConstraint(fields=["form", "language"], name="document_template_once")]

    def __str__(self) -> str:
        return f"{self.get_form_display()} ({self.language})"


class DocumentDelivery(models.Model):
    document = models.ForeignKey(Document, verbose_name=_("document"), on_delete=models.CASCADE,
                                 related_name="deliveries")
    recipient = models.CharField(_("recipient"), max_length=254)
    status = models.CharField(_("status"), max_length=10, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.QUEUED)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    message_id = models.CharField(_("message id"), max_length=300, blank=True)
    outbox_message_id = models.BigIntegerField(_("outbox message"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("document delivery")
        verbose_name_plural = _("document deliveries")
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.document_id} → {self.recipient}"


class DocumentSettings(models.Model):
    """Настройки документов: one row (pk=1)."""

    run_document = models.CharField(_("document issued by billing runs"), max_length=10,
                                    choices=RunDocument.choices, default=RunDocument.INVOICE)
    upd_status = models.PositiveSmallIntegerField(_("УПД status"), choices=[(1, "1"), (2, "2")], default=1)
    send_by_email = models.BooleanField(_("send issued documents by e-mail"), default=True)
    invoice_due_days = models.PositiveSmallIntegerField(_("invoice payment term (days)"), default=5)
    monthly_acts = models.CharField(
        _("monthly acts"), max_length=10, choices=MonthlyActs.choices, default=MonthlyActs.OFF,
        help_text=_("At the start of each month, issue an act (or УПД) per client for the last month's charges."))
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("document settings")
        verbose_name_plural = _("document settings")
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="document_settings_singleton")]

    def __str__(self) -> str:
        return str(_("Document settings"))
