from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.utils import translation

from kopeck.clients.models import Client
from kopeck.clients.services import client_create
from kopeck.common.actor import Actor
from kopeck.rules.models import Rule
from kopeck.rules.services import rule_create

ACTOR = Actor.system("tests")
FIELDS = {"full_name": "Иван Петров", "phone": "+7 916 000-00-01"}


def make_client(name: str = "Иван Петров", **kwargs: Any) -> Client:
    kwargs.setdefault("contacts", [{"kind": "email", "value": "ivan@example.ru"}])
    return client_create(actor=ACTOR, type="individual", name=name, fields={**FIELDS, "full_name": name}, **kwargs)


def make_rule(name: str = "rule", *, triggers: list[str] | None = None, actions: list[dict[str, Any]] | None = None,
              **kwargs: Any) -> Rule:
    kwargs.setdefault("is_enabled", True)
    return rule_create(actor=ACTOR, name=name, triggers=triggers or ["client.changed"],
                       actions=actions or [{"type": "add_tag", "tag": name}], **kwargs)


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
