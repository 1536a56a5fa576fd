"""Webhook endpoints, their signing secrets, deliveries (one per endpoint and event) and attempts.
Writes go through kopeck.webhooks.services."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Endpoint(models.Model):
    url = models.URLField(_("URL"), max_length=2000)
    description = models.CharField(_("description"), max_length=300, blank=True, default="")
    event_types = models.JSONField(_("events"), default=list, blank=True,
                                   help_text=_("Event types or groups (subscription.*) sent to this endpoint; * "
                                               "for all. Rules may send others."))
    is_enabled = models.BooleanField(_("enabled"), default=True)
    disabled_at = models.DateTimeField(_("disabled at"), null=True, blank=True)
    disabled_reason = models.CharField(_("why disabled"), max_length=500, blank=True, default="")
    failing_since = models.DateTimeField(_("failing since"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class EndpointSecret(models.Model):
    """A signing secret (``whsec_…``), encrypted at rest. After a rotation the previous secret stays
    valid until ``expires_at``: messages are signed with every valid secret meanwhile."""

    endpoint = models.ForeignKey(Endpoint, verbose_name=_("endpoint"), on_delete=models.CASCADE,
                                 related_name="secrets")
    encrypted = models.TextField(_("secret (encrypted)"))
    created_at = models.DateTimeField(_("created at"))
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)

    class Meta:
        verbose_name = _("signing secret")
        verbose_name_plural = _("signing secrets")
        ordering = ["-id"]


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    DELIVERED = "delivered", _("delivered")
    FAILED = "failed", _("failed")


class Delivery(models.Model):
    """One event to one endpoint: attempted until the endpoint answers 2xx, or the retry window has
    passed (then ``failed``; an operator may redeliver it)."""

    endpoint = models.ForeignKey(Endpoint, verbose_name=_("endpoint"), on_delete=models.PROTECT,
                                 related_name="deliveries")
    event = models.ForeignKey("events.Event", verbose_name=_("event"), on_delete=models.PROTECT,
                              related_name="webhook_deliveries")
    event_type = models.CharField(_("event type"), max_length=100)
    status = models.CharField(_("status"), max_length=10, choices=DeliveryStatus.choices,
                              default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    retry_from = models.DateTimeField(_("retried since"))
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)
    lease = models.CharField(_("lease"), max_length=32, blank=True, default="")
    last_status_code = models.PositiveSmallIntegerField(_("last answer code"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True, default="")
    created_at = models.DateTimeField(_("created at"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "event"], name="delivery_once_per_endpoint")]
        indexes = [models.Index(fields=["next_attempt_at", "id"], condition=models.Q(status="pending"),
                                name="delivery_due")]

    def __str__(self) -> str:
        from kopeck.events.catalog import CATALOG

        kind = CATALOG.get(self.event_type)
        return f"{kind.title if kind else self.event_type} #{self.event_id} → {self.endpoint}"


class Attempt(models.Model):
    delivery = models.ForeignKey(Delivery, verbose_name=_("delivery"), on_delete=models.CASCADE,
                                 related_name="attempt_log")
    at = models.DateTimeField(_("when"))
    ok = models.BooleanField(_("succeeded"))
    status_code = models.PositiveSmallIntegerField(_("answer code"), null=True, blank=True)
    latency_ms = models.PositiveIntegerField(_("latency, ms"))
    response = models.TextField(_("answer"), blank=True, default="")
    error = models.TextField(_("error"), blank=True, default="")

    class Meta:
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")
        ordering = ["delivery", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error[:40]}"
