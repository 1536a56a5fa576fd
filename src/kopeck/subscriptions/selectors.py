"""Readers of subscriptions: lists, the pure-core terms of a subscription, what was billed, the
pending scheduled change and the timeline."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db.models import QuerySet

from kopeck.catalog.models import Product
from kopeck.catalog.selectors import version_plan_spec
from kopeck.configuration.selectors import vat_policy
from kopeck.core.periods import Period
from kopeck.core.pricing.plan import PlanSpec
from kopeck.core.subscriptions import Anchor, BilledSlot, FirstPeriod, Terms, period_containing
from kopeck.core.vat import VatPolicy
from kopeck.ledger.amounts import from_minor
from kopeck.subscriptions.models import (
    BilledPeriod,
    ScheduledChange,
    ScheduledChangeStatus,
    Subscription,
    SubscriptionStatus,
    TimelineEntry,
)


def subscription_list(*, client_id: int | None = None, status: str | None = None,
                      plan_code: str | None = None) -> QuerySet[Subscription]:
    qs = Subscription.objects.select_related("client", "plan", "plan_version")
    if client_id is not None:
        qs = qs.filter(client_id=client_id)
    if status:
        qs = qs.filter(status=status)
    if plan_code:
        qs = qs.filter(plan__code=plan_code)
    return qs.order_by("id")


def subscriptions_to_bill(on: dt.date) -> QuerySet[Subscription]:
    """The subscriptions billing on ``on`` looks at, by id: not ended, started on or before ``on``
    (whether each is billable then is :func:`kopeck.core.subscriptions.billable_on`'s to say)."""
    return (Subscription.objects.exclude(status=SubscriptionStatus.ENDED).filter(start_date__lte=on)
            .order_by("id"))


def subscription_plan_spec(subscription: Subscription) -> PlanSpec:
    return version_plan_spec(subscription.plan_version)


def subscription_terms(subscription: Subscription, spec: PlanSpec | None = None, *, product: Product | None = None,
                       policy: VatPolicy | None = None) -> Terms:
    """The subscription's current phase as pure-core :class:`Terms` — or, with ``spec`` (and the
    ``product`` of its plan, when it is another plan's), the phase it would move to. Its VAT: the
    product's rate, else the regime's default, and whether prices include VAT (the ``policy``,
    default: the billing settings')."""
    sub = subscription
    vat = vat_policy() if policy is None else policy
    rate = (product or sub.plan.product).vat_rate
    return Terms(
        plan=spec or subscription_plan_spec(sub), currency=sub.currency, start=sub.start_date,
        quantity=sub.quantity, anchor=Anchor(sub.anchor_kind), billing_day=sub.billing_day,
        first_period=FirstPeriod(sub.first_period_policy), trial_end=sub.trial_end, end=sub.end_date,
        discount_percent=None if sub.discount_percent is None else Decimal(sub.discount_percent),
        fixed_price=None if sub.fixed_price is None else Decimal(sub.fixed_price),
        billing_from=sub.billing_from, cycle_origin=sub.cycle_origin,
        vat_rate=vat.rate_for(rate), prices_include_vat=vat.prices_include_vat,
    )


def subscription_billed(subscription: Subscription) -> list[BilledSlot]:
    """The pieces billed so far (with what was credited back) as pure-core :class:`BilledSlot` s."""
    return [BilledSlot(b.component, Period(b.period_start, b.period_end), from_minor(b.amount_minor, b.currency),
                       b.credited_from, from_minor(b.credited_minor, b.currency))
            for b in BilledPeriod.objects.filter(subscription=subscription).order_by("period_start", "component")]


def subscription_billed_periods(subscription: Subscription) -> QuerySet[BilledPeriod]:
    return BilledPeriod.objects.filter(subscription=subscription).order_by("period_start", "component")


def subscription_current_period_end(subscription: Subscription, on: dt.date) -> dt.date:
    """The end (exclusive) of the billing period containing ``on``: when "at period end" applies."""
    return period_containing(subscription_terms(subscription), on).end


def subscription_pending_change(subscription: Subscription) -> ScheduledChange | None:
    return ScheduledChange.objects.filter(subscription=subscription, status=ScheduledChangeStatus.PENDING).first()


def scheduled_changes_due(on: dt.date) -> QuerySet[ScheduledChange]:
    return (ScheduledChange.objects.filter(status=ScheduledChangeStatus.PENDING, effective_date__lte=on)
            .select_related("subscription").order_by("effective_date", "id"))


def subscription_timeline(subscription: Subscription) -> QuerySet[TimelineEntry]:
    return TimelineEntry.objects.filter(subscription=subscription).order_by("at", "id")
