"""Outbox handlers: one function per topic, registered with :func:`handler` in an app's
``handlers.py`` module (imported by :func:`autodiscover` when Django starts and before a delivery).

A handler receives the :class:`~kopeck.outbox.models.OutboxMessage` and returns nothing; raising means
"retry later". Delivery is **at least once** — a crash after the side effect but before the message
is marked delivered repeats it — so every handler must be idempotent: check whether the effect
already happened (e.g. by the message's id or key) or make repeating it harmless. Handlers run
outside any database transaction; one that writes opens its own ``transaction.atomic()``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import autodiscover_modules

if TYPE_CHECKING:
    from kopeck.outbox.models import OutboxMessage

Handler = Callable[["OutboxMessage"], None]

_handlers: dict[str, Handler] = {}
_discovered = False
_lock = threading.Lock()


def _name(fn: Handler) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def handler(topic: str) -> Callable[[Handler], Handler]:
    """Register ``fn(message) -> None`` as the handler of ``topic`` (one handler per topic)."""
    if not isinstance(topic, str) or not topic.strip():
        raise ImproperlyConfigured("An outbox handler needs a non-empty topic.")

    def register(fn: Handler) -> Handler:
        existing = _handlers.get(topic)
        if existing is not None and _name(existing) != _name(fn):
            raise ImproperlyConfigured(
                f"Outbox topic {topic!r} already has a handler ({_name(existing)}); cannot add {_name(fn)}.")
        _handlers[topic] = fn
        return fn

    return register


def get_handler(topic: str) -> Handler | None:
    return _handlers.get(topic)


def topics() -> list[str]:
    """The topics that have a handler, sorted."""
    return sorted(_handlers)


def autodiscover() -> None:
    """Import every installed app's ``handlers`` module, once."""
    global _discovered
    if _discovered:
        return
    with _lock:
        if not _discovered:
            autodiscover_modules("handlers")
            _discovered = True


@contextlib.contextmanager
def override(topic: str, fn: Handler | None) -> Iterator[None]:
    """Replace (or with ``None`` remove) the handler of ``topic`` for the duration of the block (tests)."""
    previous = _handlers.get(topic)
    if fn is None:
        _handlers.pop(topic, None)
    else:
        _handlers[topic] = fn
    try:
        yield
    finally:
        if previous is None:
            _handlers.pop(topic, None)
        else:
            _handlers[topic] = previous
