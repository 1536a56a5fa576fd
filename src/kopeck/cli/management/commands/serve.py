"""``kopeck serve``: run the product with gunicorn (static files by WhiteNoise)."""

from __future__ import annotations

import os
import sys
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopeck.cli.command import KopeckCommand


class Command(KopeckCommand):
    help = gettext_lazy("Serve Kopeck over HTTP with gunicorn (admin at /admin/, API at /api/v1/, docs "
                        "at /api/docs/).")

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bind", default=os.environ.get("KOPECK_BIND", "127.0.0.1:8000"),
                            help=_("Address and port to listen on (default: KOPECK_BIND or 127.0.0.1:8000)."))
        parser.add_argument("--workers", type=int, default=int(os.environ.get("KOPECK_WORKERS", "2")),
                            help=_("Worker processes (default: KOPECK_WORKERS or 2)."))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("KOPECK_THREADS", "4")),
                            help=_("Threads per worker process (default: KOPECK_THREADS or 4)."))

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(_("Kopeck at http://%(bind)s/  (admin /admin/, API docs /api/docs/)") % {"bind": options["bind"]})
        sys.stdout.flush()
        argv = [
            sys.executable, "-m", "gunicorn", "kopeck.wsgi:application",
            "--bind", options["bind"], "--workers", str(options["workers"]), "--threads", str(options["threads"]),
            "--access-logfile", "-", "--config", "python:kopeck.cli.gunicorn_conf",
        ]
        os.execv(sys.executable, argv)  # noqa: S606 - replaces this process with gunicorn
