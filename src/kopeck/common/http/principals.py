"""The port through which the HTTP plumbing learns who is calling.

The plumbing (idempotency, base views) sits below the apps and knows no authentication scheme; the
operators app, which owns operators and API keys, registers its implementation when Django starts
(``OperatorsConfig.ready``)."""

from __future__ import annotations

from typing import Any, Protocol

from kopeck.common.actor import Actor


class Principals(Protocol):
    def principal(self, request: Any) -> str | None:
        """A stable id of the checked credentials of ``request`` (``None``: unauthenticated or
        refused); the owner of its idempotency records."""

    def actor(self, request: Any) -> Actor:
        """The actor of an authenticated request (raises ``PermissionError`` otherwise)."""


_registered: Principals | None = None


def register(principals: Principals) -> None:
    global _registered
    _registered = principals


def _impl() -> Principals:
    if _registered is None:  # pragma: no cover - a configuration error, not a runtime path
        raise RuntimeError("No principals registered: is kopeck.operators installed?")
    return _registered


def request_principal(request: Any) -> str | None:
    return _impl().principal(request)


def request_actor(request: Any) -> Actor:
    return _impl().actor(request)
