from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.utils import translation

from kopeck.outbox import registry
from kopeck.outbox.models import OutboxMessage

TOPIC = "tests.effect"


class Recorder:
    """A test handler: records the messages it saw; fails while ``fail_with`` is set."""

    def __init__(self) -> None:
        self.seen: list[int] = []
        self.fail_with: Exception | None = None

    def __call__(self, message: OutboxMessage) -> None:
        self.seen.append(message.pk)
        if self.fail_with is not None:
            raise self.fail_with


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    rec = Recorder()
    with registry.override(TOPIC, rec):
        yield rec


@pytest.fixture
def use_handler() -> Iterator[Callable[[str, registry.Handler], None]]:
    """Register handlers for the test only."""
    topics: list[str] = []

    def register(topic: str, fn: registry.Handler) -> None:
        topics.append(topic)
        registry._handlers[topic] = fn

    yield register
    for topic in topics:
        registry._handlers.pop(topic, None)


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The tests of this area run in English unless a test asks for Russian (the refusal messages are
    translated, and the installation's default language, KOPECK_LANGUAGE, is Russian)."""
    with translation.override("en"):
        yield
