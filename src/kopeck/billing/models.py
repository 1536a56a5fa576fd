"""Billing runs: one pass of billing over the subscriptions in a scope on a billing date, its
progress, its summary and one result item per subscription. Writes go through services."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kopeck.core.subscriptions import BilledLine


class RunMode(models.TextChoices):
    SANDBOX = "sandbox", _("Sandbox (compute only)")
    AUTO = "auto", _("Fully automatic")
    CONFIRM = "confirm", _("With confirmation")


class RunStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    COMPUTING = "computing", _("Computing")
    AWAITING_CONFIRMATION = "awaiting_confirmation", _("Awaiting confirmation")
    APPLYING = "applying", _("Applying")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", pgettext_lazy("billing run status", "Cancelled")  # «Отменён»: a запуск
    REJECTED = "rejected", _("Rejected")


class ItemStatus(models.TextChoices):
    OK = "ok", _("OK")
    ERROR = "error", _("Error")


class BillingRun(models.Model):
    billing_date = models.DateField(_("billing date"))
    mode = models.CharField(_("mode"), max_length=20, choices=RunMode.choices)
    scope = models.JSONField(_("scope"), default=dict)
    status = models.CharField(_("status"), max_length=30, choices=RunStatus.choices, default=RunStatus.PENDING)
    total = models.PositiveIntegerField(_("subscriptions in scope"), default=0)
    processed = models.PositiveIntegerField(_("subscriptions processed"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    summary = models.JSONField(_("summary"), default=dict)
    created_by = models.CharField(_("created by"), max_length=200)
    created_at = models.DateTimeField(_("created at"))
    scheduled = models.BooleanField(_("started by the daily schedule"), default=False)
    apply_total = models.PositiveIntegerField(_("subscriptions to apply"), default=0)
    applied = models.PositiveIntegerField(_("subscriptions applied"), default=0)
    decided_by = models.CharField(_("confirmed or rejected by"), max_length=200, blank=True, default="")
    decided_at = models.DateTimeField(_("confirmed or rejected at"), null=True, blank=True)
    planned_at = models.DateTimeField(_("split into chunks at"), null=True, blank=True)

    class Meta:
        verbose_name = _("billing run")
        verbose_name_plural = _("billing runs")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["billing_date"], condition=models.Q(scheduled=True),
                                               name="billing_run_scheduled_once_per_date")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.mode} {self.billing_date}"


class RunItem(models.Model):
    """The result of one subscription in a run: the items billing would post (with their
    explanations), or the error that stopped it."""

    # the run's own index would repeat the first column of (run, subscription) and (run, client)
    run = models.ForeignKey(BillingRun, verbose_name=_("billing run"), on_delete=models.CASCADE,
                            related_name="items", db_index=False)
    client = models.ForeignKey("clients.Client", verbose_name=_("client"), on_delete=models.PROTECT,
                               related_name="+")
    subscription = models.ForeignKey("subscriptions.Subscription", verbose_name=_("subscription"),
                                     on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=10, choices=ItemStatus.choices)
    error = models.TextField(_("error"), blank=True, default="")
    items = models.JSONField(_("items"), default=list)
    amount_minor = models.BigIntegerField(_("amount (minor units)"), default=0)
    currency = models.CharField(_("currency"), max_length=3)
    vat_rate = models.CharField(_("VAT rate"), max_length=20, blank=True, default="")
    excluded = models.BooleanField(_("excluded"), default=False)
    changed = models.BooleanField(_("changed since computed"), default=False)
    previous_items = models.JSONField(_("items before the change"), default=list, blank=True)
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    transaction_ids = models.JSONField(_("ledger transactions"), default=list, blank=True)
    excluded_lines = models.JSONField(_("excluded lines"), default=list, blank=True,
                                      help_text=_("[component, period start] of each line left out."))

    class Meta:
        verbose_name = _("billing run item")
        verbose_name_plural = _("billing run items")
        ordering = ["run", "subscription"]
        constraints = [models.UniqueConstraint(fields=["run", "subscription"], name="run_item_once")]
        # a chunk (a range of client ids) finds its items without reading the run's other items: without
        # it the check of what a chunk still has to do read every item written so far (quadratic: at
        # 100,000 subscriptions 50–110 ms per chunk and phase)
        indexes = [models.Index(fields=["run", "client"], name="run_item_client_idx")]

    @property
    def lines(self) -> list[BilledLine]:
        """The stored items as typed billed lines."""
        return [BilledLine.from_dict(line, self.currency) for line in self.items]


class ChunkPhase(models.TextChoices):
    COMPUTE = "compute", _("Compute")
    BILL = "bill", _("Compute and post")
    APPLY = "apply", _("Post the reviewed items")


class RunChunk(models.Model):
    """A slice of a run: the in-scope subscriptions of the clients ``first_client`` …
    ``last_client`` (ids, inclusive). Chunks split a run at client boundaries, so a client belongs to
    one chunk and is processed by one worker at a time; a chunk's work and its ``done`` mark are
    written in one transaction with the chunk row locked, so a chunk is done exactly once however
    many workers are sent to it."""

    run = models.ForeignKey(BillingRun, verbose_name=_("billing run"), on_delete=models.CASCADE,
                            related_name="chunks")
    seq = models.PositiveIntegerField(_("number"))
    first_client = models.BigIntegerField(_("first client id"))
    last_client = models.BigIntegerField(_("last client id"))
    planned = models.PositiveIntegerField(_("subscriptions when planned"))
    phase = models.CharField(_("phase"), max_length=10, choices=ChunkPhase.choices)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    tally = models.JSONField(_("tally"), default=dict, blank=True)

    class Meta:
        verbose_name = _("billing run chunk")
        verbose_name_plural = _("billing run chunks")
        ordering = ["run", "phase", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "phase", "seq"], name="run_chunk_once")]

    def __str__(self) -> str:
        return f"#{self.run_id}/{self.seq}"
