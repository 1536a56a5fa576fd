"""Creating a subscription: the plan version, quantity, currency, billing anchor, first-period
policy, trial, discount and fixed price validated together; nothing is written on a refusal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kopeck.catalog.models import Plan, PlanVersion, VersionStatus
from kopeck.catalog.pricing_errors import pricing_message
from kopeck.catalog.selectors import plan_version_in_force, version_plan_spec
from kopeck.clients.models import Client
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import ValidationFailed
from kopeck.configuration.selectors import provider_today
from kopeck.core.money import Currency, Money, MoneyError
from kopeck.core.pricing.errors import PricingError
from kopeck.core.pricing.plan import PlanSpec
from kopeck.core.subscriptions import Terms, TermsError, trial_end_for
from kopeck.core.subscriptions.terms import MAX_QUANTITY, Anchor, FirstPeriod, is_valid_quantity
from kopeck.subscriptions.events import record_subscription_events
from kopeck.subscriptions.models import AnchorKind, FirstPeriodPolicy, Subscription, SubscriptionStatus
from kopeck.subscriptions.services.common import Errors, audit, status_on, subscription_state, timeline_add


def resolve_version(plan: Plan | str | None, version: PlanVersion | None, on: dt.date,
                     errors: Errors) -> tuple[Plan | None, PlanVersion | None]:
    if version is not None:
        if version.status != VersionStatus.PUBLISHED:
            errors["plan_version"] = [_("Only a published version can be subscribed to.")]
            return None, None
        if plan is not None and (plan.code if isinstance(plan, Plan) else plan) != version.plan.code:
            errors["plan_version"] = [_("The version belongs to another plan.")]
            return None, None
        return version.plan, version
    if plan is None:
        errors["plan"] = [_("This field is required.")]
        return None, None
    plan_obj = plan if isinstance(plan, Plan) else Plan.objects.filter(code=str(plan)).first()
    if plan_obj is None:
        errors["plan"] = [_("Unknown plan %(plan)r.") % {"plan": plan}]
        return None, None
    found = plan_version_in_force(plan_obj, on)
    if found is None:
        errors["plan"] = [_("Plan %(plan)r has no published prices in force on %(date)s.")
                          % {"plan": plan_obj.code, "date": on.isoformat()}]
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
        errors[name] = [_("Must be a decimal number.")]
        return None
    return result


def check_quantity(quantity: object, errors: Errors) -> int:
    if not is_valid_quantity(quantity):
        errors["quantity"] = [_("The quantity must be a whole number from 1 to %(max)s.") % {"max": f"{MAX_QUANTITY:,}"}]
        return 1
    return quantity


def _check_currency(spec: PlanSpec | None, currency: str, client: Client, errors: Errors) -> None:
    if spec is not None and currency not in spec.currencies:
        errors["currency"] = [_("The plan has no price in %(currency)s; it is priced in %(currencies)s.")
                              % {"currency": currency, "currencies": ", ".join(spec.currencies)}]
    elif currency != client.currency:
        errors["currency"] = [_("The client's account is in %(account)s; charges in %(currency)s cannot be posted.")
                              % {"account": client.currency, "currency": currency}]


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
        errors["start_date"] = [_("Must be a date.")]
        start = today
    plan_obj, version_obj = resolve_version(plan, version, start, errors)
    spec = version_plan_spec(version_obj) if version_obj is not None else None
    qty = check_quantity(quantity, errors)
    try:
        cur = Currency.of(currency or client.currency).code
    except MoneyError:
        errors["currency"] = [_("unknown currency %(code)r") % {"code": str(currency or client.currency)}]
        cur = client.currency
    else:
        _check_currency(spec, cur, client, errors)
    if anchor_kind not in AnchorKind.values:
        errors["anchor_kind"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(AnchorKind.values)}]
    elif anchor_kind == AnchorKind.ANNIVERSARY and billing_day is not None:
        errors["billing_day"] = [_("A billing day applies to calendar billing only.")]
    elif anchor_kind == AnchorKind.CALENDAR and (isinstance(billing_day, bool) or not isinstance(billing_day, int)
                                                 or not 1 <= billing_day <= 31):
        errors["billing_day"] = [_("Give a billing day 1..31 (29–31 mean the last day of shorter months).")]
    if first_period_policy not in FirstPeriodPolicy.values:
        errors["first_period_policy"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(FirstPeriodPolicy.values)}]
    discount = _decimal(discount_percent, "discount_percent", errors)
    fixed = _decimal(fixed_price, "fixed_price", errors)
    if fixed is not None and fixed >= 0 and not Money(fixed, cur).is_rounded():
        places = Currency.of(cur).minor_units
        errors["fixed_price"] = [ngettext("%(currency)s allows %(places)d decimal place.",
                                          "%(currency)s allows %(places)d decimal places.", places)
                                 % {"currency": cur, "places": places}]
    if trial_end is not None and trial_end < start:
        errors["trial_end"] = [_("The trial cannot end before the start.")]
    if external_id is not None and Subscription.objects.filter(external_id=external_id).exists():
        errors["external_id"] = [_("A subscription with this external id exists.")]
    terms: Terms | None = None
    if spec is not None and not errors:
        anchor = Anchor(anchor_kind)
        trial = None if no_trial else (trial_end or trial_end_for(spec, start, anchor=anchor,
                                                                  billing_day=billing_day))
        try:
            terms = Terms(spec, cur, start, qty, anchor, billing_day, FirstPeriod(first_period_policy), trial,
                          end_date, discount, fixed)
        except (TermsError, PricingError) as exc:
            told = pricing_message(exc) if isinstance(exc, PricingError) else getattr(exc, "message", str(exc))
            errors[getattr(exc, "field", None) or "plan"] = [told]
    if errors or terms is None or plan_obj is None or version_obj is None:
        raise ValidationFailed(_("The subscription is invalid."), errors=errors or {"plan": ["Invalid plan."]})
    now = clock.now()
    try:
        return _insert_subscription(actor, client, plan_obj, version_obj, qty, cur, external_id, start, end_date,
                                    anchor_kind, billing_day, first_period_policy, terms.trial_end, discount, fixed,
                                    now, today)
    except IntegrityError as exc:  # a concurrent create took the external id first
        raise ValidationFailed(_("The subscription is invalid."),
                               errors={"external_id": [_("A subscription with this external id exists.")]}) from exc


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
        sub.status = status_on(sub, today)
        sub.save(force_insert=True)
        timeline_add(sub, "created", start, f"Подписка на тариф {plan_obj.code} (версия {version_obj.number}), "
                  f"с {start.isoformat()}, статус {sub.status}",
                  f"Subscribed to plan {plan_obj.code} (version {version_obj.number}) from {start.isoformat()}, "
                  f"status {sub.status}", {"status": sub.status})
        audit(actor, "create", sub, None, subscription_state(sub))
        record_subscription_events(actor, "create", sub, None, start)
    return sub

