"""The tests of this area run in English unless a test asks for Russian (the refusal messages are
translated, and the installation's default language, KOPECK_LANGUAGE, is Russian)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    with translation.override("en"):
        yield
