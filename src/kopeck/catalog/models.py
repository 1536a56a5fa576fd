"""The catalog: products (услуги), their plans (тарифы) and the versions of a plan's prices.

A plan's prices live in its versions. A version is a draft until it is published with an effective
date and a policy for existing subscribers; a published version is never changed (a price change is
a new version). Writes go through :mod:`kopeck.catalog.services`.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ProductVatRate(models.TextChoices):
    """A product's VAT rate (the values of :class:`kopeck.core.vat.VatRate`); blank means the default
    rate of the provider's VAT regime (billing settings)."""

    REGIME_DEFAULT = "", _("Default of the VAT regime")
    VAT_22 = "22", _("VAT 22%")
    VAT_10 = "10", _("VAT 10%")
    VAT_0 = "0", _("VAT 0%")
    VAT_5 = "5", _("VAT 5%")
    VAT_7 = "7", _("VAT 7%")
    EXEMPT = "exempt", _("VAT exempt")


class VersionStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


class ExistingSubscribers(models.TextChoices):
    """What a newly published version means for the plan's existing subscribers."""

    NEXT_PERIOD = "next_period", _("From their next billing period")
    IMMEDIATELY_PRORATED = "immediately_prorated", _("Immediately, with proration")
    NEW_SUBSCRIBERS_ONLY = "new_subscribers_only", _("New subscribers only (existing keep their version)")


class Product(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name_ru = models.CharField(_("name (Russian)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    description = models.TextField(_("description"), blank=True)
    vat_rate = models.CharField(_("VAT rate"), max_length=10, choices=ProductVatRate.choices, blank=True,
                                default=ProductVatRate.REGIME_DEFAULT)
    unit = models.CharField(_("unit of measure"), max_length=20, default="шт")
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name_ru} ({self.code})"


class Plan(models.Model):
    product = models.ForeignKey(Product, verbose_name=_("product"), on_delete=models.PROTECT, related_name="plans")
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name_ru = models.CharField(_("name (Russian)"), max_length=200)
    name_en = models.CharField(_("name (English)"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name_ru} ({self.code})"


class PlanVersion(models.Model):
    """The prices of a plan from a date on: ``spec`` is a :class:`kopeck.core.pricing.plan.PlanSpec`
    in its JSON form (stored as ``PlanSpec.to_dict()``)."""

    plan = models.ForeignKey(Plan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("number"))
    status = models.CharField(_("status"), max_length=10, choices=VersionStatus.choices, default=VersionStatus.DRAFT)
    spec = models.JSONField(_("prices (spec)"))
    effective_from = models.DateField(_("effective from"), null=True, blank=True)
    existing_subscribers = models.CharField(_("existing subscribers"), max_length=30,
                                            choices=ExistingSubscribers.choices, blank=True)
    created_at = models.DateTimeField(_("created at"))
    created_by = models.CharField(_("created by"), max_length=200, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)
    published_by = models.CharField(_("published by"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("plan version")
        verbose_name_plural = _("plan versions")
        ordering = ["plan", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_version_unique_number"),
            models.CheckConstraint(
                condition=models.Q(status="draft", effective_from__isnull=True, published_at__isnull=True)
                | models.Q(status="published", effective_from__isnull=False, published_at__isnull=False)
                & ~models.Q(existing_subscribers=""),
                name="plan_version_published_has_date_and_policy",
            ),
        ]
        indexes = [models.Index(fields=["plan", "status", "effective_from"], name="plan_version_in_force_idx")]

    def __str__(self) -> str:
        return f"{self.plan.code} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.status == VersionStatus.PUBLISHED
