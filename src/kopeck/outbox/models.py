from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    DELIVERED = "delivered", _("delivered")
    DEAD = "dead", _("dead")


class OutboxMessage(models.Model):
    """A side effect to perform once the transaction that wrote it has committed.

    Written only by :func:`kopeck.outbox.services.outbox_enqueue` (inside the caller's transaction) and
    moved through its states only by the outbox services: ``pending`` → ``delivered``, or after the
    last failed attempt ``dead`` (an operator may requeue it)."""

    topic = models.CharField(_("topic"), max_length=100)
    key = models.CharField(_("key"), max_length=255, null=True, blank=True, unique=True,
                           help_text=_("Deduplication key: a second message with the same key is not written."))
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(_("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    available_at = models.DateTimeField(_("next attempt at"))
    locked_until = models.DateTimeField(_("locked until"), null=True, blank=True)
    lease = models.CharField(_("lease"), max_length=32, blank=True, default="")
    last_error = models.TextField(_("last error"), blank=True, default="")
    created_at = models.DateTimeField(_("created at"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "available_at"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"
