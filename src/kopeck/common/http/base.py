"""Base classes of every API view: idempotency, the acting principal, problem errors."""

from __future__ import annotations

import re
from typing import Any

from django.utils import translation
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import generics, viewsets
from rest_framework.views import APIView

from kopeck.common.actor import Actor
from kopeck.common.http.idempotency import MUTATING, idempotent
from kopeck.common.http.principals import request_actor

# The errors every operation may answer (RFC 9457 problems), and those of operations with a body.
ERRORS_ALWAYS: dict[int, str] = {
    400: "Invalid input (a parameter or field named in `errors`), or a malformed request.",
    401: "No API key, or an unknown, revoked or expired one.",
    403: "The key's scopes or the operator's role do not allow this.",
    404: "No such object (or no such endpoint).",
    406: "The Accept header asks for a type this operation does not produce.",
    414: "The request line (path and query) is longer than the server accepts.",
    429: "Too many failed authentications from this key or address: wait for Retry-After seconds.",
    431: "The request's headers are too large.",
}
ERRORS_WITH_BODY: dict[int, str] = {
    409: "Conflict with the object's state (e.g. a second reversal, a duplicate external id).",
    413: "The request body is larger than the limit.",
    415: "The body is not application/json.",
    422: "The Idempotency-Key was already used for a different request.",
}


def _first_sentence(text: str | None) -> str:
    """The docstring's words up to its first full stop, colon or semicolon (at most 120 characters)."""
    line = " ".join((text or "").strip().split("\n\n", 1)[0].split())
    sentence = re.split(r"[.;:](?:\s|$)", line, maxsplit=1)[0].strip()
    return sentence if 0 < len(sentence) <= 120 else ""


CRUD_SUMMARIES = {
    "list": "List {plural}", "retrieve": "Get a {noun}", "create": "Create a {noun}",
    "partial_update": "Change a {noun}", "update": "Replace a {noun}", "destroy": "Delete a {noun}",
}


class KopeckSchema(AutoSchema):
    """The schema of a Kopeck operation: the Idempotency-Key header on every mutating operation; the
    problem responses it may answer; its area as its tag; a summary (the explicit one, the first
    sentence of its docstring, or one made from the action and the model)."""

    def get_override_parameters(self) -> list[Any]:
        params = list(super().get_override_parameters())
        if self.method in MUTATING and takes_idempotency_key(self.view, self.method.lower()):
            params.append(OpenApiParameter(
                name="Idempotency-Key", type=str, location=OpenApiParameter.HEADER, required=False,
                description="A unique key (1–255 chars) for this operation: a repeat with the same key "
                            "returns the first response; the same key with another body is refused (422).",
            ))
        return params

    def get_tags(self) -> list[str]:
        area = getattr(self.view, "area", None)
        return [str(area)] if area is not None else super().get_tags()

    def get_summary(self) -> str | None:
        handler = getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)
        summary = _first_sentence(getattr(handler, "__doc__", None))
        if summary:
            return summary
        description = self.get_description()  # an extend_schema(description=…), or the view's docstring
        if description and description.strip() != (self.view.__class__.__doc__ or "").strip():
            summary = _first_sentence(description)
            if summary:
                return summary
        action = getattr(self.view, "action", None)
        model = getattr(getattr(self.view, "queryset", None), "model", None) or getattr(
            getattr(getattr(self.view, "serializer_class", None), "Meta", None), "model", None)
        if action in CRUD_SUMMARIES and model is not None:
            meta = model._meta
            with translation.override("en"):
                noun, plural = str(meta.verbose_name), str(meta.verbose_name_plural)
            summary = CRUD_SUMMARIES[action].format(noun=noun, plural=plural)
            return re.sub(r"\ba ([aeiouAEIOU])", r"an \1", summary)
        return f"{self.method} {self.path}"  # tests/common/http/test_schema.py refuses these

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        from kopeck.common.http.serializers import ProblemSerializer

        responses: dict[str, Any] = super()._get_response_bodies(direction)
        errors = dict(ERRORS_ALWAYS)
        if self.method in MUTATING:
            errors.update(ERRORS_WITH_BODY)
        component = self.resolve_serializer(ProblemSerializer, "response")
        for status, description in sorted(errors.items()):
            responses.setdefault(str(status), {
                "content": {"application/problem+json": {"schema": component.ref}},
                "description": description,
            })
        return responses


def takes_idempotency_key(view: Any, method: str) -> bool:
    """Whether the view's handler of ``method`` (or its viewset action) runs under Idempotency-Key:
    not when the view or the handler says ``idempotent = False``."""
    if not getattr(view, "idempotent", True):
        return False
    action = getattr(view, "action", None) or (getattr(view, "action_map", None) or {}).get(method)
    handler = getattr(view, action or method, None)
    return bool(getattr(handler, "idempotent", True))


class KopeckView:
    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        dispatch = super().dispatch  # type: ignore[misc]
        method = (request.method or "").lower()
        if method not in self.http_method_names or getattr(self, method, None) is None:  # type: ignore[attr-defined]
            return dispatch(request, *args, **kwargs)  # 405 from DRF, before any Idempotency-Key check
        if not takes_idempotency_key(self, method):  # idempotent by its own means (a file upload: its hash)
            return dispatch(request, *args, **kwargs)
        return idempotent(request, lambda: dispatch(request, *args, **kwargs))

    @property
    def actor(self) -> Actor:
        return request_actor(self.request)  # type: ignore[attr-defined]


class KopeckAPIView(KopeckView, APIView):
    pass


class KopeckGenericAPIView(KopeckView, generics.GenericAPIView):  # type: ignore[type-arg]
    pass


class KopeckViewSet(KopeckView, viewsets.GenericViewSet):  # type: ignore[type-arg]
    lookup_value_regex = "[0-9]{1,18}"  # ids are integers (64-bit); anything else is an unknown URL (404 problem)
