"""REST API of the event log and the event catalog (read-only; an operator may re-process a failed
event)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kopeck.common.access import Area
from kopeck.common.errors import ValidationFailed
from kopeck.common.http.base import KopeckViewSet
from kopeck.events import selectors, services
from kopeck.events.catalog import CATALOG, EVENT_TYPES, EventType
from kopeck.events.models import Event


class EventSerializer(serializers.Serializer):  # type: ignore[type-arg]
    """An event as receivers see it; ``data`` follows the schema of the event's type (see the
    ``x-webhooks`` section and ``GET /api/v1/event-types/``)."""

    id = serializers.IntegerField()
    uid = serializers.CharField(help_text="The public id; the `webhook-id` of its webhook messages.")
    type = serializers.CharField()
    version = serializers.IntegerField()
    timestamp = serializers.DateTimeField(help_text="When it happened (UTC).")
    client_id = serializers.IntegerField(allow_null=True)
    sequence = serializers.IntegerField(allow_null=True, help_text="The client's sequence number: 1, 2, 3… "
                                        "without gaps, in the order the client's changes committed.")
    subject = serializers.DictField(help_text="{type, id} of what the event is about.")
    data = serializers.DictField()  # type: ignore[assignment]  # DRF pops declared fields off the class

    def to_representation(self, instance: Event) -> dict[str, Any]:
        return selectors.event_envelope(instance)


class EventDetailSerializer(EventSerializer):
    actor = serializers.CharField()
    depth = serializers.IntegerField(help_text="How many rule actions led to it (0: none).")
    cause_id = serializers.IntegerField(allow_null=True, help_text="The event whose rule caused this one.")
    processing = serializers.ChoiceField(choices=["pending", "done", "failed"], help_text=(
        "`pending`: the rules and webhooks have not taken it yet (or it failed and waits for its next attempt); "
        "`done`: processed; `failed`: given up after the last attempt, waits for an operator."))
    processing_error = serializers.CharField(help_text="Why its last processing failed, while it is not processed; "
                                             "empty otherwise.")

    def to_representation(self, instance: Event) -> dict[str, Any]:
        status, error = selectors.event_processing(instance)
        return {**selectors.event_envelope(instance), "actor": f"{instance.actor_kind}:{instance.actor_label}",
                "depth": instance.depth, "cause_id": instance.cause_id, "processing": status,
                "processing_error": error}


def _int(params: Any, name: str) -> int | None:
    raw = params.get(name)
    if raw is None:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValidationFailed.field(name, _("Must be a whole number.")) from None


def _instant(params: Any, name: str) -> dt.datetime | None:
    raw = params.get(name)
    if raw is None:
        return None
    value = parse_datetime(raw.replace(" ", "+")) if isinstance(raw, str) else None
    if value is None or value.utcoffset() is None:
        raise ValidationFailed.field(name, _("Give an ISO 8601 instant with its offset, e.g. 2026-12-01T00:00:00Z."))
    return value


@extend_schema_view(
    list=extend_schema(summary="List events", parameters=[
        OpenApiParameter("type", str, description="An event type, or a group such as `subscription.*`."),
        OpenApiParameter("client", int), OpenApiParameter("subject_type", str), OpenApiParameter("subject_id", int),
        OpenApiParameter("since", OpenApiTypes.DATETIME), OpenApiParameter("until", OpenApiTypes.DATETIME),
        OpenApiParameter("after_id", int, description="Events with a greater id, oldest first (polling)."),
        OpenApiParameter("after_sequence", int, description="With `client`: the client's events after this "
                                                            "sequence number, in order."),
    ]),
    retrieve=extend_schema(summary="Get an event", responses=EventDetailSerializer),
)
class EventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    """The event log: everything that happened, newest first."""

    area = Area.EVENTS
    serializer_class = EventSerializer
    http_method_names = ["get", "post", "head", "options"]

    def get_serializer_class(self) -> Any:
        return EventDetailSerializer if self.action in ("retrieve", "process_again") else EventSerializer

    def get_queryset(self) -> Any:
        p = self.request.query_params
        if self.action != "list":
            return Event.objects.all()
        event_type = p.get("type") or None
        if event_type and event_type not in CATALOG and not (
                event_type.endswith(".*") and any(n.startswith(event_type[:-1]) for n in CATALOG)):
            raise ValidationFailed.field("type", _("Unknown event type; see GET /api/v1/event-types/."))
        client_id = _int(p, "client")
        after_sequence = _int(p, "after_sequence")
        if after_sequence is not None and client_id is None:
            raise ValidationFailed.field("after_sequence", _("Give `client` too."))
        return selectors.event_list(type=event_type, client_id=client_id, subject_type=p.get("subject_type") or None,
                                    subject_id=_int(p, "subject_id"), since=_instant(p, "since"),
                                    until=_instant(p, "until"), after_id=_int(p, "after_id"),
                                    after_sequence=after_sequence)

    @extend_schema(summary="Process a failed event again", request=None, responses=EventDetailSerializer)
    @action(detail=True, methods=["post"], url_path="process-again")
    def process_again(self, request: Request, pk: str) -> Response:
        """Hand an event whose processing failed to the rules and webhooks again."""
        event = services.event_redispatch(actor=self.actor, event=get_object_or_404(Event, pk=pk))
        return Response(EventDetailSerializer(event).data)


class EventTypeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField()
    version = serializers.IntegerField()
    title = serializers.CharField()
    subject = serializers.CharField()
    client = serializers.BooleanField(help_text="Whether the event belongs to a client (and has a sequence number).")
    fires = serializers.CharField(help_text="The exact point where the event is recorded.")
    emitted_by = serializers.CharField()
    schema = serializers.DictField(help_text="JSON Schema (2020-12) of the event's `data`.")

    def to_representation(self, instance: EventType) -> dict[str, Any]:
        return {"name": instance.name, "version": instance.version, "title": str(instance.title),
                "subject": instance.subject, "client": instance.client, "fires": instance.fires,
                "emitted_by": instance.emitted_by, "schema": instance.data}


@extend_schema_view(
    list=extend_schema(summary="List event types (the catalog)"),
    retrieve=extend_schema(summary="Get an event type", parameters=[OpenApiParameter("name", str, OpenApiParameter.PATH)]),
)
class EventTypeViewSet(KopeckViewSet):
    """The event catalog: every event type with its version, firing point and payload schema."""

    area = Area.EVENTS
    serializer_class = EventTypeSerializer
    pagination_class = None
    lookup_field = "name"
    lookup_value_regex = r"[a-z_]+\.[a-z_]+"

    def list(self, request: Request) -> Response:
        return Response(EventTypeSerializer(EVENT_TYPES, many=True).data)

    def retrieve(self, request: Request, name: str) -> Response:
        kind = CATALOG.get(name)
        if kind is None:
            from kopeck.common.errors import NotFound

            raise NotFound(_("Unknown event type '%(type)s'.") % {"type": name})
        return Response(EventTypeSerializer(kind).data)
