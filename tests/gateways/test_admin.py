"""The back office pages of gateways: every list, add and change page opens; a setting is saved with
its credentials encrypted (never shown again); Qiwi cannot be enabled; the notification's verdict,
reason and raw body are shown; saved methods are removed by an action."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client as HttpClient

from kopeck.clients.models import Client
from kopeck.core.clock import FixedClock
from kopeck.gateways.models import GatewaySetting, Notification, SavedMethod
from kopeck.gateways.services import config_of, online_payment_create
from kopeck.operators.models import Operator
from tests.gateways.conftest import ACTOR, post_notification
from tests.gateways.fakes import FakeProviders

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_http(db: Any) -> HttpClient:
    http = HttpClient()
    http.force_login(Operator.objects.create(username="boss", role="administrator", is_staff=True))
    return http


def form(provider: str, **extra: str) -> dict[str, str]:
    return {"provider": provider, "name": "Основной магазин", "legal_entity": "", "is_live": "", "is_enabled": "on",
            "options": json.dumps({"login": "kopeck-shop", "hash": "sha256"}), **extra}


def test_a_setting_is_added_with_encrypted_credentials(admin_http: HttpClient, clock: FixedClock) -> None:
    assert admin_http.get("/admin/gateways/gatewaysetting/add/").status_code == 200
    r = admin_http.post("/admin/gateways/gatewaysetting/add/", form("robokassa", cred_password1="p-one",
                                                                    cred_password2="p-two"))
    assert r.status_code == 302, r.content.decode()[:2000]
    setting = GatewaySetting.objects.get()
    assert "p-one" not in setting.credentials_encrypted
    assert dict(config_of(setting).credentials) == {"password1": "p-one", "password2": "p-two"}
    page = admin_http.get(f"/admin/gateways/gatewaysetting/{setting.pk}/change/").content.decode()
    assert "p-one" not in page and f"/gateways/robokassa/{setting.pk}/" in page
    # a blank password keeps the stored one
    r = admin_http.post(f"/admin/gateways/gatewaysetting/{setting.pk}/change/", form("robokassa", cred_password2="new"))
    assert r.status_code == 302
    assert dict(config_of(GatewaySetting.objects.get()).credentials) == {"password1": "p-one", "password2": "new"}


def test_qiwi_cannot_be_enabled(admin_http: HttpClient, clock: FixedClock) -> None:
    r = admin_http.post("/admin/gateways/gatewaysetting/add/", form("qiwi", cred_secret_key="s"))
    assert r.status_code == 200
    assert "отозвал лицензию" in r.content.decode() or "lost its licence" in r.content.decode()
    assert not GatewaySetting.objects.exists()


def test_every_page_opens(admin_http: HttpClient, http: Any, make_setting: Any, payer: Client, fake: FakeProviders,
                          clock: FixedClock) -> None:
    setting = make_setting("yookassa")
    payment = online_payment_create(actor=ACTOR, client=payer, setting=setting, amount="10.00", save_method=True)
    fake.yk_pay(payment.provider_payment_id, save=True)
    post_notification(http, setting, json.dumps({"type": "notification", "event": "payment.succeeded",
                                                 "object": {"id": payment.provider_payment_id}}),
                      content_type="application/json")
    post_notification(http, setting, "{broken", content_type="application/json")
    for model in ("gatewaysetting", "gatewaypayment", "notification", "savedmethod", "autopay", "autopaycharge"):
        assert admin_http.get(f"/admin/gateways/{model}/").status_code == 200, model
    assert admin_http.get("/admin/gateways/autopay/add/").status_code == 200
    refused = Notification.objects.get(reason="malformed")
    page = admin_http.get(f"/admin/gateways/notification/{refused.pk}/change/").content.decode()
    assert "тело запроса не разобрано" in page and "{broken" in page
    assert admin_http.get(f"/admin/gateways/gatewaypayment/{payment.pk}/change/").status_code == 200
    method = SavedMethod.objects.get()
    r = admin_http.post("/admin/gateways/savedmethod/", {"action": "remove", "_selected_action": [method.pk]})
    assert r.status_code == 302
    method.refresh_from_db()
    assert not method.is_active
