"""RFC 9457 problem details for every API error, with per-field messages.

Body: ``{"type", "title", "status", "detail", "instance", "errors": [{"field", "detail"}]}`` served
as ``application/problem+json``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from kopeck.common.errors import KopeckError

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "urn:kopeck:problem:"
TITLES = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    415: ("unsupported-media-type", "Unsupported media type"),
    429: ("throttled", "Too many requests"),
}


def _flatten(detail: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = str(key) if key != "non_field_errors" else ""
            yield from _flatten(value, f"{prefix}.{name}" if prefix and name else (name or prefix))
    elif isinstance(detail, list):
        if all(not isinstance(d, (dict, list)) for d in detail):
            for d in detail:
                yield prefix, str(d)
        else:
            for i, value in enumerate(detail):
                yield from _flatten(value, f"{prefix}.{i}" if prefix else str(i))
    else:
        yield prefix, str(detail)


def problem(status: int, code: str, title: str, detail: str, *, instance: str = "",
            errors: list[dict[str, str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": TYPE_BASE + code, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    if errors:
        body["errors"] = errors
    return body


def problem_response(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    response = Response(body, status=body["status"], headers=headers)
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    request = context.get("request")
    instance = request.get_full_path() if request is not None else ""
    headers: dict[str, str] = {}
    if isinstance(exc, KopeckError):
        errors = [{"field": f, "detail": m} for f, msgs in exc.errors.items() for m in msgs]
        body = problem(exc.status, exc.code, exc.title, exc.detail, instance=instance, errors=errors)
    elif isinstance(exc, exceptions.ValidationError):
        errors = [{"field": f, "detail": m} for f, m in _flatten(exc.detail)]
        detail = "; ".join(f"{e['field']}: {e['detail']}" if e["field"] else e["detail"] for e in errors)
        body = problem(400, "validation-error", "Invalid input", detail, instance=instance, errors=errors)
    elif isinstance(exc, Http404 | exceptions.NotFound):
        body = problem(404, "not-found", "Not found", str(getattr(exc, "detail", exc)) or "Not found.",
                       instance=instance)
    elif isinstance(exc, DjangoPermissionDenied):
        body = problem(403, "forbidden", "Forbidden", str(exc) or "Forbidden.", instance=instance)
    elif isinstance(exc, exceptions.APIException):
        code, title = TITLES.get(exc.status_code, ("error", "Error"))
        if isinstance(exc, exceptions.ParseError):
            code, title = "malformed-request", "Malformed request"
        if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
            exc.status_code = 401
            code, title = TITLES[401]
            headers["WWW-Authenticate"] = 'Bearer realm="kopeck"'
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait))  # type: ignore[attr-defined]
        detail = exc.detail if isinstance(exc.detail, str) else "; ".join(m for _f, m in _flatten(exc.detail))
        body = problem(exc.status_code, code, title, str(detail), instance=instance)
    else:
        return None
    set_rollback()
    return problem_response(body, headers)


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown URLs under /api/ answer with a problem, not an HTML page."""
    body = problem(404, "not-found", "Not found", "No such API endpoint.", instance=request.get_full_path())
    return JsonResponse(body, status=404, content_type=PROBLEM_CONTENT_TYPE)
