from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.ledger.models import JournalTransaction
from kopeck.operators.models import ApiKey
from kopeck.operators.roles import Role
from kopeck.operators.services import api_key_create, api_key_revoke
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db

NEW_CLIENT = {"type": "individual", "name": "Иванов", "fields": {"full_name": "Иванов Иван"}}
PAYMENT = {"operation": "payment", "amount": "1.00", "reason": "x"}


def calls(client_id: int) -> dict[str, tuple[str, str, dict[str, Any] | None]]:
    return {
        "clients:read": ("get", "/api/v1/clients/", None),
        "clients:write": ("post", "/api/v1/clients/", NEW_CLIENT),
        "ledger:read": ("get", f"/api/v1/clients/{client_id}/balance/", None),
        "ledger:write": ("post", f"/api/v1/clients/{client_id}/operations/", PAYMENT),
        "settings:read": ("get", "/api/v1/settings/billing/", None),
        "settings:write": ("patch", "/api/v1/settings/billing/", {"prices_include_vat": True}),
        "operators:read": ("get", "/api/v1/api-keys/", None),
        "audit:read": ("get", "/api/v1/audit/", None),
    }


OK = {"get": 200, "post": 201, "patch": 200}

ROLE_ALLOWED = {
    Role.ADMINISTRATOR: {"clients:read", "clients:write", "ledger:read", "ledger:write", "settings:read",
                         "settings:write", "operators:read", "audit:read"},
    Role.ACCOUNTANT: {"clients:read", "clients:write", "ledger:read", "ledger:write", "settings:read", "audit:read"},
    Role.MANAGER: {"clients:read", "clients:write", "ledger:read", "settings:read", "audit:read"},
    Role.READ_ONLY: {"clients:read", "ledger:read", "settings:read", "audit:read"},
}


def call(c: APIClient, method: str, url: str, body: dict[str, Any] | None) -> Any:
    return getattr(c, method)(url, body, format="json") if body is not None else getattr(c, method)(url)


@pytest.mark.parametrize("role", list(Role))
def test_role_matrix(operator_as: Any, clock: FixedClock, role: Role) -> None:
    target = ClientFactory()
    c = operator_as(role)
    for name, (method, url, body) in calls(target.pk).items():
        before = (Client.objects.count(), JournalTransaction.objects.count())
        r = call(c, method, url, body)
        if name in ROLE_ALLOWED[role]:
            assert r.status_code == OK[method], (role, name, r.content)
        else:
            assert r.status_code == 403, (role, name)
            assert r["Content-Type"] == "application/problem+json"
            assert (Client.objects.count(), JournalTransaction.objects.count()) == before


@pytest.mark.parametrize("scope", ["clients:read", "clients:write", "ledger:read", "ledger:write", "*:read"])
def test_scope_matrix(api_as: Any, clock: FixedClock, scope: str) -> None:
    target = ClientFactory()
    c = api_as(scope)
    for name, (method, url, body) in calls(target.pk).items():
        area, access = name.split(":")
        s_area, s_access = scope.split(":")
        allowed = s_area in ("*", area) and (s_access == "write" or access == "read")
        before = (Client.objects.count(), JournalTransaction.objects.count())
        r = call(c, method, url, body)
        assert r.status_code == (OK[method] if allowed else 403), (scope, name, r.content)
        if not allowed:
            assert (Client.objects.count(), JournalTransaction.objects.count()) == before


def test_read_only_key_cannot_write(api_as: Any, clock: FixedClock) -> None:
    c = api_as("*:read")
    r = c.post("/api/v1/clients/", NEW_CLIENT, format="json")
    assert r.status_code == 403 and r.json()["type"] == "urn:kopeck:problem:forbidden"
    assert Client.objects.count() == 0


def test_revoked_expired_malformed_and_missing_keys_are_refused(clock: FixedClock) -> None:
    actor = Actor.system("t")
    revoked = api_key_create(name="r", scopes=["*:write"], actor=actor)
    api_key_revoke(key=revoked.key, actor=actor)
    expiring = api_key_create(name="e", scopes=["*:write"], actor=actor,
                              expires_at=clock.now() + dt.timedelta(hours=1))
    clock.advance(dt.timedelta(hours=1))
    good = api_key_create(name="g", scopes=["*:write"], actor=actor)
    tampered = good.token[:-1] + ("A" if good.token[-1] != "A" else "B")
    for token, detail in [(revoked.token, "revoked"), (expiring.token, "expired"), ("kpk_nope", "Malformed"),
                          (tampered, "Invalid")]:
        c = APIClient()
        c.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
        r = c.get("/api/v1/clients/")
        assert r.status_code == 401 and detail in r.json()["detail"], token
        assert r["WWW-Authenticate"].startswith("Bearer")
    r = APIClient().get("/api/v1/clients/")
    assert r.status_code == 401 and r["Content-Type"] == "application/problem+json"


def test_keys_are_stored_hashed_and_last_use_is_recorded(api_as: Any, clock: FixedClock) -> None:
    issued = api_key_create(name="n", scopes=["clients:read"], actor=Actor.system("t"))
    key = ApiKey.objects.get(pk=issued.key.pk)
    secret = issued.token.split("_", 2)[2]
    assert secret not in key.secret_hash and len(key.secret_hash) == 64 and key.last_used_at is None
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Bearer {issued.token}")
    assert c.get("/api/v1/clients/").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at == clock.now() and key.last_used_ip == "127.0.0.1"


def test_api_key_endpoint_shows_the_secret_once(api: APIClient, clock: FixedClock) -> None:
    r = api.post("/api/v1/api-keys/", {"name": "1C", "scopes": ["ledger:read"]}, format="json")
    assert r.status_code == 201 and r.json()["token"].startswith("kpk_")
    listed = api.get(f"/api/v1/api-keys/{r.json()['id']}/").json()
    assert "token" not in listed and "secret_hash" not in listed
    bad = api.post("/api/v1/api-keys/", {"name": "x", "scopes": ["money:steal"]}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"].startswith("scopes")
    assert ApiKey.objects.filter(name="x").count() == 0
    rev = api.post(f"/api/v1/api-keys/{r.json()['id']}/revoke/")
    assert rev.status_code == 200 and rev.json()["revoked_at"] is not None
    again = api.post(f"/api/v1/api-keys/{r.json()['id']}/revoke/")
    assert again.status_code == 409
