"""Writers for subscriptions: create, bill what is due, and the actions (plan change, quantity
change, cancellation and its undoing, billing-day change, suspension and resume).

Every service takes an explicit ``actor``, validates everything first (``ValidationFailed`` /
``Conflict`` naming the field; nothing is written), then writes in one database transaction: the
subscription row is locked, money goes to the ledger through ``ledger_operation_post`` (charges as
``charge`` with the product's VAT rate or the regime's default; credits of unused prepaid days as
``correction_credit``), the billed pieces are recorded in ``BilledPeriod`` (unique per
component and piece start: a re-run adds nothing), and an audit entry and a timeline entry are
written.

Actions take ``preview``: the preview returns exactly the items (charges and credits, with their
explanations) that applying would post, computed by the same pure quote
(:mod:`kopeck.core.subscriptions`). ``idempotency_key``: applying again with the same key returns
the first result and posts nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F

from kopeck.audit.services import audit_record
from kopeck.catalog.models import ExistingSubscribers, Plan, PlanVersion, VersionStatus
from kopeck.catalog.selectors import plan_version_in_force, version_plan_spec
from kopeck.clients.models import Client
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.configuration.selectors import provider_today
from kopeck.core.money import Currency, Money, MoneyError
from kopeck.core.pricing.errors import PricingError
from kopeck.core.pricing.plan import PlanSpec
from kopeck.core.subscriptions import (
    ChangeKind,
    Credit,
    DueCharge,
    Quote,
    Terms,
    TermsError,
    UsageSource,
    classify_change,
    new_billing_day_terms,
    period_end,
    quote_bill_due,
    quote_close,
    quote_open,
    quote_phase_change,
    trial_end_for,
)
from kopeck.core.subscriptions.terms import Anchor, FirstPeriod
from kopeck.ledger.amounts import to_minor
from kopeck.ledger.services import ledger_operation_post
from kopeck.subscriptions.models import (
    AnchorKind,
    BilledPeriod,
    FirstPeriodPolicy,
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

Errors = dict[str, list[str]]

CREDIT_OPERATION = "correction_credit"
"""How credits of unused prepaid days are posted (a ``refund`` setting may come later)."""


# ---------------------------------------------------------------------------------------------
# results


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


# ---------------------------------------------------------------------------------------------
# helpers


def subscription_state(sub: Subscription) -> dict[str, Any]:
    return {"client": sub.client_id, "plan": sub.plan_id, "plan_version": sub.plan_version_id,
            "quantity": sub.quantity, "currency": sub.currency, "start_date": sub.start_date,
            "end_date": sub.end_date, "anchor_kind": sub.anchor_kind, "billing_day": sub.billing_day,
            "first_period_policy": sub.first_period_policy, "status": sub.status,
            "billing_paused": sub.billing_paused, "trial_end": sub.trial_end,
            "discount_percent": None if sub.discount_percent is None else str(sub.discount_percent),
            "fixed_price": None if sub.fixed_price is None else str(sub.fixed_price),
            "billing_from": sub.billing_from, "cycle_origin": sub.cycle_origin}


def _status_on(sub: Subscription, on: dt.date) -> str:
    """The status a running subscription has on ``on`` (pending → trial → active by dates)."""
    if sub.status in (SubscriptionStatus.PENDING, SubscriptionStatus.TRIAL, SubscriptionStatus.ACTIVE):
        if sub.start_date > on:
            return SubscriptionStatus.PENDING
        if sub.trial_end is not None and sub.trial_end > on:
            return SubscriptionStatus.TRIAL
        return SubscriptionStatus.ACTIVE
    return sub.status


def _timeline(sub: Subscription, kind: str, on: dt.date, ru: str, en: str, data: Mapping[str, Any] | None = None,
              transaction_id: int | None = None) -> TimelineEntry:
    return TimelineEntry.objects.create(subscription=sub, at=clock.now(), effective_date=on, kind=kind,
                                        text_ru=ru[:500], text_en=en[:500], data=dict(data or {}),
                                        transaction_id=transaction_id)


def _audit(actor: Actor, action: str, sub: Subscription, before: Any, after: Any) -> None:
    audit_record(actor=actor, action=f"subscription.{action}", object_type="subscription", object_id=sub.pk,
                 before=before, after=after)


def _vat_rate(sub: Subscription) -> str | None:
    rate = sub.plan.product.vat_rate
    return rate or None


def _plan_code(sub: Subscription) -> str:
    return sub.plan.code


def _reason(sub: Subscription, item: DueCharge | Credit) -> str:
    if isinstance(item, Credit):
        p = item.unused
        return (f"Подписка #{sub.pk}: возврат за {item.component}, "
                f"{p.start.isoformat()} – {p.last_day.isoformat()}")
    p = item.period
    return f"Подписка #{sub.pk} ({item.plan or _plan_code(sub)}): {item.component}, {p.start.isoformat()} – {p.last_day.isoformat()}"


def _post_quote(actor: Actor, sub: Subscription, quote: Quote) -> list[int]:
    """Post ``quote`` for ``sub`` (locked by the caller, inside its transaction): truncate the
    pieces whose service ends, post credits and charges, record the billed pieces, add carried-over
    markers. Returns the ledger transaction ids, in posting order."""
    now = clock.now()
    on = quote.on
    rows = {(b.component, b.period_start): b for b in BilledPeriod.objects.select_for_update(of=("self",))
            .filter(subscription=sub)}
    for key in quote.truncated:
        row = rows[key]
        if row.credited_from is None or row.credited_from > on:
            row.credited_from = max(on, row.period_start)
            row.save(update_fields=["credited_from"])
    for code, start in quote.carried:
        source = rows[(code, start)]
        if start < on and (code, on) not in rows:
            end = source.credited_from or source.period_end
            rows[(code, on)] = BilledPeriod.objects.create(
                subscription=sub, component=code, period_start=on, period_end=end, amount_minor=0,
                currency=sub.currency, created_at=now, explanation={
                    "ru": f"{code}: без изменений, оплачено в периоде с {start.isoformat()}",
                    "en": f"{code}: unchanged, paid within the piece from {start.isoformat()}",
                    "formula": "carried over = 0", "carried_from": start.isoformat()})
    ids: list[int] = []
    vat = _vat_rate(sub)
    for item in quote.items:
        if isinstance(item, Credit):
            txn = ledger_operation_post(actor=actor, client=sub.client, operation=CREDIT_OPERATION,
                                        amount=item.amount.amount, reason=_reason(sub, item),
                                        currency=sub.currency,
                                        source_ref=f"subscription:{sub.pk}:credit:{item.component}:"
                                                   f"{item.slot_start.isoformat()}")
            ids.append(txn.pk)
            row = rows[item.key]
            row.credited_minor += to_minor(item.amount)
            row.save(update_fields=["credited_minor"])
            _timeline(sub, "credit", on, item.explanation.ru, item.explanation.en, item.as_dict(), txn.pk)
            continue
        existing = rows.get(item.key)
        if existing is not None and (existing.credited_from is None or existing.credited_from > existing.period_start):
            continue  # already billed: never twice
        txn_id: int | None = None
        if item.amount.is_positive():
            txn = ledger_operation_post(actor=actor, client=sub.client, operation="charge",
                                        amount=item.amount.amount, reason=_reason(sub, item),
                                        currency=sub.currency, vat_rate=vat,
                                        source_ref=f"subscription:{sub.pk}:{item.component}:"
                                                   f"{item.period.start.isoformat()}")
            txn_id = txn.pk
            ids.append(txn.pk)
        explanation: dict[str, Any] = {**item.explanation.as_dict(), "lines": [ln.as_dict() for ln in item.lines],
                                       "due": item.due.isoformat(),
                                       "billing_period": item.billing_period.to_dict()}
        if existing is not None:
            explanation["replaced"] = [*existing.explanation.get("replaced", []), {
                "amount_minor": existing.amount_minor, "credited_minor": existing.credited_minor,
                "period_end": existing.period_end.isoformat(), "transaction": existing.transaction_id,
                "explanation": {k: v for k, v in existing.explanation.items() if k != "replaced"}}]
            existing.period_end = item.period.end
            existing.amount_minor = to_minor(item.amount)
            existing.transaction_id = txn_id
            existing.explanation = explanation
            existing.credited_from = None
            existing.credited_minor = 0
            existing.save()
        else:
            rows[item.key] = BilledPeriod.objects.create(
                subscription=sub, component=item.component, period_start=item.period.start,
                period_end=item.period.end, amount_minor=to_minor(item.amount), currency=sub.currency,
                transaction_id=txn_id, explanation=explanation, created_at=now)
        if txn_id is not None:
            _timeline(sub, "charge", on, item.explanation.ru, item.explanation.en, item.as_dict(), txn_id)
    return ids


def _fresh(sub: Subscription) -> Subscription:
    """The subscription as stored now (the caller's instance may be stale)."""
    return Subscription.objects.select_related("client", "plan__product", "plan_version").get(pk=sub.pk)


def _lock(sub: Subscription) -> Subscription:
    return Subscription.objects.select_for_update(of=("self",)).select_related("client", "plan__product", "plan_version") \
        .get(pk=sub.pk)


def _replay(sub: Subscription, key: str | None, action: str) -> ActionResult | None:
    if not key:
        return None
    entry = TimelineEntry.objects.filter(subscription=sub, data__idempotency_key=key).first()
    if entry is None:
        return None
    if entry.data.get("action_family") != action:
        raise Conflict(f"The idempotency key {key!r} was used for another action ({entry.data.get('action_family')}).",
                       errors={"idempotency_key": ["Already used for another action."]})
    return ActionResult.from_dict(entry.data["result"])


def _result(action: str, preview: bool, on: dt.date, status: str, quote: Quote | None = None,
            ids: list[int] | None = None, change: ScheduledChange | None = None) -> ActionResult:
    items = quote.as_list() if quote is not None else []
    total = quote.total.to_str() if quote is not None else "0.00"
    return ActionResult(action, preview, on, status, items, list(ids or []),
                        None if change is None else change.pk, total)


def _record_action(actor: Actor, sub: Subscription, family: str, result: ActionResult, before: dict[str, Any],
                   ru: str, en: str, key: str | None) -> None:
    data = {"action": result.action, "action_family": family, "result": result.as_dict(),
            "idempotency_key": key or None}
    _timeline(sub, family, result.effective_date, ru, en, data)
    _audit(actor, family, sub, before, {**subscription_state(sub), "result": result.as_dict()})


def _require_status(sub: Subscription, allowed: tuple[str, ...], action: str) -> None:
    if sub.status not in allowed:
        raise Conflict(f"Cannot {action} a subscription in status {sub.status!r} "
                       f"(allowed: {', '.join(allowed)}).", errors={"status": [f"Not allowed in {sub.status}."]})


def _schedule(sub: Subscription, kind: str, effective: dt.date, payload: dict[str, Any]) -> ScheduledChange:
    """A new pending change; the pending one (if any) is replaced."""
    now = clock.now()
    ScheduledChange.objects.filter(subscription=sub, status=ScheduledChangeStatus.PENDING).update(
        status=ScheduledChangeStatus.REPLACED, decided_at=now)
    return ScheduledChange.objects.create(subscription=sub, kind=kind, effective_date=effective, payload=payload,
                                          created_at=now)


def _cancel_pending(sub: Subscription) -> None:
    ScheduledChange.objects.filter(subscription=sub, status=ScheduledChangeStatus.PENDING).update(
        status=ScheduledChangeStatus.CANCELLED, decided_at=clock.now())


def _today(on: dt.date | None = None) -> dt.date:
    return provider_today() if on is None else on


# ---------------------------------------------------------------------------------------------
# create


def _resolve_version(plan: Plan | str | None, version: PlanVersion | None, on: dt.date,
                     errors: Errors) -> tuple[Plan | None, PlanVersion | None]:
    if version is not None:
        if version.status != VersionStatus.PUBLISHED:
            errors["plan_version"] = ["Only a published version can be subscribed to."]
            return None, None
        if plan is not None and (plan.code if isinstance(plan, Plan) else plan) != version.plan.code:
            errors["plan_version"] = ["The version belongs to another plan."]
            return None, None
        return version.plan, version
    if plan is None:
        errors["plan"] = ["This field is required."]
        return None, None
    plan_obj = plan if isinstance(plan, Plan) else Plan.objects.filter(code=str(plan)).first()
    if plan_obj is None:
        errors["plan"] = [f"Unknown plan {plan!r}."]
        return None, None
    found = plan_version_in_force(plan_obj, on)
    if found is None:
        errors["plan"] = [f"Plan {plan_obj.code!r} has no published prices in force on {on.isoformat()}."]
        return plan_obj, None
    return plan_obj, found


def _decimal(value: object, name: str, errors: Errors) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        result = Decimal(str(value)) if not isinstance(value, float) else None
    except InvalidOperation:
        result = None
    if result is None or not result.is_finite():
        errors[name] = ["Must be a decimal number."]
        return None
    return result


def _check_quantity(quantity: object, errors: Errors) -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        errors["quantity"] = ["The quantity must be a whole number of at least 1."]
        return 1
    return quantity


def _check_currency(spec: PlanSpec | None, currency: str, client: Client, errors: Errors) -> None:
    if spec is not None and currency not in spec.currencies:
        errors["currency"] = [f"The plan has no price in {currency}; it is priced in {', '.join(spec.currencies)}."]
    elif currency != client.currency:
        errors["currency"] = [f"The client's account is in {client.currency}; charges in {currency} cannot be posted."]


def subscription_create(
    *, actor: Actor, client: Client, plan: Plan | str | None = None, version: PlanVersion | None = None,
    quantity: int = 1, currency: str | None = None, start_date: dt.date | None = None,
    anchor_kind: str = AnchorKind.ANNIVERSARY, billing_day: int | None = None,
    first_period_policy: str = FirstPeriodPolicy.PRORATE, trial_end: dt.date | None = None,
    no_trial: bool = False, end_date: dt.date | None = None, discount_percent: object = None,
    fixed_price: object = None, external_id: str | None = None,
) -> Subscription:
    """Subscribe ``client`` to ``plan`` (a code or a Plan: the version in force on the start date)
    or to a published ``version``. ``start_date`` defaults to today (provider-local); a past date is
    a backdated migration (``subscription_bill_due`` then bills every period up to today, each once),
    a future date makes the subscription pending. The trial is the plan's unless ``trial_end`` (the
    first paid day) is given or ``no_trial``. Status: pending / trial / active."""
    errors: Errors = {}
    today = provider_today()
    start = start_date or today
    if isinstance(start, dt.datetime) or not isinstance(start, dt.date):
        errors["start_date"] = ["Must be a date."]
        start = today
    plan_obj, version_obj = _resolve_version(plan, version, start, errors)
    spec = version_plan_spec(version_obj) if version_obj is not None else None
    qty = _check_quantity(quantity, errors)
    try:
        cur = Currency.of(currency or client.currency).code
    except MoneyError as exc:
        errors["currency"] = [str(exc)]
        cur = client.currency
    else:
        _check_currency(spec, cur, client, errors)
    if anchor_kind not in AnchorKind.values:
        errors["anchor_kind"] = [f"Choose one of: {', '.join(AnchorKind.values)}."]
    elif anchor_kind == AnchorKind.ANNIVERSARY and billing_day is not None:
        errors["billing_day"] = ["A billing day applies to calendar billing only."]
    elif anchor_kind == AnchorKind.CALENDAR and (isinstance(billing_day, bool) or not isinstance(billing_day, int)
                                                 or not 1 <= billing_day <= 31):
        errors["billing_day"] = ["Give a billing day 1..31 (29–31 mean the last day of shorter months)."]
    if first_period_policy not in FirstPeriodPolicy.values:
        errors["first_period_policy"] = [f"Choose one of: {', '.join(FirstPeriodPolicy.values)}."]
    discount = _decimal(discount_percent, "discount_percent", errors)
    fixed = _decimal(fixed_price, "fixed_price", errors)
    if fixed is not None and fixed >= 0 and not Money(fixed, cur).is_rounded():
        errors["fixed_price"] = [f"{cur} allows {Currency.of(cur).minor_units} decimal places."]
    if trial_end is not None and trial_end < start:
        errors["trial_end"] = ["The trial cannot end before the start."]
    if external_id is not None and Subscription.objects.filter(external_id=external_id).exists():
        errors["external_id"] = ["A subscription with this external id exists."]
    terms: Terms | None = None
    if spec is not None and not errors:
        anchor = Anchor(anchor_kind)
        trial = None if no_trial else (trial_end or trial_end_for(spec, start, anchor=anchor,
                                                                  billing_day=billing_day))
        try:
            terms = Terms(spec, cur, start, qty, anchor, billing_day, FirstPeriod(first_period_policy), trial,
                          end_date, discount, fixed)
        except (TermsError, PricingError) as exc:
            errors[getattr(exc, "field", None) or "plan"] = [getattr(exc, "message", str(exc))]
    if errors or terms is None or plan_obj is None or version_obj is None:
        raise ValidationFailed("The subscription is invalid.", errors=errors or {"plan": ["Invalid plan."]})
    now = clock.now()
    try:
        return _insert_subscription(actor, client, plan_obj, version_obj, qty, cur, external_id, start, end_date,
                                    anchor_kind, billing_day, first_period_policy, terms.trial_end, discount, fixed,
                                    now, today)
    except IntegrityError as exc:  # a concurrent create took the external id first
        raise ValidationFailed("The subscription is invalid.",
                               errors={"external_id": ["A subscription with this external id exists."]}) from exc


def _insert_subscription(actor: Actor, client: Client, plan_obj: Plan, version_obj: PlanVersion, qty: int, cur: str,
                         external_id: str | None, start: dt.date, end_date: dt.date | None, anchor_kind: str,
                         billing_day: int | None, first_period_policy: str, trial_end: dt.date | None,
                         discount: Any, fixed: Any, now: dt.datetime, today: dt.date) -> Subscription:
    with transaction.atomic():
        sub = Subscription(
            client=client, plan=plan_obj, plan_version=version_obj, quantity=qty, currency=cur,
            external_id=external_id, start_date=start, end_date=end_date, anchor_kind=anchor_kind,
            billing_day=billing_day, first_period_policy=first_period_policy, trial_end=trial_end,
            discount_percent=discount, fixed_price=fixed, created_at=now, updated_at=now,
            status=SubscriptionStatus.PENDING)
        sub.status = _status_on(sub, today)
        sub.save(force_insert=True)
        _timeline(sub, "created", start, f"Подписка на тариф {plan_obj.code} (версия {version_obj.number}), "
                  f"с {start.isoformat()}, статус {sub.status}",
                  f"Subscribed to plan {plan_obj.code} (version {version_obj.number}) from {start.isoformat()}, "
                  f"status {sub.status}", {"status": sub.status})
        _audit(actor, "create", sub, None, subscription_state(sub))
    return sub


# ---------------------------------------------------------------------------------------------
# billing


@dataclass(slots=True)
class BillResult:
    subscription_id: int
    on: dt.date
    items: list[dict[str, Any]]
    transaction_ids: list[int]
    status: str


def _refresh_status(actor: Actor, sub: Subscription, on: dt.date) -> None:
    status = _status_on(sub, on)
    if status != sub.status:
        before = subscription_state(sub)
        old, sub.status, sub.updated_at = sub.status, status, clock.now()
        sub.save(update_fields=["status", "updated_at"])
        _timeline(sub, "status", on, f"Статус: {old} → {status}", f"Status: {old} → {status}",
                  {"from": old, "to": status})
        _audit(actor, "status", sub, before, subscription_state(sub))


def subscription_bill_due(*, actor: Actor, subscription: Subscription, on: dt.date | None = None,
                          usage: UsageSource | None = None, preview: bool = False) -> BillResult:
    """Post everything due up to ``on`` (default today, provider-local) that was not billed yet.
    Running it again on the same date posts nothing. ``usage(component, period)`` gives metered
    usage (default: the stored usage events and meter readings, kopeck.usage). ``preview`` returns the
    same items without posting anything."""
    today = provider_today()
    day = _today(on)
    if isinstance(day, dt.datetime) or not isinstance(day, dt.date):
        raise ValidationFailed.field("on", "Must be a date.")
    if day > today:
        raise ValidationFailed.field("on", f"Cannot bill ahead of today ({today.isoformat()}).")
    if preview:  # exactly what would be posted now, nothing written, no lock taken
        sub = _fresh(subscription)
        status = _status_on(sub, day)
        if status in (SubscriptionStatus.PENDING, SubscriptionStatus.ENDED) or sub.billing_paused:
            return BillResult(sub.pk, day, [], [], status)
        quote = quote_bill_due(subscription_terms(sub), day, subscription_billed(sub),
                               usage=stored_usage(sub) if usage is None else usage)
        return BillResult(sub.pk, day, quote.as_list(), [], status)
    with transaction.atomic():
        sub = _lock(subscription)
        _refresh_status(actor, sub, day)
        if sub.status in (SubscriptionStatus.PENDING, SubscriptionStatus.ENDED) or sub.billing_paused:
            return BillResult(sub.pk, day, [], [], sub.status)
        quote = quote_bill_due(subscription_terms(sub), day, subscription_billed(sub),
                               usage=stored_usage(sub) if usage is None else usage)
        ids = _post_quote(actor, sub, quote) if quote.items else []
        if ids:
            _audit(actor, "bill", sub, None, {"on": day, "transactions": ids, "total": quote.total.to_str()})
    return BillResult(sub.pk, day, quote.as_list(), ids, sub.status)


def subscriptions_bill_due_all(*, actor: Actor, on: dt.date | None = None,
                               usage: UsageSource | None = None) -> dict[str, Any]:
    """Bill every running subscription up to ``on``; one transaction per subscription, a failure
    of one is reported and does not stop the others."""
    day = _today(on)
    summary: dict[str, Any] = {"on": day.isoformat(), "subscriptions": 0, "transactions": 0, "errors": {}}
    running = (Subscription.objects.exclude(status=SubscriptionStatus.ENDED).filter(start_date__lte=day,
                                                                                   billing_paused=False)
               .order_by("id"))
    for sub in running.iterator():
        try:
            result = subscription_bill_due(actor=actor, subscription=sub, on=day, usage=usage)
        except (ValidationFailed, Conflict, MoneyError, PricingError, ValueError) as exc:
            summary["errors"][str(sub.pk)] = str(exc)
            continue
        summary["subscriptions"] += 1
        summary["transactions"] += len(result.transaction_ids)
    return summary


# ---------------------------------------------------------------------------------------------
# actions


RUNNING = (SubscriptionStatus.TRIAL, SubscriptionStatus.ACTIVE)


def _check_preview(preview: object) -> None:
    if not isinstance(preview, bool):
        raise ValidationFailed.field("preview", "Must be true or false.")


def _apply_phase(actor: Actor, sub: Subscription, quote: Quote, *, version: PlanVersion | None = None,
                 quantity: int | None = None, billing_day: int | None = None, on: dt.date) -> list[int]:
    ids = _post_quote(actor, sub, quote)
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


def _plan_change_plan(sub: Subscription, plan: Plan | str | None, version: PlanVersion | None,
                      quantity: int | None, timing: str, on: dt.date) -> tuple[PlanVersion, int, ChangeKind, str]:
    errors: Errors = {}
    if timing not in ("default", "immediate", "period_end"):
        errors["timing"] = ["Choose one of: default, immediate, period_end."]
    _plan, found = _resolve_version(plan, version, on, errors)
    qty = sub.quantity if quantity is None else _check_quantity(quantity, errors)
    spec = version_plan_spec(found) if found is not None else None
    if spec is not None and sub.currency not in spec.currencies:
        errors["currency"] = [f"The new plan has no price in {sub.currency}; it is priced in "
                              f"{', '.join(spec.currencies)}."]
    if spec is not None and "currency" not in errors:
        try:
            subscription_terms(sub, spec)
        except TermsError as exc:
            errors[exc.field] = [exc.message]
    if errors or found is None or spec is None:
        raise ValidationFailed("The plan change is invalid.", errors=errors or {"plan": ["Invalid plan."]})
    if found.pk == sub.plan_version_id and qty == sub.quantity:
        raise Conflict("The subscription is already on this plan version and quantity.",
                       errors={"plan": ["Nothing to change."]})
    kind = classify_change(subscription_terms(sub), subscription_terms(sub, spec).with_(quantity=qty))
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
    _check_preview(preview)
    subscription = _fresh(subscription)
    on = provider_today()
    if not preview and (replayed := _replay(subscription, idempotency_key, "change_plan")):
        return replayed
    _require_status(subscription, RUNNING, "change the plan of")
    found, qty, kind, when = _plan_change_plan(subscription, plan, version, quantity, timing, on)

    def compute(sub: Subscription) -> tuple[Quote | None, dt.date]:
        old = subscription_terms(sub)
        if when == "period_end":
            return None, period_end(old, on)
        new = subscription_terms(sub, version_plan_spec(found)).with_(quantity=qty, billing_from=on)
        return quote_phase_change(old, new, on, subscription_billed(sub), usage=stored_usage(sub)), on

    if preview:
        quote, eff = compute(subscription)
        return _result(kind.value, True, eff, subscription.status, quote)
    with transaction.atomic():
        sub = _lock(subscription)
        _require_status(sub, RUNNING, "change the plan of")
        if (replayed := _replay(sub, idempotency_key, "change_plan")) is not None:
            return replayed
        before = subscription_state(sub)
        quote, eff = compute(sub)
        if quote is None:
            change = _schedule(sub, "change_plan", eff, {"plan_version": found.pk, "quantity": qty,
                                                         "change": kind.value})
            result = _result(kind.value, False, eff, sub.status, None, [], change)
            ru = f"Смена тарифа на {found.plan.code} запланирована на {eff.isoformat()} ({kind.value})"
            en = f"Change to plan {found.plan.code} scheduled for {eff.isoformat()} ({kind.value})"
        else:
            _cancel_pending(sub)
            ids = _apply_phase(actor, sub, quote, version=found, quantity=qty, on=on)
            result = _result(kind.value, False, eff, sub.status, quote, ids)
            ru = f"Тариф изменён на {found.plan.code} ({kind.value}), итого {quote.total.to_str()}"
            en = f"Plan changed to {found.plan.code} ({kind.value}), total {quote.total.to_str()}"
        _record_action(actor, sub, "change_plan", result, before, ru, en, idempotency_key)
    return result


def subscription_change_quantity(*, actor: Actor, subscription: Subscription, quantity: int, preview: bool = False,
                                 idempotency_key: str | None = None) -> ActionResult:
    """Change the quantity now: per-unit components are credited for the unused days at the old
    quantity and charged for the remaining days at the new one; other components are unchanged."""
    _check_preview(preview)
    subscription = _fresh(subscription)
    allowed = (*RUNNING, SubscriptionStatus.CANCELLING)
    errors: Errors = {}
    qty = _check_quantity(quantity, errors)
    if errors:
        raise ValidationFailed("The quantity is invalid.", errors=errors)
    if not preview and (replayed := _replay(subscription, idempotency_key, "change_quantity")):
        return replayed
    _require_status(subscription, allowed, "change the quantity of")
    if qty == subscription.quantity:
        raise Conflict(f"The quantity is already {qty}.", errors={"quantity": ["Nothing to change."]})
    on = provider_today()

    def compute(sub: Subscription) -> Quote:
        old = subscription_terms(sub)
        return quote_phase_change(old, old.with_(quantity=qty, billing_from=on), on, subscription_billed(sub),
                                  usage=stored_usage(sub))

    if preview:
        return _result("change_quantity", True, on, subscription.status, compute(subscription))
    with transaction.atomic():
        sub = _lock(subscription)
        _require_status(sub, allowed, "change the quantity of")
        if (replayed := _replay(sub, idempotency_key, "change_quantity")) is not None:
            return replayed
        if qty == sub.quantity:
            raise Conflict(f"The quantity is already {qty}.", errors={"quantity": ["Nothing to change."]})
        before = subscription_state(sub)
        quote = compute(sub)
        ids = _apply_phase(actor, sub, quote, quantity=qty, on=on)
        result = _result("change_quantity", False, on, sub.status, quote, ids)
        _record_action(actor, sub, "change_quantity", result, before,
                       f"Количество {before['quantity']} → {qty}, итого {quote.total.to_str()}",
                       f"Quantity {before['quantity']} → {qty}, total {quote.total.to_str()}", idempotency_key)
    return result


def subscription_cancel(*, actor: Actor, subscription: Subscription, at_period_end: bool = True,
                        preview: bool = False, idempotency_key: str | None = None) -> ActionResult:
    """Cancel at the end of the current period (no money now; can be undone until then) or
    immediately (settle what is due, credit the unused prepaid days, end the subscription)."""
    _check_preview(preview)
    subscription = _fresh(subscription)
    if not isinstance(at_period_end, bool):
        raise ValidationFailed.field("at_period_end", "Must be true or false.")
    allowed = (*RUNNING, SubscriptionStatus.SUSPENDED) if at_period_end else (
        *RUNNING, SubscriptionStatus.SUSPENDED, SubscriptionStatus.CANCELLING, SubscriptionStatus.PENDING)
    if not preview and (replayed := _replay(subscription, idempotency_key, "cancel")):
        return replayed
    _require_status(subscription, allowed, "cancel" + (" at period end" if at_period_end else ""))
    on = provider_today()

    def compute(sub: Subscription) -> tuple[Quote | None, dt.date]:
        terms = subscription_terms(sub)
        if at_period_end:
            return None, period_end(terms, on)
        if sub.status == SubscriptionStatus.PENDING or sub.billing_paused:
            return Quote(on, sub.currency), on
        return quote_close(terms, on, subscription_billed(sub), usage=stored_usage(sub)), on

    if preview:
        quote, eff = compute(subscription)
        status = SubscriptionStatus.CANCELLING if at_period_end else SubscriptionStatus.ENDED
        return _result("cancel", True, eff, status, quote)
    with transaction.atomic():
        sub = _lock(subscription)
        _require_status(sub, allowed, "cancel")
        if (replayed := _replay(sub, idempotency_key, "cancel")) is not None:
            return replayed
        before = subscription_state(sub)
        quote, eff = compute(sub)
        change: ScheduledChange | None = None
        ids: list[int] = []
        if quote is None:
            change = _schedule(sub, "cancel", eff, {"previous_status": sub.status})
            sub.status, sub.end_date = SubscriptionStatus.CANCELLING, eff
            ru, en = f"Отмена в конце периода: {eff.isoformat()}", f"Cancellation at period end: {eff.isoformat()}"
        else:
            _cancel_pending(sub)
            ids = _post_quote(actor, sub, quote)
            sub.status, sub.end_date = SubscriptionStatus.ENDED, max(on, sub.start_date)
            ru = f"Подписка отменена с {on.isoformat()}, итого {quote.total.to_str()}"
            en = f"Subscription cancelled from {on.isoformat()}, total {quote.total.to_str()}"
        sub.updated_at = clock.now()
        sub.save()
        result = _result("cancel", False, eff, sub.status, quote, ids, change)
        _record_action(actor, sub, "cancel", result, before, ru, en, idempotency_key)
    return result


def subscription_uncancel(*, actor: Actor, subscription: Subscription, preview: bool = False,
                          idempotency_key: str | None = None) -> ActionResult:
    """Undo a cancellation at period end before it takes effect. Posts nothing."""
    _check_preview(preview)
    subscription = _fresh(subscription)
    if not preview and (replayed := _replay(subscription, idempotency_key, "uncancel")):
        return replayed
    _require_status(subscription, (SubscriptionStatus.CANCELLING,), "undo the cancellation of")
    on = provider_today()
    if preview:
        return _result("uncancel", True, on, SubscriptionStatus.ACTIVE, Quote(on, subscription.currency))
    with transaction.atomic():
        sub = _lock(subscription)
        _require_status(sub, (SubscriptionStatus.CANCELLING,), "undo the cancellation of")
        before = subscription_state(sub)
        pending = subscription_pending_change(sub)
        _cancel_pending(sub)
        previous = (pending.payload.get("previous_status") if pending else None) or SubscriptionStatus.ACTIVE
        sub.end_date = None
        sub.status = SubscriptionStatus.ACTIVE if previous != SubscriptionStatus.SUSPENDED else previous
        sub.status = _status_on(sub, on)
        sub.updated_at = clock.now()
        sub.save()
        result = _result("uncancel", False, on, sub.status, Quote(on, sub.currency))
        _record_action(actor, sub, "uncancel", result, before, "Отмена отменена: подписка продолжается",
                       "Cancellation undone: the subscription continues", idempotency_key)
    return result


def subscription_change_billing_day(*, actor: Actor, subscription: Subscription, billing_day: int,
                                    at_period_end: bool = True, preview: bool = False,
                                    idempotency_key: str | None = None) -> ActionResult:
    """Move to calendar billing on ``billing_day`` (1–31) from the end of the current period (or
    now): the bridge from then to the first date on the new day is prorated."""
    _check_preview(preview)
    subscription = _fresh(subscription)
    if isinstance(billing_day, bool) or not isinstance(billing_day, int) or not 1 <= billing_day <= 31:
        raise ValidationFailed.field("billing_day", "Give a billing day 1..31.")
    if not preview and (replayed := _replay(subscription, idempotency_key, "change_billing_day")):
        return replayed
    _require_status(subscription, RUNNING, "change the billing day of")
    if not subscription_terms(subscription).plan.interval.is_month_based:
        raise ValidationFailed.field("billing_day", "The billing day applies to month-based periods only.")
    if subscription.anchor_kind == AnchorKind.CALENDAR and subscription.billing_day == billing_day:
        raise Conflict(f"The billing day is already {billing_day}.", errors={"billing_day": ["Nothing to change."]})
    on = provider_today()

    def compute(sub: Subscription) -> tuple[Quote | None, dt.date]:
        old = subscription_terms(sub)
        if at_period_end:
            return None, period_end(old, on)
        return quote_phase_change(old, new_billing_day_terms(old, on, billing_day), on, subscription_billed(sub),
                                  usage=stored_usage(sub)), on

    if preview:
        quote, eff = compute(subscription)
        return _result("change_billing_day", True, eff, subscription.status, quote)
    with transaction.atomic():
        sub = _lock(subscription)
        _require_status(sub, RUNNING, "change the billing day of")
        if (replayed := _replay(sub, idempotency_key, "change_billing_day")) is not None:
            return replayed
        before = subscription_state(sub)
        quote, eff = compute(sub)
        if quote is None:
            change = _schedule(sub, "billing_day", eff, {"billing_day": billing_day})
            result = _result("change_billing_day", False, eff, sub.status, None, [], change)
        else:
            _cancel_pending(sub)
            ids = _apply_phase(actor, sub, quote, billing_day=billing_day, on=on)
            result = _result("change_billing_day", False, eff, sub.status, quote, ids)
        _record_action(actor, sub, "change_billing_day", result, before,
                       f"День списания {billing_day} с {eff.isoformat()}",
                       f"Billing day {billing_day} from {eff.isoformat()}", idempotency_key)
    return result


def subscription_suspend(*, actor: Actor, subscription: Subscription, billing_continues: bool = False,
                         preview: bool = False, idempotency_key: str | None = None) -> ActionResult:
    """Suspend: with ``billing_continues`` only the status changes; otherwise billing stops today
    (what is due is settled and the unused prepaid days are credited, as for an immediate
    cancellation) until :func:`subscription_resume`."""
    _check_preview(preview)
    subscription = _fresh(subscription)
    if not isinstance(billing_continues, bool):
        raise ValidationFailed.field("billing_continues", "Must be true or false.")
    if not preview and (replayed := _replay(subscription, idempotency_key, "suspend")):
        return replayed
    _require_status(subscription, RUNNING, "suspend")
    on = provider_today()

    def compute(sub: Subscription) -> Quote:
        if billing_continues:
            return Quote(on, sub.currency)
        return quote_close(subscription_terms(sub), on, subscription_billed(sub), usage=stored_usage(sub))

    if preview:
        return _result("suspend", True, on, SubscriptionStatus.SUSPENDED, compute(subscription))
    with transaction.atomic():
        sub = _lock(subscription)
        _require_status(sub, RUNNING, "suspend")
        if (replayed := _replay(sub, idempotency_key, "suspend")) is not None:
            return replayed
        before = subscription_state(sub)
        quote = compute(sub)
        ids = _post_quote(actor, sub, quote)
        sub.status, sub.billing_paused, sub.updated_at = SubscriptionStatus.SUSPENDED, not billing_continues, clock.now()
        sub.save()
        result = _result("suspend", False, on, sub.status, quote, ids)
        _record_action(actor, sub, "suspend", result, before,
                       "Приостановлена" + ("" if billing_continues else ", списания остановлены"),
                       "Suspended" + ("" if billing_continues else ", billing paused"), idempotency_key)
    return result


def subscription_resume(*, actor: Actor, subscription: Subscription, preview: bool = False,
                        idempotency_key: str | None = None) -> ActionResult:
    """Resume a suspended subscription; if billing was paused, the rest of the current period is
    charged from today (prorated)."""
    _check_preview(preview)
    subscription = _fresh(subscription)
    if not preview and (replayed := _replay(subscription, idempotency_key, "resume")):
        return replayed
    _require_status(subscription, (SubscriptionStatus.SUSPENDED,), "resume")
    on = provider_today()

    def compute(sub: Subscription) -> Quote:
        if not sub.billing_paused:
            return Quote(on, sub.currency)
        return quote_open(subscription_terms(sub), on, subscription_billed(sub))

    if preview:
        return _result("resume", True, on, SubscriptionStatus.ACTIVE, compute(subscription))
    with transaction.atomic():
        sub = _lock(subscription)
        _require_status(sub, (SubscriptionStatus.SUSPENDED,), "resume")
        before = subscription_state(sub)
        quote = compute(sub)
        ids = _post_quote(actor, sub, quote) if quote.items else []
        if sub.billing_paused:
            sub.billing_from = on
        sub.billing_paused = False
        sub.status = SubscriptionStatus.ACTIVE
        sub.status = _status_on(sub, on)
        sub.updated_at = clock.now()
        sub.save()
        result = _result("resume", False, on, sub.status, quote, ids)
        _record_action(actor, sub, "resume", result, before, "Возобновлена", "Resumed", idempotency_key)
    return result


# ---------------------------------------------------------------------------------------------
# scheduled changes


def _apply_scheduled(actor: Actor, change: ScheduledChange) -> ActionResult:
    eff = change.effective_date
    sub = _lock(change.subscription)
    before = subscription_state(sub)
    old = subscription_terms(sub)
    billed = subscription_billed(sub)
    if change.kind == "cancel":
        quote = (quote_close(old, eff, billed, usage=stored_usage(sub)) if not sub.billing_paused
                 else Quote(eff, sub.currency))
        ids = _post_quote(actor, sub, quote)
        sub.status, sub.end_date, sub.updated_at = SubscriptionStatus.ENDED, eff, clock.now()
        sub.save()
        ru, en = f"Подписка завершена {eff.isoformat()}", f"Subscription ended on {eff.isoformat()}"
    elif change.kind == "change_plan":
        version = PlanVersion.objects.select_related("plan").get(pk=change.payload["plan_version"])
        qty = int(change.payload.get("quantity") or sub.quantity)
        new = subscription_terms(sub, version_plan_spec(version)).with_(quantity=qty, billing_from=eff)
        quote = quote_phase_change(old, new, eff, billed, usage=stored_usage(sub))
        ids = _apply_phase(actor, sub, quote, version=version, quantity=qty, on=eff)
        ru = f"Тариф изменён на {version.plan.code} (запланировано), итого {quote.total.to_str()}"
        en = f"Plan changed to {version.plan.code} (scheduled), total {quote.total.to_str()}"
    elif change.kind == "billing_day":
        day = int(change.payload["billing_day"])
        quote = quote_phase_change(old, new_billing_day_terms(old, eff, day), eff, billed, usage=stored_usage(sub))
        ids = _apply_phase(actor, sub, quote, billing_day=day, on=eff)
        ru, en = f"День списания {day} с {eff.isoformat()}", f"Billing day {day} from {eff.isoformat()}"
    else:
        raise Conflict(f"Unknown scheduled change kind {change.kind!r}.")
    change.status, change.decided_at = ScheduledChangeStatus.APPLIED, clock.now()
    change.save(update_fields=["status", "decided_at"])
    result = _result(change.kind, False, eff, sub.status, quote, ids, change)
    _record_action(actor, sub, "scheduled_" + change.kind, result, before, ru, en, None)
    return result


def scheduled_changes_run(*, actor: Actor, on: dt.date | None = None) -> dict[str, Any]:
    """Apply every pending scheduled change effective on or before ``on`` (default today), each at
    its own effective date, one transaction each."""
    from kopeck.subscriptions.selectors import scheduled_changes_due

    day = _today(on)
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
    day = _today(on)
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
                locked = _lock(sub)
                found = _adoption(locked, day)
                if found is None:
                    continue
                version, switch = found
                before = subscription_state(locked)
                old = subscription_terms(locked)
                new = subscription_terms(locked, version_plan_spec(version)).with_(billing_from=switch)
                quote = quote_phase_change(old, new, switch, subscription_billed(locked), usage=stored_usage(locked))
                ids = _apply_phase(actor, locked, quote, version=version, on=switch)
                result = _result("price_version", False, switch, locked.status, quote, ids)
                ru = (f"Новая версия тарифа {version.plan.code} v{version.number} с {switch.isoformat()}, "
                      f"итого {quote.total.to_str()}")
                en = (f"New price version {version.plan.code} v{version.number} from {switch.isoformat()}, "
                      f"total {quote.total.to_str()}")
                _record_action(actor, locked, "price_version", result, before, ru, en, None)
                summary["moved"] += 1
        except (ValidationFailed, Conflict, TermsError, MoneyError, PricingError, ValueError) as exc:
            summary["errors"][str(sub.pk)] = str(exc)
    return summary
