"""The API's own limits, checked before any view runs, and the errors no view answers (a body over
the limit, a crash): every one an RFC 9457 problem, never an HTML page.

* query strings: no NUL characters (PostgreSQL's text cannot hold them) and no parameter given more than
  once (every query parameter of the API is a single value: ``?status=a&status=b`` is refused rather
  than one of the two silently taken) → 400 naming the parameter;
* request headers over ``KOPECK_MAX_HEADER_BYTES`` in total → 431;
* a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (announced by Content-Length, or found while reading)
  → 413 — or over ``KOPECK_MAX_UPLOAD_BYTES`` on an endpoint that takes a file (:func:`allow_upload`);
* any exception a view does not turn into a problem → 500 problem (logged with its traceback).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import BadRequest, PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from kopeck.common.http.problems import PROBLEM_CONTENT_TYPE, problem

log = logging.getLogger("kopeck.api")


def is_api(request: HttpRequest) -> bool:
    return request.path_info.startswith("/api/")


# Paths (prefixes) of the endpoints that take a file: their POST bodies may reach
# KOPECK_MAX_UPLOAD_BYTES (the file goes to disk, not memory). Apps register theirs when Django starts.
_UPLOAD_PATHS: set[str] = set()


def allow_upload(path_prefix: str) -> None:
    _UPLOAD_PATHS.add(path_prefix)


def body_limit(request: HttpRequest) -> int:
    if request.method == "POST" and any(request.path_info.startswith(p) for p in _UPLOAD_PATHS):
        return int(settings.KOPECK_MAX_UPLOAD_BYTES)
    return int(settings.DATA_UPLOAD_MAX_MEMORY_SIZE)


def problem_json(request: HttpRequest, status: int, code: str, title: str, detail: str,
                 errors: list[dict[str, str]] | None = None) -> JsonResponse:
    body = problem(status, code, title, detail, instance=request.get_full_path()[:2000], errors=errors)
    return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE,
                        json_dumps_params={"ensure_ascii": False})


def too_large(request: HttpRequest) -> JsonResponse:
    limit = body_limit(request)
    return problem_json(request, 413, "payload-too-large", _("Payload too large"),
                        _("The request body is larger than %(limit)d bytes.") % {"limit": limit})


def server_error(request: HttpRequest) -> JsonResponse:
    return problem_json(request, 500, "server-error", _("Server error"),
                        _("The server failed to answer this request; nothing was changed. "
                          "The error is logged."))


def _header_bytes(request: HttpRequest) -> int:
    return sum(len(k) + len(str(v)) for k, v in request.META.items() if k.startswith("HTTP_"))


class ApiGuardMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api(request):
            return self.get_response(request)
        refused = self._refuse(request)
        return refused if refused is not None else self.get_response(request)

    def _refuse(self, request: HttpRequest) -> HttpResponse | None:
        if _header_bytes(request) > settings.KOPECK_MAX_HEADER_BYTES:
            return problem_json(request, 431, "headers-too-large", _("Request header fields too large"),
                                _("The request's headers are larger than %(limit)d bytes.")
                                % {"limit": settings.KOPECK_MAX_HEADER_BYTES})
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > body_limit(request):
            return too_large(request)
        bad = [name for name, values in request.GET.lists()
               if "\x00" in name or any("\x00" in v for v in values)]
        if bad:
            message = _("NUL characters are not allowed.")
            return problem_json(request, 400, "validation-error", _("Invalid input"),
                                "; ".join(f"{n.replace(chr(0), '')}: {message}" for n in bad),
                                errors=[{"field": n.replace("\x00", ""), "detail": message} for n in bad])
        repeated = [name for name, values in request.GET.lists() if len(values) > 1]
        if repeated:
            message = _("Give this parameter once.")
            return problem_json(request, 400, "validation-error", _("Invalid input"),
                                "; ".join(f"{n}: {message}" for n in repeated),
                                errors=[{"field": n, "detail": message} for n in repeated])
        return None

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api(request):
            return None
        if isinstance(exception, RequestDataTooBig):
            return too_large(request)
        if isinstance(exception, Http404):
            return problem_json(request, 404, "not-found", _("Not found"), _("No such object."))
        if isinstance(exception, PermissionDenied):
            return problem_json(request, 403, "forbidden", _("Forbidden"),
                                _("Your role or API key scopes do not allow this."))
        if isinstance(exception, SuspiciousOperation | BadRequest):
            return problem_json(request, 400, "bad-request", _("Bad request"), _("The request is malformed."))
        if isinstance(exception, OverflowError | DataError):
            # the last line of defence: a number or a text the database cannot hold (the fields check
            # their own ranges first); the transaction was rolled back
            log.warning("Out-of-range value in %s %s: %s", request.method, request.path, exception)
            return problem_json(request, 400, "validation-error", _("Invalid input"),
                                _("A value is out of the range that can be stored."))
        log.error("Unhandled error in %s %s", request.method, request.path, exc_info=exception)
        return server_error(request)


def handler500(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Django's last resort: a problem under /api/, the usual page elsewhere."""
    if is_api(request):
        return server_error(request)
    from django.views.defaults import server_error as html_server_error

    return html_server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """A refused CSRF check: a 403 problem under /api/ (a session call without the token)."""
    if is_api(request):
        return problem_json(request, 403, "forbidden", _("Forbidden"),
                            _("CSRF check failed: a call with the admin's session needs the X-CSRFToken header; "
                              "API clients authenticate with an API key."))
    from django.views.csrf import csrf_failure as html_csrf_failure

    return html_csrf_failure(request, reason)
