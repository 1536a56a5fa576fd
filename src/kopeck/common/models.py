from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class IdempotencyRecord(models.Model):
    """The first successful response to a mutating call with an ``Idempotency-Key``; replayed for
    repeats of the same key by the same principal."""

    principal = models.CharField(_("principal"), max_length=100)
    key = models.CharField(_("key"), max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    response_body = models.BinaryField()
    content_type = models.CharField(max_length=100)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        db_table = "api_idempotencyrecord"  # the table of the former ``kopeck.api`` app, kept
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="idempotency_unique_key")]
