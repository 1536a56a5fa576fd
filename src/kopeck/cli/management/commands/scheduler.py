"""``kopeck scheduler``: run the periodic jobs in this process until stopped (what `kopeck serve`
starts next to the server when no Celery broker is configured)."""

from __future__ import annotations

import signal
from typing import Any

from django.core.management.base import BaseCommand

from kopeck.cli.scheduler import PERIODIC_TASKS, InProcessScheduler


class Command(BaseCommand):
    help = "Run the periodic jobs (scheduled changes and billing of due periods, purges) until stopped."

    def handle(self, *args: Any, **options: Any) -> None:
        scheduler = InProcessScheduler()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: scheduler.stop())
        self.stdout.write(f"Kopeck scheduler: {', '.join(f'{n} every {s} s' for n, s in PERIODIC_TASKS.items())}")
        self.stdout.flush()
        scheduler.start()
        while scheduler.is_alive():
            scheduler.join(1)
