"""REST API of subscriptions (area ``subscriptions``): read side — list, detail, timeline, billed
periods, scheduled changes. Writes (create, actions with preview) call the services."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kopeck.api.base import KopeckViewSet
from kopeck.ledger.amounts import from_minor
from kopeck.operators.roles import Area
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


@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("client", int), OpenApiParameter("status", enum=SubscriptionStatus.values),
    OpenApiParameter("plan", str, description="Plan code."), OpenApiParameter("external_id", str)]))
class SubscriptionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    area = Area.SUBSCRIPTIONS
    serializer_class = SubscriptionSerializer

    def get_queryset(self) -> Any:
        qs = Subscription.objects.select_related("plan", "plan_version").order_by("id")
        p = self.request.query_params
        if p.get("client", "").isdigit():
            qs = qs.filter(client_id=int(p["client"]))
        if p.get("status"):
            qs = qs.filter(status=p["status"])
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
    @action(detail=True, methods=["get"], url_path="scheduled-changes")
    def scheduled_changes(self, request: Request, pk: str) -> Response:
        sub = self.get_object()
        return Response(ScheduledChangeSerializer(sub.scheduled_changes.order_by("-id"), many=True).data)
