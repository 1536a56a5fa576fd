"""Fixtures of the usage tests: a plan with three metered components (events counted, events
summed, a meter) and a monthly anniversary subscription to it that starts on 2026-11-01."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.utils import translation
from rest_framework.test import APIClient

from kopeck.catalog.models import Plan, PlanVersion, Product, VersionStatus
from kopeck.core.pricing.plan import PlanSpec
from kopeck.subscriptions.models import Subscription
from kopeck.usage.services import forget_plan_usage
from tests.factories import ClientFactory

T0 = dt.datetime(2026, 10, 1, tzinfo=dt.UTC)

SPEC: dict[str, Any] = {
    "code": "cloud", "name": "Cloud", "billing_period": {"unit": "month", "count": 1}, "currencies": ["RUB"],
    "components": [
        {"code": "base", "kind": "fixed", "prices": {"RUB": {"model": "standard", "unit_price": "990.00"}}},
        {"code": "api_calls", "name": "API calls", "kind": "metered",
         "prices": {"RUB": {"model": "standard", "unit_price": "0.15", "included_units": "100",
                            "aggregation": {"type": "count"}}}},
        {"code": "traffic", "name": "Traffic, GB", "kind": "metered",
         "prices": {"RUB": {"model": "graduated", "aggregation": {"type": "sum", "property": "gb"},
                            "tiers": [{"from": "0", "up_to": "100", "unit_price": "0.00"},
                                      {"from": "100", "up_to": None, "unit_price": "2.50"}]}}},
        {"code": "power", "name": "Power, kWh", "kind": "metered",
         "prices": {"RUB": {"model": "standard", "unit_price": "20.00",
                            "aggregation": {"type": "meter_reading", "max_value": "100000"}}}},
    ],
}


def make_subscription(*, external_id: str | None = "sub-1", start: dt.date = dt.date(2026, 11, 1),
                      code: str = "cloud") -> Subscription:
    product = Product.objects.filter(code="cloud").first() or Product.objects.create(
        code="cloud", name_ru="Облако", created_at=T0, updated_at=T0)
    plan = Plan.objects.filter(code=code).first() or Plan.objects.create(
        product=product, code=code, name_ru="Облако", created_at=T0)
    version = PlanVersion.objects.filter(plan=plan).first() or PlanVersion.objects.create(
        plan=plan, number=1, status=VersionStatus.PUBLISHED, spec=PlanSpec.from_dict({**SPEC, "code": code}).to_dict(),
        effective_from=dt.date(2026, 1, 1), existing_subscribers="next_period", created_at=T0, published_at=T0)
    return Subscription.objects.create(
        client=ClientFactory(), plan=plan, plan_version=version, currency="RUB", external_id=external_id,
        start_date=start, status="active", created_at=T0, updated_at=T0)


@pytest.fixture(autouse=True)
def _fresh_plan_cache() -> Iterator[None]:
    """Plan versions are memoised per process by id; ids may be reused between tests."""
    forget_plan_usage()
    yield
    forget_plan_usage()


@pytest.fixture
def sub(db: Any, clock: Any) -> Subscription:
    return make_subscription()


@pytest.fixture
def usage_api(api_as: Callable[..., APIClient]) -> APIClient:
    return api_as("usage:write")


def post(client: APIClient, path: str, body: Any, **extra: Any) -> Any:
    """POST ``body`` as JSON; in English unless ``HTTP_ACCEPT_LANGUAGE`` says otherwise (the API's default is
    the installation's language, Russian)."""
    return client.post(path, body, format="json", **{"HTTP_ACCEPT_LANGUAGE": "en", **extra})


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
