from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class VatRegime(models.TextChoices):
    OSN = "osn", _("ОСН (general regime, VAT 22%)")
    USN_EXEMPT = "usn_exempt", _("УСН, exempt from VAT")
    USN_5 = "usn_5", _("УСН, VAT 5%")
    USN_7 = "usn_7", _("УСН, VAT 7%")
    USN_GENERAL = "usn_general", _("УСН on the general rates (22/10/0%)")


# The VAT rate applied when a line names none, per regime (kopeck.core.vat.VatRate values).
DEFAULT_RATE_OF_REGIME = {
    VatRegime.OSN: "22",
    VatRegime.USN_EXEMPT: "exempt",
    VatRegime.USN_5: "5",
    VatRegime.USN_7: "7",
    VatRegime.USN_GENERAL: "22",
}


class BillingSettings(models.Model):
    """Общие настройки биллинга: one row (pk=1). Later domains add their own fields here (with a
    migration) and document them in docs/settings.md."""

    time_zone = models.CharField(_("provider time zone"), max_length=64)
    default_currency = models.CharField(_("default currency"), max_length=3, default="RUB")
    vat_regime = models.CharField(_("VAT regime"), max_length=20, choices=VatRegime.choices, default=VatRegime.OSN)
    prices_include_vat = models.BooleanField(_("prices include VAT"), default=True)
    auto_billing_time = models.TimeField(
        _("daily automatic billing time"), null=True, blank=True,
        help_text=_("Provider-local time after which the daily automatic billing run starts; empty: off."))
    run_report_to = models.CharField(
        _("billing-run reports to"), max_length=1000, blank=True, default="",
        help_text=_("E-mail addresses, separated by commas, that get a report when a billing run that posts "
                    "completes, awaits confirmation or fails; empty: no reports."))
    updated_at = models.DateTimeField(_("updated at"), null=True, blank=True)

    class Meta:
        verbose_name = _("billing settings")
        verbose_name_plural = _("billing settings")
        constraints = [models.CheckConstraint(condition=models.Q(pk=1), name="billing_settings_singleton")]

    def __str__(self) -> str:
        return str(_("Billing settings"))

    @property
    def default_vat_rate(self) -> str:
        return DEFAULT_RATE_OF_REGIME[VatRegime(self.vat_regime)]

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
