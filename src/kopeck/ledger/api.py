"""REST API of client accounts: operations (credits and debits), reversals, balance, statement."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kopeck.clients.models import Client
from kopeck.common.errors import ValidationFailed
from kopeck.common.http.base import KopeckAPIView, KopeckGenericAPIView, KopeckViewSet
from kopeck.common.http.fields import AmountField
from kopeck.common.http.pagination import Pagination
from kopeck.common.http.params import currency_param, date_param
from kopeck.core.ledger import INTERNAL_OPERATIONS, Operation
from kopeck.ledger import selectors, services
from kopeck.ledger.amounts import from_minor
from kopeck.ledger.models import JournalTransaction, Posting
from kopeck.operators.roles import Area

POSTABLE = [o.value for o in Operation if o not in INTERNAL_OPERATIONS]


class PostingSerializer(serializers.ModelSerializer[Posting]):
    account = serializers.CharField(source="account.code")
    amount = serializers.SerializerMethodField(help_text="Signed: debit positive, credit negative.")

    class Meta:
        model = Posting
        fields = ["account", "amount", "currency"]

    def get_amount(self, obj: Posting) -> str:
        return from_minor(obj.amount_minor, obj.currency).to_str()


class TransactionSerializer(serializers.ModelSerializer[JournalTransaction]):
    amount = serializers.SerializerMethodField()
    vat_amount = serializers.SerializerMethodField()
    direction = serializers.SerializerMethodField()
    reversed_by = serializers.SerializerMethodField()
    postings = PostingSerializer(many=True, read_only=True)
    documents = serializers.SerializerMethodField(help_text="Ids of the documents (счёт, акт, УПД…) of this operation.")

    class Meta:
        model = JournalTransaction
        fields = ["id", "client", "operation", "direction", "amount", "currency", "vat_rate", "vat_amount",
                  "reason", "source_ref", "recorded_at", "actor_kind", "actor_label", "reverses", "reversed_by",
                  "explanation", "postings", "documents"]

    def get_amount(self, obj: JournalTransaction) -> str:
        return from_minor(obj.amount_minor, obj.currency).to_str()

    def get_vat_amount(self, obj: JournalTransaction) -> str:
        return from_minor(obj.vat_minor, obj.currency).to_str()

    def get_direction(self, obj: JournalTransaction) -> str:
        """credit (money added to the client's account) or debit (taken from it)."""
        client_total = sum(p.amount_minor for p in obj.postings.all() if p.account.role == "client")
        return "credit" if client_total < 0 else "debit"

    def get_documents(self, obj: JournalTransaction) -> list[int]:
        return sorted(d.pk for d in obj.documents.all())

    def get_reversed_by(self, obj: JournalTransaction) -> int | None:
        try:
            return obj.reversed_by.pk  # select_related by the views' querysets
        except JournalTransaction.DoesNotExist:
            return None


class OperationSerializer(serializers.Serializer):  # type: ignore[type-arg]
    operation = serializers.ChoiceField(choices=POSTABLE, help_text=(
        "Credits: payment, bonus, refund_reversal, correction_credit. "
        "Debits: charge, one_off_charge, correction_debit, refund."))
    amount = AmountField(help_text="Positive decimal string in the currency, e.g. \"1500.00\".")
    currency = serializers.CharField(max_length=3, required=False, help_text="Defaults to the client's currency.")
    reason = serializers.CharField(max_length=500)
    source_ref = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    vat_rate = serializers.CharField(required=False, allow_null=True, default=None,
                                     help_text="Charges only: 22, 10, 0, 5, 7 or exempt; default by VAT regime.")
    via_gateway = serializers.BooleanField(required=False, default=False)


class ReverseSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField(max_length=500)


def _txn_queryset() -> Any:
    return JournalTransaction.objects.select_related("reversed_by").prefetch_related("postings__account", "documents")


class ClientOperationsView(KopeckGenericAPIView):
    """Operations on a client's account (зачисления и списания)."""

    area = Area.LEDGER
    pagination_class = Pagination
    serializer_class = TransactionSerializer

    @extend_schema(responses={200: TransactionSerializer(many=True)})
    def get(self, request: Request, client_id: int) -> Response:
        """The client's operations, newest first (paginated)."""
        client = get_object_or_404(Client, pk=client_id)
        paginator = Pagination()
        page = paginator.paginate_queryset(
            selectors.client_transactions(client).select_related("reversed_by").prefetch_related("postings__account", "documents"),
            request, view=self)
        return paginator.get_paginated_response(TransactionSerializer(page, many=True).data)

    @extend_schema(request=OperationSerializer, responses={201: TransactionSerializer}, examples=[
        OpenApiExample("Payment", value={"operation": "payment", "amount": "15000.00", "reason": "Оплата по счёту 42",
                                         "source_ref": "п/п 123 от 01.11.2026"}, request_only=True),
        OpenApiExample("Charge", value={"operation": "one_off_charge", "amount": "1220.00", "vat_rate": "22",
                                        "reason": "Настройка сервера"}, request_only=True),
    ])
    def post(self, request: Request, client_id: int) -> Response:
        """Post a credit or a debit on the client's account."""
        client = get_object_or_404(Client, pk=client_id)
        data = OperationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        txn = services.ledger_operation_post(actor=self.actor, client=client, **data.validated_data)
        return Response(TransactionSerializer(_txn_queryset().get(pk=txn.pk)).data, status=status.HTTP_201_CREATED)


class TransactionViewSet(mixins.RetrieveModelMixin, KopeckViewSet):
    area = Area.LEDGER
    serializer_class = TransactionSerializer
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> Any:
        return _txn_queryset()

    @extend_schema(request=ReverseSerializer, responses={201: TransactionSerializer})
    @action(detail=True, methods=["post"])
    def reverse(self, request: Request, pk: str) -> Response:
        """Post the exact opposite of this transaction (сторно). Allowed once per transaction."""
        data = ReverseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        txn = services.ledger_transaction_reverse(actor=self.actor, transaction_id=int(pk), **data.validated_data)
        return Response(TransactionSerializer(_txn_queryset().get(pk=txn.pk)).data, status=status.HTTP_201_CREATED)


def _date_param(request: Request, name: str, *, required: bool) -> dt.date | None:
    return date_param(request.query_params, name, required=required)


class BalanceSerializer(serializers.Serializer):  # type: ignore[type-arg]
    client = serializers.IntegerField()
    currency = serializers.CharField()
    balance = serializers.CharField(help_text="Positive: prepaid; negative: the client owes.")
    as_of = serializers.DateField(allow_null=True)


class ClientBalanceView(KopeckAPIView):
    area = Area.LEDGER

    @extend_schema(responses={200: BalanceSerializer}, parameters=[
        OpenApiParameter("as_of", dt.date, description="End of this provider-local day; default now."),
        OpenApiParameter("currency", str)])
    def get(self, request: Request, client_id: int) -> Response:
        """The client's balance now, or at the end of a provider-local day."""
        client = get_object_or_404(Client, pk=client_id)
        as_of = _date_param(request, "as_of", required=False)
        balance = selectors.client_balance(client, currency=currency_param(request.query_params), as_of=as_of)
        return Response({"client": client.pk, "currency": balance.currency.code, "balance": balance.to_str(),
                         "as_of": as_of})


class StatementLineSerializer(serializers.Serializer):  # type: ignore[type-arg]
    transaction = serializers.IntegerField()
    recorded_at = serializers.DateTimeField()
    operation = serializers.CharField()
    reason = serializers.CharField()
    credit = serializers.CharField()
    debit = serializers.CharField()
    balance = serializers.CharField()


class StatementSerializer(serializers.Serializer):  # type: ignore[type-arg]
    client = serializers.IntegerField()
    currency = serializers.CharField()
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    opening_balance = serializers.CharField()
    total_credit = serializers.CharField()
    total_debit = serializers.CharField()
    closing_balance = serializers.CharField()
    lines = StatementLineSerializer(many=True)


class ClientStatementView(KopeckAPIView):
    area = Area.LEDGER

    @extend_schema(responses={200: StatementSerializer}, parameters=[
        OpenApiParameter("date_from", dt.date, required=True), OpenApiParameter("date_to", dt.date, required=True),
        OpenApiParameter("currency", str)])
    def get(self, request: Request, client_id: int) -> Response:
        """The client's statement of a period: opening balance, operations, totals, closing balance."""
        client = get_object_or_404(Client, pk=client_id)
        date_from = _date_param(request, "date_from", required=True)
        date_to = _date_param(request, "date_to", required=True)
        assert date_from is not None and date_to is not None
        if date_to < date_from:
            raise ValidationFailed.field("date_to", _("Must not be before date_from."))
        st = selectors.client_statement(client, date_from=date_from, date_to=date_to,
                                        currency=currency_param(request.query_params))
        return Response({
            "client": client.pk, "currency": st.currency, "date_from": date_from, "date_to": date_to,
            "opening_balance": st.opening.to_str(), "total_credit": st.total_credit.to_str(),
            "total_debit": st.total_debit.to_str(), "closing_balance": st.closing.to_str(),
            "lines": [{"transaction": ln.transaction.pk, "recorded_at": ln.transaction.recorded_at,
                       "operation": ln.transaction.operation, "reason": ln.transaction.reason,
                       "credit": ln.credit.to_str(), "debit": ln.debit.to_str(), "balance": ln.balance.to_str()}
                      for ln in st.lines],
        })
