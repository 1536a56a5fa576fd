"""Authentication backend of the back office: Django's model backend behind the failure throttle
(operators.throttle). A blocked login raises :class:`~kopeck.operators.throttle.Throttled`, which
:class:`~kopeck.operators.middleware.ThrottledMiddleware` answers with 429 and Retry-After."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from kopeck.operators import throttle


def login_account(username: str | None) -> str:
    return f"login:{(username or '').strip().lower()}"


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> Any:
        account = login_account(username)
        address = request.META.get("REMOTE_ADDR") if request is not None else None
        throttle.check(account, address)
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if user is None:
            throttle.record_failure(account, address)
        else:
            throttle.record_success(account)
        return user
