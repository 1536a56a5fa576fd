"""Finding 9 of issue 12: production settings pass ``check --deploy`` with no warning; every page has
a Content-Security-Policy; the demo stays on plain HTTP."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client as WebClient

PRODUCTION = {
    "KOPECK_HTTPS": "1",
    "KOPECK_SECRET_KEY": secrets.token_urlsafe(60),
    "KOPECK_ALLOWED_HOSTS": "billing.example.ru",
    "KOPECK_CSRF_TRUSTED_ORIGINS": "https://billing.example.ru",
    "KOPECK_DEBUG": "0",
}


def kopeck(args: list[str], env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("KOPECK_")}
    return subprocess.run([sys.executable, "-c", "from kopeck.cli import main; main()", *args],
                          env={**base, "KOPECK_VAR_DIR": str(tmp_path), **env}, capture_output=True, text=True,
                          timeout=300)


def test_production_settings_pass_check_deploy_without_a_warning(tmp_path: Path) -> None:
    done = kopeck(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues (0 silenced)." in done.stdout


def test_the_demo_on_plain_http_warns_about_https_only(tmp_path: Path) -> None:
    demo = {k: v for k, v in PRODUCTION.items() if k != "KOPECK_HTTPS"}
    done = kopeck(["check", "--deploy"], demo, tmp_path)
    warned = set(re.findall(r"\(security\.(W\d+)\)", done.stdout + done.stderr))
    # only what HTTPS brings: HSTS, the SSL redirect, secure session and CSRF cookies
    assert warned == {"W004", "W008", "W012", "W016"}


def test_production_settings_values(tmp_path: Path) -> None:
    code = ("import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'kopeck.settings'); django.setup();"
            "from django.conf import settings as s;"
            "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS,"
            " s.SECURE_PROXY_SSL_HEADER)")
    base = {k: v for k, v in os.environ.items() if not k.startswith("KOPECK_")}
    out = subprocess.run([sys.executable, "-c", code], env={**base, "KOPECK_VAR_DIR": str(tmp_path), **PRODUCTION,
                                                            "KOPECK_BEHIND_PROXY": "1"},
                         capture_output=True, text=True, timeout=120, check=True).stdout.split()
    assert out == ["True", "True", "True", "31536000", "('HTTP_X_FORWARDED_PROTO',", "'https')"]


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/en/admin/login/", "/api/v1/clients/", "/api/docs/", "/api/schema/"])
def test_every_response_has_a_content_security_policy(url: str) -> None:
    r = WebClient().get(url)
    policy = r["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy and "object-src 'none'" in policy
    assert re.search(r"script-src 'self' 'nonce-[A-Za-z0-9_-]{22}'( 'unsafe-eval')?;", policy)
    from django.conf import settings

    # only an Alpine.js admin theme (django-unfold) needs eval; inline scripts always need the nonce
    assert ("unsafe-eval" in policy) == any(a.split(".")[0] == "unfold" for a in settings.INSTALLED_APPS)
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]
    assert r["X-Frame-Options"] == "DENY" and r["X-Content-Type-Options"] == "nosniff"


@pytest.mark.django_db
def test_swagger_ui_has_no_inline_script() -> None:
    html = WebClient().get("/api/docs/").content.decode()
    assert re.findall(r"<script>", html) == []
