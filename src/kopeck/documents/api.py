"""REST API of documents: list with filters, detail (with the ledger transactions), the PDF, create a
draft, issue, cancel, mark paid (invoices), resend by e-mail."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from kopeck.clients.models import Client
from kopeck.common.http.base import KopeckViewSet
from kopeck.common.http.fields import AmountField, DateField
from kopeck.common.http.params import choice_param, date_param, int_param
from kopeck.configuration.selectors import provider_today
from kopeck.documents import selectors, services
from kopeck.documents.handlers import attachment_name
from kopeck.documents.models import Document, DocumentDelivery, DocumentStatus, DocumentType, Language
from kopeck.ledger.amounts import from_minor
from kopeck.operators.roles import Area


class DeliverySerializer(serializers.ModelSerializer[DocumentDelivery]):
    class Meta:
        model = DocumentDelivery
        fields = ["id", "recipient", "status", "attempts", "error", "message_id", "created_at", "sent_at"]


class DocumentSerializer(serializers.ModelSerializer[Document]):
    transactions = serializers.SerializerMethodField(help_text="Ids of the ledger transactions of this document.")
    amount = serializers.SerializerMethodField()
    vat_amount = serializers.SerializerMethodField()
    paid_amount = serializers.SerializerMethodField(
        help_text="The sum of the payments allocated to the invoice (never set by hand).")
    payment_status = serializers.SerializerMethodField(
        help_text="Invoices: paid, partly_paid, overdue (due date passed, not paid in full) or unpaid, derived "
                  "from the allocations and the due date; null for other documents.")

    class Meta:
        model = Document
        fields = ["id", "type", "upd_status", "status", "number", "correction_number", "issue_date", "due_date",
                  "period_start", "period_end", "client", "legal_entity", "currency", "language", "amount",
                  "vat_amount", "paid_amount", "payment_status", "run", "run_part", "corrects", "transactions", "notes", "created_at",
                  "issued_at", "cancelled_at", "cancel_reason"]

    def _money(self, obj: Document, units: int) -> str:
        return from_minor(units, obj.currency).to_str()

    def get_amount(self, obj: Document) -> str:
        return self._money(obj, obj.amount_minor)

    def get_vat_amount(self, obj: Document) -> str:
        return self._money(obj, obj.vat_minor)

    def get_paid_amount(self, obj: Document) -> str:
        return self._money(obj, obj.paid_minor)

    def get_payment_status(self, obj: Document) -> str | None:
        if not hasattr(self, "_today"):  # once per response (a list's rows share the child serializer)
            self._today = provider_today()
        return selectors.invoice_payment_status(obj, on=self._today)

    def get_transactions(self, obj: Document) -> list[int]:
        return sorted(t.pk for t in obj.transactions.all())


class DocumentDetailSerializer(DocumentSerializer):
    deliveries = DeliverySerializer(many=True, read_only=True)

    class Meta(DocumentSerializer.Meta):
        fields = [*DocumentSerializer.Meta.fields, "data", "deliveries"]


class LineSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name = serializers.CharField(max_length=1000)
    price = AmountField(help_text="Per unit, a decimal string; VAT included unless prices_include_vat is false.")
    quantity = AmountField(required=False, default=Decimal(1), help_text="A decimal string; default 1.")
    vat_rate = serializers.CharField(required=False, allow_blank=True, default="",
                                     help_text="22, 10, 0, 5, 7 or exempt; default by the VAT regime.")
    unit = serializers.CharField(required=False, max_length=50, default="усл. ед.")
    unit_code = serializers.CharField(required=False, max_length=10, default="876", help_text="ОКЕИ code.")


class DraftSerializer(serializers.Serializer):  # type: ignore[type-arg]
    type = serializers.ChoiceField(choices=[t for t in DocumentType.values if t != DocumentType.RECONCILIATION])
    client = serializers.IntegerField()
    lines = LineSerializer(many=True, required=False)
    legal_entity = serializers.IntegerField(required=False, help_text="Default: the default legal entity.")
    currency = serializers.CharField(required=False, max_length=3)
    language = serializers.ChoiceField(choices=Language.choices, default=Language.RU)
    due_date = DateField(required=False)
    period_start = DateField(required=False)
    period_end = DateField(required=False)
    prices_include_vat = serializers.BooleanField(required=False, allow_null=True, default=None)
    transactions = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    corrects = serializers.IntegerField(required=False, help_text="Corrected / corrective: the original's id.")
    upd_status = serializers.ChoiceField(choices=[1, 2], required=False)
    notes = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class MonthlyActsSerializer(serializers.Serializer):  # type: ignore[type-arg]
    month = serializers.RegexField(r"^\d{4}-\d{2}$", help_text="The month, YYYY-MM (provider-local).")
    kind = serializers.ChoiceField(choices=["act", "upd"], default="act")


class ReconciliationSerializer(serializers.Serializer):  # type: ignore[type-arg]
    client = serializers.IntegerField()
    start = DateField()
    end = DateField()
    language = serializers.ChoiceField(choices=Language.choices, default=Language.RU)


class IssueSerializer(serializers.Serializer):  # type: ignore[type-arg]
    issue_date = DateField(required=False, help_text="Default: today (provider-local).")


class DocumentCancelSerializer(serializers.Serializer):  # type: ignore[type-arg]
    reason = serializers.CharField(max_length=500)


class PaidSerializer(serializers.Serializer):  # type: ignore[type-arg]
    amount = AmountField(required=False, help_text="A decimal string; default: the whole unpaid rest.")


class ResendSerializer(serializers.Serializer):  # type: ignore[type-arg]
    recipients = serializers.ListField(child=serializers.EmailField(), required=False,
                                       help_text="Default: the client's contacts that receive documents.")


FILTERS = [
    OpenApiParameter("client", int), OpenApiParameter("type", str, enum=DocumentType.values),
    OpenApiParameter("status", str, enum=DocumentStatus.values), OpenApiParameter("number", str),
    OpenApiParameter("run", int), OpenApiParameter("legal_entity", int),
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="Issue date from (inclusive)."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Issue date to (inclusive)."),
]


@extend_schema_view(
    list=extend_schema(parameters=FILTERS),
    retrieve=extend_schema(responses={200: DocumentDetailSerializer}),
    create=extend_schema(request=DraftSerializer, responses={201: DocumentDetailSerializer}),
)
class DocumentViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    area = Area.DOCUMENTS
    serializer_class = DocumentSerializer
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> Any:
        if self.action == "list":
            p = self.request.query_params
            checked: dict[str, Any] = {
                "client": int_param(p, "client"), "run": int_param(p, "run"),
                "legal_entity": int_param(p, "legal_entity"),
                "type": choice_param(p, "type", DocumentType.values),
                "status": choice_param(p, "status", DocumentStatus.values),
                "number": p.get("number") or None,
                "date_from": date_param(p, "date_from"), "date_to": date_param(p, "date_to"),
            }
            return selectors.documents_filter({k: v for k, v in checked.items() if v is not None}).prefetch_related(
                "transactions")
        return Document.objects.prefetch_related("transactions", "deliveries")

    def get_serializer_class(self) -> Any:
        return DocumentDetailSerializer if self.action != "list" else DocumentSerializer

    def _detail(self, doc: Document, code: int = status.HTTP_200_OK) -> Response:
        doc = Document.objects.prefetch_related("transactions", "deliveries").get(pk=doc.pk)
        return Response(DocumentDetailSerializer(doc).data, status=code)

    def create(self, request: Request) -> Response:
        data = DraftSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        client = get_object_or_404(Client, pk=values.pop("client"))
        if "legal_entity" in values:
            from kopeck.documents.models import LegalEntity

            values["legal_entity"] = get_object_or_404(LegalEntity, pk=values["legal_entity"])
        if "corrects" in values:
            values["corrects"] = get_object_or_404(Document, pk=values["corrects"])
        values["lines"] = [dict(line) for line in values.get("lines", [])]
        doc = services.document_create_draft(actor=self.actor, client=client, **values)
        return self._detail(doc, status.HTTP_201_CREATED)

    @extend_schema(request=MonthlyActsSerializer, responses={201: DocumentSerializer(many=True)})
    @action(detail=False, methods=["post"], url_path="monthly-acts", pagination_class=None)
    def monthly_acts(self, request: Request) -> Response:
        """Issue an act (or УПД) per client for the month's charges not on one yet; the documents issued."""
        data = MonthlyActsSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        docs = services.documents_issue_monthly_acts(actor=self.actor, month=data.validated_data["month"],
                                                     kind=data.validated_data["kind"])
        return Response(DocumentSerializer(docs, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ReconciliationSerializer, responses={201: DocumentDetailSerializer})
    @action(detail=False, methods=["post"])
    def reconciliation(self, request: Request) -> Response:
        """Make and issue an акт сверки of a client for a period, from its ledger statement."""
        data = ReconciliationSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        doc = services.document_reconciliation_create(actor=self.actor, client=get_object_or_404(Client, pk=v["client"]),
                                                      start=v["start"], end=v["end"], language=v["language"])
        return self._detail(doc, status.HTTP_201_CREATED)

    @extend_schema(request=IssueSerializer, responses={200: DocumentDetailSerializer})
    @action(detail=True, methods=["post"])
    def issue(self, request: Request, pk: str) -> Response:
        """Issue a draft: the next number of its sequence; 409 when the date is before the last one."""
        data = IssueSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        doc = services.document_issue(actor=self.actor, document=get_object_or_404(Document, pk=pk),
                                      issue_date=data.validated_data.get("issue_date"))
        return self._detail(doc)

    @extend_schema(request=DocumentCancelSerializer, responses={200: DocumentDetailSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str) -> Response:
        """Cancel a draft or an unpaid issued document (it keeps its number)."""
        data = DocumentCancelSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        doc = services.document_cancel(actor=self.actor, document=get_object_or_404(Document, pk=pk),
                                       reason=data.validated_data["reason"])
        return self._detail(doc)

    @extend_schema(request=PaidSerializer, responses={200: DocumentDetailSerializer})
    @action(detail=True, methods=["post"], url_path="mark-paid")
    def mark_paid(self, request: Request, pk: str) -> Response:
        """Record a full or partial payment of an invoice."""
        data = PaidSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        doc = services.document_mark_paid(actor=self.actor, document=get_object_or_404(Document, pk=pk),
                                          amount=data.validated_data.get("amount"))
        return self._detail(doc)

    @extend_schema(request=ResendSerializer, responses={200: DocumentDetailSerializer})
    @action(detail=True, methods=["post"])
    def resend(self, request: Request, pk: str) -> Response:
        """Queue the document's e-mail again (with the PDF attached)."""
        data = ResendSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        doc = get_object_or_404(Document, pk=pk)
        services.document_resend(actor=self.actor, document=doc, recipients=data.validated_data.get("recipients"))
        return self._detail(doc)

    @extend_schema(responses={(200, "application/pdf"): OpenApiResponse(OpenApiTypes.BINARY, description="The PDF.")})
    @action(detail=True, methods=["get"])
    def pdf(self, request: Request, pk: str) -> HttpResponse:
        """The document's PDF (the cached one of an issued document; a draft is rendered now)."""
        doc = get_object_or_404(Document, pk=pk)
        response = HttpResponse(services.document_pdf(doc), content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(False, attachment_name(doc)) or ""
        return response
