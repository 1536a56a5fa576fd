"""DRF authentication by API key: ``Authorization: Bearer kpk_<prefix>_<secret>`` (or ``X-Api-Key``)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from kopeck.operators import throttle
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


_CACHE_ATTR = "_kopeck_api_key"


def key_account(token: str) -> str:
    """What a presented token's failures count against: its prefix (whether or not it exists)."""
    parts = token.split("_", 2)
    return f"key:{parts[1] if len(parts) == 3 else '(malformed)'}"


def request_api_key(request: Any) -> ApiKey | None:
    """The API key the request presents, checked (once per request); None when it presents none.
    Raises KeyRefused for a malformed, unknown, revoked or expired key, and Throttled once the key or
    the address has failed too often (operators.throttle); the failure is recorded once."""
    http_request = getattr(request, "_request", request)  # DRF's Request wraps Django's
    cached = getattr(http_request, _CACHE_ATTR, None)
    if isinstance(cached, Exception):
        raise cached
    if cached is not None:
        return cached if isinstance(cached, ApiKey) else None
    token = presented_token(http_request)
    if token is None:
        setattr(http_request, _CACHE_ATTR, False)
        return None
    address = http_request.META.get("REMOTE_ADDR")
    account = key_account(token)
    try:
        throttle.check(account, address)
        key = api_key_authenticate(token, ip=address)
    except KeyRefused as exc:
        throttle.record_failure(account, address)
        setattr(http_request, _CACHE_ATTR, exc)
        raise
    except throttle.Throttled as exc:
        setattr(http_request, _CACHE_ATTR, exc)
        raise
    setattr(http_request, _CACHE_ATTR, key)
    return key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ApiKeyPrincipal, ApiKey] | None:
        try:
            key = request_api_key(request)
        except KeyRefused as exc:
            raise exceptions.AuthenticationFailed(_(str(exc))) from exc
        except throttle.Throttled as exc:
            raise exceptions.Throttled(wait=exc.retry_after, detail=_(
                "Too many failed attempts. Try again in %(seconds)d seconds.") % {"seconds": exc.retry_after}) from exc
        if key is None:
            return None
        return ApiKeyPrincipal(key), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="kopeck"'
