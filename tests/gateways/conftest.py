from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client as HttpClient

from kopeck.clients.models import Client, Contact
from kopeck.common.actor import Actor
from kopeck.gateways.models import GatewayPayment, GatewaySetting, Notification
from kopeck.gateways.notifications import notifications_settle
from kopeck.gateways.services import setting_save
from kopeck.ledger.selectors import client_balance
from tests.factories import ClientFactory
from tests.gateways.fakes import FakeProviders

ACTOR = Actor.system("tests")

OPTIONS: dict[str, dict[str, Any]] = {
    "yookassa": {"shop_id": "shop-1", "ip_ranges": ["127.0.0.0/8", "::1/128"], "receipts": True},
    "robokassa": {"login": "kopeck-shop", "hash": "sha256", "receipts": True},
    "cloudpayments": {"public_id": "pk_test", "receipts": True},
    "yoomoney": {"receiver": "4100111111111111"},
    "paypal": {"webhook_id": "WH-1"},
    "qiwi": {"site_id": "site-1", "legacy_override": True},
}
CREDENTIALS: dict[str, dict[str, str]] = {
    "yookassa": {"secret_key": "test_secret"},
    "robokassa": {"password1": "live-p1", "password2": "live-p2", "test_password1": "test-p1",
                  "test_password2": "test-p2"},
    "cloudpayments": {"api_secret": "cp-api-secret"},
    "yoomoney": {"notification_secret": "ym-secret"},
    "paypal": {"client_id": "pp-client", "client_secret": "pp-secret"},
    "qiwi": {"secret_key": "qiwi-secret"},
}
API_PATHS = {"yookassa": "/v3", "robokassa": "/robokassa", "cloudpayments": "/cp", "paypal": "/paypal",
             "qiwi": "/qiwi"}


@pytest.fixture(autouse=True)
def _settle_explicitly(settings: Any) -> None:
    """The tests run the settlement worker themselves (post_notification does, after each post)."""
    settings.KOPECK_GATEWAY_SETTLE = "off"


@pytest.fixture
def fake() -> Iterator[FakeProviders]:
    server = FakeProviders().start()
    yield server
    server.stop()


@pytest.fixture
def make_setting(fake: FakeProviders) -> Callable[..., GatewaySetting]:
    def make(provider: str, *, is_live: bool = False, **options: Any) -> GatewaySetting:
        opts = dict(OPTIONS[provider])
        if provider in API_PATHS:
            key = {"robokassa": "xml_url"}.get(provider, "api_url")
            opts[key] = fake.url + API_PATHS[provider]
            if provider == "robokassa":
                opts["recurring_url"] = fake.url + "/robokassa/Recurring"
                opts["fiscal_url"] = fake.url + "/robokassa/RoboFiscal/Receipt/Attach"
        opts.update(options)
        setting = GatewaySetting(provider=provider, name=f"{provider} shop", is_live=is_live, is_enabled=True,
                                 options=opts)
        return setting_save(actor=ACTOR, setting=setting, credentials=CREDENTIALS[provider])

    return make


@pytest.fixture
def payer(db: Any) -> Client:
    client = ClientFactory()
    Contact.objects.create(client=client, kind="email", value="buh@romashka.ru")
    return client


@pytest.fixture
def http() -> HttpClient:
    return HttpClient(REMOTE_ADDR="127.0.0.1")


def post_notification(http: HttpClient, setting: GatewaySetting, body: bytes | str, *, kind: str = "",
                      content_type: str = "application/x-www-form-urlencoded", settle: bool = True,
                      **headers: str) -> Any:
    """Post a notification as the provider would, then (``settle``) run the settlement worker."""
    path = f"/gateways/{setting.provider}/{setting.pk}/" + (f"{kind}/" if kind else "")
    data = body.encode() if isinstance(body, str) else body
    response = http.post(path, data=data, content_type=content_type, headers=headers)
    if settle:
        notifications_settle()
    return response


def balance(client: Client) -> Decimal:
    return client_balance(client).amount


def credits(payment: GatewayPayment) -> int:
    """How many ledger transactions credited this online payment (through kopeck.payments)."""
    from kopeck.ledger.models import JournalTransaction
    from kopeck.payments.models import Payment

    ids = [f"payment:{p}" for p in Payment.objects.filter(
        method=payment.setting.provider, external_id=f"{payment.setting.provider}:{payment.order_id}").values_list(
        "pk", flat=True)]
    return JournalTransaction.objects.filter(source_ref__in=ids).count()


def last_note() -> Notification:
    note = Notification.objects.order_by("-id").first()
    assert note is not None
    return note


def fresh(payment: GatewayPayment) -> GatewayPayment:
    payment.refresh_from_db()
    return payment
