"""The base of Kopeck's management commands: they speak the installation's language.

A command's own messages (errors, summaries, progress) are written with ``gettext``/``ngettext`` and so
come out in the active language — on the command line the installation's (``KOPECK_LANGUAGE``, ru by
default; a test or a caller may ``translation.override`` it). Django prefixes a refusal on the command
line with its class name ("CommandError: …"); here the prefix is translated too ("Ошибка: …"), so a
run's output is in one language. The exit status is the refusal's (1 unless it says otherwise).

``--help`` speaks it too: a command's ``help`` is ``gettext_lazy``, its arguments' ``help=`` are
``gettext`` (``add_arguments`` runs when the parser is built, in the active language), and
:class:`KopeckHelpFormatter` says argparse's and Django's own words — "usage:", the section titles,
the ``-h`` line, Django's common options — in the active language. A command with subcommands gives
them ``parser_class=SubcommandParser`` so that their help is formatted the same way. argparse's own
errors ("the following arguments are required") stay as argparse words them."""

from __future__ import annotations

import errno
import sys
from typing import Any

from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    DjangoHelpFormatter,
    SystemCheckError,
)
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

# argparse's and Django's own words in a command's --help, by their English text.
_HELP_WORDS = {
    "usage: ": pgettext_lazy("command line help", "usage: "),
    "options": pgettext_lazy("command line help", "options"),
    "positional arguments": pgettext_lazy("command line help", "positional arguments"),
    "show this help message and exit": gettext_lazy("show this help message and exit"),
    "Show program's version number and exit.": gettext_lazy("Show program's version number and exit."),
    "Verbosity level; 0=minimal output, 1=normal output, 2=verbose output, 3=very verbose output": gettext_lazy(
        "Verbosity level; 0=minimal output, 1=normal output, 2=verbose output, 3=very verbose output"),
    'The Python path to a settings module, e.g. "myproject.settings.main". If this isn\'t provided, the '
    "DJANGO_SETTINGS_MODULE environment variable will be used.": gettext_lazy(
        'The Python path to a settings module, e.g. "myproject.settings.main". If this isn\'t provided, the '
        "DJANGO_SETTINGS_MODULE environment variable will be used."),
    'A directory to add to the Python path, e.g. "/home/djangoprojects/myproject".': gettext_lazy(
        'A directory to add to the Python path, e.g. "/home/djangoprojects/myproject".'),
    "Display a full stack trace on CommandError exceptions.": gettext_lazy(
        "Display a full stack trace on CommandError exceptions."),
    "Don't colorize the command output.": gettext_lazy("Don't colorize the command output."),
    "Force colorization of the command output.": gettext_lazy("Force colorization of the command output."),
    "Skip system checks.": gettext_lazy("Skip system checks."),
}


def _said(text: str) -> str:
    words = _HELP_WORDS.get(text)
    return text if words is None else str(words)


class KopeckHelpFormatter(DjangoHelpFormatter):
    """Django's help layout with argparse's and Django's own words in the active language."""

    def add_usage(self, usage: Any, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, _said("usage: ") if prefix is None else prefix)

    def start_section(self, heading: str | None) -> None:
        super().start_section(None if heading is None else _said(heading))

    def add_text(self, text: Any) -> None:  # a command's help is lazy: the language is chosen now
        super().add_text(None if text is None else str(text))

    def _get_help_string(self, action: Any) -> str | None:
        text = super()._get_help_string(action)
        return None if text is None else _said(text)


class SubcommandParser(CommandParser):
    """The parser of a subcommand (``add_subparsers(parser_class=SubcommandParser)``): its help is
    formatted by :class:`KopeckHelpFormatter` like its command's."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", KopeckHelpFormatter)
        super().__init__(**kwargs)


class KopeckCommand(BaseCommand):
    # gettext_lazy: the description is said in the language active when --help is asked for
    help: str | Promise = ""  # type: ignore[assignment]  # Django's stubs say str; argparse gets str()

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        kwargs.setdefault("formatter_class", KopeckHelpFormatter)
        return super().create_parser(prog_name, subcommand, **kwargs)

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
