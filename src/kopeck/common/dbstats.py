"""Planner statistics kept fresh before large batch work (PostgreSQL).

PostgreSQL plans a query from its statistics, which autovacuum refreshes some time after a table
changes. A table loaded in bulk and never analyzed makes the planner guess badly: a billing-run
chunk's "billed periods of these 500 subscriptions" was estimated to match the whole table and
read it in full for every chunk, so a run got slower the larger it was. :func:`analyze_stale`
analyzes the tables whose statistics lag far behind their contents; batch work calls it before it
starts. ``ANALYZE`` reads a sample (a fraction of a second even for millions of rows) and blocks no
reader or writer; on a table the database user does not own it is skipped with a warning from
PostgreSQL, not an error."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, migrations, models

log = logging.getLogger(__name__)

MIN_CHANGES = 1000
"""Fewer changed rows than this never make a table stale (small tables are cheap whatever the plan)."""

FRACTION = 0.1
"""A table is stale when the rows changed since its last analysis exceed this fraction of its rows
(autovacuum's default threshold), or it was never analyzed."""


def analyze_stale(tables: Iterable[type[models.Model]]) -> list[str]:
    """Analyze those of the ``tables`` (models) whose statistics are stale; their table names. Does
    nothing on databases other than PostgreSQL."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        return []
    names = sorted({m._meta.db_table for m in tables})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, n_live_tup, n_mod_since_analyze, last_analyze IS NULL AND last_autoanalyze IS NULL"
            " FROM pg_stat_user_tables WHERE schemaname = current_schema() AND relname = ANY(%s)", [names])
        stale = sorted(name for name, live, changed, never in cursor.fetchall()
                       if changed >= MIN_CHANGES and (never or changed > FRACTION * live))
        for name in stale:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(name)}")
    if stale:
        log.info("analyzed %s: their statistics were stale", ", ".join(stale))
    return stale


def no_statistics(table: str, *columns: str) -> migrations.RunPython:
    """A migration operation: PostgreSQL keeps no statistics on ``columns`` of ``table`` (``SET
    STATISTICS 0``) — for large JSON columns never used to find rows (explanations, payloads, a
    run's items). ``ANALYZE`` then skips them: collecting statistics on large JSON values made it
    several times slower, and no query plan uses them. Nothing on other databases."""

    def apply(target: int) -> Callable[[Any, Any], None]:
        def run(apps: Any, schema_editor: Any) -> None:
            if schema_editor.connection.vendor != "postgresql":
                return
            quote = schema_editor.quote_name
            schema_editor.execute(f"ALTER TABLE {quote(table)} " + ", ".join(
                f"ALTER COLUMN {quote(c)} SET STATISTICS {target}" for c in columns))

        return run

    return migrations.RunPython(apply(0), apply(-1))
