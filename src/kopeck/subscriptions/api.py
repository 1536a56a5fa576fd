"""REST API of subscriptions (area ``subscriptions``): list, detail, timeline, billed periods,
scheduled changes; create; the actions (plan and quantity change, cancellation and its undoing,
billing-day change, suspension and resume, billing of due periods), each with a preview.

Serializers check the shape of a request; the services (:mod:`kopeck.subscriptions.services`) do
the rest and refuse with field-named errors. ``POST …/<action>/preview/`` needs read access only
(it changes nothing) and answers exactly the items that ``POST …/<action>/`` would post. The
request's ``Idempotency-Key`` (whole responses are replayed by :mod:`kopeck.common.http.idempotency`) is
passed to the services as ``idempotency_key`` too."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any, TypeVar

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kopeck.catalog.models import PlanVersion
from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.common.http.base import KopeckViewSet
from kopeck.common.http.fields import AmountField, DateField
from kopeck.common.http.idempotency import HEADER as IDEMPOTENCY_HEADER
from kopeck.common.http.params import choice_param, int_param
from kopeck.core.money import Money
from kopeck.core.subscriptions.terms import MAX_QUANTITY
from kopeck.ledger.amounts import from_minor
from kopeck.operators.roles import Access, Area
from kopeck.subscriptions import services
from kopeck.subscriptions.models import (
    AnchorKind,
    BilledPeriod,
    FirstPeriodPolicy,
    ScheduledChange,
    Subscription,
    SubscriptionStatus,
    TimelineEntry,
)


class SubscriptionSerializer(serializers.ModelSerializer[Subscription]):
    status = serializers.ChoiceField(choices=SubscriptionStatus.choices, read_only=True)
    anchor_kind = serializers.ChoiceField(choices=AnchorKind.choices, read_only=True)
    first_period_policy = serializers.ChoiceField(choices=FirstPeriodPolicy.choices, read_only=True)
    plan_code = serializers.CharField(source="plan.code", read_only=True)
    plan_version_number = serializers.IntegerField(source="plan_version.number", read_only=True)

    class Meta:
        model = Subscription
        fields = ["id", "client", "plan", "plan_code", "plan_version", "plan_version_number", "quantity", "currency",
                  "external_id", "start_date", "end_date", "anchor_kind", "billing_day", "first_period_policy",
                  "status", "billing_paused", "trial_end", "discount_percent", "fixed_price", "created_at",
                  "updated_at"]


class TimelineEntrySerializer(serializers.ModelSerializer[TimelineEntry]):
    class Meta:
        model = TimelineEntry
        fields = ["id", "at", "effective_date", "kind", "text_ru", "text_en", "data", "transaction"]


class BilledPeriodSerializer(serializers.ModelSerializer[BilledPeriod]):
    amount = serializers.SerializerMethodField()

    class Meta:
        model = BilledPeriod
        fields = ["id", "component", "period_start", "period_end", "amount", "currency", "transaction",
                  "explanation"]

    def get_amount(self, obj: BilledPeriod) -> str:
        return from_minor(obj.amount_minor, obj.currency).to_str()


class ScheduledChangeSerializer(serializers.ModelSerializer[ScheduledChange]):
    class Meta:
        model = ScheduledChange
        fields = ["id", "kind", "effective_date", "payload", "status", "created_at", "decided_at"]



# -- writes: requests ---------------------------------------------------------------------------


class SubscriptionCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    client = serializers.PrimaryKeyRelatedField(queryset=Client.objects.all())
    plan = serializers.CharField(max_length=100, required=False, help_text=(
        "Plan code: the version in force on the start date. Required unless plan_version is given."))
    plan_version = serializers.PrimaryKeyRelatedField(
        queryset=PlanVersion.objects.select_related("plan"), required=False, allow_null=True,
        help_text="A published plan version id (instead of, or with, the plan code).")
    quantity = serializers.IntegerField(required=False, min_value=1, max_value=MAX_QUANTITY, help_text="Default 1.")
    currency = serializers.CharField(max_length=3, required=False, help_text=(
        "One of the plan's currencies; default and only allowed value: the client's account currency."))
    start_date = DateField(required=False, help_text=(
        "Default today (provider-local). A past date is a backdated migration; a future one makes the "
        "subscription pending."))
    anchor_kind = serializers.ChoiceField(choices=AnchorKind.choices, required=False)
    billing_day = serializers.IntegerField(required=False, allow_null=True, help_text=(
        "Calendar billing only: 1–31 (29–31 mean the last day of shorter months)."))
    first_period_policy = serializers.ChoiceField(choices=FirstPeriodPolicy.choices, required=False)
    trial_end = DateField(required=False, allow_null=True, help_text=(
        "The first paid day; default: the plan's trial."))
    no_trial = serializers.BooleanField(required=False, help_text="Start paid, ignoring the plan's trial.")
    end_date = DateField(required=False, allow_null=True)
    discount_percent = AmountField(required=False, allow_null=True, min_value=Decimal(0), max_places=2,
                                   help_text="A decimal string, 0 to 100, e.g. \"12.5\".")
    fixed_price = AmountField(required=False, allow_null=True, min_value=Decimal(0), max_places=4,
                              help_text="A decimal string; replaces the recurring fixed and per-unit fees.")
    external_id = serializers.CharField(max_length=100, required=False, allow_null=True)


TIMINGS = [("default", "Upgrade and crossgrade now, downgrade at period end"), ("immediate", "Now"),
           ("period_end", "At the end of the current period")]


class ChangePlanSerializer(serializers.Serializer):  # type: ignore[type-arg]
    plan = serializers.CharField(max_length=100, required=False, help_text=(
        "Plan code: the version in force today. Required unless plan_version is given."))
    plan_version = serializers.PrimaryKeyRelatedField(
        queryset=PlanVersion.objects.select_related("plan"), required=False, allow_null=True)
    quantity = serializers.IntegerField(required=False, allow_null=True, min_value=1, max_value=MAX_QUANTITY,
                                        help_text="Default: unchanged.")
    timing = serializers.ChoiceField(choices=TIMINGS, required=False, default="default")


class ChangeQuantitySerializer(serializers.Serializer):  # type: ignore[type-arg]
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)


class SubscriptionCancelSerializer(serializers.Serializer):  # type: ignore[type-arg]
    at_period_end = serializers.BooleanField(required=False, default=True, help_text=(
        "true (default): at the end of the current period, nothing posted now, can be undone; "
        "false: now — settle and credit the unused prepaid days."))


class ChangeBillingDaySerializer(serializers.Serializer):  # type: ignore[type-arg]
    billing_day = serializers.IntegerField(min_value=1, max_value=31)
    at_period_end = serializers.BooleanField(required=False, default=True)


class SuspendSerializer(serializers.Serializer):  # type: ignore[type-arg]
    billing_continues = serializers.BooleanField(required=False, default=False, help_text=(
        "false (default): billing stops today (settle and credit, as a cancellation now) until resumed."))


class BillSerializer(serializers.Serializer):  # type: ignore[type-arg]
    on = DateField(required=False, help_text="Bill what is due up to this day; default today, "
                                                         "never after today (provider-local).")


# -- writes: answers ----------------------------------------------------------------------------


class PeriodSerializer(serializers.Serializer):  # type: ignore[type-arg]
    start = serializers.DateField()
    end = serializers.DateField(help_text="Exclusive.")


class ExplanationSerializer(serializers.Serializer):  # type: ignore[type-arg]
    ru = serializers.CharField()
    en = serializers.CharField()
    formula = serializers.CharField()


class PriceLineSerializer(serializers.Serializer):  # type: ignore[type-arg]
    code = serializers.CharField()
    amount = serializers.CharField()
    explanation = ExplanationSerializer()


class NameSerializer(serializers.Serializer):  # type: ignore[type-arg]
    ru = serializers.CharField()
    en = serializers.CharField()


class ActionItemSerializer(serializers.Serializer):  # type: ignore[type-arg]
    kind = serializers.ChoiceField(choices=[("charge", "Charge"), ("credit", "Credit")])
    plan = serializers.CharField(required=False, help_text="Charges: the plan code priced.")
    component = serializers.CharField()
    name = NameSerializer(help_text="The component's name, Russian and English (a credit: its code).")
    period = PeriodSerializer(help_text="Charge: the service period charged; credit: the unused days.")
    billing_period = PeriodSerializer()
    due = serializers.DateField()
    amount = serializers.CharField(help_text="Positive decimal string: what is posted (with VAT on top, the gross).")
    currency = serializers.CharField()
    vat_rate = serializers.CharField(allow_null=True, help_text=(
        "Charges: the VAT rate they carry (the product's, else the VAT regime's default): 22, 10, 0, 5, 7, exempt."))
    prices_include_vat = serializers.BooleanField(help_text=(
        "false: the price excludes VAT and the VAT is the last line (code vat), added on top."))
    explanation = ExplanationSerializer()
    lines = PriceLineSerializer(many=True)


class ActionResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    action = serializers.CharField(help_text=(
        "upgrade, downgrade or crossgrade (plan change), change_quantity, cancel, uncancel, change_billing_day, "
        "suspend, resume, bill."))
    preview = serializers.BooleanField()
    effective_date = serializers.DateField()
    status = serializers.ChoiceField(choices=SubscriptionStatus.choices, help_text="The status after the action.")
    items = ActionItemSerializer(many=True, help_text="Charges and credits, in posting order.")
    total = serializers.CharField(help_text="Charges minus credits.")
    scheduled_change_id = serializers.IntegerField(allow_null=True, help_text="Set when the change is scheduled.")
    transaction_ids = serializers.ListField(child=serializers.IntegerField(), help_text=(
        "The ledger transactions posted, in order (empty for a preview)."))


# -- examples -----------------------------------------------------------------------------------


def _example(name: str, value: dict[str, Any], description: str = "") -> OpenApiExample:
    return OpenApiExample(name, value=value, request_only=True, description=description)


def _credit(component: str, start: str, end: str, paid: str, kept: str, amount: str) -> dict[str, Any]:
    """A credit as the core explains it: what was paid for the piece minus what the days kept cost
    priced alone (the examples' pieces start on 2027-01-01)."""
    last = (dt.date.fromisoformat(end) - dt.timedelta(days=1)).isoformat()
    used = f"2027-01-01 – {(dt.date.fromisoformat(start) - dt.timedelta(days=1)).isoformat()}"
    return {
        "kind": "credit", "plan": "", "component": component, "name": {"ru": component, "en": component},
        "period": {"start": start, "end": end}, "billing_period": {"start": "2027-01-01", "end": "2027-02-01"},
        "due": start, "amount": amount, "currency": "RUB", "vat_rate": None, "prices_include_vat": True,
        "lines": [], "explanation": {
            "ru": f"{component}: возврат за неиспользованные дни {start} – {last}: оплачено {paid} RUB, дни {used} "
                  f"по отдельности стоят {kept} RUB: {paid} RUB − {kept} RUB = {amount} RUB",
            "en": f"{component}: credit for the unused days {start} – {last}: paid {paid} RUB, the days {used} "
                  f"priced alone cost {kept} RUB: {paid} RUB − {kept} RUB = {amount} RUB",
            "formula": f"credit = paid {paid} − kept days priced alone {kept} = {amount}"}}


def _charge(plan: str, component: str, name: str, start: str, end: str, slot: tuple[str, str], price: str,
            amount: str, *, days: str | None = None, quantity: int = 1) -> dict[str, Any]:
    last = (dt.date.fromisoformat(end) - dt.timedelta(days=1)).isoformat()
    slot_last = (dt.date.fromisoformat(slot[1]) - dt.timedelta(days=1)).isoformat()
    full = f"{Decimal(price) * quantity:.2f}"
    line_ru = f"{name}: модель standard, количество {quantity}, итого {full} RUB"
    line_en = f"{name}: standard model, quantity {quantity}, total {full} RUB"
    formula = f"{full} = {amount}"
    if days is not None:
        line_ru += (f"; Пропорционально дням: {full} RUB × {days} дн. = {amount} RUB (использовано {start}–{last} "
                    f"из периода {slot[0]}–{slot_last})")
        line_en += (f"; Prorated by days: {full} RUB × {days} days = {amount} RUB (used {start}–{last} of the "
                    f"period {slot[0]}–{slot_last})")
        formula = (f"amount = round(full price × days used / days in period) = round({full} × "
                   f"{days.replace('/', ' / ')}) = {amount}")
    return {
        "kind": "charge", "plan": plan, "component": component, "name": {"ru": name, "en": name},
        "period": {"start": start, "end": end}, "billing_period": {"start": slot[0], "end": slot[1]}, "due": start,
        "amount": amount, "currency": "RUB", "vat_rate": "22", "prices_include_vat": True,
        "explanation": {"ru": f"{plan.upper()}, {name}, {start} – {last}: {line_ru}",
                        "en": f"{plan.upper()}, {name}, {start} – {last}: {line_en}", "formula": formula},
        "lines": [{"code": component, "amount": amount,
                   "explanation": {"ru": line_ru, "en": line_en, "formula": formula}}]}


def _answer(name: str, description: str, action: str, effective: str, status: str, items: list[dict[str, Any]],
            total: str, *, preview: bool = False, scheduled: int | None = None) -> OpenApiExample:
    ids = [] if preview else list(range(812, 812 + len(items)))
    return OpenApiExample(name, response_only=True, status_codes=["200"], description=description, value={
        "action": action, "preview": preview, "effective_date": effective, "status": status, "items": items,
        "transaction_ids": ids, "scheduled_change_id": scheduled, "total": total})


JAN = ("2027-01-01", "2027-02-01")
FEB = ("2027-02-01", "2027-03-01")
BASE, SEATS = "Абонентская плата", "Места"

EXAMPLES: dict[str, list[OpenApiExample]] = {
    "change_plan": [
        _example("Upgrade now", {"plan": "pro"}, "Upgrades and crossgrades apply now; downgrades at period end."),
        _example("Immediate downgrade with more seats", {"plan": "basic", "quantity": 3, "timing": "immediate"}),
        _answer("Upgrade on the last day of the period",
                "basic (base 1000.00) → pro (base 3100.00) on Jan 31; the seats keep their price and quantity, so "
                "they are carried over (neither credited nor charged).",
                "upgrade", "2027-01-31", "active",
                [_credit("base", "2027-01-31", "2027-02-01", "1000.00", "967.74", "32.26"),
                 _charge("pro", "base", BASE, "2027-01-31", "2027-02-01", JAN, "3100.00", "100.00", days="1/31")],
                "67.74")],
    "change_quantity": [
        _example("Three seats", {"quantity": 3}),
        _answer("1 → 3 seats on Jan 11", "21 of January's 31 days left.", "change_quantity", "2027-01-11", "active",
                [_credit("seats", "2027-01-11", "2027-02-01", "300.00", "96.77", "203.23"),
                 _charge("basic", "seats", SEATS, "2027-01-11", "2027-02-01", JAN, "300.00", "609.68", days="21/31",
                         quantity=3)],
                "406.45")],
    "cancel": [
        _example("At period end", {"at_period_end": True}), _example("Now", {"at_period_end": False}),
        _answer("At period end (nothing posted now)", "A scheduled change; undo with uncancel before Feb 1.",
                "cancel", "2027-02-01", "cancelling", [], "0", scheduled=57)],
    "uncancel": [
        _answer("Cancellation undone", "Only the status changes.", "uncancel", "2027-01-20", "active", [], "0.00")],
    "change_billing_day": [
        _example("The 1st, from the next period", {"billing_day": 1, "at_period_end": True}),
        _answer("Scheduled at period end", "The bridge to the first new billing day is charged when it applies.",
                "change_billing_day", "2027-02-10", "active", [], "0", scheduled=58)],
    "suspend": [
        _example("Pause billing", {"billing_continues": False}),
        _answer("Suspended on Jan 22 with billing paused", "10 of January's 31 prepaid days are credited back.",
                "suspend", "2027-01-22", "suspended",
                [_credit("base", "2027-01-22", "2027-02-01", "1000.00", "677.42", "322.58"),
                 _credit("seats", "2027-01-22", "2027-02-01", "300.00", "203.23", "96.77")],
                "-419.35")],
    "resume": [
        _answer("Resume after billing was paused (preview)", "Resumed on Feb 15: [Feb 15, Mar 1) is 14 of 28 days.",
                "resume", "2027-02-15", "active",
                [_charge("basic", "base", BASE, "2027-02-15", "2027-03-01", FEB, "1000.00", "500.00", days="14/28"),
                 _charge("basic", "seats", SEATS, "2027-02-15", "2027-03-01", FEB, "300.00", "150.00",
                         days="14/28")],
                "650.00", preview=True)],
    "bill": [
        _example("Up to the 1st of February", {"on": "2027-02-01"}),
        _answer("February billed in advance", "", "bill", "2027-02-01", "active",
                [_charge("basic", "base", BASE, "2027-02-01", "2027-03-01", FEB, "1000.00", "1000.00"),
                 _charge("basic", "seats", SEATS, "2027-02-01", "2027-03-01", FEB, "300.00", "300.00")],
                "1300.00")],
}

CREATE_EXAMPLE = _example("Calendar billing on the 1st, two seats", {
    "client": 1, "plan": "vps-pro", "quantity": 2, "start_date": "2027-01-10", "anchor_kind": "calendar",
    "billing_day": 1, "first_period_policy": "prorate", "external_id": "crm-1042"})


def _idempotency_key(request: Request, actor: Actor) -> str | None:
    """The request's Idempotency-Key, scoped to the caller (as the HTTP layer scopes it), for the
    service's own replay of an applied action."""
    raw = request.META.get(IDEMPOTENCY_HEADER)
    key = (raw.strip() or None) if isinstance(raw, str) else None
    return None if key is None else f"{actor.kind}:{actor.id}:{key}"


def _total(items: list[dict[str, Any]], currency: str) -> str:
    total = Money.zero(currency)
    for item in items:
        amount = Money(Decimal(item["amount"]), currency)
        total = total + amount if item["kind"] == "charge" else total - amount
    return total.to_str()


def _bill_preview(sub: Subscription, on: dt.date | None) -> dict[str, Any]:
    """What :func:`services.subscription_bill_due` would post up to ``on``; nothing written."""
    result = services.subscription_bill_due(actor=Actor.system("preview"), subscription=sub, on=on, preview=True)
    return {"action": "bill", "preview": True, "effective_date": result.on.isoformat(), "status": result.status,
            "items": result.items, "total": _total(result.items, sub.currency), "scheduled_change_id": None,
            "transaction_ids": []}


Act = Callable[..., services.ActionResult]


F = TypeVar("F", bound=Callable[..., Any])


ACTION_SUMMARIES = {
    "change_plan": "Change the plan", "change_quantity": "Change the quantity", "cancel": "Cancel the subscription",
    "uncancel": "Undo a cancellation at period end", "change_billing_day": "Change the billing day",
    "suspend": "Suspend the subscription", "resume": "Resume the subscription", "bill": "Bill the due periods",
}


def _action_schema(name: str, request: type[serializers.Serializer] | None, preview: bool,  # type: ignore[type-arg]
                   description: str) -> Callable[[F], F]:
    what = ("Preview: the items the action would post, nothing written (read access is enough). "
            if preview else "")
    summary = ACTION_SUMMARIES[name]
    if preview:
        summary = f"Preview: {summary[0].lower()}{summary[1:]} (nothing is written)"
    decorate: Callable[[F], F] = extend_schema(request=request, responses={200: ActionResultSerializer},
                                               examples=EXAMPLES[name], description=what + description,
                                               summary=summary)
    return decorate


def _action_pair(name: str, url: str, call: Act, shape: type[serializers.Serializer] | None,  # type: ignore[type-arg]
                 description: str) -> tuple[Callable[..., Response], Callable[..., Response]]:
    """The two endpoints of an action: ``<url>/`` applies it (write access), ``<url>/preview/`` returns
    exactly what applying would post (read access, nothing written)."""

    def apply(self: SubscriptionViewSet, request: Request, pk: str) -> Response:
        return self._act(request, call, shape, preview=False)

    def preview(self: SubscriptionViewSet, request: Request, pk: str) -> Response:
        return self._act(request, call, shape, preview=True)

    apply.__name__, preview.__name__ = name, f"{name}_preview"
    apply.__doc__ = preview.__doc__ = description
    applied = _action_schema(name, shape, False, description)(
        action(detail=True, methods=["post"], url_path=url, url_name=url)(apply))
    previewed = _action_schema(name, shape, True, description)(
        action(detail=True, methods=["post"], url_path=f"{url}/preview", url_name=f"{url}-preview",
               required_access=Access.READ)(preview))
    return applied, previewed


@extend_schema_view(
    list=extend_schema(parameters=[
        OpenApiParameter("client", int), OpenApiParameter("status", enum=SubscriptionStatus.values),
        OpenApiParameter("plan", str, description="Plan code."), OpenApiParameter("external_id", str)]),
    create=extend_schema(request=SubscriptionCreateSerializer, responses={201: SubscriptionSerializer},
                         examples=[CREATE_EXAMPLE]),
)
class SubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    area = Area.SUBSCRIPTIONS
    serializer_class = SubscriptionSerializer
    http_method_names = ["get", "post", "head", "options"]
    required_access: Access | None = None  # the preview actions set READ: they change nothing

    def get_queryset(self) -> Any:
        qs = Subscription.objects.select_related("plan", "plan_version").order_by("id")
        p = self.request.query_params
        client = int_param(p, "client")
        if client is not None:
            qs = qs.filter(client_id=client)
        status_ = choice_param(p, "status", SubscriptionStatus.values)
        if status_:
            qs = qs.filter(status=status_)
        if p.get("plan"):
            qs = qs.filter(plan__code=p["plan"])
        if p.get("external_id"):
            qs = qs.filter(external_id=p["external_id"])
        return qs

    @extend_schema(responses={200: TimelineEntrySerializer(many=True)})
    @action(detail=True, methods=["get"])
    def timeline(self, request: Request, pk: str) -> Response:
        """What happened to the subscription, in order: status changes, actions, charges, credits."""
        sub = self.get_object()
        page = self.paginate_queryset(sub.timeline.order_by("at", "id"))
        return self.get_paginated_response(TimelineEntrySerializer(page, many=True).data)

    @extend_schema(responses={200: BilledPeriodSerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="billed-periods")
    def billed_periods(self, request: Request, pk: str) -> Response:
        """The service periods already charged, per component."""
        sub = self.get_object()
        page = self.paginate_queryset(sub.billed_periods.order_by("period_start", "component"))
        return self.get_paginated_response(BilledPeriodSerializer(page, many=True).data)

    @extend_schema(responses={200: ScheduledChangeSerializer(many=True)})
    @action(detail=True, methods=["get"], url_path="scheduled-changes", pagination_class=None)
    def scheduled_changes(self, request: Request, pk: str) -> Response:
        """The subscription's scheduled changes, newest first (a list, not paginated)."""
        sub = self.get_object()
        return Response(ScheduledChangeSerializer(sub.scheduled_changes.order_by("-id"), many=True).data)

    # -- writes ----------------------------------------------------------------------------------

    def create(self, request: Request) -> Response:
        """Subscribe a client to a plan (the version in force on the start date) or a published version."""
        data = SubscriptionCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        kwargs = dict(data.validated_data)
        kwargs["version"] = kwargs.pop("plan_version", None)
        sub = services.subscription_create(actor=self.actor, **kwargs)
        fresh = Subscription.objects.select_related("plan", "plan_version").get(pk=sub.pk)
        return Response(SubscriptionSerializer(fresh).data, status=status.HTTP_201_CREATED)

    def _act(self, request: Request, call: Act, shape: type[serializers.Serializer] | None,  # type: ignore[type-arg]
             *, preview: bool) -> Response:
        sub = self.get_object()
        kwargs: dict[str, Any] = {}
        if shape is not None:
            data = shape(data=request.data)
            data.is_valid(raise_exception=True)
            kwargs = dict(data.validated_data)
        if "plan_version" in kwargs:
            kwargs["version"] = kwargs.pop("plan_version")
        key = None if preview else _idempotency_key(request, self.actor)
        result = call(actor=self.actor, subscription=sub, preview=preview, idempotency_key=key, **kwargs)
        return Response(result.as_dict())

    change_plan, change_plan_preview = _action_pair(
        "change_plan", "change-plan", services.subscription_change_plan, ChangePlanSerializer,
        "Move to another plan (the version in force today) or version, optionally with a new quantity. Upgrade "
        "and crossgrade apply now (credit the unused prepaid days, charge the new plan's remaining days); a "
        "downgrade is scheduled at period end unless timing is immediate.")
    change_quantity, change_quantity_preview = _action_pair(
        "change_quantity", "change-quantity", services.subscription_change_quantity, ChangeQuantitySerializer,
        "Change the quantity now: per-unit components are credited for the unused days at the old quantity and "
        "charged for the remaining days at the new one.")
    cancel, cancel_preview = _action_pair(
        "cancel", "cancel", services.subscription_cancel, SubscriptionCancelSerializer,
        "Cancel at the end of the current period (nothing posted now; undo with uncancel) or now (settle what is "
        "due, credit the unused prepaid days, end the subscription).")
    uncancel, uncancel_preview = _action_pair(
        "uncancel", "uncancel", services.subscription_uncancel, None,
        "Undo a cancellation at period end before it takes effect (status cancelling only). Posts nothing.")
    change_billing_day, change_billing_day_preview = _action_pair(
        "change_billing_day", "change-billing-day", services.subscription_change_billing_day,
        ChangeBillingDaySerializer,
        "Move to calendar billing on billing_day (month-based plans) from the end of the current period "
        "(scheduled) or now; the bridge to the first new billing day is prorated.")
    suspend, suspend_preview = _action_pair(
        "suspend", "suspend", services.subscription_suspend, SuspendSerializer,
        "Suspend (trial or active): with billing_continues only the status changes; otherwise billing stops "
        "today (settle and credit the unused prepaid days) until resumed.")
    resume, resume_preview = _action_pair(
        "resume", "resume", services.subscription_resume, None,
        "Resume a suspended subscription; if billing was paused, the rest of the current period is charged "
        "from today, prorated.")

    BILL = ("Post everything due up to `on` (default today, never after today) that was not billed yet; "
            "running it again posts nothing. Pending, ended and paused subscriptions post nothing.")

    @_action_schema("bill", BillSerializer, False, BILL)
    @action(detail=True, methods=["post"])
    def bill(self, request: Request, pk: str) -> Response:
        sub = self.get_object()
        data = BillSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.subscription_bill_due(actor=self.actor, subscription=sub, on=data.validated_data.get("on"))
        return Response({"action": "bill", "preview": False, "effective_date": result.on.isoformat(),
                         "status": result.status, "items": result.items, "total": _total(result.items, sub.currency),
                         "scheduled_change_id": None, "transaction_ids": result.transaction_ids})

    @_action_schema("bill", BillSerializer, True, BILL)
    @action(detail=True, methods=["post"], url_path="bill/preview", required_access=Access.READ)
    def bill_preview(self, request: Request, pk: str) -> Response:
        sub = self.get_object()
        data = BillSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(_bill_preview(sub, data.validated_data.get("on")))
