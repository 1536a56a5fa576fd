"""Changes that take effect on a date rather than at once: the scheduled changes (a downgrade or a
billing-day change at period end, a cancellation at period end) and new plan versions for
existing subscribers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import F

from kopeck.catalog.models import ExistingSubscribers, PlanVersion, VersionStatus
from kopeck.catalog.selectors import version_plan_spec
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.configuration.selectors import provider_today
from kopeck.core.money import MoneyError
from kopeck.core.pricing.errors import PricingError
from kopeck.core.subscriptions import (
    Quote,
    TermsError,
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
from kopeck.subscriptions.selectors import scheduled_changes_due, subscription_billed, subscription_terms
from kopeck.subscriptions.services.actions import apply_phase, record_action, result_of
from kopeck.subscriptions.services.common import ActionResult, lock, subscription_state, today_or
from kopeck.subscriptions.services.posting import post_quote


def _apply_scheduled(actor: Actor, change: ScheduledChange) -> ActionResult:
    eff = change.effective_date
    sub = lock(change.subscription)
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
        version = PlanVersion.objects.select_related("plan").get(pk=change.payload["plan_version"])
        qty = int(change.payload.get("quantity") or sub.quantity)
        new = subscription_terms(sub, version_plan_spec(version)).with_(quantity=qty, billing_from=eff)
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
        raise Conflict(f"Unknown scheduled change kind {change.kind!r}.")
    change.status, change.decided_at = ScheduledChangeStatus.APPLIED, clock.now()
    change.save(update_fields=["status", "decided_at"])
    result = result_of(change.kind, False, eff, sub.status, quote, ids, change)
    record_action(actor, sub, "scheduled_" + change.kind, result, before, ru, en, None)
    return result


def scheduled_changes_run(*, actor: Actor, on: dt.date | None = None) -> dict[str, Any]:
    """Apply every pending scheduled change effective on or before ``on`` (default today), each at
    its own effective date, one transaction each."""
    day = today_or(on)
    if day > provider_today():
        raise ValidationFailed.field("on", "Scheduled changes cannot be applied ahead of today.")
    applied: list[int] = []
    errors: dict[str, str] = {}
    for change in list(scheduled_changes_due(day)):
        try:
            with transaction.atomic():
                locked = ScheduledChange.objects.select_for_update().select_related("subscription").get(pk=change.pk)
                if locked.status != ScheduledChangeStatus.PENDING:
                    continue
                _apply_scheduled(actor, locked)
            applied.append(change.pk)
        except (ValidationFailed, Conflict, MoneyError, PricingError, ValueError) as exc:
            errors[str(change.pk)] = str(exc)
    return {"on": day.isoformat(), "applied": applied, "errors": errors}



# -- new plan versions for existing subscribers -----------------------------------------------------


def _adoption(sub: Subscription, day: dt.date) -> tuple[PlanVersion, dt.date] | None:
    """The newest published version of the subscription's plan that its policy moves the subscriber
    to by ``day``, and the date of the move; None when it stays."""
    newer = (PlanVersion.objects.filter(plan_id=sub.plan_id, status=VersionStatus.PUBLISHED, number__gt=sub.plan_version.number,
                                        effective_from__lte=day)
             .exclude(existing_subscribers=ExistingSubscribers.NEW_SUBSCRIBERS_ONLY)
             .order_by("-number"))
    terms = subscription_terms(sub)
    for version in newer:
        eff = version.effective_from
        assert eff is not None
        if version.existing_subscribers == ExistingSubscribers.IMMEDIATELY_PRORATED:
            switch = max(eff, sub.start_date)
        else:  # next period: the first period start on or after the effective date
            switch = max(period_end(terms, eff - dt.timedelta(days=1)), sub.start_date)
        if switch <= day:
            return version, switch
    return None


def subscriptions_adopt_price_versions(*, actor: Actor, on: dt.date | None = None) -> dict[str, Any]:
    """Move existing subscribers to a newer published version of their plan as the version's policy
    says: ``next_period`` — at their first billing period starting on or after its effective date;
    ``immediately_prorated`` — on the effective date, the rest of the running period credited at the
    old price and charged at the new one; ``new_subscribers_only`` — never. Idempotent."""
    day = today_or(on)
    summary: dict[str, Any] = {"on": day.isoformat(), "moved": 0, "errors": {}}
    # Only subscriptions whose plan has a newer published version that moves existing subscribers
    # (one query; most ticks find none).
    candidates = (Subscription.objects.exclude(status=SubscriptionStatus.ENDED)
                  .filter(start_date__lte=day, plan__versions__status=VersionStatus.PUBLISHED,
                          plan__versions__effective_from__lte=day,
                          plan__versions__number__gt=F("plan_version__number"),
                          plan__versions__existing_subscribers__in=[ExistingSubscribers.NEXT_PERIOD,
                                                                    ExistingSubscribers.IMMEDIATELY_PRORATED])
                  .distinct().select_related("plan_version").order_by("id"))
    for sub in candidates.iterator():
        try:
            with transaction.atomic():
                locked = lock(sub)
                found = _adoption(locked, day)
                if found is None:
                    continue
                version, switch = found
                before = subscription_state(locked)
                old = subscription_terms(locked)
                new = subscription_terms(locked, version_plan_spec(version)).with_(billing_from=switch)
                quote = quote_phase_change(old, new, switch, subscription_billed(locked), usage=stored_usage(locked))
                ids = apply_phase(actor, locked, quote, version=version, on=switch)
                result = result_of("price_version", False, switch, locked.status, quote, ids)
                ru = (f"Новая версия тарифа {version.plan.code} v{version.number} с {switch.isoformat()}, "
                      f"итого {quote.total.to_str()}")
                en = (f"New price version {version.plan.code} v{version.number} from {switch.isoformat()}, "
                      f"total {quote.total.to_str()}")
                record_action(actor, locked, "price_version", result, before, ru, en, None)
                summary["moved"] += 1
        except (ValidationFailed, Conflict, TermsError, MoneyError, PricingError, ValueError) as exc:
            summary["errors"][str(sub.pk)] = str(exc)
    return summary
