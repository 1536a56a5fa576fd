"""``Idempotency-Key`` for every mutating API call.

The key is scoped to the caller (API key or operator). The record of a key is inserted in the same
database transaction as the call's own writes and holds its response:

* a repeat with the same key and the same request (method, path, body) gets the stored response
  again, with ``Idempotent-Replayed: true``;
* the same key with a different request is refused with 422 and nothing is done;
* two requests with one key at the same time: the second waits on the unique index until the first
  commits, then replays its response (PostgreSQL), or queues behind the write lock (SQLite);
* only successful (2xx) responses are kept: a refused request writes nothing, so it can be corrected
  and sent again with the same key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kopeck.common import clock
from kopeck.common.http.principals import request_principal
from kopeck.common.http.problems import PROBLEM_CONTENT_TYPE, problem
from kopeck.common.models import IdempotencyRecord

HEADER = "HTTP_IDEMPOTENCY_KEY"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 255


def _request_hash(request: HttpRequest, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, request.META.get("QUERY_STRING", "")):
        digest.update(part.encode())
        digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


def _refuse(request: HttpRequest, status: int, code: str, title: str, detail: str) -> JsonResponse:
    body = problem(status, code, title, detail, instance=request.get_full_path(),
                   errors=[{"field": "Idempotency-Key", "detail": detail}])
    return JsonResponse(body, status=status, content_type=PROBLEM_CONTENT_TYPE)


def _replay(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.response_body), status=record.status_code, content_type=record.content_type)
    response["Idempotent-Replayed"] = "true"
    return response


def idempotent(request: HttpRequest, call: Callable[[], Any]) -> Any:
    """Run ``call`` (the view) under the request's Idempotency-Key, if it has one."""
    key = request.META.get(HEADER)
    if key is None or request.method not in MUTATING:
        return call()
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        return _refuse(request, 400, "idempotency-key-invalid", _("Invalid Idempotency-Key"),
                       ngettext("The Idempotency-Key must be 1 to %(max)d character.",
                                "The Idempotency-Key must be 1 to %(max)d characters.", MAX_KEY_LENGTH)
                       % {"max": MAX_KEY_LENGTH})
    principal = request_principal(request)
    if principal is None:
        return call()  # unauthenticated: the view refuses it, nothing to remember
    body = request.body  # read before DRF consumes the stream
    fingerprint = _request_hash(request, body)

    def existing() -> IdempotencyRecord | None:
        return IdempotencyRecord.objects.filter(principal=principal, key=key).first()

    def answer(record: IdempotencyRecord) -> HttpResponse:
        if record.request_hash != fingerprint:
            return _refuse(request, 422, "idempotency-key-reused", _("Idempotency-Key reused"),
                           _("This Idempotency-Key was already used for a different request."))
        return _replay(record)

    record = existing()
    if record is not None:
        return answer(record)
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                principal=principal, key=key, method=request.method or "", path=request.path[:500],
                request_hash=fingerprint, status_code=0, response_body=b"", content_type="",
                created_at=clock.now(),
            )
            response = call()
            if hasattr(response, "render"):
                response.render()
            if not 200 <= response.status_code < 300:
                transaction.set_rollback(True)
                return response
            record.status_code = response.status_code
            record.response_body = bytes(response.content)
            record.content_type = response.get("Content-Type", "application/json")
            record.save(update_fields=["status_code", "response_body", "content_type"])
            return response
    except IntegrityError:
        # Another request with this key committed first: answer as it did.
        record = existing()
        if record is None:
            raise
        return answer(record)
