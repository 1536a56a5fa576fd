"""``kopeck scheduler``: run the periodic jobs in this process until stopped (what `kopeck serve`
starts next to the server when no Celery broker is configured)."""

from __future__ import annotations

import signal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopeck.cli.command import KopeckCommand
from kopeck.cli.scheduler import PERIODIC_TASKS, InProcessScheduler


class Command(KopeckCommand):
    help = gettext_lazy("Run the periodic jobs (scheduled changes and billing of due periods, purges) "
                        "until stopped.")

    def handle(self, *args: Any, **options: Any) -> None:
        scheduler = InProcessScheduler()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: scheduler.stop())
        jobs = ", ".join(_("%(job)s every %(seconds)s s") % {"job": n, "seconds": s} for n, s in PERIODIC_TASKS.items())
        self.stdout.write(_("Kopeck scheduler: %(jobs)s") % {"jobs": jobs})
        self.stdout.flush()
        scheduler.start()
        while scheduler.is_alive():
            scheduler.join(1)
