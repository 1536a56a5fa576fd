"""Business rules (Бизнес правила) and the log of their executions. Writes go through
kopeck.rules.services; see docs/rules.md."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Rule(models.Model):
    """When one of ``triggers`` happens and ``condition`` holds, run ``actions`` in order.

    Rules run in ascending ``priority`` (then id); a matching rule with ``stop_processing`` ends the
    run for that event. ``revision`` grows with every change (compiled conditions are cached by it)."""

    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True, default="")
    triggers = models.JSONField(_("events"), default=list,
                                help_text=_("Event types (or groups such as subscription.*) that run the rule."))
    condition = models.TextField(_("condition"), blank=True, default="",
                                 help_text=_("A CEL expression; empty: always."))
    actions = models.JSONField(_("actions"), default=list)
    priority = models.IntegerField(_("priority"), default=100, help_text=_("Lower numbers run first."))
    stop_processing = models.BooleanField(_("stop processing further rules"), default=False)
    is_enabled = models.BooleanField(_("enabled"), default=False)
    revision = models.PositiveIntegerField(_("revision"), default=1)
    created_at = models.DateTimeField(_("created at"))
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("rule")
        verbose_name_plural = _("rules")
        ordering = ["priority", "id"]

    def __str__(self) -> str:
        return self.name


class ExecutionStatus(models.TextChoices):
    MATCHED = "matched", _("rules matched")
    NO_MATCH = "no_match", _("no rule matched")
    ERRORS = "errors", _("with errors")
    LOOP = "loop", _("stopped: loop protection")


class RuleExecution(models.Model):
    """The rules run for one event: every rule whose trigger matched, in order, whether its condition
    held (or why it could not be evaluated), and what each of its actions did or why it failed.
    ``matched`` lists the ids of the rules that ran, as ``,12,15,`` (filterable on every database)."""

    event = models.OneToOneField("events.Event", verbose_name=_("event"), on_delete=models.PROTECT,
                                 related_name="rule_execution")
    event_type = models.CharField(_("event type"), max_length=100)
    client_id = models.BigIntegerField(_("client"), null=True, blank=True)
    at = models.DateTimeField(_("when"))
    status = models.CharField(_("result"), max_length=10, choices=ExecutionStatus.choices)
    matched = models.CharField(_("rules that ran"), max_length=2000, blank=True, default="")
    stopped_by = models.BigIntegerField(_("stopped by rule"), null=True, blank=True)
    results = models.JSONField(_("results"), default=list)

    class Meta:
        verbose_name = _("rule execution")
        verbose_name_plural = _("rule executions")
        ordering = ["-id"]
        indexes = [models.Index(fields=["at"], name="rule_execution_at"),
                   models.Index(fields=["client_id", "at"], name="rule_execution_client")]

    def __str__(self) -> str:
        from kopeck.events.catalog import CATALOG

        kind = CATALOG.get(self.event_type)
        return f"{kind.title if kind else self.event_type} #{self.event_id}"
