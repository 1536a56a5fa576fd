"""The actions on a subscription — plan change, quantity change, cancellation and its undoing,
billing-day change, suspension and resume — on one skeleton (:func:`_act`).

Every action validates its arguments, then:

1. ``preview`` must be a boolean; the subscription is read as stored now;
2. applying with an ``idempotency_key`` used before returns the first result (posts nothing);
3. the status must allow the action, and the action's own check passes (nothing to change is a
   conflict);
4. a preview computes the :class:`Step` — exactly the items applying would post — and returns it;
5. applying locks the subscription's row and, under the lock, checks the key again (a request
   with the same key that committed while this one waited is replayed), the status and the action's
   check again, computes the step from the locked row, applies it (ledger, billed pieces, the
   subscription, scheduled changes) and records the timeline entry (with the key) and the audit
   entry — all in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kopeck.catalog.models import Plan, PlanVersion
from kopeck.catalog.selectors import version_plan_spec
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.configuration.selectors import provider_today
from kopeck.core.subscriptions import (
    ChangeKind,
    Quote,
    TermsError,
    classify_change,
    new_billing_day_terms,
    period_end,
    quote_close,
    quote_open,
    quote_phase_change,
)
from kopeck.subscriptions.events import record_subscription_events
from kopeck.subscriptions.models import (
    AnchorKind,
    ScheduledChange,
    ScheduledChangeStatus,
    Subscription,
    SubscriptionStatus,
    TimelineEntry,
)
from kopeck.subscriptions.ports import stored_usage
from kopeck.subscriptions.selectors import (
    subscription_billed,
    subscription_pending_change,
    subscription_terms,
)
from kopeck.subscriptions.services.common import (
    RUNNING,
    ActionResult,
    Errors,
    audit,
    fresh,
    lock,
    status_on,
    subscription_state,
    timeline_add,
)
from kopeck.subscriptions.services.create import check_quantity, resolve_version
from kopeck.subscriptions.services.posting import post_quote

# ---------------------------------------------------------------------------------------------
# the skeleton


@dataclass(frozen=True, slots=True)
class Applied:
    """What applying a step wrote: the ledger transactions, the scheduled change, the timeline text."""

    ru: str
    en: str
    transaction_ids: list[int] = field(default_factory=list)
    change: ScheduledChange | None = None


@dataclass(frozen=True, slots=True)
class Step:
    """What an action does, computed from the subscription as it stands: its name in the result,
    the effective date, the status a preview announces, the quote of what it posts (``None``: it is
    scheduled, nothing is posted now) and how it is applied (to the locked subscription)."""

    action: str
    effective: dt.date
    status: str
    quote: Quote | None
    apply: Callable[[Actor, Subscription], Applied]


def _check_preview(preview: object) -> None:
    if not isinstance(preview, bool):
        raise ValidationFailed.field("preview", _("Must be true or false."))


def _refusal(action: str) -> str:
    """The refusal of ``action`` in a status that does not allow it, in the active language."""
    return {
        "change the plan of": _("Cannot change the plan of a subscription in status %(status)r (allowed: %(allowed)s)."),
        "change the quantity of": _(
            "Cannot change the quantity of a subscription in status %(status)r (allowed: %(allowed)s)."),
        "cancel": _("Cannot cancel a subscription in status %(status)r (allowed: %(allowed)s)."),
        "cancel at period end": _(
            "Cannot cancel at period end a subscription in status %(status)r (allowed: %(allowed)s)."),
        "undo the cancellation of": _(
            "Cannot undo the cancellation of a subscription in status %(status)r (allowed: %(allowed)s)."),
        "change the billing day of": _(
            "Cannot change the billing day of a subscription in status %(status)r (allowed: %(allowed)s)."),
        "suspend": _("Cannot suspend a subscription in status %(status)r (allowed: %(allowed)s)."),
        "resume": _("Cannot resume a subscription in status %(status)r (allowed: %(allowed)s)."),
    }[action]


def _require_status(sub: Subscription, allowed: tuple[str, ...], action: str) -> None:
    if sub.status not in allowed:
        status = {"status": sub.status, "label": sub.get_status_display(), "allowed": ", ".join(allowed),
                  "allowed_labels": ", ".join(f"«{SubscriptionStatus(s).label}»" for s in allowed)}
        raise Conflict(_refusal(action) % status, errors={"status": [_("Not allowed in %(status)s.") % status]})


def _replay(sub: Subscription, key: str | None, family: str) -> ActionResult | None:
    """The first result of the action applied with ``key``, if any (a key used for another
    action is a conflict)."""
    if not key:
        return None
    entry = TimelineEntry.objects.filter(subscription=sub, data__idempotency_key=key).first()
    if entry is None:
        return None
    if entry.data.get("action_family") != family:
        raise Conflict(_("The idempotency key %(key)r was used for another action (%(action)s).")
                       % {"key": key, "action": entry.data.get("action_family")},
                       errors={"idempotency_key": [_("Already used for another action.")]})
    return ActionResult.from_dict(entry.data["result"])


def result_of(action: str, preview: bool, on: dt.date, status: str, quote: Quote | None = None,
              ids: list[int] | None = None, change: ScheduledChange | None = None) -> ActionResult:
    items = quote.as_list() if quote is not None else []
    total = quote.total.to_str() if quote is not None else "0.00"
    return ActionResult(action, preview, on, status, items, list(ids or []),
                        None if change is None else change.pk, total)


def record_action(actor: Actor, sub: Subscription, family: str, result: ActionResult, before: dict[str, Any],
                  ru: str, en: str, key: str | None) -> None:
    """The action's timeline entry (which keeps its result for the idempotency key) and audit entry."""
    data = {"action": result.action, "action_family": family, "result": result.as_dict(),
            "idempotency_key": key or None}
    timeline_add(sub, family, result.effective_date, ru, en, data)
    audit(actor, family, sub, before, {**subscription_state(sub), "result": result.as_dict()})
    record_subscription_events(actor, family, sub, before, result.effective_date)


def _act(*, actor: Actor, subscription: Subscription, family: str, allowed: tuple[str, ...], verb: str,
         preview: bool, idempotency_key: str | None, check: Callable[[Subscription], None] | None = None,
         step: Callable[[Subscription, dt.date], Step]) -> ActionResult:
    """Run an action (see the module docstring): ``family`` names it for idempotency keys and the
    timeline, ``allowed`` are the statuses it applies in (``verb`` words the refusal), ``check``
    refuses what there is nothing to do for, ``step`` computes what it does on today's date."""
    _check_preview(preview)
    sub = fresh(subscription)
    if not preview and (replayed := _replay(sub, idempotency_key, family)) is not None:
        return replayed
    _require_status(sub, allowed, verb)
    if check is not None:
        check(sub)
    on = provider_today()
    if preview:
        planned = step(sub, on)
        return result_of(planned.action, True, planned.effective, planned.status, planned.quote)
    with transaction.atomic():
        sub = lock(sub)
        if (replayed := _replay(sub, idempotency_key, family)) is not None:
            return replayed
        _require_status(sub, allowed, verb)
        if check is not None:
            check(sub)
        before = subscription_state(sub)
        planned = step(sub, on)
        done = planned.apply(actor, sub)
        result = result_of(planned.action, False, planned.effective, sub.status, planned.quote,
                           done.transaction_ids, done.change)
        record_action(actor, sub, family, result, before, done.ru, done.en, idempotency_key)
    return result


# ---------------------------------------------------------------------------------------------
# what actions write besides the ledger


def schedule(sub: Subscription, kind: str, effective: dt.date, payload: dict[str, Any]) -> ScheduledChange:
    """A new pending change; the pending one (if any) is replaced."""
    now = clock.now()
    ScheduledChange.objects.filter(subscription=sub, status=ScheduledChangeStatus.PENDING).update(
        status=ScheduledChangeStatus.REPLACED, decided_at=now)
    return ScheduledChange.objects.create(subscription=sub, kind=kind, effective_date=effective, payload=payload,
                                          created_at=now)


def cancel_pending(sub: Subscription) -> None:
    ScheduledChange.objects.filter(subscription=sub, status=ScheduledChangeStatus.PENDING).update(
        status=ScheduledChangeStatus.CANCELLED, decided_at=clock.now())


def apply_phase(actor: Actor, sub: Subscription, quote: Quote, *, version: PlanVersion | None = None,
                quantity: int | None = None, billing_day: int | None = None, on: dt.date) -> list[int]:
    """Post the quote of a phase change and move the subscription to its new phase from ``on``."""
    ids = post_quote(actor, sub, quote)
    if version is not None:
        sub.plan_id, sub.plan_version = version.plan_id, version
    if quantity is not None:
        sub.quantity = quantity
    if billing_day is not None:
        sub.anchor_kind, sub.billing_day, sub.cycle_origin = AnchorKind.CALENDAR, billing_day, on
    sub.billing_from = on
    sub.updated_at = clock.now()
    sub.save()
    return ids


# ---------------------------------------------------------------------------------------------
# the actions


def _plan_change_plan(sub: Subscription, plan: Plan | str | None, version: PlanVersion | None,
                      quantity: int | None, timing: str, on: dt.date) -> tuple[PlanVersion, int, ChangeKind, str]:
    errors: Errors = {}
    if timing not in ("default", "immediate", "period_end"):
        errors["timing"] = [_("Choose one of: default, immediate, period_end.")]
    _plan, found = resolve_version(plan, version, on, errors)
    qty = sub.quantity if quantity is None else check_quantity(quantity, errors)
    spec = version_plan_spec(found) if found is not None else None
    if spec is not None and sub.currency not in spec.currencies:
        errors["currency"] = [_("The new plan has no price in %(currency)s; it is priced in %(currencies)s.")
                              % {"currency": sub.currency, "currencies": ", ".join(spec.currencies)}]
    if found is not None and spec is not None and "currency" not in errors:
        try:
            subscription_terms(sub, spec, product=found.plan.product)
        except TermsError as exc:
            errors[exc.field] = [exc.message]
    if errors or found is None or spec is None:
        raise ValidationFailed(_("The plan change is invalid."), errors=errors or {"plan": ["Invalid plan."]})
    if found.pk == sub.plan_version_id and qty == sub.quantity:
        raise Conflict(_("The subscription is already on this plan version and quantity."),
                       errors={"plan": [_("Nothing to change.")]})
    kind = classify_change(subscription_terms(sub), subscription_terms(sub, spec, product=found.plan.product).with_(quantity=qty))
    when = timing if timing != "default" else ("period_end" if kind == ChangeKind.DOWNGRADE else "immediate")
    return found, qty, kind, when


def subscription_change_plan(
    *, actor: Actor, subscription: Subscription, plan: Plan | str | None = None, version: PlanVersion | None = None,
    quantity: int | None = None, timing: str = "default", preview: bool = False, idempotency_key: str | None = None,
) -> ActionResult:
    """Move to another plan (the version in force today) or version, optionally with a new quantity.
    Upgrade and crossgrade apply immediately (credit the unused prepaid days of the old plan, charge
    the new plan's remaining days); a downgrade is scheduled at period end (no money now) unless
    ``timing="immediate"``; ``timing="period_end"`` schedules any change."""

    def check(sub: Subscription) -> None:
        _plan_change_plan(sub, plan, version, quantity, timing, provider_today())

    def step(sub: Subscription, on: dt.date) -> Step:
        found, qty, kind, when = _plan_change_plan(sub, plan, version, quantity, timing, on)
        old = subscription_terms(sub)
        if when == "period_end":
            eff = period_end(old, on)

            def schedule_it(actor: Actor, sub: Subscription) -> Applied:
                change = schedule(sub, "change_plan", eff, {"plan_version": found.pk, "quantity": qty,
                                                            "change": kind.value})
                return Applied(f"Смена тарифа на {found.plan.code} запланирована на {eff.isoformat()} ({kind.value})",
                               f"Change to plan {found.plan.code} scheduled for {eff.isoformat()} ({kind.value})",
                               change=change)

            return Step(kind.value, eff, sub.status, None, schedule_it)
        new = subscription_terms(sub, version_plan_spec(found), product=found.plan.product).with_(quantity=qty, billing_from=on)
        quote = quote_phase_change(old, new, on, subscription_billed(sub), usage=stored_usage(sub))

        def apply(actor: Actor, sub: Subscription) -> Applied:
            cancel_pending(sub)
            ids = apply_phase(actor, sub, quote, version=found, quantity=qty, on=on)
            return Applied(f"Тариф изменён на {found.plan.code} ({kind.value}), итого {quote.total.to_str()}",
                           f"Plan changed to {found.plan.code} ({kind.value}), total {quote.total.to_str()}", ids)

        return Step(kind.value, on, sub.status, quote, apply)

    return _act(actor=actor, subscription=subscription, family="change_plan", allowed=RUNNING,
                verb="change the plan of", preview=preview, idempotency_key=idempotency_key, check=check, step=step)


def subscription_change_quantity(*, actor: Actor, subscription: Subscription, quantity: int, preview: bool = False,
                                 idempotency_key: str | None = None) -> ActionResult:
    """Change the quantity now: per-unit components are credited for the unused days at the old
    quantity and charged for the remaining days at the new one; other components are unchanged."""
    _check_preview(preview)
    errors: Errors = {}
    qty = check_quantity(quantity, errors)
    if errors:
        raise ValidationFailed(_("The quantity is invalid."), errors=errors)

    def check(sub: Subscription) -> None:
        if qty == sub.quantity:
            raise Conflict(_("The quantity is already %(quantity)s.") % {"quantity": qty}, errors={"quantity": [_("Nothing to change.")]})

    def step(sub: Subscription, on: dt.date) -> Step:
        old = subscription_terms(sub)
        quote = quote_phase_change(old, old.with_(quantity=qty, billing_from=on), on, subscription_billed(sub),
                                   usage=stored_usage(sub))
        was = sub.quantity

        def apply(actor: Actor, sub: Subscription) -> Applied:
            ids = apply_phase(actor, sub, quote, quantity=qty, on=on)
            return Applied(f"Количество {was} → {qty}, итого {quote.total.to_str()}",
                           f"Quantity {was} → {qty}, total {quote.total.to_str()}", ids)

        return Step("change_quantity", on, sub.status, quote, apply)

    return _act(actor=actor, subscription=subscription, family="change_quantity",
                allowed=(*RUNNING, SubscriptionStatus.CANCELLING), verb="change the quantity of", preview=preview,
                idempotency_key=idempotency_key, check=check, step=step)


def subscription_cancel(*, actor: Actor, subscription: Subscription, at_period_end: bool = True,
                        preview: bool = False, idempotency_key: str | None = None) -> ActionResult:
    """Cancel at the end of the current period (no money now; can be undone until then) or
    immediately (settle what is due, credit the unused prepaid days, end the subscription)."""
    _check_preview(preview)
    if not isinstance(at_period_end, bool):
        raise ValidationFailed.field("at_period_end", _("Must be true or false."))
    allowed = (*RUNNING, SubscriptionStatus.SUSPENDED) if at_period_end else (
        *RUNNING, SubscriptionStatus.SUSPENDED, SubscriptionStatus.CANCELLING, SubscriptionStatus.PENDING)

    def step(sub: Subscription, on: dt.date) -> Step:
        terms = subscription_terms(sub)
        if at_period_end:
            eff = period_end(terms, on)

            def schedule_it(actor: Actor, sub: Subscription) -> Applied:
                change = schedule(sub, "cancel", eff, {"previous_status": sub.status})
                sub.status, sub.end_date, sub.updated_at = SubscriptionStatus.CANCELLING, eff, clock.now()
                sub.save()
                return Applied(f"Отмена в конце периода: {eff.isoformat()}",
                               f"Cancellation at period end: {eff.isoformat()}", change=change)

            return Step("cancel", eff, SubscriptionStatus.CANCELLING, None, schedule_it)
        if sub.status == SubscriptionStatus.PENDING or sub.billing_paused:
            quote = Quote(on, sub.currency)
        else:
            quote = quote_close(terms, on, subscription_billed(sub), usage=stored_usage(sub))

        def apply(actor: Actor, sub: Subscription) -> Applied:
            cancel_pending(sub)
            ids = post_quote(actor, sub, quote)
            sub.status, sub.end_date, sub.updated_at = SubscriptionStatus.ENDED, max(on, sub.start_date), clock.now()
            sub.save()
            return Applied(f"Подписка отменена с {on.isoformat()}, итого {quote.total.to_str()}",
                           f"Subscription cancelled from {on.isoformat()}, total {quote.total.to_str()}", ids)

        return Step("cancel", on, SubscriptionStatus.ENDED, quote, apply)

    return _act(actor=actor, subscription=subscription, family="cancel", allowed=allowed,
                verb="cancel" + (" at period end" if at_period_end else ""), preview=preview,
                idempotency_key=idempotency_key, step=step)


def subscription_uncancel(*, actor: Actor, subscription: Subscription, preview: bool = False,
                          idempotency_key: str | None = None) -> ActionResult:
    """Undo a cancellation at period end before it takes effect. Posts nothing."""

    def step(sub: Subscription, on: dt.date) -> Step:
        def apply(actor: Actor, sub: Subscription) -> Applied:
            pending = subscription_pending_change(sub)
            cancel_pending(sub)
            previous = (pending.payload.get("previous_status") if pending else None) or SubscriptionStatus.ACTIVE
            sub.end_date = None
            sub.status = SubscriptionStatus.ACTIVE if previous != SubscriptionStatus.SUSPENDED else previous
            sub.status = status_on(sub, on)
            sub.updated_at = clock.now()
            sub.save()
            return Applied("Отмена отменена: подписка продолжается", "Cancellation undone: the subscription continues")

        return Step("uncancel", on, SubscriptionStatus.ACTIVE, Quote(on, sub.currency), apply)

    return _act(actor=actor, subscription=subscription, family="uncancel", allowed=(SubscriptionStatus.CANCELLING,),
                verb="undo the cancellation of", preview=preview, idempotency_key=idempotency_key, step=step)


def subscription_change_billing_day(*, actor: Actor, subscription: Subscription, billing_day: int,
                                    at_period_end: bool = True, preview: bool = False,
                                    idempotency_key: str | None = None) -> ActionResult:
    """Move to calendar billing on ``billing_day`` (1–31) from the end of the current period (or
    now): the bridge from then to the first date on the new day is prorated."""
    _check_preview(preview)
    if isinstance(billing_day, bool) or not isinstance(billing_day, int) or not 1 <= billing_day <= 31:
        raise ValidationFailed.field("billing_day", _("Give a billing day 1..31."))

    def check(sub: Subscription) -> None:
        if not subscription_terms(sub).plan.interval.is_month_based:
            raise ValidationFailed.field("billing_day", _("The billing day applies to month-based periods only."))
        if sub.anchor_kind == AnchorKind.CALENDAR and sub.billing_day == billing_day:
            raise Conflict(_("The billing day is already %(day)s.") % {"day": billing_day}, errors={"billing_day": [_("Nothing to change.")]})

    def step(sub: Subscription, on: dt.date) -> Step:
        old = subscription_terms(sub)
        if at_period_end:
            eff = period_end(old, on)

            def schedule_it(actor: Actor, sub: Subscription) -> Applied:
                change = schedule(sub, "billing_day", eff, {"billing_day": billing_day})
                return Applied(f"День списания {billing_day} с {eff.isoformat()}",
                               f"Billing day {billing_day} from {eff.isoformat()}", change=change)

            return Step("change_billing_day", eff, sub.status, None, schedule_it)
        quote = quote_phase_change(old, new_billing_day_terms(old, on, billing_day), on, subscription_billed(sub),
                                   usage=stored_usage(sub))

        def apply(actor: Actor, sub: Subscription) -> Applied:
            cancel_pending(sub)
            ids = apply_phase(actor, sub, quote, billing_day=billing_day, on=on)
            return Applied(f"День списания {billing_day} с {on.isoformat()}",
                           f"Billing day {billing_day} from {on.isoformat()}", ids)

        return Step("change_billing_day", on, sub.status, quote, apply)

    return _act(actor=actor, subscription=subscription, family="change_billing_day", allowed=RUNNING,
                verb="change the billing day of", preview=preview, idempotency_key=idempotency_key, check=check,
                step=step)


def subscription_suspend(*, actor: Actor, subscription: Subscription, billing_continues: bool = False,
                         preview: bool = False, idempotency_key: str | None = None) -> ActionResult:
    """Suspend: with ``billing_continues`` only the status changes; otherwise billing stops today
    (what is due is settled and the unused prepaid days are credited, as for an immediate
    cancellation) until :func:`subscription_resume`."""
    _check_preview(preview)
    if not isinstance(billing_continues, bool):
        raise ValidationFailed.field("billing_continues", _("Must be true or false."))

    def step(sub: Subscription, on: dt.date) -> Step:
        quote = Quote(on, sub.currency) if billing_continues else quote_close(
            subscription_terms(sub), on, subscription_billed(sub), usage=stored_usage(sub))

        def apply(actor: Actor, sub: Subscription) -> Applied:
            ids = post_quote(actor, sub, quote)
            sub.status, sub.billing_paused = SubscriptionStatus.SUSPENDED, not billing_continues
            sub.updated_at = clock.now()
            sub.save()
            return Applied("Приостановлена" + ("" if billing_continues else ", списания остановлены"),
                           "Suspended" + ("" if billing_continues else ", billing paused"), ids)

        return Step("suspend", on, SubscriptionStatus.SUSPENDED, quote, apply)

    return _act(actor=actor, subscription=subscription, family="suspend", allowed=RUNNING, verb="suspend",
                preview=preview, idempotency_key=idempotency_key, step=step)


def subscription_resume(*, actor: Actor, subscription: Subscription, preview: bool = False,
                        idempotency_key: str | None = None) -> ActionResult:
    """Resume a suspended subscription; if billing was paused, the rest of the current period is
    charged from today (prorated)."""

    def step(sub: Subscription, on: dt.date) -> Step:
        quote = quote_open(subscription_terms(sub), on, subscription_billed(sub)) if sub.billing_paused \
            else Quote(on, sub.currency)

        def apply(actor: Actor, sub: Subscription) -> Applied:
            ids = post_quote(actor, sub, quote) if quote.items else []
            if sub.billing_paused:
                sub.billing_from = on
            sub.billing_paused = False
            sub.status = SubscriptionStatus.ACTIVE
            sub.status = status_on(sub, on)
            sub.updated_at = clock.now()
            sub.save()
            return Applied("Возобновлена", "Resumed", ids)

        return Step("resume", on, SubscriptionStatus.ACTIVE, quote, apply)

    return _act(actor=actor, subscription=subscription, family="resume", allowed=(SubscriptionStatus.SUSPENDED,),
                verb="resume", preview=preview, idempotency_key=idempotency_key, step=step)
