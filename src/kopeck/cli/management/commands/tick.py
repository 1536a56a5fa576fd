"""``kopeck tick``: run every periodic job once, now — the daily billing run when its time has come
(started at most once per billing date), the monthly acts, outbox delivery, the purge of old
idempotency keys — as the scheduler of ``kopeck serve`` or Celery beat would. Every job is
idempotent: usable from cron as often as you like. To bill a past date, run a billing run for it
(``kopeck billing run --date D --mode auto``)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopeck.cli.command import KopeckCommand
from kopeck.cli.scheduler import PERIODIC_TASKS, run_task
from kopeck.common.errors import KopeckError


class Command(KopeckCommand):
    help = gettext_lazy("Run every periodic job once (the daily billing run when due, monthly acts, "
                        "outbox delivery…).")

    def handle(self, *args: Any, **options: Any) -> None:
        summary: dict[str, Any] = {}
        for name in PERIODIC_TASKS:
            try:
                summary[name] = run_task(name)
            except KopeckError as exc:
                raise CommandError(_("%(job)s: %(message)s") % {"job": name, "message": exc.detail}) from exc
        self.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
