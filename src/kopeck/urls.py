"""The URL hub: every app's API views and the admin, wired here at the top so that no app imports
another app's URLs."""

from __future__ import annotations

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path, register_converter
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from kopeck.audit.api import AuditViewSet
from kopeck.billing.api import BillingRunExportView, BillingRunViewSet, BillingRunXlsxExportView
from kopeck.catalog.api import PlanVersionViewSet, PlanViewSet, ProductViewSet
from kopeck.catalog.preview_api import PricePreviewView
from kopeck.clients.api import ClientViewSet, FieldDefinitionViewSet
from kopeck.common.backoffice_views import search_view
from kopeck.common.http.problems import api_not_found
from kopeck.configuration.api import BillingSettingsView, MailSettingsView
from kopeck.documents.api import DocumentViewSet
from kopeck.documents.variables_api import VariableViewSet
from kopeck.events.api import EventTypeViewSet, EventViewSet
from kopeck.gateways.api import OnlinePaymentsView, OnlinePaymentView, OnlineRefundView
from kopeck.gateways.views import notification_view
from kopeck.ledger.api import ClientBalanceView, ClientOperationsView, ClientStatementView, TransactionViewSet
from kopeck.operators.api import ApiKeyViewSet
from kopeck.payments.api import PaymentViewSet
from kopeck.payments.statements.api import BankStatementViewSet
from kopeck.rules.api import RuleExecutionViewSet, RuleViewSet
from kopeck.subscriptions.api import SubscriptionViewSet
from kopeck.usage.api import MeterReadingsView, SubscriptionUsageView, UsageEventsView, UsageThresholdViewSet
from kopeck.webhooks.api import DeliveryViewSet, EndpointViewSet

handler500 = "kopeck.common.http.guard.handler500"


class IdConverter:
    """A database id: at most 18 digits (a 64-bit integer); a longer number is an unknown URL (404)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")

admin.site.site_header = "Kopeck"
admin.site.site_title = "Kopeck"
admin.site.index_title = _("Dashboard")

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("clients", ClientViewSet, basename="client")
router.register("client-fields", FieldDefinitionViewSet, basename="client-field")
router.register("products", ProductViewSet, basename="product")
router.register("plans", PlanViewSet, basename="plan")
router.register("plan-versions", PlanVersionViewSet, basename="plan-version")
router.register("transactions", TransactionViewSet, basename="transaction")
router.register("api-keys", ApiKeyViewSet, basename="api-key")
router.register("audit", AuditViewSet, basename="audit")
router.register("subscriptions", SubscriptionViewSet, basename="subscription")
router.register("billing-runs", BillingRunViewSet, basename="billing-run")
router.register("documents", DocumentViewSet, basename="document")
router.register("events", EventViewSet, basename="event")
router.register("event-types", EventTypeViewSet, basename="event-type")
router.register("rules", RuleViewSet, basename="rule")
router.register("rule-executions", RuleExecutionViewSet, basename="rule-execution")
router.register("webhook-endpoints", EndpointViewSet, basename="webhook-endpoint")
router.register("webhook-deliveries", DeliveryViewSet, basename="webhook-delivery")
router.register("variables", VariableViewSet, basename="variable")
router.register("payments", PaymentViewSet, basename="payment")
router.register("usage/thresholds", UsageThresholdViewSet, basename="usage-threshold")
router.register("bank-statements", BankStatementViewSet, basename="bank-statement")

api_v1: list[URLPattern | URLResolver] = [
    path("clients/<id:client_id>/operations/", ClientOperationsView.as_view(), name="client-operations"),
    path("clients/<id:client_id>/balance/", ClientBalanceView.as_view(), name="client-balance"),
    path("clients/<id:client_id>/statement/", ClientStatementView.as_view(), name="client-statement"),
    path("settings/billing/", BillingSettingsView.as_view(), name="billing-settings"),
    path("settings/mail/", MailSettingsView.as_view(), name="mail-settings"),
    path("price-preview/", PricePreviewView.as_view(), name="price-preview"),
    path("usage/events/", UsageEventsView.as_view(), name="usage-events"),
    path("usage/readings/", MeterReadingsView.as_view(), name="usage-readings"),
    path("subscriptions/<id:subscription_id>/usage/", SubscriptionUsageView.as_view(), name="subscription-usage"),
    path("billing-runs/<id:pk>/export.csv", BillingRunExportView.as_view(), name="billing-run-export-csv"),
    path("billing-runs/<id:pk>/export.xlsx", BillingRunXlsxExportView.as_view(),
         name="billing-run-export-xlsx"),
    path("payments/online/", OnlinePaymentsView.as_view(), name="online-payments"),
    path("payments/online/<id:pk>/", OnlinePaymentView.as_view(), name="online-payment"),
    path("payments/online/<id:pk>/refund/", OnlineRefundView.as_view(), name="online-payment-refund"),
    path("", include(router.urls)),
    re_path(r"^[\s\S]*$", api_not_found),
]

urlpatterns = [
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/v1/", include(api_v1)),
    re_path(r"^api/[\s\S]*$", api_not_found),
    path("gateways/<str:provider>/<id:setting_id>/", notification_view, name="gateway-notify"),
    path("gateways/<str:provider>/<id:setting_id>/<slug:kind>/", notification_view, name="gateway-notify-kind"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    *i18n_patterns(path("admin/find/", admin.site.admin_view(search_view), name="kopeck_search"),
                   path("admin/", admin.site.urls), prefix_default_language=False),
]
