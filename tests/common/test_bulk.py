from __future__ import annotations

import datetime as dt

import pytest

from kopeck.audit.models import AuditEntry
from kopeck.common.bulk import bulk_insert, insert_rows

pytestmark = pytest.mark.django_db

AT = dt.datetime(2026, 11, 25, 9, 0, tzinfo=dt.UTC)
FIELDS = ("at", "actor_kind", "actor_id", "actor_label", "action", "object_type", "object_id", "before", "after")


def _row(n: int, after: object, before: object = None) -> tuple[object, ...]:
    return (AT, "system", "bench", "Бенчмарк", "test.bulk", "thing", str(n), before, after)


def test_insert_rows_returns_the_new_ids_in_order_and_stores_every_value() -> None:
    ids = insert_rows(AuditEntry, FIELDS, [
        _row(1, {"ru": "Абонентская плата «Копейка»", "amount": "990.00", "lines": [1, {"a": None}]}),
        _row(2, None, before={"tab\there": "line\nbreak \\ back"}),
        _row(3, "a plain string"),
    ])
    assert len(ids) == 3 and ids == sorted(ids)
    rows = {e.object_id: e for e in AuditEntry.objects.filter(pk__in=ids)}
    assert [rows[str(n)].pk for n in (1, 2, 3)] == ids
    assert rows["1"].after == {"ru": "Абонентская плата «Копейка»", "amount": "990.00", "lines": [1, {"a": None}]}
    assert rows["1"].before is None and rows["1"].actor_label == "Бенчмарк" and rows["1"].at == AT
    assert rows["2"].before == {"tab\there": "line\nbreak \\ back"} and rows["2"].after is None
    assert rows["3"].after == "a plain string"


def test_what_the_fast_encoder_refuses_is_stored_as_the_standard_library_writes_it() -> None:
    # integer keys and integers beyond 64 bits: JSON has only string keys and arbitrary numbers
    (pk,) = insert_rows(AuditEntry, FIELDS, [_row(1, {1: "one", "big": 2**70})])
    assert AuditEntry.objects.get(pk=pk).after == {"1": "one", "big": 2**70}


def test_nothing_to_insert_writes_nothing() -> None:
    assert insert_rows(AuditEntry, FIELDS, []) == []
    bulk_insert(AuditEntry, [])
    assert AuditEntry.objects.count() == 0


def test_bulk_insert_sets_the_primary_keys_and_fills_defaults() -> None:
    objs = [AuditEntry(at=AT, actor_kind="system", actor_id="x", actor_label="X", action="a", object_type="t",
                       object_id=str(n), after={"n": n}) for n in range(3)]
    bulk_insert(AuditEntry, objs)
    assert all(o.pk is not None and not o._state.adding for o in objs)
    assert {o.pk: o.after for o in objs} == dict(AuditEntry.objects.values_list("pk", "after"))


def test_without_ids_the_table_numbers_the_rows_in_order_and_nothing_is_returned() -> None:
    before = insert_rows(AuditEntry, FIELDS, [_row(0, None)])
    assert insert_rows(AuditEntry, FIELDS, [_row(n, {"n": n}) for n in (1, 2, 3)], ids=False) == []
    rows = list(AuditEntry.objects.filter(pk__gt=before[0]).order_by("pk").values_list("object_id", "after"))
    assert rows == [("1", {"n": 1}), ("2", {"n": 2}), ("3", {"n": 3})]
