"""REST API of business rules: CRUD, the test (no side effects), the execution log."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kopeck.common.access import Area
from kopeck.common.errors import ValidationFailed
from kopeck.common.http.base import KopeckViewSet
from kopeck.rules import services
from kopeck.rules.models import ExecutionStatus, Rule, RuleExecution


class RuleSerializer(serializers.ModelSerializer[Rule]):
    class Meta:
        model = Rule
        fields = ["id", "name", "description", "triggers", "condition", "actions", "priority", "stop_processing",
                  "is_enabled", "revision", "created_at", "updated_at"]
        read_only_fields = ["id", "revision", "created_at", "updated_at"]


class RuleWriteSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    triggers = serializers.ListField(child=serializers.CharField(), help_text="Event types or groups (`client.*`).")
    condition = serializers.CharField(required=False, allow_blank=True, help_text="CEL; empty: always.")
    actions = serializers.ListField(child=serializers.DictField(), help_text="Ordered; see docs/rules.md.")
    priority = serializers.IntegerField(required=False, help_text="Lower numbers run first (default 100).")
    stop_processing = serializers.BooleanField(required=False)
    is_enabled = serializers.BooleanField(required=False, help_text="New rules start disabled: test them first.")


class RuleTestSerializer(serializers.Serializer):  # type: ignore[type-arg]
    event_id = serializers.IntegerField(required=False, help_text="A stored event.")
    event = serializers.DictField(required=False, help_text="A hand-written event: type, data, client_id, subject_id.")


class DraftTestSerializer(RuleTestSerializer):
    rule = serializers.DictField(help_text="The rule's attributes (triggers, condition, actions…), not saved.")


class RuleTestResultSerializer(serializers.Serializer):  # type: ignore[type-arg]
    triggered = serializers.BooleanField()
    condition = serializers.BooleanField(allow_null=True, help_text="null: the condition failed on this data.")
    error = serializers.CharField()
    actions = serializers.ListField(child=serializers.DictField(), help_text="What each action would do.")
    seen = serializers.DictField(help_text="The data the rule saw: event, client, subscription, vars, now.")


RULE_EXAMPLE = OpenApiExample("Suspend VPS when blocked for non-payment", request_only=True, value={
    "name": "VPS: блокировка за неуплату", "triggers": ["subscription.blocked"],
    "condition": 'subscription.plan.startsWith("vps") && event.data.reason == "non_payment"',
    "actions": [{"type": "webhook", "endpoint": 1},
                {"type": "notify", "to": ["client"], "subject": "Сервер {{ subscription.plan }} приостановлен",
                 "body": "Здравствуйте, {{ client.name }}! …"}],
    "priority": 10, "is_enabled": True})


@extend_schema_view(
    list=extend_schema(summary="List rules"),
    retrieve=extend_schema(summary="Get a rule"),
    create=extend_schema(summary="Create a rule", request=RuleWriteSerializer, responses={201: RuleSerializer},
                         examples=[RULE_EXAMPLE]),
    partial_update=extend_schema(summary="Change a rule", request=RuleWriteSerializer, responses={200: RuleSerializer}),
    destroy=extend_schema(summary="Delete a rule"),
)
class RuleViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    """Business rules, in the order they run (priority, then id)."""

    area = Area.EVENTS
    serializer_class = RuleSerializer
    queryset = Rule.objects.all().order_by("priority", "id")
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def create(self, request: Request) -> Response:
        data = RuleWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rule = services.rule_create(actor=self.actor, **data.validated_data)
        return Response(RuleSerializer(rule).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        rule = get_object_or_404(Rule, pk=pk)
        data = RuleWriteSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        rule = services.rule_update(actor=self.actor, rule=rule, **data.validated_data)
        return Response(RuleSerializer(rule).data)

    def destroy(self, request: Request, pk: str) -> Response:
        services.rule_delete(actor=self.actor, rule=get_object_or_404(Rule, pk=pk))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="Test a rule (nothing is done)", request=RuleTestSerializer,
                   responses={200: RuleTestResultSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str) -> Response:
        """Run the rule's condition against a stored or hand-written event and say what its actions
        would do — nothing is written, nothing is sent."""
        rule = get_object_or_404(Rule, pk=pk)
        data = RuleTestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        return Response(services.rule_test(actor=self.actor, rule=rule, **data.validated_data))

    @extend_schema(summary="Test a draft rule (nothing is saved or done)", request=DraftTestSerializer,
                   responses={200: RuleTestResultSerializer}, operation_id="v1_rules_test_draft")
    @action(detail=False, methods=["post"], url_path="test")
    def test_draft(self, request: Request) -> Response:
        data = DraftTestSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        return Response(services.rule_test(actor=self.actor, **values))


class RuleExecutionSerializer(serializers.ModelSerializer[RuleExecution]):
    class Meta:
        model = RuleExecution
        fields = ["id", "event", "event_type", "client_id", "at", "status", "stopped_by", "results"]


@extend_schema_view(
    list=extend_schema(summary="List rule executions", parameters=[
        OpenApiParameter("rule", int, description="Executions in which this rule ran."),
        OpenApiParameter("event", int), OpenApiParameter("client", int),
        OpenApiParameter("status", enum=ExecutionStatus.values)]),
    retrieve=extend_schema(summary="Get a rule execution"),
)
class RuleExecutionViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    """The log: for each event that triggered rules, which rules ran, what their conditions gave, and
    what each action did or why it failed."""

    area = Area.EVENTS
    serializer_class = RuleExecutionSerializer

    def get_queryset(self) -> Any:
        qs = RuleExecution.objects.all().order_by("-id")
        p = self.request.query_params
        for name, lookup in (("rule", "matched__contains"), ("event", "event_id"), ("client", "client_id")):
            raw = p.get(name)
            if raw:
                if not raw.isdigit():
                    raise ValidationFailed.field(name, _("Must be a whole number."))
                qs = qs.filter(**{lookup: f",{raw}," if name == "rule" else int(raw)})
        if p.get("status"):
            if p["status"] not in ExecutionStatus.values:
                raise ValidationFailed.field("status", _("Choose one of: %(choices)s.")
                                             % {"choices": ", ".join(ExecutionStatus.values)})
            qs = qs.filter(status=p["status"])
        return qs
