"""Throttling of failed authentication: admin logins and API keys, per account and per address.

Each failure is a row of :class:`AuthFailure` (in the database, so that every process — gunicorn
workers, several servers on one PostgreSQL — sees the same counts, with no cache server needed;
docs/security.md). Once an account (a login name, an API key's prefix) has
``KOPECK_AUTH_FAILURES_PER_ACCOUNT`` failures within ``KOPECK_AUTH_FAILURE_WINDOW`` seconds, or an
address ``KOPECK_AUTH_FAILURES_PER_ADDRESS``, further attempts are refused with 429 and Retry-After
(the seconds until the oldest counted failure leaves the window) before the credentials are even
checked — so a correct password does not help while blocked. A success clears the account's count.
"""

from __future__ import annotations

import datetime as dt
import math

from django.conf import settings
from django.db import transaction
from django.db.models import Count

from kopeck.common import clock
from kopeck.operators.models import AuthFailure


class Throttled(Exception):
    """Too many failures: wait ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Too many failed attempts; retry after {retry_after} seconds.")
        self.retry_after = retry_after


def _window() -> dt.timedelta:
    return dt.timedelta(seconds=int(settings.KOPECK_AUTH_FAILURE_WINDOW))


def _keys(account: str, address: str | None) -> list[tuple[str, int]]:
    keys = [(account[:250], int(settings.KOPECK_AUTH_FAILURES_PER_ACCOUNT))]
    if address:
        keys.append((f"addr:{address}"[:250], int(settings.KOPECK_AUTH_FAILURES_PER_ADDRESS)))
    return keys


def check(account: str, address: str | None) -> None:
    """Raise :class:`Throttled` when the account or the address has used up its failures."""
    now = clock.now()
    since = now - _window()
    keys = dict(_keys(account, address))
    # one query in the common case (no or few failures): the counts per key
    counts = dict(AuthFailure.objects.filter(key__in=keys, at__gt=since).values("key").annotate(n=Count("id"))
                  .values_list("key", "n"))
    wait = 0
    for key, limit in keys.items():
        if counts.get(key, 0) >= limit:
            times = list(AuthFailure.objects.filter(key=key, at__gt=since).order_by("-at")
                         .values_list("at", flat=True)[:limit])
            wait = max(wait, math.ceil((times[-1] + _window() - now).total_seconds()))
    if wait > 0:
        raise Throttled(wait)


def record_failure(account: str, address: str | None) -> None:
    now = clock.now()
    keys = _keys(account, address)
    with transaction.atomic():
        AuthFailure.objects.filter(key__in=[k for k, _limit in keys], at__lte=now - _window()).delete()
        AuthFailure.objects.bulk_create([AuthFailure(key=k, at=now) for k, _limit in keys])


def record_success(account: str) -> None:
    AuthFailure.objects.filter(key=account[:250]).delete()


def purge() -> int:
    """Delete the failures that left the window (a periodic job may call it; recording does too)."""
    deleted, _ = AuthFailure.objects.filter(at__lte=clock.now() - _window()).delete()
    return deleted
