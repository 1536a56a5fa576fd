"""Tests for the billing settings (kopeck.configuration): selector, service and /api/v1/settings/billing/."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from kopeck.audit.models import AuditEntry
from kopeck.common.actor import Actor
from kopeck.common.errors import ValidationFailed
from kopeck.configuration.models import BillingSettings, VatRegime
from kopeck.configuration.selectors import billing_settings, provider_today, provider_zone
from kopeck.configuration.services import billing_settings_update
from kopeck.core.clock import FixedClock
from tests.conftest import START

PROBLEM = "application/problem+json"
DEFAULT_STATE = {"time_zone": "Europe/Moscow", "default_currency": "RUB", "vat_regime": "osn",
                 "prices_include_vat": True, "scheduled_run": "auto", "auto_billing_time": dt.time(0, 0),
                 "run_report_to": ""}


# the credit-control defaults (docs/credit.md), as the API and the audit log show them
CREDIT_JSON = {"credit_mode": "postpaid", "credit_limit": None, "credit_grace_days": 0, "low_balance_amount": None,
               "low_balance_days": None, "promise_max_share": "100.00", "promise_max_days": 5,
               "promise_interval_days": 30, "effect_non_payment": "pause", "effect_client_request": "pause_prorated",
               "effect_abuse": "continue", "effect_fraud": "pause", "effect_legal": "pause"}


def state(obj: BillingSettings) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in DEFAULT_STATE}


def settings_audit() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_type="billing_settings").order_by("id"))


# -- selector ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_billing_settings_reads_the_defaults_without_writing() -> None:
    assert settings.KOPECK_TIME_ZONE == "Europe/Moscow"
    assert BillingSettings.objects.count() == 0
    obj = billing_settings()
    assert obj.pk == 1
    assert state(obj) == DEFAULT_STATE
    assert obj.updated_at is None
    assert obj.default_vat_rate == "22"
    assert BillingSettings.objects.count() == 0  # reading never writes
    assert billing_settings().pk == 1
    assert BillingSettings.objects.count() == 0
    assert AuditEntry.objects.count() == 0


@pytest.mark.django_db
def test_billing_settings_initial_zone_comes_from_the_environment(settings: Any) -> None:
    settings.KOPECK_TIME_ZONE = "Asia/Yekaterinburg"
    assert billing_settings().time_zone == "Asia/Yekaterinburg"


@pytest.mark.django_db
def test_provider_zone_and_today(clock: FixedClock, actor: Actor) -> None:
    clock.set(dt.datetime(2026, 11, 25, 22, 30, tzinfo=dt.UTC))  # 01:30 on the 26th in Moscow
    assert provider_zone() == "Europe/Moscow"
    assert provider_today() == dt.date(2026, 11, 26)
    billing_settings_update(actor=actor, time_zone="America/New_York")
    assert provider_today() == dt.date(2026, 11, 25)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("regime", "rate"),
    [(VatRegime.OSN, "22"), (VatRegime.USN_EXEMPT, "exempt"), (VatRegime.USN_5, "5"), (VatRegime.USN_7, "7"),
     (VatRegime.USN_GENERAL, "22")],
)
def test_default_vat_rate_follows_the_regime(clock: FixedClock, actor: Actor, regime: str, rate: str) -> None:
    assert billing_settings_update(actor=actor, vat_regime=regime).default_vat_rate == rate
    assert billing_settings().default_vat_rate == rate


# -- service -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_billing_settings_update_changes_and_audits(clock: FixedClock, actor: Actor) -> None:
    obj = billing_settings_update(actor=actor, time_zone="Asia/Vladivostok", default_currency=" usd ",
                                  vat_regime="usn_5", prices_include_vat=False)
    obj.refresh_from_db()
    after = {"time_zone": "Asia/Vladivostok", "default_currency": "USD", "vat_regime": "usn_5",
             "prices_include_vat": False, "scheduled_run": "auto", "auto_billing_time": dt.time(0, 0),
             "run_report_to": ""}
    assert state(obj) == after
    assert obj.updated_at == START
    (entry,) = settings_audit()
    assert (entry.action, entry.object_type, entry.object_id, entry.at) == (
        "settings.update", "billing_settings", "1", START)
    assert (entry.actor_kind, entry.actor_label) == ("system", "tests")
    assert entry.before == {**DEFAULT_STATE, "auto_billing_time": "00:00:00", **CREDIT_JSON}  # as JSON
    assert entry.after == {**after, "auto_billing_time": "00:00:00", **CREDIT_JSON}


@pytest.mark.django_db
def test_billing_settings_update_of_one_setting_keeps_the_others(clock: FixedClock, actor: Actor) -> None:
    billing_settings_update(actor=actor, vat_regime="usn_exempt")
    clock.advance(dt.timedelta(hours=1))
    obj = billing_settings_update(actor=actor, prices_include_vat=False)
    assert state(obj) == {**DEFAULT_STATE, "vat_regime": "usn_exempt", "prices_include_vat": False}
    assert obj.updated_at == START + dt.timedelta(hours=1)
    first, second = settings_audit()
    assert first.after == second.before
    assert (second.before["prices_include_vat"], second.after["prices_include_vat"]) == (True, False)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"time_zone": "Mars/Olympus"}, {"time_zone": ["unknown time zone 'Mars/Olympus'"]}),
        ({"time_zone": "europe/moscow"}, {"time_zone": ["unknown time zone 'europe/moscow'"]}),
        ({"time_zone": ""}, {"time_zone": ["unknown time zone ''"]}),
        ({"time_zone": "../../etc/passwd"}, {"time_zone": ["unknown time zone '../../etc/passwd'"]}),
        ({"default_currency": "XYZ"}, {"default_currency": ["unknown currency 'XYZ'"]}),
        ({"default_currency": "рубль"}, {"default_currency": ["unknown currency 'рубль'"]}),
        ({"vat_regime": "usn_6"}, {"vat_regime": ["Choose one of osn, usn_exempt, usn_5, usn_7, usn_general."]}),
        ({"prices_include_vat": "yes"}, {"prices_include_vat": ["Must be true or false."]}),
        ({"prices_include_vat": 1}, {"prices_include_vat": ["Must be true or false."]}),
        ({"prices_include_vat": None}, {"prices_include_vat": ["Must be true or false."]}),
        ({"week_starts_on": "monday"}, {"week_starts_on": ["Unknown setting."]}),
        ({"updated_at": START}, {"updated_at": ["Unknown setting."]}),
        ({"time_zone": "Nowhere", "default_currency": "XYZ", "vat_regime": "x", "prices_include_vat": "no"},
         {"time_zone": ["unknown time zone 'Nowhere'"], "default_currency": ["unknown currency 'XYZ'"],
          "vat_regime": ["Choose one of osn, usn_exempt, usn_5, usn_7, usn_general."],
          "prices_include_vat": ["Must be true or false."]}),
    ],
)
def test_billing_settings_update_refusals_write_nothing(
    clock: FixedClock, actor: Actor, changes: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    with pytest.raises(ValidationFailed) as info:
        billing_settings_update(actor=actor, **changes)
    assert info.value.errors == errors
    assert info.value.detail == "Invalid billing settings."
    assert BillingSettings.objects.count() == 0  # not even the defaults row
    assert AuditEntry.objects.count() == 0
    # and with an existing row: unchanged
    billing_settings_update(actor=actor, vat_regime="usn_7")
    audit_count = AuditEntry.objects.count()
    clock.advance(dt.timedelta(minutes=1))
    with pytest.raises(ValidationFailed):
        billing_settings_update(actor=actor, **changes)
    obj = BillingSettings.objects.get()
    assert state(obj) == {**DEFAULT_STATE, "vat_regime": "usn_7"}
    assert obj.updated_at == START
    assert AuditEntry.objects.count() == audit_count


# -- API -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_get_billing_settings(api: APIClient) -> None:
    response = api.get("/api/v1/settings/billing/")
    assert response.status_code == 200
    assert response.json() == {**DEFAULT_STATE, "auto_billing_time": "00:00:00", "default_vat_rate": "22",
                               **CREDIT_JSON, "updated_at": None}


@pytest.mark.django_db
def test_patch_billing_settings(api: APIClient, clock: FixedClock) -> None:
    response = api.patch("/api/v1/settings/billing/", {"vat_regime": "usn_exempt", "default_currency": "eur",
                                                       "prices_include_vat": False}, format="json")
    assert response.status_code == 200, response.content
    expected = {"time_zone": "Europe/Moscow", "default_currency": "EUR", "vat_regime": "usn_exempt",
                "prices_include_vat": False, "scheduled_run": "auto", "auto_billing_time": "00:00:00", "run_report_to": "",
                "default_vat_rate": "exempt", **CREDIT_JSON,
                "updated_at": "2026-11-25T12:00:00+03:00"}
    assert response.json() == expected
    assert api.get("/api/v1/settings/billing/").json() == expected
    (entry,) = settings_audit()
    assert entry.actor_kind == "api_key"
    assert entry.after == {"time_zone": "Europe/Moscow", "default_currency": "EUR", "vat_regime": "usn_exempt",
                           "prices_include_vat": False, "scheduled_run": "auto", "auto_billing_time": "00:00:00",
                           "run_report_to": "", **CREDIT_JSON}


@pytest.mark.django_db
def test_patch_billing_settings_ignores_the_read_only_keys(api: APIClient, clock: FixedClock) -> None:
    response = api.patch("/api/v1/settings/billing/", {"default_vat_rate": "5", "updated_at": "2000-01-01T00:00:00Z",
                                                       "time_zone": "Asia/Omsk"}, format="json")
    assert response.status_code == 200
    assert response.json() == {**DEFAULT_STATE, "time_zone": "Asia/Omsk", "auto_billing_time": "00:00:00",
                               "default_vat_rate": "22", **CREDIT_JSON, "updated_at": "2026-11-25T12:00:00+03:00"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"time_zone": "Mars/Olympus"}, [{"field": "time_zone", "detail": "Неизвестный часовой пояс «Mars/Olympus»."}]),
        ({"default_currency": "XYZ"}, [{"field": "default_currency", "detail": "Неизвестная валюта «XYZ»."}]),
        ({"default_currency": "RUBL"},
         [{"field": "default_currency", "detail": "Убедитесь, что это значение содержит не более 3 символов."}]),
        ({"vat_regime": "usn_6"}, [{"field": "vat_regime", "detail": "Значения usn_6 нет среди допустимых вариантов."}]),
        ({"prices_include_vat": "maybe"}, [{"field": "prices_include_vat", "detail": "Must be a valid boolean."}]),
    ],
)
def test_patch_billing_settings_refusals(api: APIClient, clock: FixedClock, body: dict[str, Any],
                                         errors: list[dict[str, str]]) -> None:
    before = api.get("/api/v1/settings/billing/").json()
    audit_count = AuditEntry.objects.count()
    response = api.patch("/api/v1/settings/billing/", body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    problem = json.loads(response.content)
    assert (problem["type"], problem["title"], problem["status"]) == (
        "urn:kopeck:problem:validation-error", "Неверные данные", 400)  # no Accept-Language: ru
    assert problem["errors"] == errors
    assert problem["instance"] == "/api/v1/settings/billing/"
    assert api.get("/api/v1/settings/billing/").json() == before
    assert AuditEntry.objects.count() == audit_count


@pytest.mark.django_db
def test_read_only_key_cannot_patch_billing_settings(api_as: Callable[..., APIClient], clock: FixedClock) -> None:
    reader = api_as("settings:read")
    assert reader.get("/api/v1/settings/billing/").status_code == 200
    audit_count = AuditEntry.objects.count()
    response = reader.patch("/api/v1/settings/billing/", {"vat_regime": "usn_5"}, format="json")
    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM
    problem = json.loads(response.content)
    assert (problem["type"], problem["status"], problem["detail"]) == (
        "urn:kopeck:problem:forbidden", 403, "Your role or API key scopes do not allow this.")
    assert problem["title"]
    assert billing_settings().vat_regime == "osn"
    assert AuditEntry.objects.count() == audit_count


@pytest.mark.django_db
def test_key_without_settings_scope_cannot_read_billing_settings(api_as: Callable[..., APIClient]) -> None:
    response = api_as("clients:write").get("/api/v1/settings/billing/")
    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM


@pytest.mark.django_db
@pytest.mark.parametrize(("role", "allowed"), [("administrator", True), ("accountant", False), ("read_only", False)])
def test_operator_roles_and_billing_settings(operator_as: Callable[[str], APIClient], clock: FixedClock, role: str,
                                             allowed: bool) -> None:
    operator = operator_as(role)
    assert operator.get("/api/v1/settings/billing/").status_code == 200
    response = operator.patch("/api/v1/settings/billing/", {"vat_regime": "usn_7"}, format="json")
    assert response.status_code == (200 if allowed else 403)
    assert billing_settings().vat_regime == ("usn_7" if allowed else "osn")


@pytest.mark.django_db
def test_auto_billing_time(api: APIClient, clock: FixedClock, actor: Actor) -> None:
    response = api.patch("/api/v1/settings/billing/", {"auto_billing_time": "06:30"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["auto_billing_time"] == "06:30:00"
    assert settings_audit()[-1].after["auto_billing_time"] == "06:30:00"
    assert api.patch("/api/v1/settings/billing/", {"auto_billing_time": "25:00"}, format="json").status_code == 400
    refused = api.patch("/api/v1/settings/billing/", {"auto_billing_time": None}, format="json")
    assert refused.status_code == 400  # a time is always set: scheduled_run "off" turns the run off
    assert api.get("/api/v1/settings/billing/").json()["auto_billing_time"] == "06:30:00"
    with pytest.raises(ValidationFailed):
        billing_settings_update(actor=actor, auto_billing_time="late")


@pytest.mark.django_db
def test_scheduled_run(api: APIClient, clock: FixedClock, actor: Actor) -> None:
    for mode in ("confirm", "off", "auto"):
        response = api.patch("/api/v1/settings/billing/", {"scheduled_run": mode}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["scheduled_run"] == mode
    before = settings_audit()
    refused = api.patch("/api/v1/settings/billing/", {"scheduled_run": "hourly"}, format="json")
    assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == "scheduled_run"
    assert settings_audit() == before and billing_settings().scheduled_run == "auto"


@pytest.mark.django_db
def test_run_report_addresses_over_the_api(api: APIClient, clock: FixedClock) -> None:
    response = api.patch("/api/v1/settings/billing/", {"run_report_to": "ops@kopeck.test;boss@kopeck.test"},
                         format="json")
    assert response.status_code == 200, response.content
    assert response.json()["run_report_to"] == "ops@kopeck.test, boss@kopeck.test"
    audits = len(settings_audit())
    refused = api.patch("/api/v1/settings/billing/", {"run_report_to": "ops@kopeck.test, nobody"}, format="json")
    assert refused.status_code == 400 and refused["Content-Type"] == "application/problem+json"
    assert refused.json()["errors"] == [{"field": "run_report_to", "detail": "Это не адрес электронной почты: «nobody»."}]
    assert api.get("/api/v1/settings/billing/").json()["run_report_to"] == "ops@kopeck.test, boss@kopeck.test"
    assert len(settings_audit()) == audits  # nothing written


@pytest.mark.django_db
def test_the_credit_defaults_are_checked(api: APIClient, clock: FixedClock) -> None:
    before = AuditEntry.objects.count()
    bad = api.patch("/api/v1/settings/billing/", {"credit_limit": "-5", "promise_max_days": 0}, format="json")
    assert bad.status_code == 400
    assert sorted(e["field"] for e in bad.json()["errors"]) == ["credit_limit", "promise_max_days"]
    bad = api.patch("/api/v1/settings/billing/", {"effect_fraud": "forgive"}, format="json")
    assert bad.status_code == 400 and [e["field"] for e in bad.json()["errors"]] == ["effect_fraud"]
    assert AuditEntry.objects.count() == before
    good = api.patch("/api/v1/settings/billing/", {"credit_mode": "prepaid", "credit_limit": "500.00",
                                                   "effect_abuse": "pause"}, format="json")
    assert good.status_code == 200
    assert {k: good.json()[k] for k in ("credit_mode", "credit_limit", "effect_abuse")} == {
        "credit_mode": "prepaid", "credit_limit": "500.00", "effect_abuse": "pause"}
