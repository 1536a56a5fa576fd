"""Billing what is due: one subscription (:func:`subscription_bill_due`, the one-by-one writer),
or every running subscription one after the other.

Billing a subscription on a date first applies what takes effect by then — its scheduled changes
and a new version of its plan, each at its own date — and then posts what is due and not billed
yet. A preview computes exactly that without writing: when something takes effect, by doing it in
a transaction that is rolled back (the same code as applying, so the same items), otherwise from
the pure quote.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.configuration.selectors import provider_today
from kopeck.core.money import MoneyError
from kopeck.core.pricing.errors import PricingError
from kopeck.core.subscriptions import BilledLine, UsageSource, quote_bill_due
from kopeck.subscriptions.events import record_subscription_events
from kopeck.subscriptions.models import Subscription
from kopeck.subscriptions.ports import stored_usage
from kopeck.subscriptions.selectors import subscription_billed, subscription_terms, subscriptions_to_bill
from kopeck.subscriptions.services.common import (
    audit,
    billable_on,
    fresh,
    lock,
    status_on,
    subscription_state,
    timeline_add,
    today_or,
)
from kopeck.subscriptions.services.posting import plan_posting, post_plan
from kopeck.subscriptions.services.scheduled import apply_changes_due, subscriptions_changing


@dataclass(slots=True)
class BillResult:
    """What billing a subscription on ``on`` posts (preview) or posted: its billed lines in posting
    order (what took effect first, then what was due), the ledger transactions, the status."""

    subscription_id: int
    on: dt.date
    lines: list[BilledLine] = field(default_factory=list)
    transaction_ids: list[int] = field(default_factory=list)
    status: str = ""
    held: tuple[dict[str, Any], ...] = ()  # metered lines that cannot be rated from the stored usage (still due)

    @property
    def items(self) -> list[dict[str, Any]]:
        """The lines in their JSON form (as the API answers them)."""
        return [line.as_dict() for line in self.lines]


def _refresh_status(actor: Actor, sub: Subscription, on: dt.date) -> None:
    status = status_on(sub, on)
    if status != sub.status:
        before = subscription_state(sub)
        old, sub.status, sub.updated_at = sub.status, status, clock.now()
        sub.save(update_fields=["status", "updated_at"])
        timeline_add(sub, "status", on, f"Статус: {old} → {status}", f"Status: {old} → {status}",
                     {"from": old, "to": status})
        audit(actor, "status", sub, before, subscription_state(sub))
        record_subscription_events(actor, "status", sub, before, on)


class _Rollback(Exception):
    """Leaves a dry run's transaction, undoing everything it wrote."""


def bill_locked(actor: Actor, sub: Subscription, day: dt.date, usage: UsageSource | None = None) -> BillResult:
    """Bill ``sub`` (locked by the caller, inside its transaction) on ``day``: apply what takes
    effect by then, then post what is due."""
    _refresh_status(actor, sub, day)
    lines, ids = apply_changes_due(actor, sub, day)
    held: tuple[dict[str, Any], ...] = ()
    if billable_on(sub, day):
        billed = subscription_billed(sub)
        quote = quote_bill_due(subscription_terms(sub), day, billed, usage=stored_usage(sub) if usage is None else usage)
        held = tuple(h.as_dict() for h in quote.held)
        if quote.items:
            plan = plan_posting(sub, quote, billed, bill=True)
            ids += post_plan(actor, sub, plan)
            lines += plan.lines
    return BillResult(sub.pk, day, lines, ids, sub.status, held)


def _dry_run(actor: Actor, subscription: Subscription, day: dt.date, usage: UsageSource | None) -> BillResult:
    """What :func:`bill_locked` would post, from a transaction rolled back: nothing stays written."""
    result: BillResult | None = None
    try:
        with transaction.atomic():
            result = bill_locked(actor, lock(subscription), day, usage)
            raise _Rollback
    except _Rollback:
        pass
    assert result is not None
    return BillResult(result.subscription_id, day, result.lines, [], result.status, result.held)


def subscription_bill_due(*, actor: Actor, subscription: Subscription, on: dt.date | None = None,
                          usage: UsageSource | None = None, preview: bool = False) -> BillResult:
    """Apply what takes effect by ``on`` (default today, provider-local) and post everything due up
    to then that was not billed yet. Running it again on the same date posts nothing.
    ``usage(component, period)`` gives metered usage (default: the stored usage events and meter
    readings, kopeck.usage). ``preview`` returns the same lines without writing anything."""
    today = provider_today()
    day = today_or(on)
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise ValidationFailed.field("on", _("Must be a date."))
    if day > today:
        raise ValidationFailed.field("on", _("Cannot bill ahead of today (%(today)s).") % {"today": today.isoformat()})
    if preview:
        sub = fresh(subscription)
        if subscriptions_changing([sub], {sub.pk: subscription_terms(sub)}, day):
            return _dry_run(actor, sub, day, usage)
        status = status_on(sub, day)
        if not billable_on(sub, day):
            return BillResult(sub.pk, day, [], [], status)
        quote = quote_bill_due(subscription_terms(sub), day, subscription_billed(sub),
                               usage=stored_usage(sub) if usage is None else usage)
        return BillResult(sub.pk, day, [BilledLine.of(i) for i in quote.items], [], status,
                          tuple(h.as_dict() for h in quote.held))
    with transaction.atomic():
        return bill_locked(actor, lock(subscription), day, usage)


def subscriptions_bill_due_all(*, actor: Actor, on: dt.date | None = None,
                               usage: UsageSource | None = None) -> dict[str, Any]:
    """Bill every subscription up to ``on``, one by one (one transaction each; a failure of one is
    reported and does not stop the others) — without a billing run, so without documents: for
    scripts and tests. The scheduled biller is the daily billing run (kopeck.billing)."""
    day = today_or(on)
    summary: dict[str, Any] = {"on": day.isoformat(), "subscriptions": 0, "transactions": 0, "errors": {}}
    for sub in subscriptions_to_bill(day).iterator():
        try:
            result = subscription_bill_due(actor=actor, subscription=sub, on=day, usage=usage)
        except (ValidationFailed, Conflict, MoneyError, PricingError, ValueError) as exc:
            summary["errors"][str(sub.pk)] = str(exc)
            continue
        summary["subscriptions"] += 1
        summary["transactions"] += len(result.transaction_ids)
    return summary
