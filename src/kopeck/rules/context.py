"""The data a rule sees about an event: ``event`` (the envelope and its ``data``), ``client`` and
``subscription`` as they are when the rule runs (or null), ``vars`` (the documents' variables: the
global ones and those of the default legal entity) and ``now``. Built for a whole batch of events
with a few queries; plain dicts, lists, strings, numbers, booleans and datetimes only."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

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


def event_view(event: Event) -> dict[str, Any]:
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


@dataclass
class BatchData:
    """Clients, subscriptions and variables of a batch of events, loaded once."""

    clients: dict[int, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[int, dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, str] = field(default_factory=dict)
    now: dt.datetime = field(default_factory=clock.now)

    def context(self, event: Event) -> dict[str, Any]:
        sub_id = subscription_id_of(event)
        return {"event": event_view(event),
                "client": self.clients.get(event.client_id) if event.client_id is not None else None,
                "subscription": self.subscriptions.get(sub_id) if sub_id is not None else None,
                "vars": self.variables, "now": self.now}


CLIENT_FIELDS = ("id", "type", "name", "status", "currency", "external_id", "fields", "created_at")


def load_batch(events: Iterable[Event]) -> BatchData:
    """The clients, subscriptions and variables of ``events``: a few queries of plain values (no model
    instances: a batch of 500 events names hundreds of clients)."""
    events = list(events)
    client_ids = sorted({e.client_id for e in events if e.client_id is not None})
    sub_ids = sorted({s for s in (subscription_id_of(e) for e in events) if s is not None})
    data = BatchData()
    for start in range(0, len(client_ids), 1000):
        chunk = client_ids[start:start + 1000]
        tags: dict[int, list[str]] = {}
        for client_id, tag in Client.tags.through.objects.filter(client_id__in=chunk).values_list(
                "client_id", "tag__name"):
            tags.setdefault(client_id, []).append(tag)
        for row in Client.objects.filter(pk__in=chunk).values(*CLIENT_FIELDS):
            row["fields"] = dict(row["fields"] or {})
            row["tags"] = sorted(tags.get(row["id"], []))
            data.clients[row["id"]] = {name: row[name] for name in (*CLIENT_FIELDS[:-1], "tags", "created_at")}
    for start in range(0, len(sub_ids), 1000):
        chunk = sub_ids[start:start + 1000]
        for sub in Subscription.objects.filter(pk__in=chunk).select_related("plan", "plan_version"):
            data.subscriptions[sub.pk] = subscription_view(sub)
    data.variables = variables_for(default_legal_entity())
    return data


def plain(value: Any) -> Any:
    """``value`` with datetimes as ISO strings (what templates and the API show)."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
