from __future__ import annotations

import datetime as dt

from django.db import models
from django.utils.translation import gettext_lazy as _

from kopeck.core.vat import VatPolicy


class VatRegime(models.TextChoices):
    OSN = "osn", _("ОСН (general regime, VAT 22%)")
    USN_EXEMPT = "usn_exempt", _("УСН, exempt from VAT")
    USN_5 = "usn_5", _("УСН, VAT 5%")
    USN_7 = "usn_7", _("УСН, VAT 7%")
    USN_GENERAL = "usn_general", _("УСН on the general rates (22/10/0%)")




class ScheduledRun(models.TextChoices):
    """What the daily scheduled billing run is — the one scheduled biller."""

    AUTO = "auto", _("Automatic: posts the charges and issues the documents")
    CONFIRM = "confirm", _("With confirmation: computes, then waits for an operator")
    OFF = "off", _("None: billing runs are started by hand only")


class CreditMode(models.TextChoices):
    PREPAID = "prepaid", _("Prepaid: the balance must cover the charges")
    POSTPAID = "postpaid", _("Postpaid: invoices are paid by their due date")


class BlockEffect(models.TextChoices):
    """What a block does to billing (docs/credit.md#blocks)."""

    CONTINUE = "continue", _("Charges continue")
    PAUSE = "pause", _("Billing pauses: the blocked days are billed after the block is lifted")
    PAUSE_PRORATED = "pause_prorated", _("Billing pauses with proration: the blocked days are not charged")


class BillingSettings(models.Model):
    """Общие настройки биллинга: one row (pk=1). Later domains add their own fields here (with a
    migration) and document them in docs/settings.md."""

    time_zone = models.CharField(_("provider time zone"), max_length=64)
    default_currency = models.CharField(_("default currency"), max_length=3, default="RUB")
    vat_regime = models.CharField(_("VAT regime"), max_length=20, choices=VatRegime.choices, default=VatRegime.OSN)
    prices_include_vat = models.BooleanField(_("prices include VAT"), default=True)
    scheduled_run = models.CharField(
        _("daily billing run"), max_length=10, choices=ScheduledRun.choices, default=ScheduledRun.AUTO,
        help_text=_("The one scheduled biller: what the billing run the scheduler starts every day is."))
    auto_billing_time = models.TimeField(
        _("daily billing run time"), default=dt.time(0, 0),
        help_text=_("Provider-local time after which the daily billing run starts."))
    run_report_to = models.CharField(
        _("billing-run reports to"), max_length=1000, blank=True, default="",
        help_text=_("E-mail addresses, separated by commas, that get a report when a billing run that posts "
                    "completes, awaits confirmation or fails; empty: no reports."))
    # credit control (kopeck.credit, docs/credit.md): the defaults a client's credit policy overrides
    credit_mode = models.CharField(_("payment terms"), max_length=10, choices=CreditMode.choices,
                                   default=CreditMode.POSTPAID)
    credit_limit = models.DecimalField(
        _("credit limit"), max_digits=18, decimal_places=2, null=True, blank=True,
        help_text=_("How far below zero a client's balance may go before credit control acts; empty: no limit "
                    "(postpaid clients are then dunned by their overdue invoices only)."))
    credit_grace_days = models.PositiveSmallIntegerField(
        _("grace period, days"), default=0,
        help_text=_("Days after an invoice's due date before a dunning step may block anything."))
    low_balance_amount = models.DecimalField(
        _("low balance below"), max_digits=18, decimal_places=2, null=True, blank=True,
        help_text=_("The client is warned when its balance falls below this amount; empty: no such warning."))
    low_balance_days = models.PositiveSmallIntegerField(
        _("low balance: days left"), null=True, blank=True,
        help_text=_("The client is warned when its balance covers fewer days of its forecast daily cost; "
                    "empty: no such warning."))
    promise_max_share = models.DecimalField(
        _("promised payment: at most, % of the monthly charge"), max_digits=5, decimal_places=2, default=100)
    promise_max_days = models.PositiveSmallIntegerField(_("promised payment: at most, days"), default=5)
    promise_interval_days = models.PositiveSmallIntegerField(
        _("promised payment: at most once in, days"), default=30)
    effect_non_payment = models.CharField(_("block for non-payment: billing"), max_length=20,
                                          choices=BlockEffect.choices, default=BlockEffect.PAUSE)
    effect_client_request = models.CharField(_("block at the client's request: billing"), max_length=20,
                                             choices=BlockEffect.choices, default=BlockEffect.PAUSE_PRORATED)
    effect_abuse = models.CharField(_("block for abuse: billing"), max_length=20, choices=BlockEffect.choices,
                                    default=BlockEffect.CONTINUE)
    effect_fraud = models.CharField(_("block for fraud: billing"), max_length=20, choices=BlockEffect.choices,
                                    default=BlockEffect.PAUSE)
    effect_legal = models.CharField(_("block on legal grounds: billing"), max_length=20,
                                    choices=BlockEffect.choices, default=BlockEffect.PAUSE)
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("billing settings")
        verbose_name_plural = _("billing settings")
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="billing_settings_singleton")]

    def __str__(self) -> str:
        return str(_("Billing settings"))

    @property
    def default_vat_rate(self) -> str:
        """The rate of a line that names none (:data:`kopeck.core.vat.REGIME_DEFAULT_RATE`)."""
        return self.vat_policy.default_rate.value

    @property
    def vat_policy(self) -> VatPolicy:
        """The provider's VAT policy: the regime's default rate, prices with or without VAT."""
        return VatPolicy.of_regime(str(self.vat_regime), prices_include_vat=bool(self.prices_include_vat))

    @property
    def run_report_addresses(self) -> list[str]:
        return [a.strip() for a in self.run_report_to.split(",") if a.strip()]


class MailSecurity(models.TextChoices):
    NONE = "none", _("none (plain SMTP)")
    STARTTLS = "starttls", _("STARTTLS")
    SSL = "ssl", _("SSL/TLS")


class MailSettings(models.Model):
    """Outgoing mail (SMTP): one row (pk=1). Used by kopeck.notifications.email. The password is
    kept as given (SMTP needs it in the clear) and never returned by the API."""

    enabled = models.BooleanField(_("sending enabled"), default=False)
    host = models.CharField(_("SMTP host"), max_length=255, blank=True, default="")
    port = models.PositiveIntegerField(_("SMTP port"), default=587)
    security = models.CharField(_("connection security"), max_length=10, choices=MailSecurity.choices,
                                default=MailSecurity.STARTTLS)
    username = models.CharField(_("SMTP user name"), max_length=255, blank=True, default="")
    password = models.CharField(_("SMTP password"), max_length=255, blank=True, default="")
    from_email = models.EmailField(_("sender address"), max_length=254, blank=True, default="")
    from_name = models.CharField(_("sender name"), max_length=200, blank=True, default="")
    timeout = models.PositiveIntegerField(_("timeout, seconds"), default=30)
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("mail settings")
        verbose_name_plural = _("mail settings")
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="mail_settings_singleton")]

    def __str__(self) -> str:
        return str(_("Mail settings"))
