"""``POST /api/v1/price-preview/``: price a component or a plan for some usage, with VAT and explanations.

A preview writes nothing, so it needs ``catalog:read`` and keeps no Idempotency-Key record (a repeat
simply computes the same answer again). The body format is documented in docs/pricing.md.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kopeck.catalog.preview import price_preview
from kopeck.common.http.base import KopeckAPIView
from kopeck.common.http.fields import DateField
from kopeck.common.http.parsers import JSONParser
from kopeck.core.vat import VatRate
from kopeck.operators.roles import Access, Area

# --- schema only: the body is validated by price_preview, which names every field by its path ----


class _PeriodSerializer(serializers.Serializer):  # type: ignore[type-arg]
    start = DateField(help_text="First day (provider-local date).")
    end = DateField(help_text="The day after the last one: the end is exclusive.")


@extend_schema_field({"oneOf": [{"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}, {"type": "integer"}]})
class _NumberField(serializers.Field):  # type: ignore[type-arg]
    """Schema only: a decimal string or an integer (price_preview checks the value)."""


class _UsageSerializer(serializers.Serializer):  # type: ignore[type-arg]
    quantity = _NumberField(required=False, help_text="An aggregated quantity: a decimal string or an integer.")
    events = serializers.ListField(child=serializers.DictField(), required=False,
                                   help_text="Usage events {id, timestamp (ISO 8601 with offset), properties}.")
    readings = serializers.ListField(
        child=serializers.DictField(), required=False,
        help_text="Meter readings {id, timestamp, value, kind normal|rollover|replacement, old_final}; "
                  "the first is the opening reading.")
    transactions = serializers.ListField(child=serializers.CharField(), required=False,
                                         help_text="Transaction amounts (percentage models).")


@extend_schema_field({"oneOf": [{"type": "string", "enum": [r.value for r in VatRate]},
                                {"type": "integer", "enum": [int(r.value) for r in VatRate if r.value.isdigit()]}]})
class _VatRateField(serializers.Field):  # type: ignore[type-arg]
    """Schema only: price_preview checks the value."""


class PricePreviewRequestSerializer(_UsageSerializer):
    component = serializers.DictField(required=False, help_text="A component spec, as the catalog API takes it.")
    plan = serializers.DictField(required=False, help_text="A plan spec, as the catalog API takes it.")
    currency = serializers.CharField(required=False,
                                     help_text="ISO 4217. Required for a component; a plan defaults to its first.")
    usage = serializers.DictField(child=_UsageSerializer(), required=False,
                                  help_text="Plan only: usage of metered components by component code.")
    period = _PeriodSerializer(required=False, help_text="Bounds events (outside → error) and prorating.")
    used = _PeriodSerializer(required=False, help_text="Plan only: the part of period used (proration).")
    setup_fee = serializers.BooleanField(required=False, help_text="Plan only: add the one-time setup fee.")
    vat_rate = _VatRateField(required=False, help_text=(
        f"One of {', '.join(r.value for r in VatRate)} (the numbers also as JSON integers). Default: the billing "
        "settings' rate of the VAT regime."))
    prices_include_vat = serializers.BooleanField(required=False, help_text="Default: the billing settings.")


class _ExplanationSerializer(serializers.Serializer):  # type: ignore[type-arg]
    ru = serializers.CharField()
    en = serializers.CharField()
    formula = serializers.CharField()


class _VatLineSerializer(serializers.Serializer):  # type: ignore[type-arg]
    kind = serializers.CharField(help_text="component, setup_fee or minimum_commitment")
    ref = serializers.CharField()
    amount = serializers.CharField()
    net = serializers.CharField()
    vat = serializers.CharField()
    gross = serializers.CharField()
    explanation = _ExplanationSerializer()


class _VatSerializer(serializers.Serializer):  # type: ignore[type-arg]
    rate = serializers.CharField()
    label = serializers.DictField(  # type: ignore[assignment]  # DRF pops declared fields off the class
        child=serializers.CharField(), help_text="The rate's name, ru and en.")
    inclusive = serializers.BooleanField()
    net = serializers.CharField()
    vat = serializers.CharField()
    gross = serializers.CharField()
    lines = _VatLineSerializer(many=True, help_text="VAT of every charge group; the totals are their sums.")


class PricePreviewResponseSerializer(serializers.Serializer):  # type: ignore[type-arg]
    kind = serializers.ChoiceField(choices=["component", "plan"])
    currency = serializers.CharField()
    amount = serializers.CharField(help_text="The total as priced (gross when prices include VAT, else net).")
    vat = _VatSerializer()
    component = serializers.CharField(required=False)
    model = serializers.CharField(required=False)
    quantity = serializers.CharField(required=False)
    billable_quantity = serializers.CharField(required=False)
    explanation = _ExplanationSerializer(required=False)
    usage_explanation = _ExplanationSerializer(required=False, allow_null=True)
    lines = serializers.ListField(child=serializers.DictField(), required=False,
                                  help_text="Component: its lines, each with its explanation.")
    plan = serializers.CharField(required=False)
    components = serializers.ListField(child=serializers.DictField(), required=False,
                                       help_text="Plan: every component's charge, with its lines.")
    extras = serializers.ListField(child=serializers.DictField(), required=False,
                                   help_text="Plan: setup fee and minimum-commitment top-up lines.")
    input_echo = serializers.DictField()


_GRADUATED = {"code": "storage", "name": "Storage, GB", "model": "graduated", "tiers": [
    {"from": "0", "up_to": "100", "unit_price": "5.00"},
    {"from": "100", "up_to": "1000", "unit_price": "4.00"},
    {"from": "1000", "up_to": None, "unit_price": "3.00"}]}

EXAMPLES = [
    OpenApiExample("Graduated, a quantity", request_only=True, value={
        "component": _GRADUATED, "currency": "RUB", "quantity": "1250",
        "vat_rate": "22", "prices_include_vat": True}),
    OpenApiExample("Meter readings with a rollover", request_only=True, value={
        "component": {"code": "water", "model": "standard", "unit_price": "3.20", "included_units": "40",
                      "aggregation": {"type": "meter_reading", "max_value": "100000"}},
        "currency": "RUB", "readings": [
            {"id": "r1", "timestamp": "2026-03-01T00:00:00+03:00", "value": "99870"},
            {"id": "r2", "timestamp": "2026-03-11T00:00:00+03:00", "value": "99990"},
            {"id": "r3", "timestamp": "2026-03-21T00:00:00+03:00", "value": "150", "kind": "rollover"},
            {"id": "r4", "timestamp": "2026-04-01T00:00:00+03:00", "value": "410"}]}),
    OpenApiExample("Percentage over transactions", request_only=True, value={
        "component": {"code": "acquiring", "model": "percentage", "rate": "2.9", "fixed_fee": "0.30",
                      "max_per_transaction": "100.00"},
        "currency": "RUB", "transactions": ["1000.00", "5000.00"], "vat_rate": "22",
        "prices_include_vat": False}),
    OpenApiExample("Plan: prorated month with a setup fee", request_only=True, value={
        "plan": {"code": "vps-s", "billing_period": {"unit": "month", "count": 1}, "currencies": ["RUB"],
                 "setup_fee": {"RUB": "1000.00"}, "components": [
                     {"code": "base", "kind": "fixed", "prices": {"RUB": {"model": "standard",
                                                                          "unit_price": "990.00"}}},
                     {"code": "traffic", "kind": "metered", "prices": {"RUB": {
                         "model": "graduated", "aggregation": {"type": "sum", "property": "gb"}, "tiers": [
                             {"from": "0", "up_to": "1000", "unit_price": "0"},
                             {"from": "1000", "up_to": None, "unit_price": "1.50"}]}}}]},
        "usage": {"traffic": {"quantity": "1200"}},
        "period": {"start": "2026-03-01", "end": "2026-04-01"},
        "used": {"start": "2026-03-11", "end": "2026-04-01"}, "setup_fee": True}),
    OpenApiExample("Answer (graduated, a quantity)", response_only=True, status_codes=["200"], value={
        "kind": "component", "currency": "RUB", "amount": "4850.00",
        "vat": {"rate": "22", "label": {"ru": "НДС 22%", "en": "VAT 22%"}, "inclusive": True,
                "net": "3975.41", "vat": "874.59", "gross": "4850.00", "lines": [
                    {"kind": "component", "ref": "storage", "amount": "4850.00", "net": "3975.41",
                     "vat": "874.59", "gross": "4850.00", "explanation": {
                         "ru": "НДС 22% в том числе: 4850.00 × 22/122 = 874.59; без НДС 3975.41",
                         "en": "VAT 22% included: 4850.00 × 22/122 = 874.59; net 3975.41",
                         "formula": "vat = round(4850.00 * 22 / 122) = 874.59"}}]},
        "component": "storage", "model": "graduated", "quantity": "1250", "billable_quantity": "1250",
        "explanation": {"ru": "Storage, GB: модель graduated, количество 1250, итого 4850.00 RUB",
                        "en": "Storage, GB: graduated model, quantity 1250, total 4850.00 RUB",
                        "formula": "500.00 + 3600.00 + 750.00 = 4850.00"},
        "usage_explanation": None,
        "lines": [{"kind": "tier", "label": "tier 1 [0, 100)", "tier": 0, "units": "100", "unit_price": "5.00",
                   "flat_fee": "0", "amount": "500.00", "explanation": {
                       "ru": "Ступень 1 [0, 100): 100 ед. × 5.00 = 500.00 RUB",
                       "en": "Tier 1 [0, 100): 100 units × 5.00 = 500.00 RUB",
                       "formula": "tier 1: units in tier × unit price + flat fee = 100 × 5.00 + 0 = 500.00"}},
                  "…"],
        "input_echo": {"kind": "component", "code": "storage", "currency": "RUB", "usage": {"quantity": "1250"},
                       "period": None, "vat_rate": "22", "prices_include_vat": True, "from_settings": []}}),
    OpenApiExample("Invalid tiers", response_only=True, status_codes=["400"], value={
        "type": "urn:kopeck:problem:validation-error", "title": "Invalid input", "status": 400,
        "detail": "component.tiers[1].from: gap: this tier starts at 101 but tiers[0].up_to is 100; "
                  "tiers are [from, up_to), so it must start at 100",
        "instance": "/api/v1/price-preview/",
        "errors": [{"field": "component.tiers[1].from",
                    "detail": "gap: this tier starts at 101 but tiers[0].up_to is 100; tiers are [from, up_to), "
                              "so it must start at 100"}]}),
]


@extend_schema(  # on the class, so that it extends the view's own schema class (no Idempotency-Key)
    request=PricePreviewRequestSerializer,
    responses={200: PricePreviewResponseSerializer},
    examples=EXAMPLES,
    summary="Price calculator",
)
class PricePreviewView(KopeckAPIView):
    """Калькулятор стоимости: price a component or a plan for a quantity, events, meter readings or
    transactions, with VAT computed per charge line and every amount explained (ru/en/formula).
    Nothing is written."""

    area = Area.CATALOG
    required_access = Access.READ
    http_method_names = ["post", "options"]
    parser_classes = [JSONParser]
    idempotent = False  # a read: no Idempotency-Key to document

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        # A preview writes nothing, so it skips the idempotency layer (which would store a record).
        return APIView.dispatch(self, request, *args, **kwargs)

    def post(self, request: Request) -> Response:
        return Response(price_preview(request.data))
