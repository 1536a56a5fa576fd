"""Answers a blocked login (operators.throttle.Throttled) with 429 and Retry-After: a problem under
/api/, a short page in the operator's language elsewhere."""

from __future__ import annotations

import math
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from kopeck.common.http.guard import is_api, problem_json
from kopeck.operators.throttle import Throttled


def throttled_response(request: HttpRequest, exc: Throttled) -> HttpResponse:
    detail = _("Too many failed attempts. Try again in %(seconds)d seconds.") % {"seconds": exc.retry_after}
    if is_api(request):
        response: HttpResponse = problem_json(request, 429, "throttled", _("Too many requests"), detail)
    else:
        minutes = max(1, math.ceil(exc.retry_after / 60))
        response = HttpResponse(render_to_string("operators/throttled.html", {"minutes": minutes}, request),
                                status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


class ThrottledMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        return throttled_response(request, exception) if isinstance(exception, Throttled) else None
