"""gunicorn settings of `kopeck serve`: with no Celery broker, the master runs the periodic jobs."""

from __future__ import annotations

import os
from typing import Any


def when_ready(server: Any) -> None:
    if os.environ.get("CELERY_BROKER_URL") or os.environ.get("KOPECK_SCHEDULER", "on") == "off":
        return
    from kopeck.cli.scheduler import InProcessScheduler

    InProcessScheduler().start()
    server.log.info("Kopeck in-process scheduler started (no Celery broker configured)")
