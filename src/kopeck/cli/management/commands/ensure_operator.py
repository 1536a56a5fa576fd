"""``kopeck ensure_operator``: make sure an administrator can log in (idempotent).

The login and password come from KOPECK_ADMIN_USERNAME / KOPECK_ADMIN_PASSWORD; without a password,
a random one is generated on first creation, stored in var/admin-password.txt and printed."""

from __future__ import annotations

import os
import secrets
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kopeck.cli.command import KopeckCommand
from kopeck.common.actor import Actor
from kopeck.operators.models import Operator
from kopeck.operators.roles import Role
from kopeck.operators.services import operator_create


class Command(KopeckCommand):
    help = gettext_lazy("Create the administrator operator if missing, and print how to log in.")

    def handle(self, *args: Any, **options: Any) -> None:
        username = os.environ.get("KOPECK_ADMIN_USERNAME", "admin")
        password = os.environ.get("KOPECK_ADMIN_PASSWORD")
        store = settings.VAR_DIR / "admin-password.txt"
        op = Operator.objects.filter(username=username).first()
        if op is None:
            password = password or secrets.token_urlsafe(12)
            operator_create(username=username, password=password, role=Role.ADMINISTRATOR, superuser=True,
                            actor=Actor.system("ensure_operator"))
            if not os.environ.get("KOPECK_ADMIN_PASSWORD"):
                store.parent.mkdir(parents=True, exist_ok=True)
                store.write_text(password + "\n")
                store.chmod(0o600)
        elif password and not op.check_password(password):
            op.set_password(password)
            op.save(update_fields=["password"])
        shown = password or (store.read_text().strip() if store.exists() else _("(unchanged)"))
        self.stdout.write(self.style.SUCCESS(_("Operator login: %(username)s / %(password)s")
                                             % {"username": username, "password": shown}))
