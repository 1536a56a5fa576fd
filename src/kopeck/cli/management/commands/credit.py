"""``kopeck credit``: credit control on the command line (docs/credit.md).

* ``kopeck credit check [--date YYYY-MM-DD] [--client ID ...]`` — the credit check (what the hourly
  job ``kopeck.credit.check`` runs): every client, or those given, on today or an earlier date;
  prints the tally (JSON). Running it again the same day changes nothing.
* ``kopeck credit state CLIENT_ID`` — the client's credit state, ladder, blocks and promises (JSON).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from kopeck.cli.command import KopeckCommand, SubcommandParser
from kopeck.clients.models import Client
from kopeck.configuration.selectors import provider_today
from kopeck.credit.api import CreditStateSerializer, credit_payload
from kopeck.credit.services import credit_check


class Command(KopeckCommand):
    help = gettext_lazy("Credit control: run the credit check, show a client's credit state.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{check,state}",
                                    parser_class=SubcommandParser)
        check = sub.add_parser("check", help=_("Run the credit check (dunning, blocks, promises)."))
        check.add_argument("--date", help=_("The provider-local day to check as (default today; not later)."))
        check.add_argument("--client", type=int, action="append", help=_("Only this client (repeatable)."))
        check.add_argument("--progress", action="store_true", help=_("Print the clients checked to stderr."))
        state = sub.add_parser("state", help=_("A client's credit state (JSON)."))
        state.add_argument("client_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "state":
            client = Client.objects.filter(pk=options["client_id"]).first()
            if client is None:
                raise CommandError(_("Client %(id)s does not exist.") % {"id": options["client_id"]})
            data = CreditStateSerializer(credit_payload(client)).data
            self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str))
            return
        on = provider_today()
        if options["date"]:
            try:
                on = dt.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError(_("--date: give a date YYYY-MM-DD.")) from None
            if on > provider_today():
                raise CommandError(_("--date: not after today (the ladder's steps would run early)."))
        ids = options["client"]
        if ids:
            missing = sorted(set(ids) - set(Client.objects.filter(pk__in=ids).values_list("pk", flat=True)))
            if missing:
                raise CommandError(ngettext("--client: no client %(ids)s.", "--client: no clients %(ids)s.", len(missing))
                                   % {"ids": ", ".join(map(str, missing))})
        done = [0]

        def progress(n: int) -> None:
            done[0] += n
            sys.stderr.write("\r" + ngettext("%(count)d client checked", "%(count)d clients checked", done[0])
                             % {"count": done[0]})

        result = credit_check(on=on, client_ids=ids, progress=progress if options["progress"] else None)
        if options["progress"]:
            sys.stderr.write("\n")
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
