"""REST API of bank statements: upload a 1CClientBankExchange file (multipart) → its preview;
list, detail, the lines with what became of each; apply. Area ``ledger``."""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from kopeck.common.errors import ValidationFailed
from kopeck.common.http.base import KopeckAPIView, KopeckViewSet
from kopeck.common.http.pagination import Pagination
from kopeck.common.http.params import choice_param, date_param
from kopeck.ledger.amounts import from_minor
from kopeck.operators.roles import Area
from kopeck.payments.models import BankStatement, LineOutcome, StatementLine
from kopeck.payments.selectors import statement_line_payments
from kopeck.payments.statements.apply import bank_statement_apply
from kopeck.payments.statements.preview import bank_statement_preview


class BankStatementSerializer(serializers.ModelSerializer[BankStatement]):
    totals = serializers.DictField(read_only=True, help_text="Per outcome: count and amount.")
    balances = serializers.ListField(child=serializers.DictField(), read_only=True,
                                     help_text="The balance sections and whether each adds up (adds_up).")

    class Meta:
        model = BankStatement
        fields = ["id", "file_name", "sha256", "size", "version", "encoding", "sender", "date_from", "date_to",
                  "accounts", "balances", "totals", "status", "created_by", "created_at", "applied_by", "applied_at"]


class BankStatementLineSerializer(serializers.ModelSerializer[StatementLine]):
    amount = serializers.SerializerMethodField()
    payment = serializers.SerializerMethodField(
        help_text="The payment the line made (applied), or that took it before (a duplicate).")

    class Meta:
        model = StatementLine
        fields = ["id", "line", "kind", "number", "date", "amount", "currency", "direction", "our_account",
                  "payer_name", "payer_inn", "payer_kpp", "payer_account", "payer_bik", "payer_bank", "purpose",
                  "outcome", "match_rule", "note", "dedupe_key", "client", "invoice", "payment"]

    def get_amount(self, obj: StatementLine) -> str:
        return from_minor(obj.amount_minor, obj.currency).to_str()

    def get_payment(self, obj: StatementLine) -> int | None:
        payments = self.context.get("payments", {})
        pay = payments.get(obj.pk)
        return pay.pk if pay is not None else None


class UploadSerializer(serializers.Serializer):  # type: ignore[type-arg]
    file = serializers.FileField(help_text="The 1CClientBankExchange file (kl_to_1c.txt), 1.02 or 1.03.")


@extend_schema_view(
    create=extend_schema(request={"multipart/form-data": UploadSerializer}, responses={201: BankStatementSerializer}),
)
class BankStatementViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    """Bank statements (выписки) in 1CClientBankExchange."""

    area = Area.LEDGER
    serializer_class = BankStatementSerializer
    http_method_names = ["get", "post", "head", "options"]
    queryset = BankStatement.objects.all()

    def get_parsers(self) -> list[Any]:
        method = (getattr(self.request, "method", None) or "").lower()
        if (getattr(self, "action", None) or (getattr(self, "action_map", None) or {}).get(method)) == "create":
            return [MultiPartParser()]
        return super().get_parsers()

    def create(self, request: Request) -> Response:
        """Upload a statement: its preview (matched, unidentified, duplicate, ignored, with totals).

        The same file again returns the statement made of it the first time (by its SHA-256), so the
        upload is idempotent without an Idempotency-Key. A malformed file: 400 naming the line."""
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationFailed.field("file", _("Attach the statement file (multipart field 'file')."))
        statement = bank_statement_preview(actor=self.actor, stream=upload, file_name=upload.name or "statement.txt")
        return Response(BankStatementSerializer(statement).data, status=status.HTTP_201_CREATED)

    create.idempotent = False  # type: ignore[attr-defined]

    @extend_schema(request=None, responses={200: BankStatementSerializer})
    @action(detail=True, methods=["post"])
    def apply(self, request: Request, pk: str) -> Response:
        """Apply the statement: credit its matched and unidentified lines (once; again: nothing more)."""
        statement = bank_statement_apply(actor=self.actor, statement=get_object_or_404(BankStatement, pk=pk))
        return Response(BankStatementSerializer(statement).data)

    @extend_schema(responses={200: BankStatementLineSerializer(many=True)}, parameters=[
        OpenApiParameter("outcome", OpenApiTypes.STR, enum=LineOutcome.values)])
    @action(detail=True, methods=["get"], pagination_class=Pagination)
    def lines(self, request: Request, pk: str) -> Response:
        """The statement's payment documents and what became of each (paginated, in file order)."""
        statement = get_object_or_404(BankStatement, pk=pk)
        qs = StatementLine.objects.filter(statement=statement).order_by("line")
        outcome = choice_param(request.query_params, "outcome", LineOutcome.values)
        if outcome:
            qs = qs.filter(outcome=outcome)
        paginator = Pagination()
        page = paginator.paginate_queryset(qs, request, view=self) or []
        data = BankStatementLineSerializer(page, many=True, context={"payments": statement_line_payments(page)}).data
        return paginator.get_paginated_response(data)


class ExchangeView(KopeckAPIView):
    """Exchange with 1С:Бухгалтерия: a period as an EnterpriseData message (zip with its manifest)."""

    area = Area.LEDGER

    @extend_schema(parameters=[
        OpenApiParameter("date_from", OpenApiTypes.DATE, required=True),
        OpenApiParameter("date_to", OpenApiTypes.DATE, required=True),
        OpenApiParameter("version", OpenApiTypes.STR, description="EnterpriseData format version; default 1.17.")],
        responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The zip.")})
    def get(self, request: Request) -> HttpResponse:
        """The period's clients, services, sales documents, счета-фактуры and payments for 1C (EnterpriseData)."""
        from kopeck.payments.exchange.enterprisedata import enterprisedata_export

        start = date_param(request.query_params, "date_from", required=True)
        end = date_param(request.query_params, "date_to", required=True)
        assert start is not None and end is not None
        data = enterprisedata_export(date_from=start, date_to=end,
                                     version=request.query_params.get("version") or "1.17")
        response = HttpResponse(data, content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="enterprisedata-{start}-{end}.zip"'
        return response


class RefundOrdersView(KopeckAPIView):
    """Refunds of a period as outgoing payment orders (1CClientBankExchange, Windows-1251)."""

    area = Area.LEDGER

    @extend_schema(parameters=[OpenApiParameter("date_from", OpenApiTypes.DATE, required=True),
                               OpenApiParameter("date_to", OpenApiTypes.DATE, required=True)],
                   responses={(200, "text/plain"): OpenApiResponse(OpenApiTypes.BINARY, description="The file.")})
    def get(self, request: Request) -> HttpResponse:
        """The period's refunds as payment orders for the bank's client program."""
        from kopeck.payments.statements.orders import refund_orders_file

        start = date_param(request.query_params, "date_from", required=True)
        end = date_param(request.query_params, "date_to", required=True)
        assert start is not None and end is not None
        response = HttpResponse(refund_orders_file(date_from=start, date_to=end),
                                content_type="text/plain; charset=windows-1251")
        response["Content-Disposition"] = f'attachment; filename="refunds-{start}-{end}.txt"'
        return response
