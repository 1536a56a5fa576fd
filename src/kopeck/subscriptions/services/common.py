"""What every writer of subscriptions shares: the result of an action, the subscription's audited
state, its status on a date, the row lock, timeline and audit entries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kopeck.audit.services import audit_record
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.configuration.selectors import provider_today
from kopeck.core.subscriptions import billable_on as core_billable_on
from kopeck.core.subscriptions import status_on as core_status_on
from kopeck.subscriptions.models import Subscription, SubscriptionStatus, TimelineEntry

Errors = dict[str, list[str]]

RUNNING = (SubscriptionStatus.TRIAL, SubscriptionStatus.ACTIVE)
"""The statuses in which a subscription is billed and can be changed."""


@dataclass(slots=True)
class ActionResult:
    """What an action posts (preview) or posted (apply): ``items`` are the charges and credits in
    posting order (kind, component, period, amount, currency, explanation, lines)."""

    action: str
    preview: bool
    effective_date: dt.date
    status: str
    items: list[dict[str, Any]] = field(default_factory=list)
    transaction_ids: list[int] = field(default_factory=list)
    scheduled_change_id: int | None = None
    total: str = "0"

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, "preview": self.preview, "effective_date": self.effective_date.isoformat(),
                "status": self.status, "items": self.items, "transaction_ids": self.transaction_ids,
                "scheduled_change_id": self.scheduled_change_id, "total": self.total}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ActionResult:
        return cls(action=data["action"], preview=bool(data["preview"]),
                   effective_date=dt.date.fromisoformat(data["effective_date"]), status=data["status"],
                   items=list(data["items"]), transaction_ids=list(data["transaction_ids"]),
                   scheduled_change_id=data.get("scheduled_change_id"), total=data.get("total", "0"))


def subscription_state(sub: Subscription) -> dict[str, Any]:
    """The subscription's fields as the audit log records them."""
    return {"client": sub.client_id, "plan": sub.plan_id, "plan_version": sub.plan_version_id,
            "quantity": sub.quantity, "currency": sub.currency, "start_date": sub.start_date,
            "end_date": sub.end_date, "anchor_kind": sub.anchor_kind, "billing_day": sub.billing_day,
            "first_period_policy": sub.first_period_policy, "status": sub.status,
            "billing_paused": sub.billing_paused, "trial_end": sub.trial_end,
            "discount_percent": None if sub.discount_percent is None else str(sub.discount_percent),
            "fixed_price": None if sub.fixed_price is None else str(sub.fixed_price),
            "billing_from": sub.billing_from, "cycle_origin": sub.cycle_origin}


def status_on(sub: Subscription, on: dt.date) -> str:
    """The status ``sub`` has on ``on`` (:func:`kopeck.core.subscriptions.status_on`)."""
    return str(core_status_on(sub.status, sub.start_date, sub.trial_end, on))


def billable_on(sub: Subscription, on: dt.date) -> bool:
    """Whether billing on ``on`` bills ``sub`` (:func:`kopeck.core.subscriptions.billable_on`)."""
    return core_billable_on(sub.status, sub.start_date, sub.trial_end, sub.billing_paused, on)


def timeline_add(sub: Subscription, kind: str, on: dt.date, ru: str, en: str, data: Mapping[str, Any] | None = None,
                 transaction_id: int | None = None) -> TimelineEntry:
    return TimelineEntry.objects.create(subscription=sub, at=clock.now(), effective_date=on, kind=kind,
                                        text_ru=ru[:500], text_en=en[:500], data=dict(data or {}),
                                        transaction_id=transaction_id)


def audit(actor: Actor, action: str, sub: Subscription, before: Any, after: Any) -> None:
    audit_record(actor=actor, action=f"subscription.{action}", object_type="subscription", object_id=sub.pk,
                 before=before, after=after)


def fresh(sub: Subscription) -> Subscription:
    """The subscription as stored now (the caller's instance may be stale)."""
    return Subscription.objects.select_related("client", "plan__product", "plan_version").get(pk=sub.pk)


def lock(sub: Subscription) -> Subscription:
    """The subscription as stored now, its row locked for this transaction (only its row)."""
    return Subscription.objects.select_for_update(of=("self",)).select_related("client", "plan__product", "plan_version") \
        .get(pk=sub.pk)


def today_or(on: dt.date | None = None) -> dt.date:
    return provider_today() if on is None else on
