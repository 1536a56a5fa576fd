from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.conf import settings
from django.utils import translation


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The tests of the command line run in English unless a test asks for Russian (the commands speak
    the installation's language, KOPECK_LANGUAGE, Russian by default)."""
    with translation.override("en"):
        yield


@pytest.fixture
def installation_language() -> Iterator[None]:
    """For a test of what the installation's default language (KOPECK_LANGUAGE, ru) gives."""
    with translation.override(settings.LANGUAGE_CODE):
        yield
