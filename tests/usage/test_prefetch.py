"""UsagePrefetch (billing runs) answers exactly what stored_usage answers, for any period: from the
loaded events inside the expected window, by reading the period itself outside it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from kopeck.catalog.selectors import version_plan_spec
from kopeck.core.periods import Period
from kopeck.subscriptions.models import Subscription
from kopeck.usage.models import UsageEvent
from kopeck.usage.selectors import UsagePrefetch, stored_usage

D = dt.date
ZONE = "Europe/Moscow"


@pytest.fixture
def events(sub: Subscription) -> None:
    for n, (month, day, hour) in enumerate([(9, 5, 12), (9, 30, 20), (10, 1, 10), (10, 15, 12), (10, 31, 20),
                                           (11, 1, 10)]):
        # 2026-09-30 20:00 UTC is 23:00 in Moscow (September there); 2026-10-31 21:00 UTC would be November
        UsageEvent.objects.create(subscription=sub, event_id=f"e{n}", metric="traffic", received_at=dt.datetime(
            2026, 11, 2, tzinfo=dt.UTC), timestamp=dt.datetime(2026, month, day, hour, tzinfo=dt.UTC),
            properties={"gb": str(10 * (n + 1))})
        UsageEvent.objects.create(subscription=sub, event_id=f"c{n}", metric="api_calls", received_at=dt.datetime(
            2026, 11, 2, tzinfo=dt.UTC), timestamp=dt.datetime(2026, month, day, hour, tzinfo=dt.UTC), properties={})


PERIODS = [Period(D(2026, 10, 1), D(2026, 11, 1)),   # the expected window
           Period(D(2026, 10, 10), D(2026, 10, 20)),  # inside it
           Period(D(2026, 9, 1), D(2026, 10, 1)),     # before it: a period left unbilled earlier
           Period(D(2026, 9, 15), D(2026, 10, 15)),   # across its start
           Period(D(2026, 10, 15), D(2026, 11, 15))]  # across its end


@pytest.mark.parametrize("period", PERIODS, ids=str)
@pytest.mark.parametrize("component", ["traffic", "api_calls"])
def test_every_period_gets_what_stored_usage_gives(sub: Subscription, events: None, period: Period,
                                                   component: str, django_assert_max_num_queries: Any) -> None:
    spec = version_plan_spec(sub.plan_version)
    prefetch = UsagePrefetch(ZONE)
    prefetch.expect(sub, spec, component, D(2026, 10, 1), D(2026, 11, 1))
    prefetch.load()
    inside = Period(D(2026, 10, 1), D(2026, 11, 1)).covers(period)
    with django_assert_max_num_queries(0 if inside else 10):
        got = prefetch.source(sub, spec)(component, period)
    assert got == stored_usage(sub, spec=spec, zone_name=ZONE)(component, period)
    assert got.events  # every period here has events: the comparison is not between two empty answers


def test_a_window_too_long_or_a_meter_is_not_prefetched(sub: Subscription, events: None) -> None:
    spec = version_plan_spec(sub.plan_version)
    prefetch = UsagePrefetch(ZONE)
    prefetch.expect(sub, spec, "traffic", D(2025, 1, 1), D(2026, 11, 1))  # 22 months unbilled
    prefetch.expect(sub, spec, "power", D(2026, 10, 1), D(2026, 11, 1))   # meter readings: read as before
    prefetch.expect(sub, spec, "base", D(2026, 10, 1), D(2026, 11, 1))    # not metered
    prefetch.load()
    assert prefetch.asked == set() and prefetch.events == {}
