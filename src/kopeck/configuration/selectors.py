from __future__ import annotations

import datetime as dt

from django.conf import settings

from kopeck.common import clock
from kopeck.configuration.models import BillingSettings, MailSettings
from kopeck.core.vat import VatPolicy


def billing_settings() -> BillingSettings:
    """The billing settings row, or (before the first change) an unsaved row of the defaults: reading
    never writes."""
    obj = BillingSettings.objects.filter(pk=1).first()
    if obj is None:
        obj = BillingSettings(pk=1, time_zone=settings.KOPECK_TIME_ZONE, default_currency="RUB")
    return obj


def vat_policy() -> VatPolicy:
    """The provider's VAT policy (:class:`kopeck.core.vat.VatPolicy`) from the billing settings."""
    return billing_settings().vat_policy


def provider_zone() -> str:
    return billing_settings().time_zone


def provider_today() -> dt.date:
    """Today's billing date: the provider-local date of the clock's instant."""
    return clock.today(provider_zone())


def mail_settings() -> MailSettings:
    """The mail (SMTP) settings row, or (before the first change) an unsaved row of the defaults
    (sending disabled): reading never writes."""
    obj = MailSettings.objects.filter(pk=1).first()
    if obj is None:
        obj = MailSettings(pk=1)
    return obj
