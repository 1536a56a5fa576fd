"""Helpers shared by the admin modules."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest

from kopeck.common.actor import Actor, ActorKind
from kopeck.common.errors import KopeckError


def admin_actor(request: HttpRequest) -> Actor:
    user: Any = request.user
    return Actor(ActorKind.OPERATOR, str(user.pk), user.get_username())


def report_error(request: HttpRequest, exc: KopeckError) -> None:
    details = "; ".join(f"{f}: {m}" for f, ms in exc.errors.items() for m in ms)
    messages.error(request, f"{exc.detail} {details}".strip())


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Append-only records: visible, never added, changed or deleted from the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
