"""Subscriptions: a client's use of a plan version, its billing anchor, status, overrides, the
service periods already billed, scheduled changes and a timeline. Writes go through services."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class SubscriptionStatus(models.TextChoices):
    PENDING = "pending", _("Pending (starts in the future)")
    TRIAL = "trial", _("Trial")
    ACTIVE = "active", pgettext_lazy("subscription status", "Active")  # «Активна»: a подписка, not a client
    SUSPENDED = "suspended", _("Suspended")
    CANCELLING = "cancelling", _("Cancelling at period end")
    ENDED = "ended", _("Ended")


class AnchorKind(models.TextChoices):
    ANNIVERSARY = "anniversary", _("Anniversary (periods start on the start day)")
    CALENDAR = "calendar", _("Calendar billing day")


class FirstPeriodPolicy(models.TextChoices):
    PRORATE = "prorate", _("Prorate the first partial period")
    FULL = "full", _("Bill the first partial period in full")
    FREE = "free", _("First partial period free")


class Subscription(models.Model):
    client = models.ForeignKey("clients.Client", verbose_name=_("client"), on_delete=models.PROTECT,
                               related_name="subscriptions")
    plan = models.ForeignKey("catalog.Plan", verbose_name=_("plan"), on_delete=models.PROTECT,
                             related_name="subscriptions")
    plan_version = models.ForeignKey("catalog.PlanVersion", verbose_name=_("plan version"),
                                     on_delete=models.PROTECT, related_name="subscriptions")
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    currency = models.CharField(_("currency"), max_length=3)
    external_id = models.CharField(_("external id"), max_length=100, null=True, blank=True, unique=True)
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    anchor_kind = models.CharField(_("billing anchor"), max_length=20, choices=AnchorKind.choices,
                                   default=AnchorKind.ANNIVERSARY)
    billing_day = models.PositiveSmallIntegerField(_("billing day"), null=True, blank=True)
    first_period_policy = models.CharField(_("first partial period"), max_length=10,
                                           choices=FirstPeriodPolicy.choices, default=FirstPeriodPolicy.PRORATE)
    status = models.CharField(_("status"), max_length=20, choices=SubscriptionStatus.choices,
                              default=SubscriptionStatus.PENDING)
    billing_paused = models.BooleanField(_("billing paused while suspended"), default=False)
    trial_end = models.DateField(_("trial ends"), null=True, blank=True)
    discount_percent = models.DecimalField(_("discount, %"), max_digits=5, decimal_places=2, null=True, blank=True)
    fixed_price = models.DecimalField(_("fixed price per period"), max_digits=18, decimal_places=4, null=True,
                                      blank=True)
    billing_from = models.DateField(_("current terms billed from"), null=True, blank=True)
    cycle_origin = models.DateField(_("billing cycle origin"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["id"]
        indexes = [models.Index(fields=["status", "client"], name="subscription_status_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="subscription_quantity_positive"),
            models.CheckConstraint(
                condition=models.Q(billing_day__isnull=True) | models.Q(billing_day__gte=1, billing_day__lte=31),
                name="subscription_billing_day_range"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.plan.code}"


class BilledPeriod(models.Model):
    """A service period of one component already charged (or credited back). A (subscription,
    component, period start) is charged at most once: re-running billing adds nothing."""

    subscription = models.ForeignKey(Subscription, verbose_name=_("subscription"), on_delete=models.PROTECT,
                                     related_name="billed_periods")
    component = models.CharField(_("component"), max_length=100)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end (exclusive)"))
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    transaction = models.ForeignKey("ledger.JournalTransaction", verbose_name=_("transaction"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="billed_periods")
    explanation = models.JSONField(_("explanation"), default=dict)
    credited_from = models.DateField(_("credited back from"), null=True, blank=True)
    credited_minor = models.BigIntegerField(_("credited back (minor units)"), default=0)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("billed period")
        verbose_name_plural = _("billed periods")
        ordering = ["subscription", "period_start", "component"]
        constraints = [models.UniqueConstraint(fields=["subscription", "component", "period_start"],
                                               name="billed_period_once")]


class ScheduledChangeStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPLIED = "applied", _("Applied")
    CANCELLED = "cancelled", pgettext_lazy("scheduled change status", "Cancelled")  # «Отменено»: an изменение
    REPLACED = "replaced", _("Replaced")


class ScheduledChange(models.Model):
    """A change that takes effect on a date (a downgrade at period end, a cancellation at period
    end…). At most one pending change per subscription: a new one replaces it."""

    subscription = models.ForeignKey(Subscription, verbose_name=_("subscription"), on_delete=models.PROTECT,
                                     related_name="scheduled_changes")
    kind = models.CharField(_("kind"), max_length=30)
    effective_date = models.DateField(_("effective date"))
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(_("status"), max_length=20, choices=ScheduledChangeStatus.choices,
                              default=ScheduledChangeStatus.PENDING)
    created_at = models.DateTimeField(_("created at"))
    decided_at = models.DateTimeField(_("applied or cancelled at"), null=True, blank=True)

    class Meta:
        verbose_name = _("scheduled change")
        verbose_name_plural = _("scheduled changes")
        ordering = ["effective_date", "id"]
        constraints = [models.UniqueConstraint(fields=["subscription"], condition=models.Q(status="pending"),
                                               name="one_pending_change_per_subscription")]


class TimelineEntry(models.Model):
    """What happened to a subscription, in order: status changes, actions, charges and credits."""

    subscription = models.ForeignKey(Subscription, verbose_name=_("subscription"), on_delete=models.PROTECT,
                                     related_name="timeline")
    at = models.DateTimeField(_("when"))
    effective_date = models.DateField(_("effective date"))
    kind = models.CharField(_("kind"), max_length=40)
    text_ru = models.CharField(_("text (Russian)"), max_length=500)
    text_en = models.CharField(_("text (English)"), max_length=500)
    data = models.JSONField(_("data"), default=dict)
    transaction = models.ForeignKey("ledger.JournalTransaction", verbose_name=_("transaction"), null=True,
                                    blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline")
        ordering = ["subscription", "at", "id"]
