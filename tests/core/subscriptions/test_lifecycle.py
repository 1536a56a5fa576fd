"""A subscription's status on a date, whether it is billable then, and the period containing a day
— each stated once in the core."""

from __future__ import annotations

import datetime as dt

import pytest

from kopeck.core.periods import Period
from kopeck.core.subscriptions import (
    Status,
    Terms,
    billable_on,
    new_billing_day_terms,
    period_containing,
    status_on,
)
from tests.core.subscriptions.test_core import spec

D = dt.date


@pytest.mark.parametrize(("stored", "trial_end", "on", "expected", "billable"), [
    ("pending", None, D(2027, 1, 9), Status.PENDING, False),       # before the start
    ("pending", None, D(2027, 1, 10), Status.ACTIVE, True),        # from the start
    ("active", D(2027, 1, 17), D(2027, 1, 16), Status.TRIAL, True),  # a trial is billed (at zero)
    ("trial", D(2027, 1, 17), D(2027, 1, 17), Status.ACTIVE, True),  # the first paid day
    ("cancelling", None, D(2027, 2, 1), Status.CANCELLING, True),
    ("suspended", None, D(2027, 2, 1), Status.SUSPENDED, True),    # billing continues unless paused
    ("ended", None, D(2027, 2, 1), Status.ENDED, False),
])
def test_status_and_billable_on_a_date(stored: str, trial_end: dt.date | None, on: dt.date, expected: Status,
                                       billable: bool) -> None:
    assert status_on(stored, D(2027, 1, 10), trial_end, on) == expected
    assert billable_on(stored, D(2027, 1, 10), trial_end, False, on) is billable
    assert billable_on(stored, D(2027, 1, 10), trial_end, True, on) is False  # billing paused


def test_the_period_containing_a_day_follows_the_cycle_origin() -> None:
    quarterly = Terms(spec(count=3), "RUB", D(2026, 11, 1))
    assert period_containing(quarterly, D(2026, 10, 1)) == Period(D(2026, 11, 1), D(2027, 2, 1))  # before: the first
    assert period_containing(quarterly, D(2027, 1, 20)) == Period(D(2026, 11, 1), D(2027, 2, 1))
    moved = new_billing_day_terms(quarterly, D(2027, 1, 10), 15)
    assert period_containing(moved, D(2027, 1, 12)) == Period(D(2027, 1, 10), D(2027, 1, 15))  # the bridge
    assert period_containing(moved, D(2027, 1, 20)) == Period(D(2027, 1, 15), D(2027, 4, 15))
