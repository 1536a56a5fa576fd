"""gunicorn settings of `kopeck serve`: with no Celery broker, a scheduler process runs the periodic
jobs next to the server (a separate process: a thread in the master would be inherited, mid-work,
by every forked worker). The errors gunicorn answers itself, before Kopeck runs (a request line or
a header over its limits, a malformed request), are RFC 9457 problems like every other error."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

from gunicorn import util  # type: ignore[import-untyped]


def write_problem(sock: Any, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's ``util.write_error``, answering application/problem+json instead of an HTML page."""
    code = re.sub(r"[^a-z0-9]+", "-", reason.lower()).strip("-") or "bad-request"
    body = json.dumps({"type": f"urn:kopeck:problem:{code}", "title": reason, "status": status_int,
                       "detail": mesg[:500]}).encode()
    head = (f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
            f"Content-Type: application/problem+json\r\nContent-Length: {len(body)}\r\n\r\n").encode("latin1")
    util.write_nonblock(sock, head + body)


util.write_error = write_problem  # the master imports this file before it forks the workers


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
