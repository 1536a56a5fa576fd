"""``kopeck outbox``: the transactional outbox on the command line (see docs/outbox.md).

* ``kopeck outbox deliver [--limit N]`` — deliver due messages, batch after batch, until nothing is
  due; prints the counts (JSON). Usable from cron.
* ``kopeck outbox status`` — messages per status and how many are due (JSON).
* ``kopeck outbox requeue ID [ID ...]`` — send dead (or failed) messages again (audited).
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
from kopeck.outbox.models import OutboxMessage
from kopeck.outbox.selectors import outbox_counts
from kopeck.outbox.services import outbox_deliver_all, outbox_requeue


class Command(KopeckCommand):
    help = gettext_lazy("The outbox: deliver due messages until none is due, show counts, requeue dead "
                        "messages.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{deliver,status,requeue}",
                                    parser_class=SubcommandParser)
        deliver = sub.add_parser("deliver", help=_("Deliver due messages until nothing is due."))
        deliver.add_argument("--limit", type=int, default=100, help=_("Messages per batch (default 100)."))
        sub.add_parser("status", help=_("Messages per status, and how many are due."))
        requeue = sub.add_parser("requeue", help=_("Send dead (or failed) messages again."))
        requeue.add_argument("ids", type=int, nargs="+", metavar="ID")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "deliver":
            if options["limit"] < 1:
                raise CommandError(_("--limit: must be a positive integer."))
            result: Any = outbox_deliver_all(limit=options["limit"])
        elif options["action"] == "status":
            result = outbox_counts()
        else:
            result = {}
            actor = Actor.system("cli")
            for pk in options["ids"]:
                message = OutboxMessage.objects.filter(pk=pk).first()
                if message is None:
                    raise CommandError(_("Outbox message %(id)s does not exist.") % {"id": pk})
                try:
                    result[str(pk)] = outbox_requeue(actor=actor, message=message).status
                except KopeckError as exc:
                    raise CommandError(exc.detail) from exc
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
