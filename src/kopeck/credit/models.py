"""Credit control's records: a client's credit policy (overrides of the billing settings' defaults),
the dunning ladder's steps, debts and the steps run for them, promised payments, blocks.
Writes go through :mod:`kopeck.credit.services`."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class LimitKind(models.TextChoices):
    DEFAULT = "default", _("As in the billing settings")
    NONE = "none", _("No limit")
    AMOUNT = "amount", _("This amount")


class CreditPolicy(models.Model):
    """A client's overrides of the credit-control defaults (general billing settings); an empty field
    takes the default."""

    client = models.OneToOneField("clients.Client", verbose_name=_("client"), on_delete=models.PROTECT,
                                  related_name="credit_policy")
    mode = models.CharField(_("payment terms"), max_length=10, blank=True, default="",
                            choices=[("", _("As in the billing settings")), ("prepaid", _("Prepaid")),
                                     ("postpaid", _("Postpaid"))])
    limit_kind = models.CharField(_("credit limit"), max_length=10, choices=LimitKind.choices,
                                  default=LimitKind.DEFAULT)
    credit_limit = models.DecimalField(_("credit limit amount"), max_digits=18, decimal_places=2, null=True,
                                       blank=True)
    grace_days = models.PositiveSmallIntegerField(_("grace period, days"), null=True, blank=True)
    low_balance_amount = models.DecimalField(_("low balance below"), max_digits=18, decimal_places=2, null=True,
                                             blank=True)
    low_balance_days = models.PositiveSmallIntegerField(_("low balance: days left"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"))

    class Meta:
        verbose_name = _("credit policy")
        verbose_name_plural = _("credit policies")
        ordering = ["client"]

    def __str__(self) -> str:
        return str(self.client)


class StepAction(models.TextChoices):
    REMIND = "remind", _("Remind")
    WARN = "warn", _("Warn")
    BLOCK_SUBSCRIPTIONS = "block_subscriptions", _("Block the subscriptions")
    BLOCK_CLIENT = "block_client", _("Block the client")
    TERMINATE = "terminate", _("Terminate the subscriptions")


BLOCKING_ACTIONS = (StepAction.BLOCK_SUBSCRIPTIONS, StepAction.BLOCK_CLIENT, StepAction.TERMINATE)


class StepAnchor(models.TextChoices):
    DUE_DATE = "due_date", _("the due date of the oldest unpaid invoice")
    LIMIT = "limit", _("the day the balance went below the credit limit")


class DunningStep(models.Model):
    """A step of the dunning ladder: an action on a day counted from an anchor of the debt."""

    name = models.CharField(_("name"), max_length=200)
    action = models.CharField(_("action"), max_length=30, choices=StepAction.choices)
    anchor = models.CharField(_("counted from"), max_length=10, choices=StepAnchor.choices,
                              default=StepAnchor.DUE_DATE)
    offset_days = models.SmallIntegerField(_("days after"), default=0,
                                           help_text=_("Negative: before the anchor (a reminder before the due date)."))
    notify = models.BooleanField(_("send a notice"), default=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("dunning step")
        verbose_name_plural = _("dunning ladder")
        ordering = ["anchor", "offset_days", "id"]

    def __str__(self) -> str:
        return self.name


class DebtStatus(models.TextChoices):
    OPEN = "open", _("Open")
    PAID = "paid", pgettext_lazy("debt status", "Paid")  # «Погашена»: a задолженность


class Debt(models.Model):
    """A client's debt, from the day credit control first sees it until it is paid: the ladder runs
    once per debt and restarts for the next one."""

    client = models.ForeignKey("clients.Client", verbose_name=_("client"), on_delete=models.PROTECT,
                               related_name="debts")
    currency = models.CharField(_("currency"), max_length=3)
    status = models.CharField(_("status"), max_length=10, choices=DebtStatus.choices, default=DebtStatus.OPEN)
    opened_on = models.DateField(_("opened on"))
    due_date = models.DateField(_("oldest unpaid invoice due"), null=True, blank=True)
    limit_crossed_on = models.DateField(_("below the credit limit since"), null=True, blank=True)
    amount_minor = models.BigIntegerField(_("debt when opened (minor units)"))
    closed_on = models.DateField(_("paid on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("debt")
        verbose_name_plural = _("debts")
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["client"], condition=models.Q(status="open"),
                                               name="one_open_debt_per_client")]

    def __str__(self) -> str:
        return f"{self.client} · {self.opened_on}"


class StepRunStatus(models.TextChoices):
    DONE = "done", _("Done")
    SKIPPED = "skipped", _("Skipped: a later notice was due the same day")


class StepRun(models.Model):
    """A step of the ladder run for a debt — at most once (the unique constraint)."""

    debt = models.ForeignKey(Debt, verbose_name=_("debt"), on_delete=models.PROTECT, related_name="step_runs")
    step = models.ForeignKey(DunningStep, verbose_name=_("step"), on_delete=models.PROTECT, related_name="runs")
    status = models.CharField(_("status"), max_length=10, choices=StepRunStatus.choices)
    action = models.CharField(_("action"), max_length=30, choices=StepAction.choices)
    ran_on = models.DateField(_("ran on"))
    due_on = models.DateField(_("due on"))
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("dunning step run")
        verbose_name_plural = _("dunning step runs")
        ordering = ["debt", "due_on", "id"]
        constraints = [models.UniqueConstraint(fields=["debt", "step"], name="step_once_per_debt")]

    def __str__(self) -> str:
        return f"{self.step} · {self.ran_on}"


class PromiseStatus(models.TextChoices):
    ACTIVE = "active", pgettext_lazy("promise status", "Active")  # «Действует»
    KEPT = "kept", _("Kept: paid in time")
    EXPIRED = "expired", _("Expired unpaid")


class Promise(models.Model):
    """A promised payment (обещанный платёж): temporary extra credit until a date."""

    client = models.ForeignKey("clients.Client", verbose_name=_("client"), on_delete=models.PROTECT,
                               related_name="promises")
    amount_minor = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    granted_on = models.DateField(_("granted on"))
    until = models.DateField(_("valid until"), help_text=_("The last day the promise holds."))
    status = models.CharField(_("status"), max_length=10, choices=PromiseStatus.choices,
                              default=PromiseStatus.ACTIVE)
    ended_on = models.DateField(_("ended on"), null=True, blank=True)
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    granted_by = models.CharField(_("granted by"), max_length=200)
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        verbose_name = _("promised payment")
        verbose_name_plural = _("promised payments")
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "until"], name="promise_status_until_idx")]

    def __str__(self) -> str:
        return f"{self.client} · {self.until}"


class BlockReason(models.TextChoices):
    NON_PAYMENT = "non_payment", _("Non-payment")
    CLIENT_REQUEST = "client_request", _("At the client's request")
    ABUSE = "abuse", _("Abuse")
    FRAUD = "fraud", _("Fraud")
    LEGAL = "legal", _("Legal grounds")


class BlockSource(models.TextChoices):
    OPERATOR = "operator", _("Operator")
    CREDIT_CONTROL = "credit_control", _("Credit control")
    RULE = "rule", _("Rule")
    API = "api", _("API")


class Block(models.Model):
    """A block of a client (``subscription`` empty) or of one of its subscriptions. A thing is
    blocked while any of its blocks holds (``lifted_at`` empty)."""

    client = models.ForeignKey("clients.Client", verbose_name=_("client"), on_delete=models.PROTECT,
                               related_name="blocks")
    subscription = models.ForeignKey("subscriptions.Subscription", verbose_name=_("subscription"), null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="blocks")
    reason = models.CharField(_("reason"), max_length=20, choices=BlockReason.choices)
    source = models.CharField(_("source"), max_length=20, choices=BlockSource.choices)
    automatic = models.BooleanField(pgettext_lazy("block", "automatic"), default=False,
                                    help_text=_("Lifted by credit control when its cause is gone; a manual block "
                                                "only by hand."))
    effect = models.CharField(_("billing while blocked"), max_length=20)
    debt = models.ForeignKey(Debt, verbose_name=_("debt"), null=True, blank=True, on_delete=models.PROTECT,
                             related_name="blocks")
    comment = models.CharField(_("comment"), max_length=500, blank=True)
    suspended = models.JSONField(_("subscriptions suspended by the block"), default=list, blank=True)
    created_at = models.DateTimeField(_("blocked at"))
    created_by = models.CharField(_("blocked by"), max_length=200)
    lifted_at = models.DateTimeField(_("lifted at"), null=True, blank=True)
    lifted_by = models.CharField(_("lifted by"), max_length=200, blank=True)
    lift_comment = models.CharField(_("why lifted"), max_length=500, blank=True)
    key = models.CharField(_("idempotency key"), max_length=200, null=True, blank=True, unique=True,
                           help_text=_("What placed the block once (a rule's action for one event): placing it "
                                       "again with the same key places nothing."))

    class Meta:
        verbose_name = _("block")
        verbose_name_plural = _("blocks")
        ordering = ["-id"]
        indexes = [models.Index(fields=["client"], condition=models.Q(lifted_at__isnull=True),
                                name="block_holding_idx")]

    def __str__(self) -> str:
        what = f"#{self.subscription_id}" if self.subscription_id else str(self.client_id)
        return f"{self.get_reason_display()} · {what}"


class FlagKind(models.TextChoices):
    LOW_BALANCE = "low_balance", _("Low balance")
    BELOW_LIMIT = "below_limit", _("Below the credit limit")


class CreditFlag(models.Model):
    """A crossing credit control has announced (balance low, below the limit): the event fires once per
    crossing; the flag is removed when the balance is back."""

    client = models.ForeignKey("clients.Client", verbose_name=_("client"), on_delete=models.CASCADE,
                               related_name="credit_flags")
    kind = models.CharField(_("kind"), max_length=20, choices=FlagKind.choices)
    since = models.DateField(_("since"))

    class Meta:
        verbose_name = _("credit flag")
        verbose_name_plural = _("credit flags")
        constraints = [models.UniqueConstraint(fields=["client", "kind"], name="credit_flag_once")]

    def __str__(self) -> str:
        return f"{self.client_id} · {self.kind}"
