from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import settings
from rest_framework.test import APIClient

from kopeck.common import clock as clock_mod
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.ledger.services import forget_system_accounts
from kopeck.operators.models import Operator
from kopeck.operators.roles import Role
from kopeck.operators.services import api_key_create

pytest_plugins = ["tests.smtp", "tests.required_services"]

START = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)

# scripts/mutation runs the tests with HYPOTHESIS_PROFILE=mutation: no deadline, since a test slowed by
# the machine's load (or by a mutant) must not count as a failure — that would "kill" a mutant no
# assertion caught
settings.register_profile("mutation", deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> Iterator[None]:
    """Each test may empty the database: forget ids remembered by the process."""
    forget_system_accounts()
    yield
    forget_system_accounts()


@pytest.fixture
def clock() -> Iterator[FixedClock]:
    """A fixed clock at 2026-11-25 09:00 UTC (12:00 in Moscow), swapped in for the test."""
    fixed = FixedClock(START)
    with clock_mod.use_clock(fixed):
        yield fixed


@pytest.fixture
def actor() -> Actor:
    return Actor.system("tests")


@pytest.fixture
def make_key(db: Any) -> Callable[..., str]:
    def make(*scopes: str, **kwargs: Any) -> str:
        return api_key_create(name="test", scopes=list(scopes) or ["*:write"], actor=Actor.system("tests"),
                              **kwargs).token

    return make


@pytest.fixture
def api(make_key: Callable[..., str]) -> APIClient:
    """An API client authenticated with a key that may do everything."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key('*:write')}")
    return client


@pytest.fixture
def api_as(make_key: Callable[..., str]) -> Callable[..., APIClient]:
    def build(*scopes: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {make_key(*scopes)}")
        return client

    return build


@pytest.fixture
def operator_as(db: Any) -> Callable[[str], APIClient]:
    def build(role: str = Role.ADMINISTRATOR) -> APIClient:
        op = Operator.objects.create(username=f"op-{role}", role=role, is_staff=True)
        client = APIClient()
        client.force_login(op)
        return client

    return build
