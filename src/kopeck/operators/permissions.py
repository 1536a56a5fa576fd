"""DRF permission: the view names its area; reads need read access, everything else write access."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user
from rest_framework import permissions
from rest_framework.request import Request

from kopeck.common.actor import Actor
from kopeck.operators.authentication import ApiKeyPrincipal, presented_token, request_api_key
from kopeck.operators.models import ApiKey, Operator
from kopeck.operators.roles import Access, Area
from kopeck.operators.services import KeyRefused, actor_for_key, actor_for_operator, holder_allows
from kopeck.operators.throttle import Throttled


def needed_access(request: Request, view: Any) -> Access:
    if request.method in permissions.SAFE_METHODS and not getattr(view, "read_is_write", False):
        return Access.READ
    return Access.WRITE


def principal_allows(request: Request, area: Area, access: Access) -> bool:
    if isinstance(request.auth, ApiKey):
        return holder_allows(request.auth, area, access)
    user = request.user
    return isinstance(user, Operator) and holder_allows(user, area, access)


class AreaPermission(permissions.BasePermission):
    message = "Your role or API key scopes do not allow this."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        area: Area | None = getattr(view, "area", None)
        if area is None:
            return False
        access = getattr(view, "required_access", None) or needed_access(request, view)
        return principal_allows(request, area, access)


def request_actor(request: Request) -> Actor:
    if isinstance(request.auth, ApiKey):
        return actor_for_key(request.auth)
    user = request.user
    if isinstance(user, Operator):
        return actor_for_operator(user)
    raise PermissionError("unauthenticated request has no actor")


__all__ = ["ApiKeyPrincipal", "AreaPermission", "OperatorPrincipals", "request_actor"]


class OperatorPrincipals:
    """The operators app's implementation of :mod:`kopeck.common.http.principals`."""

    def principal(self, request: Any) -> str | None:
        """Checked credentials only, so a forged key can never replay another caller's response."""
        if presented_token(request):
            try:
                key = request_api_key(request)
            except (KeyRefused, Throttled):
                return None
            return f"key:{key.pk}" if key is not None else None
        user = get_user(request)
        return f"op:{user.pk}" if user.is_authenticated else None

    def actor(self, request: Any) -> Actor:
        return request_actor(request)
