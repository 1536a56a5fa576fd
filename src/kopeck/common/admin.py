"""Helpers shared by the admin modules."""

from __future__ import annotations

from collections.abc import Callable
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


# -- fields that an app higher in the layers contributes to a lower app's admin page ---------------
#
# A lower app's admin cannot import the apps above it (the layers contract); it shows a named slot,
# and the app that knows what goes there fills it when its admin module loads. Example: the client
# page shows the balance, which the ledger computes.

_contributions: dict[tuple[type[Any], str], Callable[[Any], str]] = {}


def contribute_field(model: type[Any], name: str, render: Callable[[Any], str]) -> None:
    """Fill the slot ``name`` of ``model``'s admin pages with ``render(obj)`` (safe HTML or text)."""
    _contributions[(model, name)] = render


def contributed_field(obj: Any, name: str) -> str:
    """The contribution to the slot ``name`` for ``obj`` (empty when no app contributes one)."""
    render = _contributions.get((type(obj), name))
    return render(obj) if render is not None else ""
