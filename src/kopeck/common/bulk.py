"""Bulk inserts for the batch writers (billing runs): ``COPY`` on PostgreSQL, ``bulk_create``
elsewhere.

``bulk_create`` on PostgreSQL sends every column as an array parameter, and psycopg escapes text
arrays in Python — for JSON-heavy rows that costs more than the insert itself. ``COPY … FROM STDIN``
streams the rows instead. Primary keys are taken from the table's sequence first (one
``nextval`` query for the whole batch), so callers get the ids back as with ``bulk_create``.
Only plain concrete fields are written; nothing here calls ``save()`` or sends signals (Kopeck
uses neither for domain effects).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import orjson
from django.db import DEFAULT_DB_ALIAS, connections, models
from django.db.models import Lookup


def bulk_insert(model: type[models.Model], objs: Sequence[models.Model]) -> None:
    """Insert ``objs`` (new instances of ``model``) with :func:`insert_rows` and set their primary keys."""
    if not objs:
        return
    meta = model._meta
    fields = [f.attname for f in meta.concrete_fields if f is not meta.pk and not getattr(f, "generated", False)]
    ids = insert_rows(model, fields, [[getattr(obj, name) for name in fields] for obj in objs])
    for obj, pk_value in zip(objs, ids, strict=True):
        obj.pk = pk_value
        obj._state.adding = False


class AnyOf(Lookup):  # type: ignore[type-arg]
    """``field__any_of=values``: the field is one of many values (ids, keys). On PostgreSQL
    ``= ANY(array)`` with the values as one parameter (integers as ``bigint[]``) — a list of a thousand
    placeholders costs more to build, bind and parse than the query takes to run, and ``IN (SELECT
    unnest(…))`` lets a planner with stale statistics (a table that grew during the run) pick a nested
    loop; the array is hashed or walked by the index. Elsewhere an ``IN`` list. The values must already
    be of the column's type. Registered on every field and relation by ``kopeck.common``'s app config."""

    lookup_name = "any_of"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        values = list(self.rhs)
        if not values:
            return "1 = 0", []
        if connection.vendor == "postgresql":
            if all(isinstance(v, int) for v in values):
                return f"{lhs} = ANY(%s::bigint[])", [*lhs_params, values]
            return f"{lhs} = ANY(%s)", [*lhs_params, values]
        return f"{lhs} IN ({', '.join(['%s'] * len(values))})", [*lhs_params, *values]


def _dumps(value: Any) -> str:
    # UTF-8 as is (Russian text is a third of the size of \\uXXXX escapes), no spaces: less to send and
    # for PostgreSQL to parse. orjson writes the same text several times faster; what it refuses
    # (keys that are not strings, integers beyond 64 bits) goes through the standard library.
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def reserve_ids(model: type[models.Model], count: int) -> list[int]:
    """``count`` new primary keys of ``model`` taken from its sequence (PostgreSQL), for rows that other
    rows must name before they are inserted (:func:`insert_rows` with ``keys``); elsewhere none."""
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql" or count <= 0:
        return []
    pk = model._meta.pk
    assert pk is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [model._meta.db_table, pk.column, count])
        return [int(row[0]) for row in cursor.fetchall()]


def insert_rows(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]], *,
                ids: bool = True, keys: Sequence[int] | None = None) -> list[int]:
    """Insert ``rows`` of plain values for the named ``fields`` (attribute names, e.g.
    ``client_id``; JSON fields as Python objects; no primary key) — the fastest path, with no model
    instances on PostgreSQL. Returns the new primary keys in order; with ``ids=False`` the keys are
    left to the table's default (one round trip less) and nothing is returned; ``keys`` (from
    :func:`reserve_ids`, PostgreSQL) are the primary keys to use."""
    if not rows:
        return []
    connection = connections[DEFAULT_DB_ALIAS]
    if connection.vendor != "postgresql":
        objs = [model(**dict(zip(fields, row, strict=True))) for row in rows]
        if keys:
            for obj, key in zip(objs, keys, strict=True):
                obj.pk = key
        model._default_manager.bulk_create(objs, batch_size=1000)
        return [int(o.pk) for o in objs] if ids else []
    meta = model._meta
    pk = meta.pk
    assert pk is not None
    by_attname = {f.attname: f for f in meta.concrete_fields}
    # the fields not given take their model defaults, as a model instance would
    rest = [f for f in meta.concrete_fields if f is not pk and f.attname not in fields]
    defaults = [f.get_db_prep_save(f.get_default(), connection) for f in rest]
    json_at = [n for n, name in enumerate(fields) if isinstance(by_attname[name], models.JSONField)]
    table = meta.db_table
    columns = ", ".join(connection.ops.quote_name(c) for c in
                        [*([pk.column] if ids else []), *(by_attname[f].column for f in fields), *(f.column for f in rest)])
    at = 1 if ids else 0  # where the given fields start in a row sent
    with connection.cursor() as cursor:
        if keys is not None:
            ids = True
            keys = list(keys)
        elif ids:
            cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                           [table, pk.column, len(rows)])
            keys = [int(row[0]) for row in cursor.fetchall()]
        else:
            keys = []
        raw: Any = cursor.cursor
        with raw.copy(f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN") as copy:
            for n_row, row in enumerate(rows):
                values = [keys[n_row], *row, *defaults] if ids else [*row, *defaults]
                for n in json_at:  # sent as text: the column's type parses it
                    if values[n + at] is not None:
                        values[n + at] = _dumps(values[n + at])
                copy.write_row(values)
    return keys


def update_rows(model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Set ``fields`` (attribute names) of many rows at once: each row is ``(pk, value, …)``. On
    PostgreSQL one ``UPDATE … FROM unnest(…)`` per 10,000 rows (``bulk_update``'s ``CASE WHEN`` costs
    far more to build than to run); elsewhere ``bulk_update``."""
    if not rows:
        return
    connection = connections[DEFAULT_DB_ALIAS]
    meta = model._meta
    if connection.vendor != "postgresql":
        objs = []
        for row in rows:
            obj = model(pk=row[0])
            for name, value in zip(fields, row[1:], strict=True):
                setattr(obj, name, value)
            objs.append(obj)
        model._default_manager.bulk_update(objs, list(fields), batch_size=1000)
        return
    pk = meta.pk
    assert pk is not None
    by_attname = {f.attname: f for f in meta.concrete_fields}
    columns = [pk, *(by_attname[f] for f in fields)]
    quote = connection.ops.quote_name
    types = [c.db_type(connection) for c in columns]
    names = ", ".join(quote(c.column) for c in columns)
    sets = ", ".join(f"{quote(c.column)} = v.{quote(c.column)}" for c in columns[1:])
    arrays = ", ".join(f"%s::{t}[]" for t in types)
    query = (f"UPDATE {quote(meta.db_table)} AS t SET {sets} FROM unnest({arrays}) AS v({names}) "  # noqa: S608
             f"WHERE t.{quote(pk.column)} = v.{quote(pk.column)}")  # identifiers quoted, values bound
    with connection.cursor() as cursor:
        for start in range(0, len(rows), 10000):
            part = rows[start:start + 10000]
            cursor.execute(query, [[c.get_db_prep_save(row[n], connection) for row in part]
                                   for n, c in enumerate(columns)])
