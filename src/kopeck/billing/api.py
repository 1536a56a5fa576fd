"""REST API of billing runs: create (the run is executed in-process), list, detail with the
progress and the summary, the items, confirm / reject / exclude / include (confirm mode), the CSV
and XLSX exports and the comparison of two runs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import FileResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from kopeck.billing import services
from kopeck.billing.exports import XLSX_CONTENT_TYPE, run_export_xlsx_file, xlsx_filename
from kopeck.billing.models import BillingRun, ItemStatus, RunItem, RunMode, RunStatus
from kopeck.billing.selectors import RunReview, run_progress, run_review
from kopeck.common.errors import ValidationFailed
from kopeck.common.http.base import KopeckAPIView, KopeckViewSet
from kopeck.common.http.fields import DateField
from kopeck.common.http.params import choice_param
from kopeck.ledger.amounts import from_minor
from kopeck.operators.roles import Area


class BillingRunSerializer(serializers.ModelSerializer[BillingRun]):
    progress = serializers.SerializerMethodField()
    rate = serializers.SerializerMethodField()
    seconds_left = serializers.SerializerMethodField()
    fingerprint = serializers.SerializerMethodField()
    to_post = serializers.SerializerMethodField()

    class Meta:
        model = BillingRun
        fields = ["id", "billing_date", "mode", "scope", "status", "total", "processed", "progress", "rate",
                  "seconds_left", "apply_total", "applied", "started_at", "finished_at", "summary", "created_by",
                  "created_at", "scheduled", "decided_by", "decided_at", "fingerprint", "to_post"]

    def _progress(self, obj: BillingRun) -> dict[str, Any]:
        """:func:`run_progress` once per run and response (the clock is read once)."""
        cache: dict[int, dict[str, Any]] = self.context.setdefault("_run_progress", {})
        if obj.pk not in cache:
            cache[obj.pk] = run_progress(obj)
        return cache[obj.pk]

    def get_rate(self, obj: BillingRun) -> float | None:
        """Subscriptions per second in the current phase (computing or applying); null before any."""
        return self._progress(obj)["rate"]  # type: ignore[no-any-return]

    def get_seconds_left(self, obj: BillingRun) -> float | None:
        """Seconds left of the current phase at that rate; 0 when done; null when unknown."""
        return self._progress(obj)["seconds_left"]  # type: ignore[no-any-return]

    @staticmethod
    def _review(obj: BillingRun) -> RunReview:
        review = obj.__dict__.get("_review")  # the fingerprint and the totals come from one pass
        if review is None:
            review = obj.__dict__["_review"] = run_review(obj)
        return review

    def get_fingerprint(self, obj: BillingRun) -> str | None:
        """What a confirmation sends back (runs awaiting confirmation only)."""
        if obj.status != RunStatus.AWAITING_CONFIRMATION:
            return None
        return self._review(obj).fingerprint

    def get_to_post(self, obj: BillingRun) -> dict[str, Any] | None:
        """What confirming would post now (runs awaiting confirmation only): the included lines'
        count and totals by currency, after the exclusions."""
        if obj.status != RunStatus.AWAITING_CONFIRMATION:
            return None
        return self._review(obj).to_post

    def get_progress(self, obj: BillingRun) -> dict[str, Any]:
        """processed / total (computing), the phase (computing or applying), its percent, the rate
        (subscriptions per second, also ``rate``) and the seconds left (also ``seconds_left``)."""
        progress = self._progress(obj)
        return {"processed": obj.processed, "total": obj.total, "phase": progress["phase"],
                "percent": progress["percent"], "rate_per_second": progress["rate"],
                "seconds_left": progress["seconds_left"]}


class RunScopeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    clients = serializers.ListField(child=serializers.IntegerField(), required=False)
    plans = serializers.ListField(child=serializers.CharField(max_length=100), required=False)
    tags = serializers.ListField(child=serializers.CharField(max_length=100), required=False)


class BillingRunCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    billing_date = DateField()
    mode = serializers.ChoiceField(choices=RunMode.choices, default=RunMode.SANDBOX,
                                   help_text="sandbox: compute only; auto: compute and post; confirm: compute, "
                                             "then wait for a confirmation.")
    scope = RunScopeSerializer(required=False, help_text="Empty: every subscription.")


class RunItemSerializer(serializers.ModelSerializer[RunItem]):
    amount = serializers.SerializerMethodField(help_text="The item's total (charges minus credits), a decimal "
                                                         "string in the currency's minor units.")

    class Meta:
        model = RunItem
        fields = ["id", "client", "subscription", "status", "error", "items", "amount", "currency", "vat_rate",
                  "excluded", "excluded_lines", "changed", "previous_items", "applied_at", "transaction_ids"]

    def get_amount(self, obj: RunItem) -> str:
        return from_minor(obj.amount_minor, obj.currency).to_str() if obj.currency else "0"


class ConfirmSerializer(serializers.Serializer):  # type: ignore[type-arg]
    fingerprint = serializers.CharField(help_text="The run's fingerprint as reviewed.")


class ExcludeSerializer(serializers.Serializer):  # type: ignore[type-arg]
    client = serializers.IntegerField(required=False, help_text="A client: all its subscriptions in the run.")
    item = serializers.IntegerField(required=False, help_text="A run item: one subscription, all its lines.")
    line = serializers.DictField(required=False, child=serializers.CharField(),
                                 help_text="With `item`: one line of it, {component, period_start}.")


class CompareSerializer(serializers.Serializer):  # type: ignore[type-arg]
    a = serializers.IntegerField()
    b = serializers.IntegerField()
    clients = serializers.ListField(child=serializers.DictField())
    counts = serializers.DictField(child=serializers.IntegerField())
    totals_a = serializers.DictField(child=serializers.CharField())
    totals_b = serializers.DictField(child=serializers.CharField())


@extend_schema_view(
    create=extend_schema(request=BillingRunCreateSerializer, responses={201: BillingRunSerializer}),
)
class BillingRunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    area = Area.BILLING
    serializer_class = BillingRunSerializer
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> Any:
        return BillingRun.objects.order_by("-id")

    def create(self, request: Request) -> Response:
        data = BillingRunCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        run = services.billing_run_create(actor=self.actor, billing_date=values["billing_date"],
                                          mode=values.get("mode", RunMode.SANDBOX), scope=values.get("scope"))
        run = services.billing_run_start(actor=self.actor, run=run)
        return Response(BillingRunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: BillingRunSerializer})
    @action(detail=True, methods=["post"])
    def resume(self, request: Request, pk: str) -> Response:
        """Resume an interrupted or failed run (the chunks done are kept); a finished run is returned as is."""
        run = services.billing_run_start(actor=self.actor, run=get_object_or_404(BillingRun, pk=pk))
        return Response(BillingRunSerializer(run).data)

    @extend_schema(request=ConfirmSerializer, responses={200: BillingRunSerializer})
    @action(detail=True, methods=["post"])
    def confirm(self, request: Request, pk: str) -> Response:
        """Apply exactly the reviewed run; 409 (nothing applied) when it changed since the review."""
        run = get_object_or_404(BillingRun, pk=pk)
        data = ConfirmSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        run = services.billing_run_confirm_start(actor=self.actor, run=run,
                                                 fingerprint=data.validated_data["fingerprint"])
        return Response(BillingRunSerializer(run).data)

    @extend_schema(request=None, responses={200: BillingRunSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        """Reject a run awaiting confirmation: nothing is posted."""
        run = services.billing_run_reject(actor=self.actor, run=get_object_or_404(BillingRun, pk=pk))
        return Response(BillingRunSerializer(run).data)

    def _exclusion(self, request: Request, pk: str, excluded: bool) -> Response:
        run = get_object_or_404(BillingRun, pk=pk)
        data = ExcludeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        func = services.billing_run_exclude if excluded else services.billing_run_include
        run = func(actor=self.actor, run=run, client=data.validated_data.get("client"),
                   item=data.validated_data.get("item"), line=data.validated_data.get("line"))
        return Response(BillingRunSerializer(run).data)

    @extend_schema(request=ExcludeSerializer, responses={200: BillingRunSerializer})
    @action(detail=True, methods=["post"])
    def exclude(self, request: Request, pk: str) -> Response:
        """Exclude a client, an item (a subscription, all its lines) or one line of an item from a run
        awaiting confirmation."""
        return self._exclusion(request, pk, True)

    @extend_schema(request=ExcludeSerializer, responses={200: BillingRunSerializer})
    @action(detail=True, methods=["post"])
    def include(self, request: Request, pk: str) -> Response:
        """Include back an excluded client, item or line."""
        return self._exclusion(request, pk, False)

    @extend_schema(parameters=[OpenApiParameter("status", enum=ItemStatus.values)],
                   responses={200: RunItemSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def items(self, request: Request, pk: str) -> Response:
        """The result per subscription, with the explanation of every amount."""
        run = get_object_or_404(BillingRun, pk=pk)
        qs = RunItem.objects.filter(run=run).order_by("subscription_id")
        wanted = choice_param(request.query_params, "status", list(ItemStatus.values))
        if wanted:
            qs = qs.filter(status=wanted)
        page = self.paginate_queryset(qs)
        return self.get_paginated_response(RunItemSerializer(page, many=True).data)

    @extend_schema(parameters=[OpenApiParameter("a", int, required=True), OpenApiParameter("b", int, required=True)],
                   responses={200: CompareSerializer})
    @action(detail=False, methods=["get"])
    def compare(self, request: Request) -> Response:
        """Per client and line: what run b adds, removes or changes compared with run a."""
        ids: dict[str, int] = {}
        errors: dict[str, list[str]] = {}
        for name in ("a", "b"):
            raw = request.query_params.get(name, "")
            if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
                errors[name] = [_("Give a billing run id.")]
            else:
                ids[name] = int(raw)
        if errors:
            raise ValidationFailed(_("Give two billing runs to compare."), errors=errors)
        a = get_object_or_404(BillingRun, pk=ids["a"])
        b = get_object_or_404(BillingRun, pk=ids["b"])
        return Response(services.billing_runs_compare(a, b))


class FileNegotiation(DefaultContentNegotiation):
    """A file download answers whatever the ``Accept`` header asks (``text/csv``, the XLSX type…);
    its errors are problem+json."""

    def select_renderer(self, request: Request, renderers: Iterable[BaseRenderer],
                        format_suffix: str | None = None) -> tuple[BaseRenderer, str]:
        renderers = list(renderers)
        try:
            renderer, media_type = super().select_renderer(request, renderers, format_suffix)
        except NotAcceptable:
            renderer, media_type = renderers[0], renderers[0].media_type
        return renderer, str(media_type)


class BillingRunExportView(KopeckAPIView):
    """``GET /billing-runs/{id}/export.csv``: the run's lines as CSV (client, subscription,
    component, period start and end (exclusive), kind, amount, currency, VAT rate, explanations)."""

    area = Area.BILLING
    content_negotiation_class = FileNegotiation

    @extend_schema(responses={(200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="The run's lines.")})
    def get(self, request: Request, pk: int) -> StreamingHttpResponse:
        """The run's lines as CSV."""
        run = get_object_or_404(BillingRun, pk=pk)
        response = StreamingHttpResponse(services.run_export_csv(run), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="billing-run-{run.pk}.csv"'
        return response


class BillingRunXlsxExportView(KopeckAPIView):
    """``GET /billing-runs/{id}/export.xlsx``: the run as an Excel workbook — sheet "Lines" (the
    CSV's columns; amounts are numbers, periods are dates) and sheet "Summary" (the run, its
    counts, totals by currency and charges by VAT rate). Headers follow ``Accept-Language``."""

    area = Area.BILLING
    content_negotiation_class = FileNegotiation

    @extend_schema(responses={(200, XLSX_CONTENT_TYPE): OpenApiResponse(
        OpenApiTypes.BINARY, description="The run's workbook (sheets Lines and Summary).")})
    def get(self, request: Request, pk: int) -> FileResponse:
        """The run as an Excel workbook."""
        run = get_object_or_404(BillingRun, pk=pk)
        return FileResponse(run_export_xlsx_file(run), as_attachment=True, filename=xlsx_filename(run),
                            content_type=XLSX_CONTENT_TYPE)
