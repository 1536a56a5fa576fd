"""A cursor for the few statements run once per request at high rates (a gateway's notifications:
the setting, the order, the insert).

Django binds parameters on the client (psycopg's ``ClientCursor``) and disables prepared statements:
PostgreSQL parses and plans every statement afresh. A statement run hundreds of times a second on the
same connection is cheaper bound by the server and prepared once per connection (psycopg keeps the
plan and reuses it): about 0.03–0.06 ms of the database's CPU saved per statement, and the client's
quoting. ``KOPECK_DB_PREPARED`` (on) turns it off for a deployment behind a pooler that cannot keep
prepared statements (PgBouncer in transaction mode before 1.21, or without ``max_prepared_statements``).

The cursor is Django's wrapper around it: the queries are logged and counted like any other (tests,
``connection.execute_wrapper``). Elsewhere (SQLite), and with ``KOPECK_DB_PREPARED`` off, it is
Django's own cursor.
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.conf import settings
from django.db import connection


class _Prepared(psycopg.Cursor[Any]):
    """Server-side binding (Django's factory for the connection binds on the client), each statement
    prepared on its first execution."""

    def execute(self, query: Any, params: Any = None, *, prepare: bool | None = None,
                binary: bool | None = None) -> Any:
        return super().execute(query, params, prepare=True if prepare is None else prepare, binary=binary)

    def _convert_query(self, query: Any, params: Any = None) -> Any:
        # kept, as psycopg's client-side cursors keep it: Django logs a statement's text from it
        # (CaptureQueriesContext, DEBUG's query log) — shown with $1, $2 placeholders
        self._query = super()._convert_query(query, params)
        return self._query


# the connection's prepare_threshold set by the first hot cursor: no statement is prepared for being run
# often (Django's statements stay as Django runs them); only the hot cursor's, which ask
ONLY_ASKED = 2**31 - 1
_TIMESTAMPTZ = psycopg.adapters.types["timestamptz"].oid


def hot_cursor() -> Any:
    """A cursor of the default connection whose statements PostgreSQL binds and keeps prepared."""
    if connection.vendor != "postgresql" or not getattr(settings, "KOPECK_DB_PREPARED", True):
        return connection.cursor()
    from django.db.backends.postgresql.psycopg_any import register_tzloader  # type: ignore[import-untyped]
    from psycopg.pq import Format

    connection.close_if_health_check_failed()
    connection.ensure_connection()
    with connection.wrap_database_errors:
        raw = connection.connection
        if raw.prepare_threshold is None:  # Django's default turns preparing off; psycopg then ignores prepare=True
            raw.prepare_threshold = ONLY_ASKED
        cursor = _Prepared(raw)
        if connection.timezone != raw.adapters.get_loader(_TIMESTAMPTZ, Format.TEXT).timezone:
            register_tzloader(connection.timezone, cursor)  # as Django's own cursors do
        return connection._prepare_cursor(cursor)  # type: ignore[attr-defined]  # Django's wrapping, logged
