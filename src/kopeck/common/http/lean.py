"""A WSGI handler with a short middleware list, and the dispatcher that sends it its paths.

Django runs every request through the whole ``MIDDLEWARE`` list. The payment providers' notifications
(``/gateways/…``) use none of it but the security headers: no session, no operator, no CSRF token (the
view is exempt, each notification is verified by its provider's scheme), no messages, no language (the
answer is the provider's protocol), no static files, no Content-Security-Policy (no page). Skipping the
rest saves a fifth of the Python run per notification, where hundreds arrive a second. Everything else
— the back office, the API, the portal — goes through the full list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.core.handlers.exception import convert_exception_to_response
from django.core.handlers.wsgi import WSGIHandler
from django.utils.module_loading import import_string

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class LeanHandler(WSGIHandler):
    """Django's WSGI handler with ``middleware`` instead of ``settings.MIDDLEWARE`` (synchronous
    middleware only, as Kopeck's are); the rest — URL resolution, signals, error pages — is Django's."""

    def __init__(self, middleware: Sequence[str]) -> None:
        self.middleware = tuple(middleware)
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        handler = convert_exception_to_response(self._get_response)  # type: ignore[attr-defined]
        for path in reversed(self.middleware):
            instance = import_string(path)(handler)
            if hasattr(instance, "process_view"):  # the hooks kept in Django's order (BaseHandler.load_middleware)
                self._view_middleware.insert(0, instance.process_view)
            if hasattr(instance, "process_template_response"):
                self._template_response_middleware.append(instance.process_template_response)
            if hasattr(instance, "process_exception"):
                self._exception_middleware.append(instance.process_exception)
            handler = convert_exception_to_response(instance)
        self._middleware_chain = handler


class PathDispatcher:
    """Send a request whose path starts with one of ``lean``'s prefixes to that handler, any other to
    ``default``."""

    def __init__(self, default: WSGIApp, lean: dict[str, WSGIApp]) -> None:
        self.default = default
        self.lean = tuple(lean.items())

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        for prefix, handler in self.lean:
            if path.startswith(prefix):
                return handler(environ, start_response)
        return self.default(environ, start_response)
