"""The base of Kopeck's management commands: they speak the installation's language.

A command's own messages (errors, summaries, progress) are written with ``gettext``/``ngettext`` and so
come out in the active language — on the command line the installation's (``KOPECK_LANGUAGE``, ru by
default; a test or a caller may ``translation.override`` it). Django prefixes a refusal on the command
line with its class name ("CommandError: …"); here the prefix is translated too ("Ошибка: …"), so a
run's output is in one language. The exit status is the refusal's (1 unless it says otherwise)."""

from __future__ import annotations

import errno
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, SystemCheckError
from django.utils.translation import gettext as _


class KopeckCommand(BaseCommand):
    def execute(self, *args: Any, **options: Any) -> Any:
        try:
            return super().execute(*args, **options)
        except CommandError as exc:
            if (not getattr(self, "_called_from_command_line", False) or options.get("traceback")
                    or isinstance(exc, SystemCheckError)):
                raise
            self.stderr.write(_("Error: %(message)s") % {"message": exc})
            sys.exit(exc.returncode)


def os_reason(exc: OSError) -> str:
    """Why a file could not be read or written, in the active language (the C library says it in
    English whatever the installation's language)."""
    reasons = {errno.ENOENT: _("no such file or directory"), errno.EACCES: _("permission denied"),
               errno.EISDIR: _("is a directory"), errno.ENOTDIR: _("not a directory"),
               errno.ENOSPC: _("no space left on the device"), errno.EROFS: _("read-only file system")}
    return reasons.get(exc.errno or 0, exc.strerror or str(exc))
