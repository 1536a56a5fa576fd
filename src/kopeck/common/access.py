"""The areas of the product and the two kinds of access to them — the vocabulary of permissions,
shared by every app (the matrix of roles and scopes that grants them lives in kopeck.operators)."""

from __future__ import annotations

from enum import StrEnum


class Area(StrEnum):
    CLIENTS = "clients"
    CATALOG = "catalog"
    SUBSCRIPTIONS = "subscriptions"
    USAGE = "usage"
    LEDGER = "ledger"
    SETTINGS = "settings"
    OPERATORS = "operators"
    AUDIT = "audit"
    BILLING = "billing"
    DOCUMENTS = "documents"
    EVENTS = "events"  # the event log, rules and webhooks


class Access(StrEnum):
    READ = "read"
    WRITE = "write"
