"""Periodic jobs: Celery beat runs them in production; in the embedded default (no broker) the
master process of `kopeck serve` runs them in a thread.

Every job is idempotent (billing is "what should have been billed minus what was"), so running it
more often than needed, or twice, is harmless.
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Any

log = logging.getLogger("kopeck.scheduler")

# Task name -> interval in seconds. Billing has one scheduled job: the daily billing run (it
# applies the scheduled changes that are due, posts and issues the documents, or waits for a
# confirmation — as the billing settings say); no other job posts charges.
PERIODIC_TASKS: dict[str, int] = {
    "kopeck.billing.daily_run": int(os.environ.get("KOPECK_TICK_SECONDS", "900")),
    "kopeck.idempotency_purge": 24 * 3600,
    "kopeck.documents.monthly_acts": 6 * 3600,
    "kopeck.documents.overdue": 3600,
    "kopeck.payments.advance_invoices": 6 * 3600,
    "kopeck.subscriptions.trials_ending": 3600,
    "kopeck.credit.check": 3600,
    "kopeck.documents.deliveries_resume": 5 * 60,
    "kopeck.outbox.deliver": 30,
    "kopeck.events.dispatch": 10,
    "kopeck.webhooks.deliver": 10,
    "kopeck.gateways.settle": 10,
    "kopeck.gateways.reconcile": 5 * 60,
    "kopeck.gateways.autopay": 15 * 60,
}


def beat_schedule() -> dict[str, dict[str, Any]]:
    """CELERY_BEAT_SCHEDULE for the same jobs."""
    return {name: {"task": name, "schedule": float(every)} for name, every in PERIODIC_TASKS.items()}


def run_task(name: str) -> Any:
    """Run one periodic task in this process (the embedded default)."""
    from kopeck.celery import app

    if name not in app.tasks:
        # Import the apps' tasks modules (without re-running Django's set-up, which the loader's
        # import_default_modules would do).
        app.autodiscover_tasks(force=True)
    task = app.tasks.get(name)
    if task is None:
        log.warning("periodic task %s is not registered", name)
        return None
    return task.apply().get()


class InProcessScheduler(threading.Thread):
    """Runs each periodic task every interval, first shortly after start; stops with the process."""

    def __init__(self, tasks: dict[str, int] | None = None, first_delay: float = 5.0) -> None:
        super().__init__(name="kopeck-scheduler", daemon=True)
        self.tasks = dict(PERIODIC_TASKS if tasks is None else tasks)
        self.first_delay = first_delay
        self.stopped = threading.Event()

    def run(self) -> None:
        import django

        django.setup()
        waited: dict[str, float] = dict.fromkeys(self.tasks, 0.0)
        if self.stopped.wait(self.first_delay):
            return
        while not self.stopped.is_set():
            for name, every in self.tasks.items():
                if waited[name] <= 0:
                    try:
                        run_task(name)
                    except Exception:  # a failing job must not stop the others
                        log.exception("periodic task %s failed", name)
                    waited[name] = every
            step = min(waited.values())
            if self.stopped.wait(step):
                return
            for name in waited:
                waited[name] -= step

    def stop(self) -> None:
        self.stopped.set()
