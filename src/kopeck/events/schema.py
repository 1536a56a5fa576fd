"""The event catalog in the OpenAPI document (a drf-spectacular post-processing hook).

Every event type becomes a component schema ``<Name>Event`` (the envelope with its ``data``) and an
entry of ``x-webhooks`` — the OpenAPI 3.0 extension for the requests Kopeck sends: a ``POST`` with that
body and the Standard Webhooks signature headers. ``EventEnvelope`` is the ``oneOf`` of all of them,
discriminated by ``type``.
"""

from __future__ import annotations

import copy
from typing import Any

from kopeck.events.catalog import EVENT_TYPES, EventType, Schema

SIGNATURE_HEADERS: list[dict[str, Any]] = [
    {"name": "webhook-id", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "The event's public id (`uid`); the same on every retry — use it to drop duplicates."},
    {"name": "webhook-timestamp", "in": "header", "required": True, "schema": {"type": "integer"},
     "description": "Seconds since the epoch when this attempt was signed."},
    {"name": "webhook-signature", "in": "header", "required": True, "schema": {"type": "string"},
     "description": "Space-separated `v1,<base64 HMAC-SHA256 of '<id>.<timestamp>.<body>'>`, one per active "
                    "secret of the endpoint (Standard Webhooks)."},
]


def component_name(kind: EventType) -> str:
    return "".join(part.capitalize() for part in kind.name.replace(".", "_").split("_")) + "Event"


def _openapi30(schema: Schema) -> Schema:
    """JSON Schema 2020-12 → the OpenAPI 3.0 dialect (``type: [x, "null"]`` → ``nullable``)."""
    out = copy.deepcopy(schema)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            kind = node.get("type")
            if isinstance(kind, list):
                rest = [k for k in kind if k != "null"]
                node["type"] = rest[0]
                if "null" in kind:
                    node["nullable"] = True
            if "anyOf" in node and {"type": "null"} in node["anyOf"]:
                node["anyOf"] = [s for s in node["anyOf"] if s != {"type": "null"}]
                node["nullable"] = True
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(out)
    return out


def envelope_schema(kind: EventType) -> Schema:
    return {
        "type": "object",
        "description": f"{kind.title} (v{kind.version}). Fires: {kind.fires}",
        "required": ["id", "uid", "type", "version", "timestamp", "client_id", "sequence", "subject", "data"],
        "properties": {
            "id": {"type": "integer"},
            "uid": {"type": "string", "example": "evt_5f0c8b2e9d3a4c1b8e7f6a5d4c3b2a19"},
            "type": {"type": "string", "enum": [kind.name]},
            "version": {"type": "integer", "enum": [kind.version]},
            "timestamp": {"type": "string", "format": "date-time"},
            "client_id": {"type": "integer", "nullable": not kind.client},
            "sequence": {"type": "integer", "nullable": not kind.client},
            "subject": {"type": "object", "properties": {"type": {"type": "string", "enum": [kind.subject]},
                                                         "id": {"type": "integer", "nullable": True}}},
            "data": _openapi30(kind.data),
        },
    }


def add_event_schemas(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular post-processing hook (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    webhooks: dict[str, Any] = result.setdefault("x-webhooks", {})
    refs = []
    for kind in EVENT_TYPES:
        name = component_name(kind)
        schemas[name] = envelope_schema(kind)
        ref = {"$ref": f"#/components/schemas/{name}"}
        refs.append(ref)
        webhooks[kind.name] = {"post": {
            "summary": str(kind.title),
            "description": f"Fires: {kind.fires}",
            "tags": ["Webhooks"],
            "parameters": SIGNATURE_HEADERS,
            "requestBody": {"required": True, "content": {"application/json": {"schema": ref}}},
            "responses": {"2XX": {"description": "Received; any other answer (or none within the timeout) is "
                                                 "retried."}},
        }}
    schemas["EventEnvelope"] = {
        "oneOf": refs,
        "discriminator": {"propertyName": "type",
                          "mapping": {k.name: f"#/components/schemas/{component_name(k)}" for k in EVENT_TYPES}},
    }
    return result
