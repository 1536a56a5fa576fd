"""The periodic job of subscriptions: apply the scheduled changes that are due, then bill what is
due, for the provider-local date. Called by the Celery beat task ``kopeck.subscriptions.run_due``
(:mod:`kopeck.subscriptions.tasks`), by ``kopeck tick`` (cron) and — in the embedded setup — by
an in-process scheduler thread of ``kopeck serve``. Safe to run any number of times a day: a
re-run posts nothing new."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kopeck.common.actor import Actor
from kopeck.configuration.selectors import provider_today
from kopeck.subscriptions.events import subscriptions_trials_ending
from kopeck.subscriptions.services import (
    scheduled_changes_run,
    subscriptions_adopt_price_versions,
    subscriptions_bill_due_all,
)


def run_due(on: dt.date | None = None, *, actor: Actor | None = None) -> dict[str, Any]:
    """Scheduled changes first (a downgrade or a cancellation at period end takes effect before the
    next period is billed), then new plan versions for existing subscribers, then billing. ``on`` defaults to today in the provider's zone."""
    day = provider_today() if on is None else on
    who = actor or Actor.system("scheduler")
    changes = scheduled_changes_run(actor=who, on=day)
    versions = subscriptions_adopt_price_versions(actor=who, on=day)
    billing = subscriptions_bill_due_all(actor=who, on=day)
    trials = subscriptions_trials_ending(actor=who, on=day)
    return {"on": day.isoformat(), "scheduled_changes": changes, "price_versions": versions, "billing": billing,
            "trials_ending": trials}
