from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from kopeck.common.http.base import KopeckAPIView
from kopeck.configuration.models import BillingSettings, MailSecurity, MailSettings, VatRegime
from kopeck.configuration.selectors import billing_settings, mail_settings
from kopeck.configuration.services import CREDIT_EDITABLE, billing_settings_update, mail_settings_update
from kopeck.operators.roles import Area


@extend_schema_field({"type": "string", "pattern": r"^[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?$",
                      "nullable": True, "example": "06:00"})
class _LocalTimeField(serializers.TimeField):
    """A provider-local time of day, ``HH:MM`` (no UTC offset: the zone is the billing settings')."""


class BillingSettingsSerializer(serializers.ModelSerializer[BillingSettings]):
    vat_regime = serializers.ChoiceField(choices=VatRegime.choices)
    auto_billing_time = _LocalTimeField(required=False, allow_null=True, help_text=(
        "Provider-local time (HH:MM) after which the daily automatic billing run starts; null: off."))
    default_vat_rate = serializers.CharField(read_only=True)

    class Meta:
        model = BillingSettings
        fields = ["time_zone", "default_currency", "vat_regime", "prices_include_vat", "scheduled_run", "auto_billing_time",
                  "run_report_to", "default_vat_rate", *CREDIT_EDITABLE,
                  "updated_at"]
        read_only_fields = ["updated_at"]


class BillingSettingsView(KopeckAPIView):
    """Общие настройки биллинга."""

    area = Area.SETTINGS

    @extend_schema(responses={200: BillingSettingsSerializer})
    def get(self, request: Request) -> Response:
        """The general billing settings."""
        return Response(BillingSettingsSerializer(billing_settings()).data)

    @extend_schema(request=BillingSettingsSerializer, responses={200: BillingSettingsSerializer})
    def patch(self, request: Request) -> Response:
        """Change the general billing settings (audited)."""
        data = BillingSettingsSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        obj = billing_settings_update(actor=self.actor, **data.validated_data)
        return Response(BillingSettingsSerializer(obj).data)


class MailSettingsSerializer(serializers.ModelSerializer[MailSettings]):
    security = serializers.ChoiceField(choices=MailSecurity.choices)
    password = serializers.CharField(write_only=True, required=False, allow_blank=True, max_length=255,
                                     trim_whitespace=False, style={"input_type": "password"},
                                     help_text="Write-only: never returned. An empty string removes it.")
    password_set = serializers.SerializerMethodField()

    class Meta:
        model = MailSettings
        fields = ["enabled", "host", "port", "security", "username", "password", "password_set", "from_email",
                  "from_name", "timeout", "updated_at"]
        read_only_fields = ["updated_at"]

    def get_password_set(self, obj: MailSettings) -> bool:
        return bool(obj.password)


class MailSettingsView(KopeckAPIView):
    """Исходящая почта (SMTP). The password is write-only."""

    area = Area.SETTINGS

    @extend_schema(responses={200: MailSettingsSerializer})
    def get(self, request: Request) -> Response:
        """The mail (SMTP) settings; the password is never returned."""
        return Response(MailSettingsSerializer(mail_settings()).data)

    @extend_schema(request=MailSettingsSerializer, responses={200: MailSettingsSerializer})
    def patch(self, request: Request) -> Response:
        """Change the mail (SMTP) settings (audited; the password is write-only)."""
        data = MailSettingsSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        obj = mail_settings_update(actor=self.actor, **data.validated_data)
        return Response(MailSettingsSerializer(obj).data)
