"""Usage events and meter readings as received. Rows are written only by :mod:`kopeck.usage.services`
(in bulk) and never changed: the tables themselves record what arrived and when (``received_at``).

Deduplication is per subscription: a (subscription, event id) or (subscription, reading id) is stored
at most once, enforced by a unique constraint, so a repeated id is a duplicate even under concurrent
requests."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

EVENT_ID_MAX = 200
CODE_MAX = 100


class UsageEvent(models.Model):
    """One usage event of a metered component. ``metric`` is the component's code in the plan."""

    subscription = models.ForeignKey("subscriptions.Subscription", verbose_name=_("subscription"),
                                     on_delete=models.PROTECT, related_name="usage_events")
    event_id = models.CharField(_("event id"), max_length=EVENT_ID_MAX)
    metric = models.CharField(_("metric (component code)"), max_length=CODE_MAX)
    timestamp = models.DateTimeField(_("timestamp"))
    properties = models.JSONField(_("properties"), default=dict)
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        verbose_name = _("usage event")
        verbose_name_plural = _("usage events")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["subscription", "event_id"], name="usage_event_once")]
        indexes = [models.Index(fields=["subscription", "metric", "timestamp"], name="usage_event_period_idx")]

    def __str__(self) -> str:
        return f"{self.metric} {self.event_id}"


class ReadingKind(models.TextChoices):
    NORMAL = "normal", _("Normal")
    ROLLOVER = "rollover", _("Counter rollover")
    REPLACEMENT = "replacement", _("Meter replacement")


class MeterReading(models.Model):
    """A reading of a cumulative counter (the ``meter`` is the code of a metered component whose
    aggregation is ``meter_reading``)."""

    subscription = models.ForeignKey("subscriptions.Subscription", verbose_name=_("subscription"),
                                     on_delete=models.PROTECT, related_name="meter_readings")
    meter = models.CharField(_("meter (component code)"), max_length=CODE_MAX)
    reading_id = models.CharField(_("reading id"), max_length=EVENT_ID_MAX)
    value = models.DecimalField(_("value"), max_digits=30, decimal_places=12)
    timestamp = models.DateTimeField(_("timestamp"))
    kind = models.CharField(_("kind"), max_length=12, choices=ReadingKind.choices, default=ReadingKind.NORMAL)
    old_final = models.DecimalField(_("old meter's final reading"), max_digits=30, decimal_places=12, null=True,
                                    blank=True)
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        verbose_name = _("meter reading")
        verbose_name_plural = _("meter readings")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["subscription", "reading_id"], name="meter_reading_once"),
            models.CheckConstraint(
                condition=models.Q(kind="replacement", old_final__isnull=False)
                | (~models.Q(kind="replacement") & models.Q(old_final__isnull=True)),
                name="meter_reading_old_final_for_replacement"),
        ]
        indexes = [models.Index(fields=["subscription", "meter", "timestamp"], name="meter_reading_period_idx")]

    def __str__(self) -> str:
        return f"{self.meter} {self.reading_id}"


class UsageThreshold(models.Model):
    """An alert level of a subscription's usage of a metered component (``metric``: the component's
    code) in a billing period: when intake takes the period's quantity above ``amount``, the event
    ``usage.threshold_exceeded`` is recorded — once per threshold and period (docs/usage.md)."""

    subscription = models.ForeignKey("subscriptions.Subscription", verbose_name=_("subscription"),
                                     on_delete=models.PROTECT, related_name="usage_thresholds")
    metric = models.CharField(_("metric (component code)"), max_length=CODE_MAX)
    amount = models.DecimalField(_("threshold quantity"), max_digits=30, decimal_places=12)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("usage threshold")
        verbose_name_plural = _("usage thresholds")
        ordering = ["subscription", "metric", "amount"]
        constraints = [models.UniqueConstraint(fields=["subscription", "metric", "amount"],
                                               name="usage_threshold_once")]

    def __str__(self) -> str:
        """"Исходящий трафик, ГБ > 1000": the component by its name in the subscription's plan."""
        name = self.metric
        spec = self.subscription.plan_version.spec if self.subscription_id else None
        for component in (spec or {}).get("components", []):
            if component.get("code") == self.metric and component.get("name"):
                name = component["name"]
        return f"{name} > {self.amount.normalize():f}"
