"""A subscription's status on a date and whether it is billable then — stated once.

* ``pending`` until the start date, then ``trial`` until the trial end (the first paid day), then
  ``active``; ``suspended``, ``cancelling`` and ``ended`` are set by actions and kept as they are.
* A subscription is **billable on D** when its status on D is neither ``pending`` nor ``ended``
  and its billing is not paused (a suspension that pauses billing). A ``cancelling`` subscription
  is billable until its end date (its terms end there); a suspension that lets billing continue
  stays billable.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum


class Status(StrEnum):
    PENDING = "pending"
    TRIAL = "trial"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    CANCELLING = "cancelling"
    ENDED = "ended"


_BY_DATES = (Status.PENDING, Status.TRIAL, Status.ACTIVE)


def status_on(status: str, start: dt.date, trial_end: dt.date | None, on: dt.date) -> Status:
    """The status on ``on`` of a subscription whose stored status is ``status``."""
    if status in _BY_DATES:
        if start > on:
            return Status.PENDING
        if trial_end is not None and trial_end > on:
            return Status.TRIAL
        return Status.ACTIVE
    return Status(status)


def billable_on(status: str, start: dt.date, trial_end: dt.date | None, billing_paused: bool,
                on: dt.date) -> bool:
    """Whether billing on ``on`` bills the subscription (see the module docstring)."""
    return status_on(status, start, trial_end, on) not in (Status.PENDING, Status.ENDED) and not billing_paused
