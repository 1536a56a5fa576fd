"""REST API of payments: record, list, retrieve; refund, allocate, re-allocate, release, assign (an
unidentified payment), reverse. Area ``ledger`` (money on clients' accounts)."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kopeck.clients.models import Client
from kopeck.common.http.base import KopeckViewSet
from kopeck.common.http.fields import AmountField, DateField
from kopeck.common.http.params import choice_param, date_param, int_param
from kopeck.documents.models import Document
from kopeck.ledger.amounts import from_minor
from kopeck.operators.roles import Area
from kopeck.payments import services
from kopeck.payments.models import (
    AdvanceOffset,
    Allocation,
    MatchRule,
    Payment,
    PaymentAdvance,
    PaymentStatus,
    Refund,
)


def _money(units: int, currency: str) -> str:
    return from_minor(units, currency).to_str()


class AllocationSerializer(serializers.ModelSerializer[Allocation]):
    amount = serializers.SerializerMethodField()
    invoice_number = serializers.CharField(source="document.number", read_only=True, allow_null=True)

    class Meta:
        model = Allocation
        fields = ["id", "document", "invoice_number", "amount", "currency", "automatic", "created_at", "released_at",
                  "release_reason"]

    def get_amount(self, obj: Allocation) -> str:
        return _money(obj.amount_minor, obj.currency)


class RefundSerializer(serializers.ModelSerializer[Refund]):
    amount = serializers.SerializerMethodField()

    class Meta:
        model = Refund
        fields = ["id", "payment", "amount", "currency", "date", "reason", "external_id", "transaction", "created_at"]

    def get_amount(self, obj: Refund) -> str:
        return _money(obj.amount_minor, obj.currency)


class PaymentSerializer(serializers.ModelSerializer[Payment]):
    amount = serializers.SerializerMethodField()
    refunded = serializers.SerializerMethodField()
    allocated = serializers.SerializerMethodField()
    unallocated = serializers.SerializerMethodField(
        help_text="Neither refunded nor allocated: on the client's account as an advance.")

    class Meta:
        model = Payment
        fields = ["id", "client", "amount", "currency", "date", "method", "status", "match_rule", "payer_name",
                  "payer_inn", "payer_kpp", "payer_account", "payer_bik", "payer_bank", "purpose", "external_id",
                  "refunded", "allocated", "unallocated", "transaction", "assign_transaction", "notes",
                  "created_by", "created_at", "reversed_at", "reverse_reason"]

    def get_amount(self, obj: Payment) -> str:
        return _money(obj.amount_minor, obj.currency)

    def get_refunded(self, obj: Payment) -> str:
        return _money(obj.refunded_minor, obj.currency)

    def get_allocated(self, obj: Payment) -> str:
        return _money(obj.allocated_minor, obj.currency)

    def get_unallocated(self, obj: Payment) -> str:
        return _money(obj.unallocated_minor, obj.currency)


class AdvanceOffsetSerializer(serializers.ModelSerializer[AdvanceOffset]):
    amount = serializers.SerializerMethodField()
    vat = serializers.SerializerMethodField(help_text="The VAT of the advance accepted for deduction.")

    class Meta:
        model = AdvanceOffset
        fields = ["id", "date", "shipment", "refund", "amount", "vat", "cancelled_at"]

    def get_amount(self, obj: AdvanceOffset) -> str:
        return _money(obj.amount_minor, obj.currency)

    def get_vat(self, obj: AdvanceOffset) -> str:
        return _money(obj.vat_minor, obj.currency)


class PaymentAdvanceSerializer(serializers.ModelSerializer[PaymentAdvance]):
    amount = serializers.SerializerMethodField()
    vat = serializers.SerializerMethodField()
    offset = serializers.SerializerMethodField()
    offset_vat = serializers.SerializerMethodField()
    number = serializers.CharField(source="document.number", read_only=True, allow_null=True,
                                   help_text="The advance invoice-factura's number.")
    offsets = AdvanceOffsetSerializer(many=True, read_only=True)

    class Meta:
        model = PaymentAdvance
        fields = ["amount", "rate", "vat", "document", "number", "offset", "offset_vat", "note", "offsets"]

    def get_amount(self, obj: PaymentAdvance) -> str:
        return _money(obj.amount_minor, obj.currency)

    def get_vat(self, obj: PaymentAdvance) -> str:
        return _money(obj.vat_minor, obj.currency)

    def get_offset(self, obj: PaymentAdvance) -> str:
        return _money(obj.offset_minor, obj.currency)

    def get_offset_vat(self, obj: PaymentAdvance) -> str:
        return _money(obj.offset_vat_minor, obj.currency)


class PaymentDetailSerializer(PaymentSerializer):
    allocations = AllocationSerializer(many=True, read_only=True)
    refunds = RefundSerializer(many=True, read_only=True)
    advance = serializers.SerializerMethodField(
        help_text="The VAT advance of the payment and its advance invoice-factura (null: not decided yet).")

    class Meta(PaymentSerializer.Meta):
        fields = [*PaymentSerializer.Meta.fields, "allocations", "refunds", "advance"]

    @extend_schema_field(PaymentAdvanceSerializer(allow_null=True))
    def get_advance(self, obj: Payment) -> dict[str, Any] | None:
        adv = PaymentAdvance.objects.filter(payment=obj).select_related("document").first()
        return dict(PaymentAdvanceSerializer(adv).data) if adv is not None else None


class PaymentCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    client = serializers.IntegerField(required=False, allow_null=True, default=None,
                                      help_text="The payer's client; none: the payment is unidentified.")
    amount = AmountField(help_text="Positive decimal string, e.g. \"15000.00\".")
    currency = serializers.CharField(max_length=3, required=False, help_text="Default: the client's currency.")
    date = DateField(required=False, help_text="Default: today (provider-local).")
    method = serializers.CharField(max_length=30, default="manual",
                                   help_text="manual, bank, or a payment gateway's code.")
    external_id = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                        help_text="The id at the source; the same id again returns the first payment.")
    invoice = serializers.IntegerField(required=False, help_text="Allocate to this invoice (its id).")
    allocate = serializers.BooleanField(required=False, allow_null=True, default=None,
                                        help_text="Allocate automatically; default: the payments setting.")
    payer_name = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    payer_inn = serializers.CharField(max_length=12, required=False, allow_blank=True, default="")
    payer_kpp = serializers.CharField(max_length=9, required=False, allow_blank=True, default="")
    payer_account = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    payer_bik = serializers.CharField(max_length=9, required=False, allow_blank=True, default="")
    payer_bank = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    purpose = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")
    notes = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class RefundCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    amount = AmountField(required=False, help_text="Default: all that is left of the payment.")
    reason = serializers.CharField(max_length=500)
    date = DateField(required=False)
    external_id = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default="",
        help_text="A payment through a payment gateway is refunded through the provider (502 if it refuses, "
                  "nothing recorded); give the provider's refund id here only for a refund already made in "
                  "the provider's dashboard, to record it in the books alone.")


class AllocateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    document = serializers.IntegerField(required=False, help_text="The invoice; none: automatically.")
    amount = AmountField(required=False, help_text="Default: as much as the payment and the invoice allow.")


class ReallocateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField(max_length=500)
    document = serializers.IntegerField(required=False, help_text="The invoice; none: automatically.")


class ReleaseSerializer(serializers.Serializer):  # type: ignore[type-arg]
    allocation = serializers.IntegerField()
    reason = serializers.CharField(max_length=500)


class AssignSerializer(serializers.Serializer):  # type: ignore[type-arg]
    client = serializers.IntegerField()
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReasonSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField(max_length=500)


FILTERS = [
    OpenApiParameter("client", int), OpenApiParameter("status", str, enum=PaymentStatus.values),
    OpenApiParameter("method", str), OpenApiParameter("match_rule", str, enum=[v for v in MatchRule.values if v]),
    OpenApiParameter("external_id", str),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="Payment date from (inclusive)."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Payment date to (inclusive)."),
]


@extend_schema_view(
    list=extend_schema(parameters=FILTERS),
    retrieve=extend_schema(responses={200: PaymentDetailSerializer}),
    create=extend_schema(request=PaymentCreateSerializer, responses={201: PaymentDetailSerializer}, examples=[
        OpenApiExample("Bank transfer", request_only=True, value={
            "client": 1, "amount": "2440.00", "method": "bank", "date": "2026-11-25", "payer_inn": "7707083893",
            "purpose": "Оплата по счету № 42 от 20.11.2026, в т.ч. НДС 22% 440.00", "external_id": "pp-123"})]),
)
class PaymentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    area = Area.LEDGER
    serializer_class = PaymentSerializer
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> Any:
        if self.action == "list":
            p = self.request.query_params
            qs = Payment.objects.all()
            filters: dict[str, Any] = {
                "client_id": int_param(p, "client"), "status": choice_param(p, "status", PaymentStatus.values),
                "method": p.get("method") or None, "external_id": p.get("external_id") or None,
                "match_rule": choice_param(p, "match_rule", [v for v in MatchRule.values if v]),
                "date__gte": date_param(p, "date_from"), "date__lte": date_param(p, "date_to"),
            }
            return qs.filter(**{k: v for k, v in filters.items() if v is not None})
        return Payment.objects.prefetch_related(
            Prefetch("allocations", queryset=Allocation.objects.select_related("document")), "refunds")

    def get_serializer_class(self) -> Any:
        return PaymentDetailSerializer if self.action != "list" else PaymentSerializer

    def _detail(self, pay: Payment, code: int = status.HTTP_200_OK) -> Response:
        return Response(PaymentDetailSerializer(self.get_queryset().get(pk=pay.pk)).data, status=code)

    def create(self, request: Request) -> Response:
        data = PaymentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        client_id = values.pop("client")
        client = get_object_or_404(Client, pk=client_id) if client_id is not None else None
        invoice_id = values.pop("invoice", None)
        invoice = get_object_or_404(Document, pk=invoice_id) if invoice_id is not None else None
        pay = services.payment_record(actor=self.actor, client=client, invoice=invoice, **values)
        self.action = "retrieve"
        return self._detail(pay, status.HTTP_201_CREATED)

    @extend_schema(request=RefundCreateSerializer, responses={201: RefundSerializer})
    @action(detail=True, methods=["post"])
    def refund(self, request: Request, pk: str) -> Response:
        """Refund a payment in full or in part (several refunds, never more than what is left)."""
        data = RefundCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refund = services.payment_refund(actor=self.actor, payment=get_object_or_404(Payment, pk=pk),
                                         **data.validated_data)
        return Response(RefundSerializer(refund).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=AllocateSerializer, responses={200: PaymentDetailSerializer})
    @action(detail=True, methods=["post"])
    def allocate(self, request: Request, pk: str) -> Response:
        """Allocate what is left of the payment: to an invoice, or automatically."""
        data = AllocateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        doc_id = data.validated_data.get("document")
        pay = get_object_or_404(Payment, pk=pk)
        services.payment_allocate(actor=self.actor, payment=pay,
                                  document=get_object_or_404(Document, pk=doc_id) if doc_id is not None else None,
                                  amount=data.validated_data.get("amount"))
        return self._detail(pay)

    @extend_schema(request=ReallocateSerializer, responses={200: PaymentDetailSerializer})
    @action(detail=True, methods=["post"])
    def reallocate(self, request: Request, pk: str) -> Response:
        """Release all the payment's allocations and allocate it again (to an invoice, or automatically)."""
        data = ReallocateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        doc_id = data.validated_data.get("document")
        pay = get_object_or_404(Payment, pk=pk)
        services.payment_reallocate(actor=self.actor, payment=pay, reason=data.validated_data["reason"],
                                    document=get_object_or_404(Document, pk=doc_id) if doc_id is not None else None)
        return self._detail(pay)

    @extend_schema(request=ReleaseSerializer, responses={200: PaymentDetailSerializer})
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk: str) -> Response:
        """Take one allocation of the payment off its invoice; the money stays as an advance."""
        data = ReleaseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pay = get_object_or_404(Payment, pk=pk)
        allocation = get_object_or_404(Allocation, pk=data.validated_data["allocation"], payment=pay)
        services.allocation_release(actor=self.actor, allocation=allocation, reason=data.validated_data["reason"])
        return self._detail(pay)

    @extend_schema(request=AssignSerializer, responses={200: PaymentDetailSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: str) -> Response:
        """Assign an unidentified payment to its client (the money moves from the suspense account)."""
        data = AssignSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pay = get_object_or_404(Payment, pk=pk)
        services.payment_assign(actor=self.actor, payment=pay,
                                client=get_object_or_404(Client, pk=data.validated_data["client"]),
                                reason=data.validated_data["reason"])
        return self._detail(pay)

    @extend_schema(request=ReasonSerializer, responses={200: PaymentDetailSerializer})
    @action(detail=True, methods=["post"])
    def reverse(self, request: Request, pk: str) -> Response:
        """Reverse a payment posted by mistake (сторно): allocations released, ledger reversed."""
        data = ReasonSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pay = get_object_or_404(Payment, pk=pk)
        services.payment_reverse(actor=self.actor, payment=pay, reason=data.validated_data["reason"])
        return self._detail(pay)
