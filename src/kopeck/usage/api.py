"""REST API of usage: batches of usage events and meter readings, and a subscription's current usage.

The batch endpoints are the hot path: the body is decoded with ``json.loads`` and validated by the
services in plain Python (no DRF serializers, which cost ~50 µs per item); authentication, the area
permission, Idempotency-Key and problem+json errors are the usual ones. The serializers below only
document the formats in the OpenAPI schema. Formats: docs/usage.md.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from kopeck.common.errors import ValidationFailed
from kopeck.common.http import parsers
from kopeck.common.http.base import KopeckAPIView, KopeckViewSet
from kopeck.common.http.params import date_param, int_param
from kopeck.core.periods import Period
from kopeck.operators.roles import Area
from kopeck.subscriptions.models import Subscription
from kopeck.usage import selectors, services
from kopeck.usage.models import ReadingKind, UsageThreshold

# --- schema only ------------------------------------------------------------------------------------


class _ItemBase(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.CharField(max_length=200, help_text="Chosen by the sender; a repeated id (per subscription) "
                                                         "is a duplicate and is never counted twice.")
    subscription = serializers.IntegerField(required=False, help_text="The subscription's id …")
    external_id = serializers.CharField(required=False, help_text="… or its external id (give one of them).")
    timestamp = serializers.DateTimeField(help_text="ISO 8601 with a UTC offset, e.g. 2026-03-01T12:00:00+03:00.")


class UsageEventInSerializer(_ItemBase):
    metric = serializers.CharField(max_length=100, help_text="The code of a metered component of the plan.")
    properties = serializers.DictField(required=False, help_text="Values the component's aggregation reads; "
                                                                 "numbers as decimal strings or integers.")


class MeterReadingInSerializer(_ItemBase):
    meter = serializers.CharField(max_length=100, help_text="The code of a metered component whose aggregation "
                                                            "is meter_reading.")
    value = serializers.CharField(help_text='The counter value, a decimal string such as "12345.6".')
    kind = serializers.ChoiceField(choices=ReadingKind.choices, required=False, default=ReadingKind.NORMAL)
    old_final = serializers.CharField(required=False, help_text="Replacement only: the old meter's final reading.")


class _ItemErrorSerializer(serializers.Serializer):  # type: ignore[type-arg]
    field = serializers.CharField()
    detail = serializers.CharField()


class ItemResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=[services.ACCEPTED, services.DUPLICATE, services.REFUSED])
    reason = serializers.CharField(required=False, help_text="Refused items only.")
    errors = _ItemErrorSerializer(many=True, required=False,  # type: ignore[assignment]
                                  help_text="Refused items only.")


class BatchResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = ItemResultSerializer(many=True, help_text="One per item, in the order sent.")


class _UsageExplanationSerializer(serializers.Serializer):  # type: ignore[type-arg]
    ru = serializers.CharField()
    en = serializers.CharField()
    formula = serializers.CharField()


class _PeriodOutSerializer(serializers.Serializer):  # type: ignore[type-arg]
    start = serializers.DateField()
    end = serializers.DateField(help_text="Exclusive: the first day of the next period.")


class ComponentUsageSerializer(serializers.Serializer):  # type: ignore[type-arg]
    component = serializers.CharField()
    name = serializers.CharField()
    aggregation = serializers.CharField(allow_null=True)
    quantity = serializers.CharField()
    events = serializers.IntegerField()
    readings = serializers.IntegerField()
    amount = serializers.CharField(help_text="Projected cost of the usage so far.")
    currency = serializers.CharField()
    explanation = _UsageExplanationSerializer()
    charge = serializers.DictField(help_text="The full charge: lines, explanations, usage explanation.")


class SubscriptionUsageSerializer(serializers.Serializer):  # type: ignore[type-arg]
    subscription = serializers.IntegerField()
    external_id = serializers.CharField(allow_null=True)
    period = _PeriodOutSerializer()
    currency = serializers.CharField()
    amount = serializers.CharField(help_text="Sum of the metered components' projected costs.")
    components = ComponentUsageSerializer(many=True)


EVENTS_EXAMPLE = OpenApiExample("Two events", request_only=True, value=[
    {"id": "evt-1", "external_id": "sub-42", "metric": "traffic", "timestamp": "2026-11-20T12:00:00+03:00",
     "properties": {"gb": "12.5"}},
    {"id": "evt-2", "subscription": 7, "metric": "api_calls", "timestamp": "2026-11-20T12:00:01Z"},
])
READINGS_EXAMPLE = OpenApiExample("A replacement", request_only=True, value=[
    {"id": "h3", "external_id": "sub-42", "meter": "heat", "value": "12", "kind": "replacement",
     "old_final": "4815", "timestamp": "2026-11-15T12:00:00+03:00"},
])

def batch_schema(noun: str, item: str) -> dict[str, Any]:
    """A batch is a JSON list; its items are checked one by one and answered in ``results`` (a bad
    item is refused with its reason, the others are stored), so the item format is documentation
    (the serializers above, docs/usage.md), not a constraint on the request."""
    return {"type": "array", "maxItems": int(settings.KOPECK_USAGE_BATCH_MAX), "items": {},
            "description": f"At most {settings.KOPECK_USAGE_BATCH_MAX} {noun}, each an object as "
                           f"{item} (docs/usage.md); each item is answered in results, in order."}


# --- views --------------------------------------------------------------------------------------------


def batch_of(request: Request, noun: str) -> list[Any]:
    """The body as a JSON list of at most MAX_BATCH items, or a 4xx problem (nothing is written)."""
    if not request.body:
        raise ValidationFailed.field("body", _("required: a JSON list of events") if noun == "events"
                                     else _("required: a JSON list of readings"))
    content_type = (request.META.get("CONTENT_TYPE") or "").split(";", 1)[0].strip().lower()
    if content_type != "application/json":
        raise exceptions.UnsupportedMediaType(content_type or "(none)")
    data = parsers.loads(request.body, nul_allowed=True)  # a NUL refuses its item only
    if not isinstance(data, list):
        raise ValidationFailed.field("body", _("must be a JSON list of events") if noun == "events"
                                     else _("must be a JSON list of readings"))
    limit = int(settings.KOPECK_USAGE_BATCH_MAX)
    if len(data) > limit:
        counts = {"limit": limit, "count": len(data)}
        raise ValidationFailed.field("body", ngettext("at most %(limit)d event per request, got %(count)d",
                                                      "at most %(limit)d events per request, got %(count)d", limit)
                                     % counts if noun == "events" else
                                     ngettext("at most %(limit)d reading per request, got %(count)d",
                                              "at most %(limit)d readings per request, got %(count)d", limit) % counts)
    return data


def batch_response(results: list[dict[str, Any]]) -> HttpResponse:
    counts = {services.ACCEPTED: 0, services.DUPLICATE: 0, services.REFUSED: 0}
    for r in results:
        counts[r["status"]] += 1
    body = {"accepted": counts[services.ACCEPTED], "duplicates": counts[services.DUPLICATE],
            "refused": counts[services.REFUSED], "results": results}
    return HttpResponse(json.dumps(body, ensure_ascii=False, separators=(",", ":")), content_type="application/json")


class UsageEventsView(KopeckAPIView):
    area = Area.USAGE

    @extend_schema(request={"application/json": batch_schema("events", "UsageEventIn")}, responses={200: BatchResultSerializer},
                   examples=[EVENTS_EXAMPLE], summary="Send a batch of usage events (at most 1000)")
    def post(self, request: Request) -> HttpResponse:
        items = batch_of(request, "events")
        return batch_response(services.usage_events_ingest(actor=self.actor, items=items))


class MeterReadingsView(KopeckAPIView):
    area = Area.USAGE

    @extend_schema(request={"application/json": batch_schema("readings", "MeterReadingIn")}, responses={200: BatchResultSerializer},
                   examples=[READINGS_EXAMPLE], summary="Send a batch of meter readings (at most 1000)")
    def post(self, request: Request) -> HttpResponse:
        items = batch_of(request, "readings")
        return batch_response(services.meter_readings_ingest(actor=self.actor, items=items))


def _date_param(request: Request, name: str) -> dt.date | None:
    return date_param(request.query_params, name)


class SubscriptionUsageView(KopeckAPIView):
    area = Area.USAGE

    @extend_schema(
        parameters=[
            OpenApiParameter("period_start", dt.date, description="First day (provider-local); with period_end."),
            OpenApiParameter("period_end", dt.date, description="The day after the last one (exclusive). "
                                                                "Without both: the current billing period."),
        ],
        responses={200: SubscriptionUsageSerializer},
        summary="Usage of the metered components in a period, with the projected cost",
    )
    def get(self, request: Request, subscription_id: int) -> Response:
        sub = get_object_or_404(Subscription.objects.select_related("plan_version"), pk=subscription_id)
        start, end = _date_param(request, "period_start"), _date_param(request, "period_end")
        period: Period | None = None
        if (start is None) != (end is None):
            missing = "period_end" if end is None else "period_start"
            raise ValidationFailed.field(missing, _("give both period_start and period_end, or neither"))
        if start is not None and end is not None:
            if end <= start:
                raise ValidationFailed.field("period_end", _("must be after period_start"))
            period = Period(start, end)
        return Response(selectors.subscription_usage(sub, period).as_dict())


# --- usage thresholds ----------------------------------------------------------------------------


class UsageThresholdSerializer(serializers.ModelSerializer[UsageThreshold]):
    amount = serializers.SerializerMethodField(help_text="The quantity the period's usage must go above.")

    class Meta:
        model = UsageThreshold
        fields = ["id", "subscription", "metric", "amount", "created_at"]

    def get_amount(self, obj: UsageThreshold) -> str:
        return f"{obj.amount.normalize():f}"


class UsageThresholdWriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    subscription = serializers.IntegerField(min_value=1)
    metric = serializers.CharField(max_length=100, help_text="The code of a metered component of the plan.")
    amount = serializers.CharField(max_length=40, help_text='A decimal string, e.g. "1000".')


@extend_schema_view(
    list=extend_schema(summary="List usage thresholds", parameters=[OpenApiParameter("subscription", int)]),
    retrieve=extend_schema(summary="Get a usage threshold"),
    create=extend_schema(summary="Add a usage threshold (usage.threshold_exceeded when usage goes above it)",
                         request=UsageThresholdWriteSerializer, responses={201: UsageThresholdSerializer}),
    destroy=extend_schema(summary="Delete a usage threshold"),
)
class UsageThresholdViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    """Alert levels of a subscription's usage of a metered component in a billing period
    (docs/usage.md)."""

    area = Area.USAGE
    serializer_class = UsageThresholdSerializer
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self) -> Any:
        qs = UsageThreshold.objects.all().order_by("id")
        if self.action == "list":
            subscription = int_param(self.request.query_params, "subscription")
            if subscription is not None:
                qs = qs.filter(subscription_id=subscription)
        return qs

    def create(self, request: Request) -> Response:
        data = UsageThresholdWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        sub = Subscription.objects.select_related("plan_version").filter(pk=values["subscription"]).first()
        if sub is None:
            raise ValidationFailed.field("subscription", _("Subscription %(id)s does not exist.") % {"id": values["subscription"]})
        threshold = services.usage_threshold_create(actor=self.actor, subscription=sub, metric=values["metric"],
                                                    amount=values["amount"])
        return Response(UsageThresholdSerializer(threshold).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: str) -> Response:
        services.usage_threshold_delete(actor=self.actor, threshold=get_object_or_404(UsageThreshold, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)
