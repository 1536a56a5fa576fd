"""Finding 8 of issue 12: failed logins and failed API keys are throttled per account and per address,
with 429 and Retry-After; a correct password does not get through while blocked."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client as WebClient
from django.test import override_settings
from rest_framework.test import APIClient

from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.operators.models import AuthFailure
from kopeck.operators.roles import Role
from kopeck.operators.services import api_key_create, operator_create

pytestmark = pytest.mark.django_db

LIMITS = {"KOPECK_AUTH_FAILURES_PER_ACCOUNT": 10, "KOPECK_AUTH_FAILURES_PER_ADDRESS": 20,
          "KOPECK_AUTH_FAILURE_WINDOW": 900,
          "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"]}  # fast: many logins


def login(web: WebClient, username: str, password: str, ip: str = "10.0.0.1") -> Any:
    return web.post("/en/admin/login/?next=/en/admin/", {"username": username, "password": password},
                    REMOTE_ADDR=ip)


@override_settings(**LIMITS)
def test_fifty_wrong_passwords_then_the_right_one_is_refused(clock: FixedClock) -> None:
    operator_create(username="admin", password="correct horse 42", role=Role.ADMINISTRATOR, actor=Actor.system())
    web = WebClient()
    codes = [login(web, "admin", f"wrong-{i}", ip=f"10.0.0.{i}").status_code for i in range(50)]
    assert codes[:10] == [200] * 10  # the form again, "enter a correct username and password"
    assert set(codes[10:]) == {429}
    r = login(web, "admin", "correct horse 42", ip="10.0.9.9")
    assert r.status_code == 429
    assert r["Retry-After"] == "900"
    assert b"Too many failed login attempts" in r.content
    assert "_auth_user_id" not in web.session
    # a blocked attempt is not counted again: the window runs from the failures counted
    assert AuthFailure.objects.filter(key="login:admin").count() == 10
    clock.advance(dt.timedelta(seconds=600))
    assert login(web, "admin", "correct horse 42", ip="10.0.9.9")["Retry-After"] == "300"
    clock.advance(dt.timedelta(seconds=301))
    r = login(web, "admin", "correct horse 42", ip="10.0.9.9")
    assert r.status_code == 302 and web.session["_auth_user_id"]
    assert AuthFailure.objects.filter(key="login:admin").count() == 0  # a success clears the account


@override_settings(**LIMITS)
def test_the_account_is_blocked_from_every_address_and_an_address_for_every_account(clock: FixedClock) -> None:
    operator_create(username="admin", password="correct horse 42", role=Role.ADMINISTRATOR, actor=Actor.system())
    operator_create(username="other", password="battery staple 7", role=Role.MANAGER, actor=Actor.system())
    web = WebClient()
    for i in range(10):
        login(web, "admin", "wrong", ip=f"10.0.1.{i}")
    assert login(web, "admin", "correct horse 42", ip="10.9.9.9").status_code == 429
    assert login(web, "other", "battery staple 7", ip="10.9.9.9").status_code == 302  # another account
    web = WebClient()
    for i in range(20):
        login(web, f"nobody-{i}", "wrong", ip="10.0.2.2")
    r = login(web, "other", "battery staple 7", ip="10.0.2.2")
    assert r.status_code == 429 and int(r["Retry-After"]) == 900


def api_get(token: str, ip: str = "10.0.0.7", language: str = "en") -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE=language)
    return client.get("/api/v1/clients/", REMOTE_ADDR=ip)


@override_settings(**LIMITS)
def test_a_key_that_keeps_failing_is_throttled_with_retry_after(clock: FixedClock) -> None:
    token = api_key_create(name="k", scopes=["clients:read"], actor=Actor.system()).token
    prefix = token.split("_")[1]
    codes = [api_get(f"kpk_{prefix}_wrong{i}").status_code for i in range(12)]
    assert codes == [401] * 10 + [429] * 2
    r = api_get(token)
    assert r.status_code == 429 and r["Retry-After"] == "900"
    assert r["Content-Type"] == "application/problem+json"
    assert r.json()["type"] == "urn:kopeck:problem:throttled"
    ru = api_get(token, language="ru").json()
    assert ru["title"] == "Слишком много запросов" and "900" in ru["detail"]
    clock.advance(dt.timedelta(seconds=901))
    assert api_get(token).status_code == 200


@override_settings(**LIMITS)
def test_an_address_trying_many_keys_is_throttled(clock: FixedClock) -> None:
    good = api_key_create(name="k", scopes=["clients:read"], actor=Actor.system()).token
    codes = [api_get(f"kpk_{i:08x}_guess", ip="10.3.3.3").status_code for i in range(21)]
    assert codes[:20] == [401] * 20 and codes[20] == 429
    assert api_get(good, ip="10.3.3.3").status_code == 429
    assert api_get(good, ip="10.4.4.4").status_code == 200  # other addresses are not affected


@override_settings(**LIMITS)
def test_a_refused_key_is_counted_once_per_request(clock: FixedClock) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer kpk_deadbeef_nope")
    r = client.post("/api/v1/clients/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k1", REMOTE_ADDR="10.5.5.5")
    assert r.status_code == 401
    assert AuthFailure.objects.filter(key="key:deadbeef").count() == 1
    assert AuthFailure.objects.filter(key="addr:10.5.5.5").count() == 1
