from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import translation

from kopeck.common.actor import Actor
from kopeck.events import ports
from kopeck.events.models import Event
from kopeck.events.services import event_record

CLIENT = {"id": 1, "type": "legal", "name": "ООО «Ромашка»", "status": "active", "currency": "RUB"}


def client_data(client_id: int = 1, **changes: Any) -> dict[str, Any]:
    return {"client": {**CLIENT, "id": client_id, **changes}}


def record(name: str = "client.created", *, client_id: int | None = 1, data: Mapping[str, Any] | None = None,
           **kwargs: Any) -> Event:
    with transaction.atomic():
        return event_record(name, actor=Actor.system("tests"), client_id=client_id,
                            data=client_data(client_id or 1) if data is None else data, **kwargs)


class Collector:
    """A consumer that keeps what it was given; raises for the event ids in ``fail_on``."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.fail_on: set[int] = set()

    def __call__(self, events: Sequence[Event]) -> None:
        ids = [e.pk for e in events]
        if self.fail_on & set(ids):
            raise RuntimeError(f"cannot take {sorted(self.fail_on & set(ids))}")
        self.batches.append(ids)

    @property
    def seen(self) -> list[int]:
        return [i for batch in self.batches for i in batch]


@pytest.fixture
def consumer() -> Iterator[Collector]:
    """A test consumer in place of the real ones (rules, webhooks)."""
    saved = dict(ports._consumers)
    ports._consumers.clear()
    collector = Collector()
    ports.register_consumer("tests", collector)
    yield collector
    ports._consumers.clear()
    ports._consumers.update(saved)


@pytest.fixture
def recorder() -> Callable[..., Event]:
    return record


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The tests of this area run in English unless a test asks for Russian (the refusal messages are
    translated, and the installation's default language, KOPECK_LANGUAGE, is Russian)."""
    with translation.override("en"):
        yield


@pytest.fixture
def installation_language() -> Iterator[None]:
    """For a test of what the installation's default language (KOPECK_LANGUAGE, ru) gives."""
    with translation.override(settings.LANGUAGE_CODE):
        yield
