"""The notification endpoints: ``/gateways/<provider>/<setting id>/<kind>/`` — no API key, no session,
no CSRF: each is verified by its provider's scheme (kopeck.gateways.providers). ``kind`` is
``notify`` for most providers; CloudPayments has one URL per notification type (check, pay, fail…)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from kopeck.common.errors import NotFound
from kopeck.gateways.models import ProviderCode
from kopeck.gateways.notifications import BODY_LIMIT, notification_receive


@csrf_exempt
@require_http_methods(["POST", "GET"])
def notification_view(request: HttpRequest, provider: str, setting_id: int, kind: str = "notify") -> HttpResponse:
    if provider not in ProviderCode.values:
        return HttpResponse("unknown provider", status=404, content_type="text/plain")
    body = request.body if request.method == "POST" else request.META.get("QUERY_STRING", "").encode()
    if len(body) > BODY_LIMIT:
        return HttpResponse("too large", status=413, content_type="text/plain")
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        _note, answer = notification_receive(provider_code=provider, setting_id=setting_id, kind=kind, body=body,
                                             headers=headers, remote_addr=request.META.get("REMOTE_ADDR", ""))
    except NotFound:
        return HttpResponse("unknown gateway", status=404, content_type="text/plain")
    return HttpResponse(answer.body, status=answer.status, content_type=answer.content_type)
