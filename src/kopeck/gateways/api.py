"""REST API of online payments: ``POST /api/v1/payments/online/`` creates Kopeck's order and the
provider's payment and answers where to send the payer; ``GET /api/v1/payments/online/{id}/`` reads it
back (its status is changed only by verified notifications, API fetches and refunds)."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from kopeck.clients.models import Client
from kopeck.common.access import Area
from kopeck.common.errors import ValidationFailed
from kopeck.common.http.base import KopeckAPIView
from kopeck.common.http.fields import AmountField
from kopeck.core.money import from_minor
from kopeck.gateways.models import GatewayPayment, GatewaySetting
from kopeck.gateways.services import online_payment_create, online_refund


class OnlinePaymentCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    client = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    invoice = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False, allow_null=True, default=None,
                                       help_text="An issued invoice of the client; the amount defaults to what is "
                                                 "left to pay on it.")
    amount = AmountField(required=False, allow_null=True, default=None,
                         help_text="Decimal string; required without an invoice (a top-up).")
    currency = serializers.CharField(max_length=3, required=False, allow_blank=True, default="")
    gateway = serializers.IntegerField(min_value=1, max_value=2**63 - 1, required=False, allow_null=True, default=None,
                                       help_text="The gateway setting; default the first enabled one.")
    return_url = serializers.URLField(max_length=2000, required=False, allow_blank=True, default="",
                                      help_text="Where the provider sends the payer back (nothing is credited "
                                                "on that return).")
    save_method = serializers.BooleanField(required=False, default=False,
                                           help_text="Ask the payer to save the method for autopayments.")


class OnlinePaymentSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    order_id = serializers.CharField()
    client = serializers.IntegerField()
    invoice = serializers.IntegerField(allow_null=True)
    gateway = serializers.IntegerField()
    provider = serializers.CharField()
    amount = serializers.CharField()
    currency = serializers.CharField()
    status = serializers.CharField()
    confirmation_url = serializers.CharField(help_text="Redirect the payer here (empty for widget providers).")
    widget = serializers.DictField(help_text="The provider's widget or form parameters, where it takes them.")
    is_test = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    credited_at = serializers.DateTimeField(allow_null=True)


def _out(payment: GatewayPayment) -> dict[str, Any]:
    return {"id": payment.pk, "order_id": payment.order_id, "client": payment.client_id, "invoice": payment.invoice_id,
            "gateway": payment.setting_id, "provider": payment.setting.provider,
            "amount": from_minor(payment.amount_minor, payment.currency).to_str(), "currency": payment.currency,
            "status": payment.status, "confirmation_url": payment.confirmation_url, "widget": payment.widget,
            "is_test": payment.is_test, "created_at": payment.created_at, "credited_at": payment.credited_at}


class OnlinePaymentsView(KopeckAPIView):
    area = Area.LEDGER

    @extend_schema(request=OnlinePaymentCreateSerializer, responses={201: OnlinePaymentSerializer}, examples=[
        OpenApiExample("An invoice", value={"client": 42, "invoice": 1001, "return_url": "https://my.example.ru/paid"},
                       request_only=True),
        OpenApiExample("A top-up", value={"client": 42, "amount": "1500.00", "save_method": True}, request_only=True),
    ])
    def post(self, request: Request) -> Response:
        """Create an online payment and get where to send the payer."""
        from kopeck.documents.models import Document

        data = OnlinePaymentCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        client = Client.objects.filter(pk=v["client"]).first()
        if client is None:
            raise ValidationFailed.field("client", _("No such client."))
        invoice = None
        if v["invoice"] is not None:
            invoice = Document.objects.filter(pk=v["invoice"], type="invoice").first()
            if invoice is None:
                raise ValidationFailed.field("invoice", _("No such invoice."))
        setting = None
        if v["gateway"] is not None:
            setting = GatewaySetting.objects.filter(pk=v["gateway"]).first()
            if setting is None:
                raise ValidationFailed.field("gateway", _("No such gateway."))
        payment = online_payment_create(actor=self.actor, client=client, setting=setting, invoice=invoice,
                                        amount=v["amount"], currency=v["currency"] or None,
                                        return_url=v["return_url"], save_method=v["save_method"])
        return Response(_out(payment), status=status.HTTP_201_CREATED)


class OnlineRefundSerializer(serializers.Serializer):  # type: ignore[type-arg]
    amount = AmountField(help_text="Decimal string; at most what is left to refund.")
    reason = serializers.CharField(max_length=500)


class OnlineRefundOutSerializer(serializers.Serializer):  # type: ignore[type-arg]
    id = serializers.IntegerField()
    payment = serializers.IntegerField()
    amount = serializers.CharField()
    status = serializers.CharField()
    provider_refund_id = serializers.CharField()


class OnlineRefundView(KopeckAPIView):
    area = Area.LEDGER

    @extend_schema(request=OnlineRefundSerializer, responses={201: OnlineRefundOutSerializer})
    def post(self, request: Request, pk: int) -> Response:
        """Refund (part of) a paid online payment through its provider, then in the books."""
        payment = get_object_or_404(GatewayPayment.objects.select_related("setting", "client"), pk=pk)
        data = OnlineRefundSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        refund = online_refund(actor=self.actor, payment=payment, amount=data.validated_data["amount"],
                               reason=data.validated_data["reason"])
        return Response({"id": refund.pk, "payment": payment.pk, "status": refund.status,
                         "amount": from_minor(refund.amount_minor, payment.currency).to_str(),
                         "provider_refund_id": refund.provider_refund_id}, status=status.HTTP_201_CREATED)


class OnlinePaymentView(KopeckAPIView):
    area = Area.LEDGER

    @extend_schema(responses={200: OnlinePaymentSerializer})
    def get(self, request: Request, pk: int) -> Response:
        """An online payment and its status."""
        return Response(_out(get_object_or_404(GatewayPayment.objects.select_related("setting"), pk=pk)))
