"""The append-only double-entry ledger. Amounts are stored as integers in minor units (exact on every
database); the currency's minor-unit count converts them to Money."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from kopeck.core.ledger import AccountRole, Operation

OPERATION_CHOICES = [
    (Operation.PAYMENT.value, _("Payment")),
    (Operation.BONUS.value, _("Bonus")),
    (Operation.REFUND_REVERSAL.value, _("Refund reversal")),
    (Operation.CORRECTION_CREDIT.value, _("Correction (credit)")),
    (Operation.CHARGE.value, _("Charge")),
    (Operation.ONE_OFF_CHARGE.value, _("One-off charge")),
    (Operation.CORRECTION_DEBIT.value, _("Correction (debit)")),
    (Operation.REFUND.value, _("Refund")),
    (Operation.REVERSAL.value, _("Reversal")),
    (Operation.SUSPENSE_RECEIPT.value, _("Unidentified payment")),
    (Operation.SUSPENSE_ASSIGN.value, _("Unidentified payment assigned")),
    (Operation.SUSPENSE_RETURN.value, _("Unidentified payment returned")),
]
ROLE_CHOICES = [
    (AccountRole.CLIENT.value, _("Client account")),
    (AccountRole.REVENUE.value, _("Revenue")),
    (AccountRole.VAT_PAYABLE.value, _("VAT payable")),
    (AccountRole.CASH.value, _("Cash and bank")),
    (AccountRole.GATEWAY_CLEARING.value, _("Gateway clearing")),
    (AccountRole.BONUS.value, _("Bonuses")),
    (AccountRole.CORRECTIONS.value, _("Corrections")),
    (AccountRole.SUSPENSE.value, _("Unidentified payments (suspense)")),
]


class Account(models.Model):
    code = models.CharField(_("code"), max_length=100, unique=True)
    role = models.CharField(_("role"), max_length=30, choices=ROLE_CHOICES)
    currency = models.CharField(_("currency"), max_length=3)
    client = models.ForeignKey(
        "clients.Client", verbose_name=_("client"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="accounts",
    )

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["client", "currency"], condition=models.Q(role="client"),
                                    name="one_client_account_per_currency"),
        ]

    def __str__(self) -> str:
        """"Лицевой счёт клиента 12 (RUB)", "Выручка (RUB)": the role by name, not the code."""
        role = self.get_role_display()
        return f"{role} {self.client_id} ({self.currency})" if self.client_id else f"{role} ({self.currency})"


class JournalTransaction(models.Model):
    """A journal transaction: two or more postings summing to zero per currency. Never changed; a
    mistake is undone by a reversing transaction."""

    operation = models.CharField(_("operation"), max_length=30, choices=OPERATION_CHOICES)
    # indexed by txn_client_time_idx (client first), so no separate foreign-key index
    client = models.ForeignKey("clients.Client", verbose_name=_("client"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="transactions", db_index=False)
    currency = models.CharField(_("currency"), max_length=3)
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    vat_rate = models.CharField(_("VAT rate"), max_length=10, blank=True)
    vat_minor = models.BigIntegerField(_("VAT (minor units)"), default=0)
    reason = models.CharField(_("reason"), max_length=500)
    source_ref = models.CharField(_("source reference"), max_length=200, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"))
    actor_kind = models.CharField(_("actor kind"), max_length=20)
    actor_id = models.CharField(_("actor id"), max_length=64, blank=True)
    actor_label = models.CharField(_("actor"), max_length=200)
    reverses = models.OneToOneField("self", verbose_name=_("reverses"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="reversed_by")
    explanation = models.JSONField(_("explanation"), default=dict)

    class Meta:
        verbose_name = _("transaction")
        verbose_name_plural = _("transactions")
        ordering = ["-id"]  # ids grow with recording time
        indexes = [models.Index(fields=["client", "recorded_at", "id"], name="txn_client_time_idx")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_operation_display()}"


class Posting(models.Model):
    transaction = models.ForeignKey(JournalTransaction, verbose_name=_("transaction"), on_delete=models.PROTECT,
                                    related_name="postings")
    # indexed by posting_account_time_idx (account first), so no separate foreign-key index
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="postings",
                                db_index=False)
    amount_minor = models.BigIntegerField(_("amount (minor units, debit +)"))
    currency = models.CharField(_("currency"), max_length=3)
    recorded_at = models.DateTimeField(_("recorded at"))

    class Meta:
        verbose_name = _("posting")
        verbose_name_plural = _("postings")
        ordering = ["id"]
        indexes = [models.Index(fields=["account", "recorded_at", "id"], name="posting_account_time_idx")]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.amount_minor}"
