"""REST API of the catalog: products, plans and plan versions (area ``catalog``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
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

from kopeck.catalog import selectors, services
from kopeck.catalog.models import (
    ExistingSubscribers,
    Plan,
    PlanVersion,
    Product,
    ProductVatRate,
    VersionStatus,
)
from kopeck.common.errors import ValidationFailed
from kopeck.common.http.base import KopeckViewSet
from kopeck.common.http.fields import DateField
from kopeck.common.http.params import int_param as common_int_param
from kopeck.configuration.selectors import provider_today
from kopeck.operators.roles import Area

# -- helpers -------------------------------------------------------------------------------------


def bool_param(params: Mapping[str, str], name: str) -> bool | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    value = raw.strip().lower()
    if value in ("true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise ValidationFailed.field(name, _("Use true or false."))


def int_param(params: Mapping[str, str], name: str) -> int | None:
    return common_int_param(params, name)


def refuse_immutable(data: Any, names: Iterable[str]) -> None:
    """A PATCH naming a permanent field is refused rather than silently ignored."""
    given = [n for n in names if isinstance(data, Mapping) and n in data]
    if given:
        raise ValidationFailed(_("Some fields cannot be changed."), errors={n: [services.IMMUTABLE] for n in given})


def today_of(context: Mapping[str, Any]) -> dt.date:
    today = context.get("today")
    return today if isinstance(today, dt.date) else provider_today()


# -- OpenAPI examples: a hosting plan --------------------------------------------------------------

HOSTING_SPEC: dict[str, Any] = {
    "code": "vps-pro",
    "name": "VPS Pro",
    "billing_period": {"unit": "month", "count": 1},
    "currencies": ["RUB"],
    "trial": {"days": 14},
    "setup_fee": {"RUB": "1000.00"},
    "components": [
        {"code": "base", "name": "Абонентская плата", "kind": "fixed", "billing": "in_advance",
         "prices": {"RUB": {"model": "standard", "unit_price": "1490.00"}}},
        {"code": "seats", "name": "Места в панели управления", "kind": "per_unit", "billing": "in_advance",
         "prices": {"RUB": {"model": "standard", "unit_price": "300.00"}}},
        {"code": "traffic", "name": "Исходящий трафик, ГБ", "kind": "metered", "billing": "in_arrears",
         "prices": {"RUB": {
             "model": "graduated", "aggregation": {"type": "sum", "property": "gb"},
             "tiers": [{"from": "0", "up_to": "100", "unit_price": "0.00"},
                       {"from": "100", "up_to": "1000", "unit_price": "2.50"},
                       {"from": "1000", "up_to": None, "unit_price": "1.80"}]}}},
    ],
}

PRODUCT_EXAMPLE = OpenApiExample("VPS hosting", request_only=True, value={
    "code": "vps", "name_ru": "Виртуальный сервер (VPS)", "name_en": "Virtual private server",
    "description": "Аренда виртуального сервера", "vat_rate": "22", "unit": "мес", "is_active": True})
PLAN_EXAMPLE = OpenApiExample("VPS Pro plan", request_only=True, value={
    "product": 1, "code": "vps-pro", "name_ru": "VPS Pro", "name_en": "VPS Pro"})
VERSION_EXAMPLE = OpenApiExample(
    "Hosting plan: monthly fee, seats, graduated traffic", request_only=True, value={"spec": HOSTING_SPEC},
    description="A fixed monthly fee billed in advance, per-unit seats (the subscription's quantity) and "
                "metered outgoing traffic billed in arrears on graduated tiers [from, up_to): the first "
                "100 GB free, then 2.50 ₽/GB up to 1000 GB, 1.80 ₽/GB above.")
VERSION_COPY_EXAMPLE = OpenApiExample(
    "Copy of version 1", request_only=True, value={"copy_from": 1},
    description="A new draft with the prices of version 1 (omit both fields to copy the latest version).")
PUBLISH_EXAMPLE = OpenApiExample("Price change from 1 January", request_only=True, value={
    "effective_from": "2027-01-01", "existing_subscribers": "next_period"})


# -- serializers -------------------------------------------------------------------------------------


class ProductSerializer(serializers.ModelSerializer[Product]):
    class Meta:
        model = Product
        fields = ["id", "code", "name_ru", "name_en", "description", "vat_rate", "unit", "is_active",
                  "created_at", "updated_at"]
        extra_kwargs: dict[str, Any] = {"vat_rate": {
            "help_text": "22, 10, 0, 5, 7 or exempt; blank: the default rate of the provider's VAT regime."}}


class ProductUpdateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name_ru = serializers.CharField(max_length=services.NAME_LENGTH)
    name_en = serializers.CharField(max_length=services.NAME_LENGTH, required=False, allow_blank=True)
    description = serializers.CharField(max_length=services.DESCRIPTION_LENGTH, required=False, allow_blank=True,
                                        trim_whitespace=False)
    vat_rate = serializers.ChoiceField(choices=ProductVatRate.choices, required=False, allow_blank=True,
                                       help_text="22, 10, 0, 5, 7 or exempt; blank: the VAT regime's default.")
    unit = serializers.CharField(max_length=services.UNIT_LENGTH, required=False,
                                 help_text="Unit of measure for documents, e.g. шт, мес, ГБ.")
    is_active = serializers.BooleanField(required=False)


class ProductWriteSerializer(ProductUpdateSerializer):
    code = serializers.SlugField(max_length=services.CODE_LENGTH, help_text="Unique and permanent.")


class VersionSummarySerializer(serializers.ModelSerializer[PlanVersion]):
    status = serializers.ChoiceField(choices=VersionStatus.choices, read_only=True)
    existing_subscribers = serializers.SerializerMethodField()

    class Meta:
        model = PlanVersion
        fields = ["id", "number", "status", "effective_from", "existing_subscribers", "created_at",
                  "created_by", "published_at", "published_by"]

    @extend_schema_field(serializers.ChoiceField(choices=ExistingSubscribers.choices, allow_null=True))
    def get_existing_subscribers(self, obj: PlanVersion) -> str | None:
        return obj.existing_subscribers or None


class HistoryVersionSerializer(VersionSummarySerializer):
    effective_until = serializers.SerializerMethodField(
        help_text="First day of the next published version (exclusive end); null while this one is the last.")

    class Meta(VersionSummarySerializer.Meta):
        fields = [*VersionSummarySerializer.Meta.fields, "effective_until"]

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_effective_until(self, obj: PlanVersion) -> dt.date | None:
        until: dict[int, dt.date | None] = self.context.get("until", {})
        return until.get(obj.pk)


class PlanVersionSerializer(VersionSummarySerializer):
    plan_code = serializers.CharField(source="plan.code", read_only=True)

    class Meta(VersionSummarySerializer.Meta):
        fields = ["id", "plan", "plan_code", "number", "status", "spec", "effective_from", "existing_subscribers",
                  "created_at", "created_by", "published_at", "published_by"]


class PlanSerializer(serializers.ModelSerializer[Plan]):
    product_code = serializers.CharField(source="product.code", read_only=True)
    version_in_force = serializers.SerializerMethodField(help_text="The version whose prices apply today.")

    class Meta:
        model = Plan
        fields = ["id", "product", "product_code", "code", "name_ru", "name_en", "is_active", "created_at",
                  "version_in_force"]

    @extend_schema_field(VersionSummarySerializer(allow_null=True))
    def get_version_in_force(self, obj: Plan) -> dict[str, Any] | None:
        version = selectors.in_force_among(list(obj.versions.all()), today_of(self.context))
        return None if version is None else VersionSummarySerializer(version).data


class PlanDetailSerializer(PlanSerializer):
    versions = serializers.SerializerMethodField(help_text="Every version, newest first.")

    class Meta(PlanSerializer.Meta):
        fields = [*PlanSerializer.Meta.fields, "versions"]

    @extend_schema_field(PlanVersionSerializer(allow_null=True))
    def get_version_in_force(self, obj: Plan) -> dict[str, Any] | None:
        version = selectors.plan_version_in_force(obj, today_of(self.context))
        return None if version is None else PlanVersionSerializer(version).data

    @extend_schema_field(HistoryVersionSerializer(many=True))
    def get_versions(self, obj: Plan) -> list[dict[str, Any]]:
        versions = list(selectors.plan_versions(obj).defer("spec"))
        until = {span.version.pk: span.effective_until for span in selectors.plan_price_history(obj, versions)}
        return list(HistoryVersionSerializer(versions, many=True, context={"until": until}).data)


class PlanUpdateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    name_ru = serializers.CharField(max_length=services.NAME_LENGTH)
    name_en = serializers.CharField(max_length=services.NAME_LENGTH, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class PlanWriteSerializer(PlanUpdateSerializer):
    product = serializers.PrimaryKeyRelatedField(queryset=Product.objects.all())
    code = serializers.SlugField(max_length=services.CODE_LENGTH, help_text="Unique and permanent.")


class PlanVersionCreateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    spec = serializers.JSONField(required=False, help_text=(
        "The plan's prices (PlanSpec JSON; see docs/catalog.md). Omit it to copy another version."))
    copy_from = serializers.IntegerField(required=False, min_value=1, help_text=(
        "Number of the version to copy; without spec and copy_from the latest version is copied."))


class PlanVersionUpdateSerializer(serializers.Serializer):  # type: ignore[type-arg]
    spec = serializers.JSONField(help_text="Replaces the draft's prices as a whole.")


class PublishSerializer(serializers.Serializer):  # type: ignore[type-arg]
    effective_from = DateField(help_text="Provider-local date the prices apply from: today or later.")
    existing_subscribers = serializers.ChoiceField(choices=ExistingSubscribers.choices, required=False, help_text=(
        "Required when the plan already has published prices; the first version defaults to next_period."))


# -- views ---------------------------------------------------------------------------------------


@extend_schema_view(
    list=extend_schema(parameters=[
        OpenApiParameter("is_active", bool),
        OpenApiParameter("vat_rate", str, description=(
            "22, 10, 0, 5, 7, exempt, or `default` for products using the VAT regime's default rate.")),
        OpenApiParameter("search", str, description="Substring of the code or a name."),
    ]),
    create=extend_schema(request=ProductWriteSerializer, responses={201: ProductSerializer},
                         examples=[PRODUCT_EXAMPLE]),
    partial_update=extend_schema(request=ProductUpdateSerializer, responses={200: ProductSerializer}),
)
class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    """Products (услуги): what is sold, with its VAT rate and unit of measure."""

    area = Area.CATALOG
    serializer_class = ProductSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        p = self.request.query_params
        vat_rate = p.get("vat_rate")
        if vat_rate is not None and vat_rate not in ProductVatRate.values and vat_rate != "default":
            raise ValidationFailed.field("vat_rate", _("Use 22, 10, 0, 5, 7, exempt or default."))
        return selectors.product_list(
            is_active=bool_param(p, "is_active"), search=p.get("search"),
            vat_rate=None if vat_rate is None else ("" if vat_rate == "default" else vat_rate))

    def create(self, request: Request) -> Response:
        data = ProductWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        product = services.product_create(actor=self.actor, **data.validated_data)
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        product = get_object_or_404(Product, pk=pk)
        refuse_immutable(request.data, ["code"])
        data = ProductUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        product = services.product_update(actor=self.actor, product=product, **data.validated_data)
        return Response(ProductSerializer(product).data)


@extend_schema_view(
    list=extend_schema(parameters=[
        OpenApiParameter("product", int, description="Product id."),
        OpenApiParameter("product_code", str), OpenApiParameter("is_active", bool),
    ]),
    retrieve=extend_schema(responses={200: PlanDetailSerializer}),
    create=extend_schema(request=PlanWriteSerializer, responses={201: PlanDetailSerializer}, examples=[PLAN_EXAMPLE]),
    partial_update=extend_schema(request=PlanUpdateSerializer, responses={200: PlanDetailSerializer}),
)
class PlanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, KopeckViewSet):
    """Plans (тарифы) of products. Their prices are versions: see /plans/{id}/versions/."""

    area = Area.CATALOG
    serializer_class = PlanSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "today": provider_today()}

    def get_serializer_class(self) -> Any:
        return PlanDetailSerializer if self.action == "retrieve" else PlanSerializer

    def get_queryset(self) -> Any:
        p = self.request.query_params
        return selectors.plan_list(product_id=int_param(p, "product"), product_code=p.get("product_code"),
                                   is_active=bool_param(p, "is_active"))

    def _detail(self, plan: Plan, code: int = status.HTTP_200_OK) -> Response:
        plan = Plan.objects.select_related("product").get(pk=plan.pk)
        return Response(PlanDetailSerializer(plan, context=self.get_serializer_context()).data, status=code)

    def create(self, request: Request) -> Response:
        data = PlanWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        plan = services.plan_create(actor=self.actor, **data.validated_data)
        return self._detail(plan, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, pk: str) -> Response:
        plan = get_object_or_404(Plan, pk=pk)
        refuse_immutable(request.data, ["code", "product"])
        data = PlanUpdateSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        plan = services.plan_update(actor=self.actor, plan=plan, **data.validated_data)
        return self._detail(plan)

    @extend_schema(methods=["GET"], responses={200: PlanVersionSerializer(many=True)},
                   description="Every version of the plan (the price history), newest first.")
    @extend_schema(methods=["POST"], request=PlanVersionCreateSerializer, responses={201: PlanVersionSerializer},
                   examples=[VERSION_EXAMPLE, VERSION_COPY_EXAMPLE],
                   description="Create a draft version: new prices, or a copy of a version to edit.")
    @action(detail=True, methods=["get", "post"])
    def versions(self, request: Request, pk: str) -> Response:
        plan = get_object_or_404(Plan, pk=pk)
        if request.method == "POST":
            data = PlanVersionCreateSerializer(data=request.data)
            data.is_valid(raise_exception=True)
            version = services.plan_version_create(actor=self.actor, plan=plan, **data.validated_data)
            return Response(PlanVersionSerializer(version).data, status=status.HTTP_201_CREATED)
        page = self.paginate_queryset(selectors.plan_versions(plan).select_related("plan"))
        return self.get_paginated_response(PlanVersionSerializer(page, many=True).data)


@extend_schema_view(
    partial_update=extend_schema(request=PlanVersionUpdateSerializer, responses={200: PlanVersionSerializer},
                                 examples=[VERSION_EXAMPLE], description="Replace a draft's prices (409 once published)."),
)
class PlanVersionViewSet(mixins.RetrieveModelMixin, KopeckViewSet):
    """A version of a plan's prices. Drafts can be changed; published versions never are."""

    area = Area.CATALOG
    serializer_class = PlanVersionSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        return PlanVersion.objects.select_related("plan")

    def partial_update(self, request: Request, pk: str) -> Response:
        version = get_object_or_404(self.get_queryset(), pk=pk)
        refuse_immutable(request.data, ["plan", "number", "status", "effective_from", "existing_subscribers"])
        data = PlanVersionUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.plan_version_update(actor=self.actor, version=version, spec=data.validated_data["spec"])
        return Response(PlanVersionSerializer(version).data)

    @extend_schema(request=PublishSerializer, responses={200: PlanVersionSerializer}, examples=[PUBLISH_EXAMPLE])
    @action(detail=True, methods=["post"])
    def publish(self, request: Request, pk: str) -> Response:
        """Publish a draft: its prices apply from ``effective_from`` (today or later, not before the last
        published version's date); ``existing_subscribers`` says what happens to current subscribers."""
        version = get_object_or_404(self.get_queryset(), pk=pk)
        data = PublishSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        version = services.plan_version_publish(actor=self.actor, version=version, **data.validated_data)
        return Response(PlanVersionSerializer(version).data)

