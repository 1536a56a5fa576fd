"""``kopeck tick [--date YYYY-MM-DD]``: run the subscriptions job once — apply the scheduled
changes that are due, then bill what is due — for today in the provider's zone (or ``--date``, not
after today). Idempotent: usable from cron as often as you like."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kopeck.common.errors import KopeckError
from kopeck.subscriptions.scheduler import run_due


class Command(BaseCommand):
    help = "Apply due scheduled subscription changes, then bill due periods (idempotent; for cron)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--date", default=None, help="Provider-local date YYYY-MM-DD (default: today).")

    def handle(self, *args: Any, **options: Any) -> None:
        day: dt.date | None = None
        if options["date"]:
            try:
                day = dt.date.fromisoformat(options["date"])
            except ValueError as exc:
                raise CommandError(f"--date: {exc}") from exc
        try:
            summary = run_due(day)
        except KopeckError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2))
