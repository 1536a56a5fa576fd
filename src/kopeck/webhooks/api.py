"""REST API of webhooks: endpoints (with their secret and its rotation), deliveries with their attempts,
redelivery of one or many."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kopeck.common.access import Area
from kopeck.common.errors import ValidationFailed
from kopeck.common.http.base import KopeckViewSet
from kopeck.webhooks import services
from kopeck.webhooks.models import Attempt, Delivery, DeliveryStatus, Endpoint


class EndpointSerializer(serializers.ModelSerializer[Endpoint]):
    class Meta:
        model = Endpoint
        fields = ["id", "url", "description", "event_types", "is_enabled", "disabled_at", "disabled_reason",
                  "failing_since", "created_at", "updated_at"]
        read_only_fields = ["id", "disabled_at", "disabled_reason", "failing_since", "created_at", "updated_at"]


class EndpointCreatedSerializer(EndpointSerializer):
    secret = serializers.CharField(help_text="The signing secret (whsec_…): keep it; it verifies the signatures.")

    class Meta(EndpointSerializer.Meta):
        fields = [*EndpointSerializer.Meta.fields, "secret"]


class EndpointWriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    url = serializers.CharField(max_length=2000)
    description = serializers.CharField(max_length=300, required=False, allow_blank=True)
    event_types = serializers.ListField(child=serializers.CharField(), required=False,
                                        help_text="Event types, groups (`subscription.*`) or `*`.")
    is_enabled = serializers.BooleanField(required=False)


class SecretSerializer(serializers.Serializer):  # type: ignore[type-arg]
    secret = serializers.CharField()


class RotateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    overlap_hours = serializers.IntegerField(required=False, default=24, min_value=0, max_value=168,
                                             help_text="How long the previous secret stays valid.")


def _with_secret(endpoint: Endpoint, secret: str) -> dict[str, Any]:
    return {**EndpointSerializer(endpoint).data, "secret": secret}


@extend_schema_view(
    list=extend_schema(summary="List webhook endpoints"),
    retrieve=extend_schema(summary="Get a webhook endpoint"),
    create=extend_schema(summary="Create a webhook endpoint", request=EndpointWriteSerializer,
                         responses={201: EndpointCreatedSerializer}),
    partial_update=extend_schema(summary="Change a webhook endpoint (enable it again…)",
                                 request=EndpointWriteSerializer, responses={200: EndpointSerializer}),
    destroy=extend_schema(summary="Delete a webhook endpoint without deliveries"),
)
class EndpointViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    area = Area.EVENTS
    serializer_class = EndpointSerializer
    queryset = Endpoint.objects.all().order_by("id")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def create(self, request: Request) -> Response:
        data = EndpointWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint, secret = services.endpoint_create(actor=self.actor, **data.validated_data)
        return Response(_with_secret(endpoint, secret), status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        endpoint = get_object_or_404(Endpoint, pk=pk)
        data = EndpointWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(actor=self.actor, endpoint=endpoint, **data.validated_data)
        return Response(EndpointSerializer(endpoint).data)

    def destroy(self, request: Request, pk: str) -> Response:
        services.endpoint_delete(actor=self.actor, endpoint=get_object_or_404(Endpoint, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Get the current signing secret", responses={200: SecretSerializer})
    @action(detail=True, methods=["get"])
    def secret(self, request: Request, pk: str) -> Response:
        endpoint = get_object_or_404(Endpoint, pk=pk)
        return Response({"secret": services.endpoint_current_secret(endpoint)})

    @extend_schema(summary="Rotate the signing secret", request=RotateSerializer,
                   responses={200: EndpointCreatedSerializer})
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request: Request, pk: str) -> Response:
        """A new secret; the previous one stays valid for ``overlap_hours`` (24): meanwhile messages carry
        both signatures."""
        import datetime as dt

        endpoint = get_object_or_404(Endpoint, pk=pk)
        data = RotateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        _row, secret = services.endpoint_rotate_secret(
            actor=self.actor, endpoint=endpoint, overlap=dt.timedelta(hours=data.validated_data["overlap_hours"]))
        return Response(_with_secret(endpoint, secret))


class AttemptSerializer(serializers.ModelSerializer[Attempt]):
    class Meta:
        model = Attempt
        fields = ["id", "at", "ok", "status_code", "latency_ms", "response", "error"]


@extend_schema_serializer(component_name="WebhookDelivery")
class DeliverySerializer(serializers.ModelSerializer[Delivery]):
    class Meta:
        model = Delivery
        fields = ["id", "endpoint", "event", "event_type", "status", "attempts", "next_attempt_at", "retry_from",
                  "last_status_code", "last_error", "created_at", "delivered_at"]


@extend_schema_serializer(component_name="WebhookDeliveryDetail")
class DeliveryDetailSerializer(DeliverySerializer):
    attempt_log = AttemptSerializer(many=True, read_only=True)

    class Meta(DeliverySerializer.Meta):
        fields = [*DeliverySerializer.Meta.fields, "attempt_log"]


class RedeliverSerializer(serializers.Serializer):  # type: ignore[type-arg]
    ids = serializers.ListField(child=serializers.IntegerField(), required=False, max_length=10_000)
    endpoint = serializers.IntegerField(required=False, help_text="With status: all of an endpoint's deliveries "
                                                                  "in that status.")
    status = serializers.ChoiceField(choices=DeliveryStatus.choices, required=False)


class RedeliveredSerializer(serializers.Serializer):  # type: ignore[type-arg]
    redelivered = serializers.IntegerField()


@extend_schema_view(
    list=extend_schema(summary="List webhook deliveries", parameters=[
        OpenApiParameter("endpoint", int), OpenApiParameter("event", int),
        OpenApiParameter("status", enum=DeliveryStatus.values)]),
    retrieve=extend_schema(summary="Get a webhook delivery with its attempts", responses=DeliveryDetailSerializer),
)
class DeliveryViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    area = Area.EVENTS
    serializer_class = DeliverySerializer

    def get_serializer_class(self) -> Any:
        return DeliveryDetailSerializer if self.action == "retrieve" else DeliverySerializer

    def get_queryset(self) -> Any:
        qs = Delivery.objects.all().order_by("-id")
        if self.action == "retrieve":
            return qs.prefetch_related("attempt_log")
        p = self.request.query_params
        for name in ("endpoint", "event"):
            raw = p.get(name)
            if raw:
                if not raw.isdigit():
                    raise ValidationFailed.field(name, _("Must be a whole number."))
                qs = qs.filter(**{f"{name}_id": int(raw)})
        if p.get("status") is not None:
            if p["status"] not in DeliveryStatus.values:
                raise ValidationFailed.field("status", _("Choose one of: %(choices)s.")
                                             % {"choices": ", ".join(DeliveryStatus.values)})
            qs = qs.filter(status=p["status"])
        return qs

    @extend_schema(summary="Redeliver one delivery", request=None, responses={200: RedeliveredSerializer})
    @action(detail=True, methods=["post"])
    def redeliver(self, request: Request, pk: str) -> Response:
        delivery = get_object_or_404(Delivery, pk=pk)
        return Response({"redelivered": services.deliveries_redeliver(actor=self.actor, deliveries=[delivery])})

    @extend_schema(summary="Redeliver many deliveries", operation_id="v1_webhook_deliveries_redeliver_many",
                   request=RedeliverSerializer,
                   responses={200: RedeliveredSerializer})
    @action(detail=False, methods=["post"], url_path="redeliver")
    def redeliver_many(self, request: Request) -> Response:
        """By ``ids``, or all of an ``endpoint``'s deliveries in a ``status`` (e.g. the failed ones)."""
        data = RedeliverSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        if values.get("ids"):
            chosen = list(Delivery.objects.filter(pk__in=values["ids"]))
            missing = sorted(set(values["ids"]) - {d.pk for d in chosen})
            if missing:
                raise ValidationFailed.field("ids", _("Delivery %(id)s does not exist.") % {"id": missing[0]})
        elif values.get("endpoint") and values.get("status"):
            chosen = list(Delivery.objects.filter(endpoint_id=values["endpoint"], status=values["status"]))
        else:
            raise ValidationFailed(_("Give ids, or endpoint and status."),
                                   errors={"ids": [_("Give ids, or endpoint and status.")]})
        return Response({"redelivered": services.deliveries_redeliver(actor=self.actor, deliveries=chosen)})
