"""DRF authentication by API key: ``Authorization: Bearer kpk_<prefix>_<secret>`` (or ``X-Api-Key``)."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions
from rest_framework.request import Request

from kopeck.operators.models import ApiKey
from kopeck.operators.services import KeyRefused, api_key_authenticate


class ApiKeyPrincipal:
    """The ``request.user`` of a call made with an API key."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_superuser = False
    is_staff = False

    def __init__(self, key: ApiKey) -> None:
        self.key = key
        self.pk = None
        self.username = f"apikey:{key.prefix}"

    def __str__(self) -> str:
        return self.username


def presented_token(request: Any) -> str | None:
    meta = request.META
    header = meta.get("HTTP_AUTHORIZATION", "")
    if header.lower().startswith("bearer "):
        return str(header[7:].strip())
    token = meta.get("HTTP_X_API_KEY")
    return str(token).strip() if token else None


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        token = presented_token(request)
        if token is None:
            return None
        try:
            key = api_key_authenticate(token, ip=request.META.get("REMOTE_ADDR"))
        except KeyRefused as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from exc
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="kopeck"'
