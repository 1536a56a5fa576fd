"""The port through which the apps above consume the event log.

The events app sits low in the layers (every domain app records events), while what reacts to events
— the rules engine and webhook delivery — sits at the top. Those apps register a **consumer** in
their ``AppConfig.ready()``; :func:`kopeck.events.services.events_dispatch` hands every committed event
to each consumer, in batches, in the order of the event ids (for one client: the order of its
sequence numbers), inside one transaction with the deletion of their rows from the queue of events
to process — so a consumer's database writes happen exactly once per event, and a consumer that
raises leaves the events to be processed again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from kopeck.events.models import Event

Consumer = Callable[["Sequence[Event]"], None]

_consumers: dict[str, tuple[int, Consumer]] = {}


def register_consumer(name: str, consumer: Consumer, *, order: int = 100) -> None:
    """Register ``consumer(events)`` under ``name`` (registering the same name again replaces it).
    Consumers run in ascending ``order``, then by name."""
    if not name or not callable(consumer):
        raise ImproperlyConfigured("An event consumer needs a name and a callable.")
    _consumers[name] = (order, consumer)


def unregister_consumer(name: str) -> None:
    _consumers.pop(name, None)


def consumers() -> list[tuple[str, Consumer]]:
    return [(name, fn) for name, (_order, fn) in sorted(_consumers.items(), key=lambda kv: (kv[1][0], kv[0]))]
