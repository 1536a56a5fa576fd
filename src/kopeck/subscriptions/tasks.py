"""Celery tasks of subscriptions. ``kopeck.subscriptions.trials_ending`` runs every hour (Celery beat,
or the scheduler of ``kopeck serve``) and records ``subscription.trial_ending`` once per trial."""

from __future__ import annotations

from kopeck.celery import app
from kopeck.common.actor import Actor
from kopeck.configuration.selectors import provider_today
from kopeck.subscriptions.events import subscriptions_trials_ending


@app.task(name="kopeck.subscriptions.trials_ending")
def trials_ending() -> int:
    """Record subscription.trial_ending for the trials that end soon (once each); how many now."""
    return subscriptions_trials_ending(actor=Actor.system("scheduler"), on=provider_today())
