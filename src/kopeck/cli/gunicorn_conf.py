"""gunicorn settings of `kopeck serve`: with no Celery broker, a scheduler process runs the periodic
jobs next to the server (a separate process: a thread in the master would be inherited, mid-work,
by every forked worker)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any


def when_ready(server: Any) -> None:
    if os.environ.get("CELERY_BROKER_URL") or os.environ.get("KOPECK_SCHEDULER", "on") == "off":
        return
    server.kopeck_scheduler = subprocess.Popen(
        [sys.executable, "-c", "from kopeck.cli import main; main(['scheduler'])"])
    server.log.info("Kopeck scheduler started (no Celery broker configured), pid %s", server.kopeck_scheduler.pid)


def on_exit(server: Any) -> None:
    proc = getattr(server, "kopeck_scheduler", None)
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
