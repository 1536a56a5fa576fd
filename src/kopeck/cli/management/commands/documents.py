"""``kopeck documents``: documents on the command line.

* ``kopeck documents monthly-acts --month YYYY-MM [--kind act|upd]`` — issue an act (or УПД) per
  client for the month's charges not on one yet; prints the documents issued (JSON).

Bad input exits non-zero with the offending field named.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopeck.cli.command import KopeckCommand, SubcommandParser
from kopeck.common.actor import Actor
from kopeck.common.errors import KopeckError
from kopeck.documents.services import documents_issue_monthly_acts


class Command(KopeckCommand):
    help = gettext_lazy("Documents: monthly acts.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=SubcommandParser)
        acts = sub.add_parser("monthly-acts", help=_("Issue the acts of a month."))
        acts.add_argument("--month", required=True, help=_("The month, YYYY-MM (provider-local)."))
        acts.add_argument("--kind", choices=["act", "upd"], default="act",
                          help=_("act (default) or upd, the universal transfer document."))

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            docs = documents_issue_monthly_acts(actor=Actor.system("cli"), month=options["month"],
                                                kind=options["kind"])
        except KopeckError as exc:
            lines = [f"{field}: {msg}" for field, msgs in exc.errors.items() for msg in msgs]
            raise CommandError("; ".join(lines) or exc.detail) from None
        self.stdout.write(json.dumps([{"id": d.pk, "number": d.number, "client": d.client_id,
                                       "issue_date": d.issue_date.isoformat() if d.issue_date else None,
                                       "amount_minor": d.amount_minor} for d in docs], ensure_ascii=False))
