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
errors ("the following arguments are required", "invalid choice"…) are said in the active language
too (:func:`argparse_said`: argparse's English forms, recognised and translated; a form it does not know
stays as argparse words it), with the translated "error:" framing."""

from __future__ import annotations

import errno
import re
import sys
from typing import Any, NoReturn

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


# argparse's error messages (Python 3.11's wording), recognised by their English form
_ARGPARSE_ERRORS: tuple[tuple[re.Pattern[str], Any], ...] = (
    (re.compile(r"the following arguments are required: (?P<names>.+)"),
     gettext_lazy("the following arguments are required: %(names)s")),
    (re.compile(r"unrecognized arguments: (?P<names>.+)"), gettext_lazy("unrecognized arguments: %(names)s")),
    (re.compile(r"one of the arguments (?P<names>.+) is required"),
     gettext_lazy("one of the arguments %(names)s is required")),
    (re.compile(r"ambiguous option: (?P<option>\S+) could match (?P<matches>.+)"),
     gettext_lazy("ambiguous option: %(option)s could match %(matches)s")),
    (re.compile(r"argument (?P<name>.+?): invalid choice: (?P<value>.+) \(choose from (?P<choices>.+)\)"),
     gettext_lazy("argument %(name)s: invalid choice: %(value)s (choose from %(choices)s)")),
    (re.compile(r"argument (?P<name>.+?): invalid (?P<type>\S+) value: (?P<value>.+)"),
     gettext_lazy("argument %(name)s: invalid %(type)s value: %(value)s")),
    (re.compile(r"argument (?P<name>.+?): expected one argument"),
     gettext_lazy("argument %(name)s: expected one argument")),
    (re.compile(r"argument (?P<name>.+?): expected at least one argument"),
     gettext_lazy("argument %(name)s: expected at least one argument")),
    (re.compile(r"argument (?P<name>.+?): not allowed with argument (?P<other>.+)"),
     gettext_lazy("argument %(name)s: not allowed with argument %(other)s")),
    (re.compile(r"argument (?P<name>.+?): ignored explicit argument (?P<value>.+)"),
     gettext_lazy("argument %(name)s: ignored explicit argument %(value)s")),
)


def argparse_said(message: str) -> str:
    """An argparse error message in the active language (as it came when its form is not known)."""
    for pattern, words in _ARGPARSE_ERRORS:
        found = pattern.fullmatch(message)
        if found:
            return str(words) % found.groupdict()
    return message


def _parser_error(parser: CommandParser, message: str) -> NoReturn:
    """Django's ``CommandParser.error`` with argparse's message and the framing in the active language."""
    said = argparse_said(message)
    if parser.called_from_command_line:
        parser.print_usage(sys.stderr)
        parser.exit(2, _("%(prog)s: error: %(message)s") % {"prog": parser.prog, "message": said} + "\n")
    raise CommandError(_("Error: %(message)s") % {"message": said})


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


class KopeckCommandParser(CommandParser):
    """Django's command parser with argparse's errors in the active language."""

    def error(self, message: str) -> NoReturn:
        _parser_error(self, message)


class SubcommandParser(CommandParser):
    """The parser of a subcommand (``add_subparsers(parser_class=SubcommandParser)``): its help is
    formatted by :class:`KopeckHelpFormatter` like its command's."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", KopeckHelpFormatter)
        super().__init__(**kwargs)

    def error(self, message: str) -> NoReturn:
        _parser_error(self, message)


class KopeckCommand(BaseCommand):
    # gettext_lazy: the description is said in the language active when --help is asked for
    help: str | Promise = ""  # type: ignore[assignment]  # Django's stubs say str; argparse gets str()

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        kwargs.setdefault("formatter_class", KopeckHelpFormatter)
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.__class__ = KopeckCommandParser  # Django builds a CommandParser; the subclass adds no state
        return parser

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
