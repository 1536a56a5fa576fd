"""REST API of credit control: a client's credit state (policy, balance, debt, ladder, promises,
blocks) and its policy overrides; blocks (place, lift); promised payments (grant); the ladder."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kopeck.clients.models import Client
from kopeck.common.errors import ValidationFailed
from kopeck.common.http.base import KopeckAPIView, KopeckViewSet
from kopeck.common.http.fields import AmountField
from kopeck.common.http.params import bool_param, int_param
from kopeck.configuration.selectors import provider_today
from kopeck.credit import selectors, services
from kopeck.credit.models import (
    Block,
    BlockReason,
    CreditPolicy,
    DunningStep,
    LimitKind,
    Promise,
    StepAction,
    StepAnchor,
)
from kopeck.credit.services.check import decimal_text
from kopeck.operators.roles import Area
from kopeck.subscriptions.models import Subscription

LADDER_STATUSES = [("done", "done"), ("skipped", "skipped"), ("next", "next"), ("planned", "planned"),
                   ("not_applicable", "not_applicable")]
POLICY_MODES = [("", ""), ("prepaid", "prepaid"), ("postpaid", "postpaid")]


class BlockSerializer(serializers.ModelSerializer[Block]):
    client = serializers.IntegerField(source="client_id", read_only=True)
    subscription = serializers.IntegerField(source="subscription_id", read_only=True, allow_null=True)
    reason = serializers.ChoiceField(choices=BlockReason.choices)
    holding = serializers.SerializerMethodField()

    class Meta:
        model = Block
        fields = ["id", "client", "subscription", "reason", "source", "automatic", "effect", "comment", "holding",
                  "created_at", "created_by", "lifted_at", "lifted_by", "lift_comment"]

    def get_holding(self, obj: Block) -> bool:
        return obj.lifted_at is None


class BlockCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    client = serializers.IntegerField(min_value=1)
    subscription = serializers.IntegerField(min_value=1, required=False, allow_null=True,
                                            help_text="Block this subscription only; empty: the client.")
    reason = serializers.ChoiceField(choices=BlockReason.choices)
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True)


class LiftSerializer(serializers.Serializer):  # type: ignore[type-arg]
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True)


def _client(pk: int) -> Client:
    client = Client.objects.filter(pk=pk).first()
    if client is None:
        raise ValidationFailed.field("client", _("No such client."))
    return client


@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("client", int), OpenApiParameter("holding", bool, description="Only the blocks that hold.")]))
class BlockViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    """Blocks of clients and subscriptions."""

    area = Area.CLIENTS
    serializer_class = BlockSerializer
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> Any:
        qs = Block.objects.order_by("-id")
        client = int_param(self.request.query_params, "client")
        if client is not None:
            qs = qs.filter(client_id=client)
        holding = bool_param(self.request.query_params, "holding")
        if holding is not None:
            qs = qs.filter(lifted_at__isnull=holding)
        return qs

    @extend_schema(request=BlockCreateSerializer, responses={201: BlockSerializer})
    def create(self, request: Request) -> Response:
        """Block a client or one of its subscriptions (a manual block: lifted only by hand)."""
        data = BlockCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        client = _client(v["client"])
        sub = None
        if v.get("subscription"):
            sub = Subscription.objects.filter(pk=v["subscription"]).first()
            if sub is None:
                raise ValidationFailed.field("subscription", _("No such subscription."))
        block = services.block_place(actor=self.actor, client=client, subscription=sub, reason=v["reason"],
                                     comment=v.get("comment", ""))
        return Response(BlockSerializer(block).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=LiftSerializer, responses={200: BlockSerializer})
    @action(detail=True, methods=["post"])
    def lift(self, request: Request, pk: str) -> Response:
        """Lift a block (the thing stays blocked while another block holds)."""
        block = get_object_or_404(Block, pk=pk)
        data = LiftSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        block = services.block_lift(actor=self.actor, block=block, comment=data.validated_data.get("comment", ""))
        return Response(BlockSerializer(block).data)


class PromiseSerializer(serializers.ModelSerializer[Promise]):
    client = serializers.IntegerField(source="client_id", read_only=True)
    amount = serializers.SerializerMethodField()

    class Meta:
        model = Promise
        fields = ["id", "client", "amount", "currency", "granted_on", "until", "status", "ended_on", "comment",
                  "granted_by", "created_at"]

    def get_amount(self, obj: Promise) -> str:
        return decimal_text(obj.amount_minor, obj.currency)


class PromiseCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    client = serializers.IntegerField(min_value=1)
    amount = AmountField(min_value=Decimal("0.01"))
    days = serializers.IntegerField(min_value=1, max_value=365)
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True)


@extend_schema_view(list=extend_schema(parameters=[OpenApiParameter("client", int)]))
class PromiseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    """Promised payments (обещанный платёж)."""

    area = Area.CLIENTS
    serializer_class = PromiseSerializer
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> Any:
        qs = Promise.objects.order_by("-id")
        client = int_param(self.request.query_params, "client")
        return qs.filter(client_id=client) if client is not None else qs

    @extend_schema(request=PromiseCreateSerializer, responses={201: PromiseSerializer})
    def create(self, request: Request) -> Response:
        """Grant a promised payment: extra credit for some days, within the billing settings' limits."""
        data = PromiseCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        promise = services.promise_grant(actor=self.actor, client=_client(v["client"]), amount=v["amount"],
                                         days=v["days"], comment=v.get("comment", ""))
        return Response(PromiseSerializer(promise).data, status=status.HTTP_201_CREATED)


class DunningStepSerializer(serializers.ModelSerializer[DunningStep]):
    action = serializers.ChoiceField(choices=StepAction.choices)
    anchor = serializers.ChoiceField(choices=StepAnchor.choices)

    class Meta:
        model = DunningStep
        fields = ["id", "name", "action", "anchor", "offset_days", "notify", "is_active"]


class DunningStepViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    """The dunning ladder (edited in the back office)."""

    area = Area.CLIENTS
    serializer_class = DunningStepSerializer
    http_method_names = ["get", "head", "options"]

    def get_queryset(self) -> Any:
        return DunningStep.objects.order_by("anchor", "offset_days", "id")


class PolicySerializer(serializers.Serializer):  # type: ignore[type-arg]
    mode = serializers.ChoiceField(choices=POLICY_MODES, required=False, allow_null=True,
                                   help_text="Empty: as in the billing settings.")
    limit_kind = serializers.ChoiceField(choices=LimitKind.choices, required=False)
    credit_limit = AmountField(min_value=Decimal(0), max_places=2, required=False, allow_null=True)
    grace_days = serializers.IntegerField(min_value=0, max_value=365, required=False, allow_null=True)
    low_balance_amount = AmountField(min_value=Decimal(0), max_places=2, required=False, allow_null=True)
    low_balance_days = serializers.IntegerField(min_value=1, max_value=365, required=False, allow_null=True)


class LadderLineSerializer(serializers.Serializer):  # type: ignore[type-arg]
    step = DunningStepSerializer()
    date = serializers.DateField(allow_null=True)
    status = serializers.ChoiceField(choices=LADDER_STATUSES)
    ran_on = serializers.DateField(allow_null=True)


class DebtSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    opened_on = serializers.DateField()
    due_date = serializers.DateField(allow_null=True)
    limit_crossed_on = serializers.DateField(allow_null=True)
    amount = serializers.CharField()


class CreditStateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    client = serializers.IntegerField()
    on = serializers.DateField()
    currency = serializers.CharField()
    mode = serializers.CharField()
    credit_limit = serializers.CharField(allow_null=True, help_text="null: no limit.")
    grace_days = serializers.IntegerField()
    overrides = PolicySerializer()
    balance = serializers.CharField(help_text="Positive: prepaid; negative: the client owes.")
    overdue = serializers.CharField()
    oldest_due = serializers.DateField(allow_null=True)
    promised = serializers.CharField()
    in_debt = serializers.BooleanField()
    covered_by_promise = serializers.BooleanField()
    below_limit = serializers.BooleanField()
    low_balance = serializers.BooleanField()
    daily_cost = serializers.CharField(allow_null=True)
    days_left = serializers.IntegerField(allow_null=True)
    blocked = serializers.BooleanField()
    debt = DebtSerializer(allow_null=True)
    ladder = LadderLineSerializer(many=True)
    blocks = BlockSerializer(many=True, help_text="The blocks that hold.")
    promises = PromiseSerializer(many=True, help_text="The latest promised payments.")


def credit_payload(client: Client) -> dict[str, Any]:
    on = provider_today()
    s = selectors.credit_state(client, on)
    cur = s.currency
    override = CreditPolicy.objects.filter(client=client).first()
    debt = selectors.open_debt(client)

    def money(minor: int) -> str:
        return decimal_text(minor, cur)

    return {
        "client": client.pk, "on": on, "currency": cur, "mode": s.policy.mode,
        "credit_limit": money(s.policy.limit_minor) if s.policy.limit_minor is not None else None,
        "grace_days": s.policy.grace_days,
        "overrides": {"mode": override.mode if override else "",
                      "limit_kind": override.limit_kind if override else LimitKind.DEFAULT,
                      "credit_limit": override.credit_limit if override else None,
                      "grace_days": override.grace_days if override else None,
                      "low_balance_amount": override.low_balance_amount if override else None,
                      "low_balance_days": override.low_balance_days if override else None},
        "balance": money(s.balance_minor), "overdue": money(s.overdue_minor), "oldest_due": s.oldest_due,
        "promised": money(s.promised_minor), "in_debt": s.in_debt, "covered_by_promise": s.covered,
        "below_limit": s.below_limit, "low_balance": s.low_balance,
        "daily_cost": money(s.daily_cost_minor) if s.daily_cost_minor is not None else None,
        "days_left": s.days_left, "blocked": selectors.client_blocked(client),
        "debt": {"id": debt.pk, "opened_on": debt.opened_on, "due_date": debt.due_date,
                 "limit_crossed_on": debt.limit_crossed_on, "amount": money(debt.amount_minor)} if debt else None,
        "ladder": [{"step": line.step, "date": line.date, "status": line.status, "ran_on": line.ran_on}
                   for line in selectors.ladder_position(client, on)],
        "blocks": selectors.holding_blocks(client),
        "promises": list(Promise.objects.filter(client=client).order_by("-id")[:10]),
    }


class ClientCreditView(KopeckAPIView):
    area = Area.CLIENTS

    @extend_schema(responses={200: CreditStateSerializer})
    def get(self, request: Request, client_id: int) -> Response:
        """The client's credit state: policy, balance, debt, where it stands on the ladder, blocks, promises."""
        client = get_object_or_404(Client, pk=client_id)
        return Response(CreditStateSerializer(credit_payload(client)).data)

    @extend_schema(request=PolicySerializer, responses={200: CreditStateSerializer})
    def patch(self, request: Request, client_id: int) -> Response:
        """Change the client's credit policy (its overrides of the billing settings' defaults)."""
        client = get_object_or_404(Client, pk=client_id)
        data = PolicySerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        services.credit_policy_set(actor=self.actor, client=client, **data.validated_data)
        return Response(CreditStateSerializer(credit_payload(client)).data)
