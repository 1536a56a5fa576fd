"""The hot cursor: on PostgreSQL its statements are bound by the server and prepared once per connection
(and still logged like any other); with ``KOPECK_DB_PREPARED`` off, or on SQLite, it is Django's cursor."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kopeck.common.hot import hot_cursor

SQL = "SELECT CAST(%s AS integer) + {}"


def _prepared() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements ORDER BY prepare_time")
        return [row[0] for row in cursor.fetchall()]


def _run(times: int, add: int = 1) -> list[int]:
    answers = []
    for n in range(times):
        with hot_cursor() as cursor:
            cursor.execute(SQL.format(add), [n + 1 - add])
            answers.append(cursor.fetchone()[0])
    return answers


@pytest.mark.postgres
@pytest.mark.django_db
def test_on_postgresql_the_statement_is_prepared_once_and_logged() -> None:
    with CaptureQueriesContext(connection) as seen:
        assert _run(3) == [1, 2, 3]
    text = "SELECT CAST($1 AS integer) + 1"
    assert _prepared().count(text) == 1  # one statement for the three executions
    assert [q["sql"] for q in seen.captured_queries] == [text] * 3
    with connection.cursor() as cursor:  # Django's own statements are not prepared by being run often
        for _ in range(10):
            cursor.execute("SELECT 2 + 2")
    assert not [s for s in _prepared() if "2 + 2" in s]


@pytest.mark.postgres
@pytest.mark.django_db
def test_turned_off_nothing_is_prepared(settings: Any) -> None:
    settings.KOPECK_DB_PREPARED = False
    assert _run(3, add=2) == [1, 2, 3]
    assert not [s for s in _prepared() if "+ 2" in s]


@pytest.mark.django_db
def test_on_any_database_it_answers() -> None:
    with CaptureQueriesContext(connection) as seen:
        assert _run(2) == [1, 2]
    assert len(seen.captured_queries) == 2
