"""Finding 2 of issue 12: nobody grants more than they hold — keys, operators, roles."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client as WebClient
from rest_framework.test import APIClient

from kopeck.audit.models import AuditEntry
from kopeck.common.actor import Actor
from kopeck.common.errors import ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.ledger.models import JournalTransaction
from kopeck.operators.models import ApiKey, Operator
from kopeck.operators.roles import Role
from kopeck.operators.services import api_key_authenticate, api_key_create, operator_create
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db


def snapshot() -> tuple[int, int, int]:
    return ApiKey.objects.count(), AuditEntry.objects.count(), Operator.objects.count()


def test_a_key_with_operators_write_cannot_mint_a_more_powerful_key(api_as: Any, clock: FixedClock) -> None:
    limited = api_as("operators:write")
    before = snapshot()
    for scopes in (["*:write"], ["ledger:write"], ["*:read"], ["operators:write", "clients:read"]):
        r = limited.post("/api/v1/api-keys/", {"name": "mine", "scopes": scopes}, format="json")
        assert r.status_code == 400, r.content
        assert r["Content-Type"] == "application/problem+json"
        assert [e["field"] for e in r.json()["errors"]] == ["scopes"] * len(
            [s for s in scopes if s != "operators:write"])
    assert snapshot() == before
    # what it holds, it may grant
    ok = limited.post("/api/v1/api-keys/", {"name": "peer", "scopes": ["operators:read"]}, format="json")
    assert ok.status_code == 201 and ok.json()["scopes"] == ["operators:read"]


def test_the_minted_key_never_reaches_the_ledger(api_as: Any, clock: FixedClock) -> None:
    client = ClientFactory()
    limited = api_as("operators:write")
    r = limited.post("/api/v1/api-keys/", {"name": "x", "scopes": ["*:write"]}, format="json")
    assert r.status_code == 400 and "token" not in r.json()
    assert JournalTransaction.objects.filter(client=client).count() == 0


def test_an_operator_grants_only_what_its_role_holds(operator_as: Any, clock: FixedClock) -> None:
    admin = operator_as(Role.ADMINISTRATOR)
    assert admin.post("/api/v1/api-keys/", {"name": "all", "scopes": ["*:write"]}, format="json").status_code == 201
    accountant = operator_as(Role.ACCOUNTANT)  # has no operators area at all: the API refuses it first
    before = snapshot()
    assert accountant.post("/api/v1/api-keys/", {"name": "x", "scopes": ["*:read"]}, format="json").status_code == 403
    assert snapshot() == before


def test_the_service_refuses_scopes_beyond_the_grantor(clock: FixedClock) -> None:
    grantor = api_key_create(name="g", scopes=["operators:write", "clients:read"], actor=Actor.system()).key
    before = snapshot()
    with pytest.raises(ValidationFailed) as info:
        api_key_create(name="x", scopes=["clients:write", "clients:read"], actor=Actor.system(), grantor=grantor)
    assert info.value.errors == {"scopes": ["You cannot grant a scope you do not hold: clients:write"]}
    assert snapshot() == before
    with pytest.raises(ValueError, match="grantor"):  # a key or operator must say who grants
        api_key_create(name="x", scopes=["clients:read"], actor=Actor(kind="api_key", id="1", label="k"))  # type: ignore[arg-type]


def test_an_administrator_who_is_not_superuser_cannot_make_or_change_a_superuser(clock: FixedClock) -> None:
    root = operator_create(username="root", password="x" * 12, role=Role.ADMINISTRATOR, superuser=True,
                           actor=Actor.system())
    admin = operator_create(username="adm", password="y" * 12, role=Role.ADMINISTRATOR, actor=Actor.system())
    manager = operator_create(username="mgr", password="z" * 12, role=Role.MANAGER, actor=Actor.system())
    before = snapshot()
    with pytest.raises(ValidationFailed) as info:
        operator_create(username="evil", password="e" * 12, role=Role.ADMINISTRATOR, superuser=True,
                        actor=Actor.system(), editor=admin)
    assert set(info.value.errors) == {"is_superuser"}
    with pytest.raises(ValidationFailed) as info:
        operator_create(username="evil", password="e" * 12, role=Role.ADMINISTRATOR, actor=Actor.system(),
                        editor=manager)
    assert set(info.value.errors) == {"role"}
    assert snapshot() == before

    web = WebClient()
    web.force_login(admin)
    page = f"/en/admin/operators/operator/{root.pk}/change/"
    form = {"username": "root", "role": Role.ADMINISTRATOR, "is_active": "on", "is_staff": "on",
            "is_superuser": "on", "last_login_0": "", "last_login_1": "", "date_joined_0": "2026-11-25",
            "date_joined_1": "09:00:00"}
    r = web.post(page, form)
    assert r.status_code == 200 and b"Only a superuser may change a superuser." in r.content
    r = web.post(f"/en/admin/operators/operator/{manager.pk}/change/",
                 {**form, "username": "mgr", "is_superuser": "on"})
    assert r.status_code == 200 and b"Only a superuser may make a superuser." in r.content
    manager.refresh_from_db()
    assert not manager.is_superuser
    assert snapshot() == before


def test_a_manager_cannot_raise_its_own_role_in_the_admin(clock: FixedClock) -> None:
    manager = operator_create(username="mgr", password="z" * 12, role=Role.MANAGER, actor=Actor.system())
    manager.is_staff = True
    manager.save()
    web = WebClient()
    web.force_login(manager)
    # a manager has no operators area: the admin does not even show the page
    r = web.get(f"/en/admin/operators/operator/{manager.pk}/change/")
    assert r.status_code == 403
    manager.refresh_from_db()
    assert manager.role == Role.MANAGER


def test_a_key_cannot_revoke_itself(make_key: Any, clock: FixedClock) -> None:
    token = make_key("operators:write")
    key = api_key_authenticate(token)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_ACCEPT_LANGUAGE="en")
    before = snapshot()
    r = client.post(f"/api/v1/api-keys/{key.pk}/revoke/")
    assert r.status_code == 409 and r.json()["type"] == "urn:kopeck:problem:conflict"
    assert snapshot() == before
    key.refresh_from_db()
    assert key.revoked_at is None


def test_apikey_command_creates_the_first_key(clock: FixedClock) -> None:
    out = io.StringIO()
    call_command("apikey", "create", "--name", "1C", "--scopes", "clients:read,ledger:write", stdout=out)
    text = out.getvalue()
    token = text.strip().splitlines()[-1]
    key = api_key_authenticate(token)
    assert key.name == "1C" and key.scopes == ["clients:read", "ledger:write"]
    assert "shown only now" in text
    quiet = io.StringIO()
    call_command("apikey", "create", "--name", "ci", "--scopes", "*:write", "--quiet", stdout=quiet)
    assert api_key_authenticate(quiet.getvalue().strip()).scopes == ["*:write"]
    listing = io.StringIO()
    call_command("apikey", "list", stdout=listing)
    assert f"{key.prefix}\tactive\tclients:read,ledger:write\t1C" in listing.getvalue()
    call_command("apikey", "revoke", key.prefix, stdout=io.StringIO())
    key.refresh_from_db()
    assert key.revoked_at is not None


@pytest.mark.parametrize(("args", "message"), [
    (["--name", "x", "--scopes", "clients:fly"], "--scopes: Unknown scope: clients:fly"),
    (["--name", " ", "--scopes", "clients:read"], "--name: Name is required."),
    (["--name", "x", "--scopes", "clients:read", "--expires", "2020-01-01"], "--expires: Expiry must be in the future."),
    (["--name", "x", "--scopes", "clients:read", "--expires", "soon"], "--expires: not a date YYYY-MM-DD"),
])
def test_apikey_command_refusals_write_nothing(clock: FixedClock, args: list[str], message: str) -> None:
    before = snapshot()
    with pytest.raises(CommandError, match=message.replace("*", r"\*")):
        call_command("apikey", "create", *args, stdout=io.StringIO())
    assert snapshot() == before
