"""The event log and the per-client sequence counters. Written only by kopeck.events.services."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


class DispatchStatus(models.TextChoices):
    PENDING = "pending", _("waiting")
    DONE = "done", _("processed")
    FAILED = "failed", _("failed")


class Event(models.Model):
    """Something that happened, recorded in the transaction of the change that caused it.

    ``client_id`` and ``subject_id`` are plain ids, not foreign keys: the events app sits below the
    apps whose objects it names (the layers contract), and an event outlives nothing — clients,
    subscriptions and documents are never deleted. ``sequence`` numbers a client's events 1, 2, 3…
    without gaps, in commit order (events without a client have none). ``depth`` counts how many
    rule actions led to this event (0: caused from outside the rules). An event is written once and
    never updated: whether the consumers (rules, webhooks) have processed it is kept apart, in
    :class:`PendingEvent` (an event without a row there is processed)."""

    uid = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    type = models.CharField(_("type"), max_length=100)
    version = models.PositiveSmallIntegerField(_("version"))
    client_id = models.BigIntegerField(_("client"), null=True, blank=True)
    sequence = models.BigIntegerField(_("client's sequence number"), null=True, blank=True)
    subject_type = models.CharField(_("subject type"), max_length=30)
    subject_id = models.BigIntegerField(_("subject"), null=True, blank=True)
    data = models.JSONField(_("data"), default=dict)
    occurred_at = models.DateTimeField(_("occurred at"))
    actor_kind = models.CharField(_("actor kind"), max_length=20)
    actor_id = models.CharField(_("actor id"), max_length=64, blank=True)
    actor_label = models.CharField(_("actor"), max_length=200)
    depth = models.PositiveSmallIntegerField(_("depth"), default=0)
    cause = models.ForeignKey("self", verbose_name=_("caused by"), null=True, blank=True, on_delete=models.PROTECT,
                              related_name="effects")
    dedupe_key = models.CharField(_("deduplication key"), max_length=200, null=True, blank=True, unique=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["client_id", "sequence"], name="event_client_sequence_once")]
        indexes = [
            models.Index(fields=["type", "occurred_at"], name="event_type_time"),
            models.Index(fields=["subject_type", "subject_id"], name="event_subject"),
            models.Index(fields=["occurred_at"], name="event_time"),
        ]

    def __str__(self) -> str:
        from kopeck.events.catalog import CATALOG

        kind = CATALOG.get(self.type)
        return f"{kind.title if kind else self.type} #{self.pk}"


class PendingEvent(models.Model):
    """The queue of events the consumers have not processed yet: one small row per event, inserted in
    the transaction that records the event (so never for a rolled-back change) and deleted in the
    transaction that processes it — the big, heavily indexed event log is never updated.

    ``attempts``, ``after`` and ``error`` track failed processing (the next attempt is not before
    ``after``); ``failed`` marks an event given up after the last attempt, which waits for an operator."""

    event = models.OneToOneField(Event, verbose_name=_("event"), primary_key=True, on_delete=models.CASCADE,
                                 related_name="pending")
    attempts = models.PositiveSmallIntegerField(_("processing attempts"), default=0)
    after = models.DateTimeField(_("next processing attempt"), null=True, blank=True)
    error = models.TextField(_("processing error"), blank=True, default="")
    failed = models.BooleanField(_("given up"), default=False)

    class Meta:
        verbose_name = _("event waiting to be processed")
        verbose_name_plural = _("events waiting to be processed")

    def __str__(self) -> str:
        return f"#{self.event_id}"

    @property
    def status(self) -> str:
        return DispatchStatus.FAILED if self.failed else DispatchStatus.PENDING


class ClientSequence(models.Model):
    """The last sequence number given to a client's events (one row per client that has events)."""

    client_id = models.BigIntegerField(_("client"), primary_key=True)
    last = models.BigIntegerField(_("last sequence number"), default=0)

    class Meta:
        verbose_name = _("client's event counter")
        verbose_name_plural = _("clients' event counters")
