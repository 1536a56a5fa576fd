"""Language selection: the admin's language comes from its URL (/en/admin/ or the default), the API's
from the caller's Accept-Language header (default: KOPECK_LANGUAGE)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class KopeckLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request: HttpRequest) -> Any:
        if request.path_info.startswith("/api/"):
            translation.activate(translation.get_language_from_request(request, check_path=False))
            request.LANGUAGE_CODE = translation.get_language()
            return None
        return super().process_request(request)


class ContentSecurityPolicyMiddleware:
    """``Content-Security-Policy`` on every response (``settings.KOPECK_CSP``); ``{nonce}`` in it
    becomes ``'nonce-…'``, fresh per request, which Kopeck's own inline scripts carry
    (``<script nonce="{{ request.csp_nonce }}">``)."""

    def __init__(self, get_response: Any) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> Any:
        import secrets

        from django.conf import settings

        nonce = secrets.token_urlsafe(16)
        request.csp_nonce = nonce  # type: ignore[attr-defined]
        response = self.get_response(request)
        policy = settings.KOPECK_CSP
        if policy and "Content-Security-Policy" not in response:
            response["Content-Security-Policy"] = policy.replace("{nonce}", f"'nonce-{nonce}'")
        return response
