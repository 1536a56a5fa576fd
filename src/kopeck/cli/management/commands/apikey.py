"""``kopeck apikey``: API keys from the command line — the first key of a fresh installation, keys for
scripts, and their revocation.

    kopeck apikey create --name "1C exchange" --scopes clients:read,ledger:write [--expires 2027-12-31]
    kopeck apikey list
    kopeck apikey revoke PREFIX

``create`` prints the token once (``--quiet``: the token alone, for scripts). The command acts as the
system actor "cli": whoever can run it owns the installation, so any scope may be granted."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from kopeck.cli.command import KopeckCommand, SubcommandParser
from kopeck.common.actor import Actor
from kopeck.common.errors import KopeckError
from kopeck.operators.models import ApiKey
from kopeck.operators.roles import ALL_SCOPES
from kopeck.operators.services import api_key_create, api_key_revoke


class Command(KopeckCommand):
    help = gettext_lazy("Create, list or revoke API keys.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=SubcommandParser)
        create = sub.add_parser("create", help=_("Create a key and print its token once."))
        create.add_argument("--name", required=True, help=_("What the key is for, e.g. \"1C exchange\"."))
        create.add_argument("--scopes", required=True, help=_(
            "Comma-separated scopes: <area>:read or <area>:write, *:read, *:write. Known: %(scopes)s")
            % {"scopes": ", ".join(ALL_SCOPES)})
        create.add_argument("--expires", help=_("Last day the key works (YYYY-MM-DD, UTC); default: never."))
        create.add_argument("--quiet", action="store_true", help=_("Print the token only."))
        sub.add_parser("list", help=_("List keys (never their secrets)."))
        revoke = sub.add_parser("revoke", help=_("Revoke a key by its prefix."))
        revoke.add_argument("prefix")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = Actor.system("cli")
        if options["action"] == "create":
            scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
            expires = None
            if options.get("expires"):
                try:
                    day = dt.date.fromisoformat(options["expires"])
                except ValueError:
                    raise CommandError(_("--expires: not a date YYYY-MM-DD: %(value)r") % {"value": options["expires"]}) \
                        from None
                expires = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
            try:
                issued = api_key_create(name=options["name"], scopes=scopes, expires_at=expires, actor=actor)
            except KopeckError as exc:
                raise CommandError("; ".join(f"--{f.replace('expires_at', 'expires')}: {m}"
                                             for f, ms in exc.errors.items() for m in ms) or exc.detail) from None
            if options["quiet"]:
                self.stdout.write(issued.token)
                return
            key = issued.key
            self.stdout.write(_("API key %(name)r (prefix %(prefix)s), scopes %(scopes)s") % {
                "name": key.name, "prefix": key.prefix, "scopes": ", ".join(key.scopes)}
                + (_(", expires %(at)s UTC") % {"at": f"{key.expires_at:%Y-%m-%d %H:%M}"} if key.expires_at else ""))
            self.stdout.write(_("Token (shown only now, store it):"))
            self.stdout.write(issued.token)
        elif options["action"] == "list":
            for key in ApiKey.objects.order_by("id"):
                state = pgettext("api key", "revoked") if key.revoked_at else pgettext("api key", "active")
                self.stdout.write(f"{key.prefix}\t{state}\t{','.join(key.scopes)}\t{key.name}")
        else:
            found = ApiKey.objects.filter(prefix=options["prefix"]).first()
            if found is None:
                raise CommandError(_("No API key with the prefix %(prefix)r.") % {"prefix": options["prefix"]})
            try:
                api_key_revoke(key=found, actor=actor)
            except KopeckError as exc:
                raise CommandError(exc.detail) from None
            self.stdout.write(_("Revoked %(prefix)s (%(name)s).") % {"prefix": found.prefix, "name": found.name})
