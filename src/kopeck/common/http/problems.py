"""RFC 9457 problem details for every API error, with per-field messages.

Body: ``{"type", "title", "status", "detail", "instance", "errors": [{"field", "detail"}]}`` served
as ``application/problem+json``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from kopeck.common.errors import KopeckError

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "urn:kopeck:problem:"
TITLES: dict[int, tuple[str, Any]] = {
    400: ("bad-request", gettext_lazy("Bad request")),
    401: ("unauthorized", gettext_lazy("Unauthorized")),
    403: ("forbidden", gettext_lazy("Forbidden")),
    404: ("not-found", gettext_lazy("Not found")),
    405: ("method-not-allowed", gettext_lazy("Method not allowed")),
    406: ("not-acceptable", gettext_lazy("Not acceptable")),
    409: ("conflict", gettext_lazy("Conflict")),
    413: ("payload-too-large", gettext_lazy("Payload too large")),
    415: ("unsupported-media-type", gettext_lazy("Unsupported media type")),
    422: ("unprocessable", gettext_lazy("Unprocessable request")),
    429: ("throttled", gettext_lazy("Too many requests")),
}
# The titles of domain errors (kopeck.common.errors and its subclasses), for the catalogue.
KNOWN_TITLES = (gettext_lazy("Invalid input"), gettext_lazy("Malformed request"), gettext_lazy("Error"),
                gettext_lazy("Idempotency-Key reused"), gettext_lazy("Invalid Idempotency-Key"))


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
    body: dict[str, Any] = {"type": TYPE_BASE + code, "title": str(title), "status": status, "detail": str(detail)}
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
        errors = [{"field": f, "detail": _(m)} for f, msgs in exc.errors.items() for m in msgs]
        body = problem(exc.status, exc.code, _(exc.title), _(exc.detail), instance=instance, errors=errors)
    elif isinstance(exc, exceptions.ValidationError):
        errors = [{"field": f, "detail": m} for f, m in _flatten(exc.detail)]
        detail = "; ".join(f"{e['field']}: {e['detail']}" if e["field"] else e["detail"] for e in errors)
        body = problem(400, "validation-error", _("Invalid input"), detail, instance=instance, errors=errors)
    elif isinstance(exc, Http404 | exceptions.NotFound):
        body = problem(404, "not-found", _("Not found"), _("No such object."), instance=instance)
    elif isinstance(exc, DjangoPermissionDenied):
        body = problem(403, "forbidden", _("Forbidden"), _("Your role or API key scopes do not allow this."),
                       instance=instance)
    elif isinstance(exc, exceptions.APIException):
        code, title = TITLES.get(exc.status_code, ("error", gettext_lazy("Error")))
        if isinstance(exc, exceptions.ParseError):
            code, title = "malformed-request", _("Malformed request")
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


@csrf_exempt  # any method: a problem, never Django's CSRF page
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Unknown URLs under /api/ answer with a problem, not an HTML page."""
    body = problem(404, "not-found", _("Not found"), _("No such API endpoint."),
                   instance=request.get_full_path()[:2000])
    return JsonResponse(body, status=404, content_type=PROBLEM_CONTENT_TYPE, json_dumps_params={"ensure_ascii": False})
