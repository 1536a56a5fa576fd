"""The data a rule sees about an event: ``event`` (the envelope and its ``data``), ``client`` and
``subscription`` as they are when the rule runs (or null), ``vars`` (the documents' variables: the
global ones and those of the default legal entity) and ``now``. Built for a whole batch of events
with a few queries; plain dicts, lists, strings, numbers, booleans and datetimes only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

from kopeck.clients.models import Client
from kopeck.common import clock
from kopeck.documents.selectors import default_legal_entity, variables_for
from kopeck.events.models import Event
from kopeck.subscriptions.models import Subscription


def client_view(client: Client) -> dict[str, Any]:
    return {"id": client.pk, "type": client.type, "name": client.name, "status": client.status,
            "currency": client.currency, "external_id": client.external_id, "fields": dict(client.fields),
            "tags": sorted(t.name for t in client.tags.all()), "created_at": client.created_at}


def subscription_view(sub: Subscription) -> dict[str, Any]:
    def day(value: dt.date | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {"id": sub.pk, "client_id": sub.client_id, "status": sub.status, "plan": sub.plan.code,
            "plan_version": sub.plan_version.number, "quantity": sub.quantity, "currency": sub.currency,
            "start_date": day(sub.start_date), "end_date": day(sub.end_date), "trial_end": day(sub.trial_end),
            "external_id": sub.external_id, "billing_paused": sub.billing_paused}


EVENT_FIELDS: Final[dict[str, Callable[[Event], Any]]] = {
    "id": lambda e: e.pk, "uid": lambda e: f"evt_{e.uid.hex}", "type": lambda e: e.type,
    "version": lambda e: e.version, "timestamp": lambda e: e.occurred_at, "client_id": lambda e: e.client_id,
    "sequence": lambda e: e.sequence, "subject": lambda e: {"type": e.subject_type, "id": e.subject_id},
    "data": lambda e: e.data, "depth": lambda e: e.depth,
}


def event_view(event: Event, keys: Iterable[str] | None = None) -> dict[str, Any]:
    """``event`` as rules see it; with ``keys``, only those of its fields (what the conditions read)."""
    if keys is not None:
        return {key: EVENT_FIELDS[key](event) for key in keys if key in EVENT_FIELDS}
    return {"id": event.pk, "uid": f"evt_{event.uid.hex}", "type": event.type, "version": event.version,
            "timestamp": event.occurred_at, "client_id": event.client_id, "sequence": event.sequence,
            "subject": {"type": event.subject_type, "id": event.subject_id}, "data": event.data,
            "depth": event.depth}


def subscription_id_of(event: Event) -> int | None:
    if event.subject_type == "subscription":
        return event.subject_id
    nested = event.data.get("subscription") if isinstance(event.data, Mapping) else None
    if isinstance(nested, Mapping) and isinstance(nested.get("id"), int):
        return int(nested["id"])
    return None


class BatchData:
    """Clients, subscriptions and variables of a batch of events, each loaded once for the whole batch
    — and only when first needed: a batch whose conditions never read ``client`` and whose rules
    match no event never queries the clients (likewise subscriptions and variables)."""

    def __init__(self, events: Iterable[Event] = ()) -> None:
        self.events = list(events)
        self.now: dt.datetime = clock.now()
        self._clients: dict[int, dict[str, Any]] | None = None
        self._subscriptions: dict[int, dict[str, Any]] | None = None
        self._variables: dict[str, str] | None = None

    @property
    def clients(self) -> dict[int, dict[str, Any]]:
        if self._clients is None:
            self._clients = load_clients(sorted({e.client_id for e in self.events if e.client_id is not None}))
        return self._clients

    @property
    def subscriptions(self) -> dict[int, dict[str, Any]]:
        if self._subscriptions is None:
            self._subscriptions = load_subscriptions(
                sorted({s for s in (subscription_id_of(e) for e in self.events) if s is not None}))
        return self._subscriptions

    @property
    def variables(self) -> dict[str, str]:
        if self._variables is None:
            self._variables = variables_for(default_legal_entity())
        return self._variables

    def context(self, event: Event) -> dict[str, Any]:
        sub_id = subscription_id_of(event)
        return {"event": event_view(event),
                "client": self.clients.get(event.client_id) if event.client_id is not None else None,
                "subscription": self.subscriptions.get(sub_id) if sub_id is not None else None,
                "vars": self.variables, "now": self.now}


CLIENT_FIELDS = ("id", "type", "name", "status", "currency", "external_id", "fields", "created_at")


def load_clients(client_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The clients ``client_ids`` as rules see them: a query of plain values per thousand and one of
    their tags (no model instances: a batch of 500 events names hundreds of clients)."""
    clients: dict[int, dict[str, Any]] = {}
    for start in range(0, len(client_ids), 1000):
        chunk = client_ids[start:start + 1000]
        tags: dict[int, list[str]] = {}
        for client_id, tag in Client.tags.through.objects.filter(client_id__any_of=chunk).values_list(
                "client_id", "tag__name"):
            tags.setdefault(client_id, []).append(tag)
        for row in Client.objects.filter(pk__any_of=chunk).values(*CLIENT_FIELDS):
            row["fields"] = dict(row["fields"] or {})
            row["tags"] = sorted(tags.get(row["id"], []))
            clients[row["id"]] = {name: row[name] for name in (*CLIENT_FIELDS[:-1], "tags", "created_at")}
    return clients


def load_subscriptions(sub_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    subscriptions: dict[int, dict[str, Any]] = {}
    for start in range(0, len(sub_ids), 1000):
        chunk = sub_ids[start:start + 1000]
        for sub in Subscription.objects.filter(pk__any_of=chunk).select_related("plan", "plan_version"):
            subscriptions[sub.pk] = subscription_view(sub)
    return subscriptions


def load_batch(events: Iterable[Event]) -> BatchData:
    """The clients, subscriptions and variables of ``events``, loaded when first needed."""
    return BatchData(events)


def plain(value: Any) -> Any:
    """``value`` with datetimes as ISO strings (what templates and the API show)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
