"""Mail (SMTP) settings: selector, service, /api/v1/settings/mail/ and the admin page."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.audit.models import AuditEntry
from kopeck.common.actor import Actor
from kopeck.common.errors import ValidationFailed
from kopeck.configuration.models import MailSettings
from kopeck.configuration.selectors import mail_settings
from kopeck.configuration.services import mail_settings_update
from kopeck.core.clock import FixedClock
from tests.conftest import START
from tests.smtp import SmtpServer

PROBLEM = "application/problem+json"
URL = "/api/v1/settings/mail/"
DEFAULTS = {"enabled": False, "host": "", "port": 587, "security": "starttls", "username": "", "from_email": "",
            "from_name": "", "timeout": 30}
GOOD = {"enabled": True, "host": "smtp.example.com", "port": 465, "security": "ssl", "username": "billing",
        "password": "s3cr3t pass", "from_email": "billing@example.com", "from_name": "ООО «Ромашка»", "timeout": 20}


def state(obj: MailSettings) -> dict[str, Any]:
    return {k: getattr(obj, k) for k in [*DEFAULTS, "password"]}


def mail_audit() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_type="mail_settings").order_by("id"))


# -- selector and service ------------------------------------------------------------------------


@pytest.mark.django_db
def test_mail_settings_reads_the_defaults_without_writing() -> None:
    obj = mail_settings()
    assert obj.pk == 1
    assert state(obj) == {**DEFAULTS, "password": ""}
    assert obj.updated_at is None
    assert MailSettings.objects.count() == 0
    assert AuditEntry.objects.count() == 0


@pytest.mark.django_db
def test_mail_settings_update_changes_and_audits_without_the_password(clock: FixedClock, actor: Actor) -> None:
    obj = mail_settings_update(actor=actor, **{**GOOD, "host": " smtp.example.com "})
    obj.refresh_from_db()
    assert state(obj) == GOOD
    assert obj.updated_at == START
    (entry,) = mail_audit()
    assert (entry.action, entry.object_id, entry.actor_label, entry.at) == ("settings.update", "1", "tests", START)
    assert entry.before == {**DEFAULTS, "password_set": False}
    after = {k: v for k, v in GOOD.items() if k != "password"}
    assert entry.after == {**after, "password_set": True, "password_changed": True}
    assert "s3cr3t" not in json.dumps([entry.before, entry.after])
    # a new password alone is a change (audited, still without the password)
    mail_settings_update(actor=actor, password="another")
    second = mail_audit()[1]
    assert second.after == {**after, "password_set": True, "password_changed": True}
    assert "another" not in json.dumps([second.before, second.after])
    # no change: nothing audited
    mail_settings_update(actor=actor, port=465)
    assert len(mail_audit()) == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"port": 0}, {"port": ["A whole number from 1 to 65535."]}),
        ({"port": 70000}, {"port": ["A whole number from 1 to 65535."]}),
        ({"port": "25"}, {"port": ["A whole number from 1 to 65535."]}),
        ({"port": True}, {"port": ["A whole number from 1 to 65535."]}),
        ({"timeout": 0}, {"timeout": ["A whole number from 1 to 600."]}),
        ({"security": "tls"}, {"security": ["Choose one of none, starttls, ssl."]}),
        ({"enabled": "yes"}, {"enabled": ["Must be true or false."]}),
        ({"host": "smtp example.com"}, {"host": ["A host name or IP address, without spaces."]}),
        ({"host": 25}, {"host": ["Must be a string."]}),
        ({"from_email": "billing(at)example.com"}, {"from_email": ["Enter a valid e-mail address."]}),
        ({"from_name": "Ромашка\nBcc: x@example.com"}, {"from_name": ["Must be one line."]}),
        ({"username": "u" * 256}, {"username": ["At most 255 characters."]}),
        ({"enabled": True}, {"host": ["Required when sending is enabled."],
                             "from_email": ["Required when sending is enabled."]}),
        ({"enabled": True, "host": "smtp.example.com"}, {"from_email": ["Required when sending is enabled."]}),
        ({"use_tls": True}, {"use_tls": ["Unknown setting."]}),
    ],
)
def test_mail_settings_update_refusals_write_nothing(clock: FixedClock, actor: Actor, changes: dict[str, Any],
                                                     errors: dict[str, list[str]]) -> None:
    with pytest.raises(ValidationFailed) as info:
        mail_settings_update(actor=actor, **changes)
    assert info.value.detail == "Invalid mail settings."
    assert info.value.errors == errors
    assert MailSettings.objects.count() == 0
    assert AuditEntry.objects.count() == 0


@pytest.mark.django_db
def test_enabled_settings_cannot_lose_their_host(clock: FixedClock, actor: Actor) -> None:
    mail_settings_update(actor=actor, **GOOD)
    count = AuditEntry.objects.count()
    with pytest.raises(ValidationFailed) as info:
        mail_settings_update(actor=actor, host="")
    assert info.value.errors == {"host": ["Required when sending is enabled."]}
    assert state(MailSettings.objects.get()) == GOOD
    assert AuditEntry.objects.count() == count
    # disabling and clearing at once is fine
    assert state(mail_settings_update(actor=actor, enabled=False, host="")) == {**GOOD, "enabled": False, "host": ""}


# -- API -----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_get_mail_settings_never_returns_the_password(api: APIClient, clock: FixedClock, actor: Actor) -> None:
    assert api.get(URL).json() == {**DEFAULTS, "password_set": False, "updated_at": None}
    mail_settings_update(actor=actor, **GOOD)
    response = api.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert "password" not in body
    assert "s3cr3t" not in response.content.decode()
    assert body == {**{k: v for k, v in GOOD.items() if k != "password"}, "password_set": True,
                    "updated_at": "2026-11-25T12:00:00+03:00"}


@pytest.mark.django_db
def test_patch_mail_settings(api: APIClient, clock: FixedClock) -> None:
    response = api.patch(URL, GOOD, format="json")
    assert response.status_code == 200, response.content
    assert "password" not in response.json()
    assert "s3cr3t" not in response.content.decode()
    assert response.json()["password_set"] is True
    assert state(MailSettings.objects.get()) == GOOD
    (entry,) = mail_audit()
    assert entry.actor_kind == "api_key"
    # an empty password removes it
    response = api.patch(URL, {"password": "", "enabled": False}, format="json")
    assert response.status_code == 200
    assert response.json()["password_set"] is False
    assert MailSettings.objects.get().password == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"port": 0}, [{"field": "port", "detail": "Целое число от 1 до 65535."}]),
        ({"port": "abc"}, [{"field": "port", "detail": "Введите правильное число."}]),
        ({"security": "tls"}, [{"field": "security", "detail": "Значения tls нет среди допустимых вариантов."}]),
        ({"from_email": "nope"}, [{"field": "from_email", "detail": "Введите правильный адрес электронной почты."}]),
        ({"enabled": True}, [{"field": "host", "detail": "Обязательно, если отправка включена."},
                             {"field": "from_email", "detail": "Обязательно, если отправка включена."}]),
        ({"host": "a b", "password": "x" * 256},
         [{"field": "password", "detail": "Убедитесь, что это значение содержит не более 255 символов."}]),
    ],
)
def test_patch_mail_settings_refusals(api: APIClient, clock: FixedClock, body: dict[str, Any],
                                      errors: list[dict[str, str]]) -> None:
    response = api.patch(URL, body, format="json")
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    problem = json.loads(response.content)
    assert (problem["type"], problem["status"], problem["instance"]) == (
        "urn:kopeck:problem:validation-error", 400, URL)
    assert problem["errors"] == errors
    assert MailSettings.objects.count() == 0
    assert AuditEntry.objects.filter(object_type="mail_settings").count() == 0


@pytest.mark.django_db
def test_mail_settings_need_the_settings_area(api_as: Callable[..., APIClient], clock: FixedClock) -> None:
    reader = api_as("settings:read")
    assert reader.get(URL).status_code == 200
    response = reader.patch(URL, {"host": "smtp.example.com"}, format="json")
    assert response.status_code == 403
    assert response["Content-Type"] == PROBLEM
    assert api_as("clients:write").get(URL).status_code == 403
    assert MailSettings.objects.count() == 0
    assert AuditEntry.objects.filter(object_type="mail_settings").count() == 0


# -- admin ---------------------------------------------------------------------------------------


ADMIN = "/admin/configuration/mailsettings/"


def admin_form(**overrides: Any) -> dict[str, Any]:
    data = {"enabled": "on", "host": "smtp.example.com", "port": "587", "security": "starttls",
            "username": "billing", "password": "", "from_email": "billing@example.com", "from_name": "Копейка",
            "timeout": "30"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.django_db
def test_admin_edits_mail_settings_and_keeps_the_password(operator_as: Any, clock: FixedClock, actor: Actor) -> None:
    admin = operator_as("administrator")
    response = admin.get(ADMIN)
    assert response.status_code == 302
    assert response["Location"] == f"{ADMIN}1/change/"
    page = admin.get(f"{ADMIN}1/change/").content.decode()
    assert "Отправить тестовое письмо" in page
    response = admin.post(f"{ADMIN}1/change/", admin_form(password="pw-1"))
    assert response.status_code == 302, response.content.decode()[:3000]
    assert MailSettings.objects.get().password == "pw-1"
    # an empty password field keeps the password; the page never shows it
    assert "pw-1" not in admin.get(f"{ADMIN}1/change/").content.decode()
    assert admin.post(f"{ADMIN}1/change/", admin_form(timeout="10")).status_code == 302
    obj = MailSettings.objects.get()
    assert (obj.password, obj.timeout) == ("pw-1", 10)
    assert admin.post(f"{ADMIN}1/change/", admin_form(clear_password="on")).status_code == 302
    assert MailSettings.objects.get().password == ""
    assert len(mail_audit()) == 3


@pytest.mark.django_db
def test_admin_refuses_invalid_mail_settings(operator_as: Any, clock: FixedClock) -> None:
    admin = operator_as("administrator")
    admin.get(ADMIN)
    for overrides, error in [({"host": ""}, "Обязательно, если отправка включена."),
                             ({"port": "70000"}, "Целое число от 1 до 65535."),
                             ({"from_email": "nope"}, "Введите правильный адрес электронной почты.")]:
        response = admin.post(f"{ADMIN}1/change/", admin_form(**overrides))
        assert response.status_code == 200
        assert error in response.content.decode()
    assert state(MailSettings.objects.get()) == {**DEFAULTS, "password": ""}
    assert mail_audit() == []


@pytest.mark.django_db
def test_admin_sends_a_test_email(operator_as: Any, mail_configured: SmtpServer) -> None:
    admin = operator_as("administrator")
    assert admin.get(f"{ADMIN}test/").status_code == 200
    response = admin.post(f"{ADMIN}test/", {"to": "ops@example.com"}, follow=True)
    assert response.status_code == 200
    assert "Тестовое письмо отправлено на ops@example.com." in response.content.decode()
    (message,) = mail_configured.messages
    assert message["To"] == "ops@example.com"
    assert message["Subject"] == "Kopeck: тестовое письмо"


@pytest.mark.django_db
def test_admin_test_email_reports_a_failure(operator_as: Any, smtp_server: SmtpServer) -> None:
    admin = operator_as("administrator")
    response = admin.post(f"{ADMIN}test/", {"to": "ops@example.com"})
    assert response.status_code == 200
    assert ("Тестовое письмо не отправлено: Mail is not configured: sending is disabled in the mail settings."
            in response.content.decode())
    assert smtp_server.messages == []


@pytest.mark.django_db
def test_only_settings_writers_send_test_emails(operator_as: Any, mail_configured: SmtpServer) -> None:
    assert operator_as("accountant").post(f"{ADMIN}test/", {"to": "ops@example.com"}).status_code == 403
    assert mail_configured.messages == []
