"""The ``kopeck`` command: Django's management commands plus Kopeck's own (serve, demo, …)."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kopeck.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["kopeck", *(sys.argv[1:] if argv is None else argv)])
