from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.utils import translation

from kopeck.webhooks import transport
from tests.webhooks.receiver import Receiver


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def loopback_allowed(settings: Any) -> None:
    """The test's receiver is on loopback, which the SSRF guard refuses unless the operator allows it:
    allow it explicitly."""
    settings.KOPECK_WEBHOOK_ALLOWED_NETWORKS = ["127.0.0.0/8"]


@pytest.fixture(autouse=True)
def _fresh_http_client() -> Iterator[None]:
    yield
    pool = getattr(transport._local, "transport", None)
    if pool is not None:
        pool.close()
        transport._local.transport = None


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
