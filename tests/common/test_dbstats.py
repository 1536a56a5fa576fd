"""Stale planner statistics are refreshed before batch work (PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.db import connection

from kopeck.audit.models import AuditEntry
from kopeck.common.bulk import insert_rows
from kopeck.common.dbstats import MIN_CHANGES, analyze_stale

AT = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)


def _load(n: int) -> None:
    insert_rows(AuditEntry, ("at", "actor_kind", "actor_id", "actor_label", "action", "object_type", "object_id"),
                [(AT, "system", "t", "T", "test.load", "thing", str(k)) for k in range(n)], ids=False)


@pytest.mark.django_db(transaction=True)
def test_a_table_loaded_in_bulk_is_analyzed_once() -> None:
    if connection.vendor != "postgresql":
        assert analyze_stale([AuditEntry]) == []  # nothing to do elsewhere
        return
    _load(MIN_CHANGES + 200)
    stale: list[str] = []
    deadline = time.monotonic() + 10
    while not stale and time.monotonic() < deadline:  # a backend reports its counts within about a second
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_force_next_flush()")
        stale = analyze_stale([AuditEntry])
        time.sleep(0.2)
    assert stale == ["audit_auditentry"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables WHERE relname = 'audit_auditentry'")
        assert cursor.fetchone() == (True,)
    assert analyze_stale([AuditEntry]) == []  # fresh now


@pytest.mark.django_db(transaction=True)
def test_a_few_changes_never_make_a_table_stale() -> None:
    _load(MIN_CHANGES // 10)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_force_next_flush()")
        time.sleep(1.2)
    assert analyze_stale([AuditEntry]) == []


@pytest.mark.django_db
@pytest.mark.postgres  # a PostgreSQL setting
def test_large_json_columns_keep_no_statistics() -> None:
    with connection.cursor() as cursor:
        cursor.execute("""SELECT c.relname || '.' || a.attname, a.attstattarget FROM pg_attribute a
                          JOIN pg_class c ON c.oid = a.attrelid
                          WHERE (c.relname, a.attname) IN (('subscriptions_billedperiod', 'explanation'),
                                ('billing_runitem', 'items'), ('audit_auditentry', 'after'),
                                ('ledger_journaltransaction', 'explanation'), ('subscriptions_billedperiod',
                                'subscription_id'))""")
        targets = dict(cursor.fetchall())
    assert targets["subscriptions_billedperiod.subscription_id"] in (-1, None)  # the default: kept
    assert {k: v for k, v in targets.items() if not k.endswith("subscription_id")} == {
        "subscriptions_billedperiod.explanation": 0, "billing_runitem.items": 0, "audit_auditentry.after": 0,
        "ledger_journaltransaction.explanation": 0}
