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
