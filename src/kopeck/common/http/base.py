"""Base classes of every API view: idempotency, the acting principal, problem errors."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import generics, viewsets
from rest_framework.views import APIView

from kopeck.common.actor import Actor
from kopeck.common.http.idempotency import MUTATING, idempotent
from kopeck.common.http.principals import request_actor


class KopeckSchema(AutoSchema):
    """Documents the Idempotency-Key header on every mutating operation."""

    def get_override_parameters(self) -> list[Any]:
        params = list(super().get_override_parameters())
        if self.method in MUTATING:
            params.append(OpenApiParameter(
                name="Idempotency-Key", type=str, location=OpenApiParameter.HEADER, required=False,
                description="A unique key (1–255 chars) for this operation: a repeat with the same key "
                            "returns the first response; the same key with another body is refused (422).",
            ))
        return params


class KopeckView:
    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        return idempotent(request, lambda: super(KopeckView, self).dispatch(request, *args, **kwargs))  # type: ignore[misc]

    @property
    def actor(self) -> Actor:
        return request_actor(self.request)  # type: ignore[attr-defined]


class KopeckAPIView(KopeckView, APIView):
    pass


class KopeckGenericAPIView(KopeckView, generics.GenericAPIView):  # type: ignore[type-arg]
    pass


class KopeckViewSet(KopeckView, viewsets.GenericViewSet):  # type: ignore[type-arg]
    lookup_value_regex = "[0-9]+"  # ids are integers; anything else is an unknown URL (404 problem)
