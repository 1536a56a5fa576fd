"""Operator and API-key refusals through the API in the caller's language."""

from __future__ import annotations

from typing import Any

import pytest

from kopeck.core.clock import FixedClock
from kopeck.operators.models import ApiKey

pytestmark = pytest.mark.django_db


def test_a_scope_beyond_the_grantors_is_refused_in_russian_and_in_english(api_as: Any, clock: FixedClock) -> None:
    limited = api_as("operators:write")
    before = ApiKey.objects.count()
    body = {"name": "x", "scopes": ["ledger:write"]}
    ru = limited.post("/api/v1/api-keys/", body, format="json", HTTP_ACCEPT_LANGUAGE="ru")
    assert (ru.status_code, ru.json()["errors"]) == (
        400, [{"field": "scopes", "detail": "Нельзя выдать право, которого у вас нет: ledger:write"}])
    en = limited.post("/api/v1/api-keys/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert (en.status_code, en.json()["errors"]) == (
        400, [{"field": "scopes", "detail": "You cannot grant a scope you do not hold: ledger:write"}])
    assert ApiKey.objects.count() == before
