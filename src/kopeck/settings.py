"""Django settings for Kopeck. Everything comes from the environment, with safe defaults.

See docs/settings.md for the full list.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
VAR_DIR = Path(os.environ.get("KOPECK_VAR_DIR", Path.cwd() / "var")).resolve()


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def _secret_key() -> str:
    """KOPECK_SECRET_KEY, or a random key kept in var/secret_key (created on first use)."""
    key = os.environ.get("KOPECK_SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        path.write_text(key)
        path.chmod(0o600)
        return key


DEBUG = _env_bool("KOPECK_DEBUG", False)
SECRET_KEY = _secret_key()
ALLOWED_HOSTS = _env_list("KOPECK_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = _env_list("KOPECK_CSRF_TRUSTED_ORIGINS", "http://127.0.0.1:8000,http://localhost:8000")

INSTALLED_APPS = [
    "unfold",  # the back office's theme (docs/architecture.md); before django.contrib.admin
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.forms",  # widget templates through TEMPLATES (FORM_RENDERER), so the back office can override them
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "kopeck.common",
    "kopeck.operators",
    "kopeck.audit",
    "kopeck.configuration",
    "kopeck.clients",
    "kopeck.catalog",
    "kopeck.ledger",
    "kopeck.subscriptions",
    "kopeck.usage",
    "kopeck.billing",
    "kopeck.documents",
    "kopeck.payments",
    "kopeck.outbox",
    "kopeck.notifications",
    "kopeck.events",
    "kopeck.webhooks",
    "kopeck.gateways",
    "kopeck.rules",
    "kopeck.credit",
    "kopeck.cli",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "kopeck.common.middleware.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "kopeck.common.middleware.KopeckLocaleMiddleware",
    "kopeck.common.http.guard.ApiGuardMiddleware",
    "kopeck.operators.middleware.ThrottledMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "kopeck.urls"
FORM_RENDERER = "django.forms.renderers.TemplatesSetting"
WSGI_APPLICATION = "kopeck.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: DATABASE_URL, default an SQLite file under var/.
DATABASE_URL = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'kopeck.sqlite3'}"
if DATABASE_URL.startswith("sqlite") and ":memory:" not in DATABASE_URL:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=int(os.environ.get("KOPECK_DB_CONN_MAX_AGE", "0")))}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE transactions take the write lock up front: writers queue instead of failing with
    # "database is locked" when a read transaction tries to upgrade. WAL lets readers run alongside.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
# the few statements run per request at high rates are prepared on PostgreSQL (kopeck.common.hot); "0" for a
# pooler that cannot keep prepared statements (PgBouncer in transaction mode before 1.21)
KOPECK_DB_PREPARED = os.environ.get("KOPECK_DB_PREPARED", "1") not in ("0", "false", "off", "no")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "operators.Operator"
AUTHENTICATION_BACKENDS = ["kopeck.operators.backends.ThrottledModelBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"

# Language and time. Billing dates are local dates in the provider's zone (a billing setting whose
# initial value is KOPECK_TIME_ZONE); instants are stored in UTC.
LANGUAGE_CODE = os.environ.get("KOPECK_LANGUAGE", "ru")
LANGUAGES = [("ru", _("Russian")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
# One date format per language in the back office: 06.12.2026 and 2026-12-06 (kopeck/common/formats).
FORMAT_MODULE_PATH = ["kopeck.common.formats"]
KOPECK_TIME_ZONE = os.environ.get("KOPECK_TIME_ZONE", "Europe/Moscow")
TIME_ZONE = KOPECK_TIME_ZONE  # display zone of the admin; storage is UTC (USE_TZ)
USE_I18N = True
USE_TZ = True

# -- Limits (docs/settings.md "Limits", docs/security.md): each stated once, here. -------------------
# A request body (usage batches of 1,000 events take ~150 kB): larger ones get 413.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("KOPECK_MAX_BODY_BYTES", str(2 * 1024 * 1024)))
# A file upload where an endpoint takes files (bank statements): larger ones get 413.
KOPECK_MAX_UPLOAD_BYTES = int(os.environ.get("KOPECK_MAX_UPLOAD_BYTES", str(200 * 1024 * 1024)))
# The request's headers in total (larger: 431); the server's own limits (gunicorn) sit above it.
KOPECK_MAX_HEADER_BYTES = 16 * 1024
# Nesting of a JSON body (deeper: 400 malformed-request).
KOPECK_JSON_MAX_DEPTH = 32
# Items in one usage batch (events or meter readings); a usage event's value: digits before and after
# the point (a period's sum of up to a million such events stays within what prices are computed in).
KOPECK_USAGE_BATCH_MAX = 1000
KOPECK_USAGE_VALUE_DIGITS = 12
KOPECK_USAGE_VALUE_PLACES = 6
# Tags of one client, contacts of one client.
KOPECK_CLIENT_TAGS_MAX = 50
KOPECK_CLIENT_CONTACTS_MAX = 50
# Page size of lists (?page_size=, default 50).
KOPECK_PAGE_SIZE_MAX = 500
# The calendar the API accepts: dates (and instants) outside it are refused with 400.
KOPECK_DATE_MIN = "1900-01-01"
KOPECK_DATE_MAX = "2999-12-31"
# Document templates (previews and real documents alike): wall time, output size, loop iterations
# and the size of integers a template computes.
KOPECK_TEMPLATE_MAX_SECONDS = float(os.environ.get("KOPECK_TEMPLATE_MAX_SECONDS", "5"))
KOPECK_TEMPLATE_MAX_OUTPUT = 5 * 1024 * 1024
KOPECK_TEMPLATE_MAX_ITERATIONS = 1_000_000
KOPECK_TEMPLATE_MAX_INT_DIGITS = 100
KOPECK_TEMPLATE_MAX_SOURCE = 200 * 1024
# Failed logins and failed API keys: after this many failures in the window, per account and per
# address, further attempts get 429 with Retry-After until the window has passed.
KOPECK_AUTH_FAILURES_PER_ACCOUNT = int(os.environ.get("KOPECK_AUTH_FAILURES_PER_ACCOUNT", "10"))
KOPECK_AUTH_FAILURES_PER_ADDRESS = int(os.environ.get("KOPECK_AUTH_FAILURES_PER_ADDRESS", "50"))
KOPECK_AUTH_FAILURE_WINDOW = int(os.environ.get("KOPECK_AUTH_FAILURE_WINDOW", "900"))

# The back office (django-unfold): the sidebar is assembled from what the apps register
# (kopeck.common.backoffice), the dashboard too. Everything is served locally, no CDN.
UNFOLD = {
    "SITE_TITLE": "Kopeck",
    "SITE_HEADER": "Kopeck",
    "SITE_SUBHEADER": _("Subscription billing"),
    "SITE_URL": "/admin/",
    "SITE_SYMBOL": "toll",
    "SHOW_HISTORY": True,
    "SHOW_VIEW_ON_SITE": False,
    "SHOW_LANGUAGES": True,
    "DASHBOARD_CALLBACK": "kopeck.common.backoffice_views.dashboard_context",
    "STYLES": ["kopeck.common.backoffice_views.stylesheet"],
    "SIDEBAR": {
        "show_search": False,
        "show_all_applications": False,
        "navigation": "kopeck.common.backoffice.navigation",
    },
}

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "kopeck.operators.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["kopeck.operators.permissions.AreaPermission"],
    "DEFAULT_PAGINATION_CLASS": "kopeck.common.http.pagination.Pagination",
    "DEFAULT_PARSER_CLASSES": ["kopeck.common.http.parsers.JSONParser"],
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "kopeck.common.http.problems.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "kopeck.common.http.base.KopeckSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer", "rest_framework.renderers.BrowsableAPIRenderer"],
    "COERCE_DECIMAL_TO_STRING": True,
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Kopeck API",
    "DESCRIPTION": (
        "Subscription billing API. Authenticate with `Authorization: Bearer <api key>`. "
        "Every mutating call accepts an `Idempotency-Key` header; errors are RFC 9457 problem+json."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One tag per domain (the area of access of the operation), in the operator's order of work.
    "TAGS": [
        {"name": "clients", "description": "Clients, their requisites, contacts, tags and history."},
        {"name": "subscriptions", "description": "Subscriptions, their actions with previews, timeline."},
        {"name": "usage", "description": "Usage events, meter readings and current usage."},
        {"name": "billing", "description": "Billing runs: sandbox, automatic, with confirmation."},
        {"name": "documents", "description": "Invoices, acts, invoice-facturas, УПД, reconciliation acts."},
        {"name": "ledger", "description": "Client accounts: operations, reversals, balance, statement."},
        {"name": "catalog", "description": "Products, plans, plan versions and the price calculator."},
        {"name": "settings", "description": "Billing and mail settings, client field sets."},
        {"name": "operators", "description": "API keys."},
        {"name": "events", "description": "The event log (what happened, for webhooks and rules)."},
        {"name": "audit", "description": "The audit log of every write."},
    ],
    "ENUM_NAME_OVERRIDES": {
        "ClientTypeEnum": "kopeck.clients.models.ClientType.choices",
        "ClientStatusEnum": "kopeck.clients.models.ClientStatus.choices",
        "PlanVersionStatusEnum": "kopeck.catalog.models.VersionStatus.choices",
        "SubscriptionStatusEnum": "kopeck.subscriptions.models.SubscriptionStatus.choices",
        "DocumentLanguageEnum": "kopeck.documents.models.Language.choices",
        "DocumentStatusEnum": "kopeck.documents.models.DocumentStatus.choices",
        "DocumentTypeEnum": "kopeck.documents.models.DocumentType.choices",
        "UpdStatusEnum": [(1, "1"), (2, "2")],
        "CreditModeEnum": "kopeck.configuration.models.CreditMode.choices",
        "BlockEffectEnum": "kopeck.configuration.models.BlockEffect.choices",
        "BlockReasonEnum": "kopeck.credit.models.BlockReason.choices",
        "PromiseStatusEnum": "kopeck.credit.models.PromiseStatus.choices",
        "LadderLineStatusEnum": "kopeck.credit.api.LADDER_STATUSES",
        "PolicyModeEnum": [("prepaid", "prepaid"), ("postpaid", "postpaid")],
        "BillingRunModeEnum": "kopeck.billing.models.RunMode.choices",
        "PaymentStatusEnum": "kopeck.payments.models.PaymentStatus.choices",
        "PaymentMatchRuleEnum": "kopeck.payments.models.MatchRule.choices",
        "WebhookDeliveryStatusEnum": "kopeck.webhooks.models.DeliveryStatus.choices",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "kopeck.events.schema.add_event_schemas",  # the event catalog: schemas and x-webhooks
    ],
}

# Celery: with no broker configured, tasks run in-process (embedded default).
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "")
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
# The queue billing-run chunks are sent to (empty: Celery's default queue).
KOPECK_BILLING_QUEUE = os.environ.get("KOPECK_BILLING_QUEUE", "")
# About how many subscriptions one chunk of a billing run holds (chunks end at client boundaries).
KOPECK_BILLING_CHUNK = max(1, int(os.environ.get("KOPECK_BILLING_CHUNK", "500")))
# How many clients the credit check evaluates at once (docs/credit.md).
KOPECK_CREDIT_CHUNK = max(1, int(os.environ.get("KOPECK_CREDIT_CHUNK", "1000")))
CELERY_TASK_EAGER_PROPAGATES = True
# Check recorded events against the catalog's payload schemas (docs/events.md).
KOPECK_EVENTS_VALIDATE = _env_bool("KOPECK_EVENTS_VALIDATE", True)
# subscription.trial_ending fires this many days before a trial ends (docs/events.md).
KOPECK_TRIAL_ENDING_DAYS = int(os.environ.get("KOPECK_TRIAL_ENDING_DAYS", "3"))
# Rules: events caused by this many rule actions in a row run no rules (loop protection; docs/rules.md).
KOPECK_RULES_MAX_DEPTH = int(os.environ.get("KOPECK_RULES_MAX_DEPTH", "5"))
# Rules: evaluate conditions through the compiled Python path first (the interpreter decides the rest;
# docs/rules.md, "Speed"). Off: every condition goes to the CEL interpreter.
KOPECK_RULES_FAST_CONDITIONS = _env_bool("KOPECK_RULES_FAST_CONDITIONS", True)
# Webhooks (docs/webhooks.md): how long a delivery is retried; the request timeout; internal networks
# the operator allows as endpoints (comma-separated CIDRs; none by default: the SSRF guard).
KOPECK_WEBHOOK_RETRY_HOURS = float(os.environ.get("KOPECK_WEBHOOK_RETRY_HOURS", "72"))
KOPECK_WEBHOOK_TIMEOUT = float(os.environ.get("KOPECK_WEBHOOK_TIMEOUT", "10"))
KOPECK_WEBHOOK_CONCURRENCY = int(os.environ.get("KOPECK_WEBHOOK_CONCURRENCY", "4"))
# Online payments (docs/gateways.md): pending payments are fetched from the provider after this long;
# declined autopayments are retried after these hours (one per failure), then given up.
KOPECK_GATEWAY_RECONCILE_MINUTES = float(os.environ.get("KOPECK_GATEWAY_RECONCILE_MINUTES", "15"))
KOPECK_AUTOPAY_RETRY_HOURS = tuple(float(h) for h in os.environ.get("KOPECK_AUTOPAY_RETRY_HOURS", "24,72,120").split(",")
                                   if h.strip())
KOPECK_WEBHOOK_ALLOWED_NETWORKS = _env_list("KOPECK_WEBHOOK_ALLOWED_NETWORKS", "")
# Encrypts stored secrets (webhook signing secrets); default: derived from the secret key.
KOPECK_ENCRYPTION_KEY = os.environ.get("KOPECK_ENCRYPTION_KEY", "")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# who settles stored gateway notifications: "auto" (a Celery worker with a broker, else a thread of the
# receiving process), "thread", "celery", or "off" (only the periodic job kopeck.gateways.settle)
KOPECK_GATEWAY_SETTLE = os.environ.get("KOPECK_GATEWAY_SETTLE", "auto")
# the settlement thread gathers the notifications arriving for this long into one batch (seconds)
KOPECK_GATEWAY_SETTLE_GATHER = float(os.environ.get("KOPECK_GATEWAY_SETTLE_GATHER", "0.1"))
KOPECK_GATEWAY_SETTLE_GATHER_MAX = float(os.environ.get("KOPECK_GATEWAY_SETTLE_GATHER_MAX", "1.0"))
KOPECK_SCHEDULER = os.environ.get("KOPECK_SCHEDULER", "on")  # "off": no in-process scheduler in `kopeck serve`
# The transactional outbox (docs/outbox.md): deliveries per message before it is dead; the lease a
# deliverer holds on a claimed message (a crashed deliverer's messages are delivered again after it).
KOPECK_OUTBOX_MAX_ATTEMPTS = int(os.environ.get("KOPECK_OUTBOX_MAX_ATTEMPTS", "10"))
KOPECK_OUTBOX_LEASE_SECONDS = int(os.environ.get("KOPECK_OUTBOX_LEASE_SECONDS", "300"))


def _beat_schedule() -> dict[str, dict[str, object]]:
    from kopeck.cli.scheduler import beat_schedule

    return beat_schedule()


CELERY_BEAT_SCHEDULE = _beat_schedule()

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("KOPECK_LOG_LEVEL", "WARNING")},
}

# -- Deployment (docs/security.md "Behind TLS") -----------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "kopeck.common.http.guard.csrf_failure"
# Content-Security-Policy of every page (a nonce per response for Kopeck's own inline scripts). An
# admin theme built on Alpine.js (django-unfold) evaluates its attributes with the Function
# constructor, which needs 'unsafe-eval' (docs/security.md "Headers").
_CSP_EVAL = " 'unsafe-eval'" if any(app.split(".")[0] == "unfold" for app in INSTALLED_APPS) else ""
KOPECK_CSP = os.environ.get("KOPECK_CSP", (
    f"default-src 'self'; script-src 'self' {{nonce}}{_CSP_EVAL}; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; frame-src 'self'; frame-ancestors 'none'; form-action 'self'; "
    "base-uri 'self'; object-src 'none'"))
# Served over HTTPS (directly or behind a TLS-terminating proxy): secure cookies, HSTS, redirect to
# https. The demo and the embedded default stay on plain HTTP (KOPECK_HTTPS off).
KOPECK_HTTPS = _env_bool("KOPECK_HTTPS", False)
if KOPECK_HTTPS:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = _env_bool("KOPECK_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("KOPECK_HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("KOPECK_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _env_bool("KOPECK_HSTS_PRELOAD", True)
    if _env_bool("KOPECK_BEHIND_PROXY", False):
        # Only behind a proxy that sets X-Forwarded-Proto itself (and strips the client's).
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
