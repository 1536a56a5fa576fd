"""Changes that take effect on a date rather than at once: the scheduled changes (a downgrade or a
billing-day change at period end, a cancellation at period end) and new plan versions for
existing subscribers.

They take effect when the subscription is billed on or after their date — by the day's billing
run, or a bill by hand (:func:`kopeck.subscriptions.services.subscription_bill_due`) — each at its
own date, before anything is priced: so a downgrade scheduled for 1 February is what the run of 1
February bills (no job applies them on its own: the billing run is the one scheduled biller).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence

from django.utils.translation import gettext as _

from kopeck.catalog.models import ExistingSubscribers, PlanVersion, VersionStatus
from kopeck.catalog.selectors import version_plan_spec
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict
from kopeck.core.subscriptions import (
    BilledLine,
    Quote,
    Terms,
    new_billing_day_terms,
    period_end,
    quote_close,
    quote_phase_change,
)
from kopeck.subscriptions.models import (
    ScheduledChange,
    ScheduledChangeStatus,
    Subscription,
    SubscriptionStatus,
)
from kopeck.subscriptions.ports import stored_usage
from kopeck.subscriptions.selectors import subscription_billed, subscription_terms
from kopeck.subscriptions.services.actions import apply_phase, record_action, result_of
from kopeck.subscriptions.services.common import subscription_state
from kopeck.subscriptions.services.posting import post_quote

Applied = tuple[list[BilledLine], list[int]]
"""What a change posted: its billed lines and ledger transactions."""


def _lines(quote: Quote) -> list[BilledLine]:
    return [BilledLine.of(i) for i in quote.items]


def changes_due(sub: Subscription, day: dt.date) -> list[ScheduledChange]:
    """The pending scheduled changes of ``sub`` effective on or before ``day``, in date order (locked
    when the caller's transaction locks: the subscription's lock serialises them anyway)."""
    return list(ScheduledChange.objects.filter(subscription=sub, status=ScheduledChangeStatus.PENDING,
                                               effective_date__lte=day).order_by("effective_date", "id"))


def apply_scheduled_change(actor: Actor, sub: Subscription, change: ScheduledChange) -> Applied:
    """Apply ``change`` (pending) on its effective date to ``sub`` (locked by the caller, inside its
    transaction): post its quote, move the subscription, mark the change applied, record it."""
    eff = change.effective_date
    before = subscription_state(sub)
    old = subscription_terms(sub)
    billed = subscription_billed(sub)
    if change.kind == "cancel":
        quote = (quote_close(old, eff, billed, usage=stored_usage(sub)) if not sub.billing_paused
                 else Quote(eff, sub.currency))
        ids = post_quote(actor, sub, quote)
        sub.status, sub.end_date, sub.updated_at = SubscriptionStatus.ENDED, eff, clock.now()
        sub.save()
        ru, en = f"Подписка завершена {eff.isoformat()}", f"Subscription ended on {eff.isoformat()}"
    elif change.kind == "change_plan":
        version = PlanVersion.objects.select_related("plan__product").get(pk=change.payload["plan_version"])
        qty = int(change.payload.get("quantity") or sub.quantity)
        new = subscription_terms(sub, version_plan_spec(version), product=version.plan.product).with_(
            quantity=qty, billing_from=eff)
        quote = quote_phase_change(old, new, eff, billed, usage=stored_usage(sub))
        ids = apply_phase(actor, sub, quote, version=version, quantity=qty, on=eff)
        ru = f"Тариф изменён на {version.plan.code} (запланировано), итого {quote.total.to_str()}"
        en = f"Plan changed to {version.plan.code} (scheduled), total {quote.total.to_str()}"
    elif change.kind == "billing_day":
        day = int(change.payload["billing_day"])
        quote = quote_phase_change(old, new_billing_day_terms(old, eff, day), eff, billed, usage=stored_usage(sub))
        ids = apply_phase(actor, sub, quote, billing_day=day, on=eff)
        ru, en = f"День списания {day} с {eff.isoformat()}", f"Billing day {day} from {eff.isoformat()}"
    else:
        raise Conflict(_("Unknown scheduled change kind %(kind)r.") % {"kind": change.kind})
    change.status, change.decided_at = ScheduledChangeStatus.APPLIED, clock.now()
    change.save(update_fields=["status", "decided_at"])
    result = result_of(change.kind, False, eff, sub.status, quote, ids, change)
    record_action(actor, sub, "scheduled_" + change.kind, result, before, ru, en, None)
    return _lines(quote), ids


# -- new plan versions for existing subscribers -----------------------------------------------------


def _newer_versions(plan_ids: Collection[int], day: dt.date) -> dict[int, list[PlanVersion]]:
    """The published versions of these plans in force by ``day`` that move existing subscribers,
    newest first, by plan."""
    found: dict[int, list[PlanVersion]] = {}
    for version in (PlanVersion.objects.filter(plan_id__in=list(plan_ids), status=VersionStatus.PUBLISHED,
                                               effective_from__lte=day)
                    .exclude(existing_subscribers=ExistingSubscribers.NEW_SUBSCRIBERS_ONLY).order_by("-number")):
        found.setdefault(version.plan_id, []).append(version)
    return found


def _adoption(sub: Subscription, terms: Terms, versions: Sequence[PlanVersion],
              day: dt.date) -> tuple[PlanVersion, dt.date] | None:
    """The newest of ``versions`` (its plan's, newest first) that its policy moves the subscriber
    to by ``day``, and the date of the move; None when it stays."""
    for version in versions:
        if version.number <= sub.plan_version.number:
            continue
        eff = version.effective_from
        assert eff is not None
        if version.existing_subscribers == ExistingSubscribers.IMMEDIATELY_PRORATED:
            switch = max(eff, sub.start_date)
        else:  # next period: the first period start on or after the effective date
            switch = max(period_end(terms, eff - dt.timedelta(days=1)), sub.start_date)
        if switch <= day:
            return version, switch
    return None


def adopt_price_version(actor: Actor, sub: Subscription, day: dt.date) -> Applied | None:
    """Move ``sub`` (locked by the caller) to a newer published version of its plan as the version's
    policy says, if one applies by ``day``: ``next_period`` — at its first billing period starting on
    or after the version's effective date; ``immediately_prorated`` — on the effective date, the
    rest of the running period credited at the old price and charged at the new one;
    ``new_subscribers_only`` — never. ``None`` when it stays."""
    found = _adoption(sub, subscription_terms(sub), _newer_versions([sub.plan_id], day).get(sub.plan_id, []), day)
    if found is None:
        return None
    version, switch = found
    before = subscription_state(sub)
    old = subscription_terms(sub)
    new = subscription_terms(sub, version_plan_spec(version)).with_(billing_from=switch)
    quote = quote_phase_change(old, new, switch, subscription_billed(sub), usage=stored_usage(sub))
    ids = apply_phase(actor, sub, quote, version=version, on=switch)
    result = result_of("price_version", False, switch, sub.status, quote, ids)
    ru = (f"Новая версия тарифа {version.plan.code} v{version.number} с {switch.isoformat()}, "
          f"итого {quote.total.to_str()}")
    en = (f"New price version {version.plan.code} v{version.number} from {switch.isoformat()}, "
          f"total {quote.total.to_str()}")
    record_action(actor, sub, "price_version", result, before, ru, en, None)
    return _lines(quote), ids


def apply_changes_due(actor: Actor, sub: Subscription, day: dt.date) -> Applied:
    """Everything that takes effect on or before ``day`` for ``sub`` (locked by the caller): its
    scheduled changes in date order, then a new version of its plan; what they posted."""
    lines: list[BilledLine] = []
    ids: list[int] = []
    for change in changes_due(sub, day):
        got, posted = apply_scheduled_change(actor, sub, change)
        lines += got
        ids += posted
    if sub.status != SubscriptionStatus.ENDED:
        adopted = adopt_price_version(actor, sub, day)
        if adopted is not None:
            lines += adopted[0]
            ids += adopted[1]
    return lines, ids


def subscriptions_changing(subs: Sequence[Subscription], terms: Mapping[int, Terms], day: dt.date) -> set[int]:
    """Which of ``subs`` (with their ``terms`` by id) have something taking effect on or before
    ``day``: a pending scheduled change, or a newer version of their plan that moves them by then
    (two queries; most billing dates find none)."""
    ids = [s.pk for s in subs]
    changing = set(ScheduledChange.objects.filter(subscription_id__in=ids, status=ScheduledChangeStatus.PENDING,
                                                  effective_date__lte=day).values_list("subscription_id", flat=True))
    newer = _newer_versions({s.plan_id for s in subs}, day)
    changing |= {s.pk for s in subs if s.pk in terms and newer.get(s.plan_id)
                 and _adoption(s, terms[s.pk], newer[s.plan_id], day) is not None}
    return changing
