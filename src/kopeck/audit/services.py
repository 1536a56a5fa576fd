"""The only writer of the audit log. Called by every service inside its transaction.

Writers that record an operation and its audit entry in one SQL statement of their own (the
ledger's and usage's hot paths on PostgreSQL) take the audit part of that statement from
:func:`audit_insert_sql`, so that what an audit row holds is still stated here only."""

from __future__ import annotations

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder

from kopeck.audit.models import AuditEntry
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.bulk import insert_rows


def _jsonable(state: Any) -> Any:
    if state is None:
        return None
    return json.loads(json.dumps(state, cls=DjangoJSONEncoder))


def audit_record(
    *, actor: Actor, action: str, object_type: str, object_id: object, before: Any = None, after: Any = None
) -> AuditEntry:
    return AuditEntry.objects.create(
        at=clock.now(),
        actor_kind=str(actor.kind),
        actor_id=actor.id,
        actor_label=actor.label,
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        before=_jsonable(before),
        after=_jsonable(after),
    )


def audit_record_many(*, actor: Actor, entries: list[tuple[str, str, object, Any, Any]],
                      json_safe: bool = False) -> None:
    """Record many entries at once (bulk writers such as billing runs): each is ``(action,
    object_type, object_id, before, after)``; the same as calling :func:`audit_record` for each.
    ``json_safe``: the states are plain JSON values already (no dates, no Decimals) — skip converting."""
    at, kind = clock.now(), str(actor.kind)
    insert_rows(AuditEntry, ("at", "actor_kind", "actor_id", "actor_label", "action", "object_type", "object_id",
                             "before", "after"),
                [(at, kind, actor.id, actor.label, action, object_type, str(object_id),
                  before if json_safe else _jsonable(before), after if json_safe else _jsonable(after))
                 for action, object_type, object_id, before, after in entries], ids=False)


def audit_insert_sql(*, actor: Actor, at: object, action: str, object_type: str, object_id: str, after: str,
                     rows: str) -> tuple[str, list[Any]]:
    """An ``INSERT … SELECT`` of audit entries for a caller's own statement (a data-modifying CTE
    chain): one entry per row of ``rows`` (a FROM clause, e.g. ``"t"`` or ``"ins HAVING count(*) > 0"``)
    with ``object_id`` and ``after`` as SQL expressions over it (``after`` a jsonb expression; it may
    hold ``%s`` placeholders, whose values the caller appends after the returned parameters). The
    SQL and its parameters (time, actor, action, object type), in placeholder order."""
    table = AuditEntry._meta.db_table
    # the fragments are the callers' constant SQL, never input: values go in as parameters
    sql = (f"INSERT INTO {table} (at, actor_kind, actor_id, actor_label, action, object_type, object_id, before, "  # noqa: S608
           f"after) SELECT %s, %s, %s, %s, %s, %s, {object_id}, NULL, {after} FROM {rows}")
    return sql, [at, str(actor.kind), actor.id, actor.label, action, object_type]
