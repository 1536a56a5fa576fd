"""The event catalog: every event Kopeck records — its name, version, subject, payload schema and the
one exact point where it fires. docs/events.md describes each; the OpenAPI document publishes the
schemas (``kopeck.events.schema``); ``GET /api/v1/event-types/`` serves them.

Rules for the catalog (and for a new event):

* a name is ``<subject>.<what happened>`` in lower case, past tense where it is a fact
  (``payment.received``), and never changes; a payload change that could break a receiver (a field
  removed, renamed or retyped) is a new **version** — adding an optional field is not;
* the payload (``data``) is a JSON object of plain JSON values: ids are integers, amounts decimal
  strings (``"1990.00"``), dates ``YYYY-MM-DD``, instants ISO 8601 in UTC; receivers must ignore
  fields they do not know;
* an event fires at exactly one point — the service named in ``fires`` — inside the transaction of
  the change (see :func:`kopeck.events.services.event_record`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from django.core.exceptions import ImproperlyConfigured
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

Schema = dict[str, Any]

# -- schema building blocks ---------------------------------------------------------------------

ID: Final[Schema] = {"type": "integer", "minimum": 1}
COUNT: Final[Schema] = {"type": "integer", "minimum": 0}
TEXT: Final[Schema] = {"type": "string"}
BOOL: Final[Schema] = {"type": "boolean"}
DECIMAL: Final[Schema] = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$",
                          "description": "A decimal number as a string, e.g. \"1990.00\"."}
CURRENCY: Final[Schema] = {"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217 code."}
DATE: Final[Schema] = {"type": "string", "format": "date"}
DATETIME: Final[Schema] = {"type": "string", "format": "date-time"}


def nullable(schema: Schema) -> Schema:
    if "type" not in schema:
        return {"anyOf": [schema, {"type": "null"}]}
    out = {**schema, "type": [schema["type"], "null"]}
    if "enum" in schema:
        out["enum"] = [*schema["enum"], None]
    return out


def enum(*values: str) -> Schema:
    return {"type": "string", "enum": list(values)}


def obj(required: Mapping[str, Schema], optional: Mapping[str, Schema] | None = None,
        description: str = "") -> Schema:
    """An object with ``required`` and ``optional`` properties; unknown properties are allowed (a
    receiver ignores them; a later minor change may add optional fields)."""
    schema: Schema = {"type": "object", "required": list(required),
                      "properties": {**required, **(optional or {})}, "additionalProperties": True}
    if description:
        schema["description"] = description
    return schema


CLIENT_TYPES = ("legal", "sole_proprietor", "individual")
CLIENT_STATUSES = ("active", "blocked", "closed")
SUBSCRIPTION_STATUSES = ("pending", "trial", "active", "suspended", "cancelling", "ended")
BLOCK_REASONS = ("non_payment", "client_request", "abuse", "fraud", "legal", "other")
BLOCK_SOURCES = ("operator", "credit_control", "rule", "api")

CLIENT: Final = obj(
    {"id": ID, "type": enum(*CLIENT_TYPES), "name": TEXT, "status": enum(*CLIENT_STATUSES), "currency": CURRENCY},
    {"external_id": nullable(TEXT), "tags": {"type": "array", "items": TEXT}},
    "The client as it is after the change.")
SUBSCRIPTION: Final = obj(
    {"id": ID, "client_id": ID, "plan": TEXT, "plan_version": ID, "status": enum(*SUBSCRIPTION_STATUSES),
     "quantity": {"type": "integer", "minimum": 1}, "currency": CURRENCY, "start_date": DATE},
    {"end_date": nullable(DATE), "trial_end": nullable(DATE), "external_id": nullable(TEXT)},
    "The subscription as it is after the change; ``plan`` is the plan's code, ``plan_version`` the "
    "version's number.")
DOCUMENT: Final = obj(
    {"id": ID, "type": TEXT, "number": nullable(TEXT), "client_id": ID, "status": TEXT,
     "issue_date": nullable(DATE), "total": DECIMAL, "currency": CURRENCY},
    {"due_date": nullable(DATE), "billing_run_id": nullable(ID)})
BILLING_RUN: Final = obj(
    {"id": ID, "mode": enum("sandbox", "auto", "confirm"), "date": DATE, "status": TEXT},
    {"summary": {"type": "object"}})
PAYMENT: Final = obj(
    {"id": ID, "amount": DECIMAL, "currency": CURRENCY, "date": DATE, "method": TEXT, "status": TEXT},
    {"client_id": nullable(ID), "payer_name": TEXT, "payer_inn": TEXT, "purpose": TEXT,
     "external_id": nullable(TEXT), "invoice_ids": {"type": "array", "items": ID}})
BLOCK: Final[dict[str, Schema]] = {"reason": enum(*BLOCK_REASONS), "source": enum(*BLOCK_SOURCES)}
BLOCK_OPTIONAL: Final[dict[str, Schema]] = {"block_id": nullable(ID), "comment": TEXT}
PROMISE: Final = obj({"id": ID, "amount": DECIMAL, "currency": CURRENCY, "until": DATE},
                     {"granted_by": TEXT})


# -- the catalog ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventType:
    """One kind of event. ``subject`` names what ``subject_id`` of an event points at; ``client``
    says whether the event belongs to a client (and then gets the client's next sequence number);
    ``fires`` is the exact firing point; ``emitted_by`` the app whose service records it."""

    name: str
    version: int
    title: str | Promise
    subject: str
    fires: str
    emitted_by: str
    data: Schema
    client: bool = True
    examples: tuple[Mapping[str, Any], ...] = field(default=())

    @property
    def group(self) -> str:
        return self.name.split(".", 1)[0]


def _client(name: str, title: Any, fires: str, data: Schema, *, emitted_by: str = "clients") -> EventType:
    return EventType(name, 1, title, "client", fires, emitted_by, data)


def _subscription(name: str, title: Any, fires: str, required: Mapping[str, Schema],
                  optional: Mapping[str, Schema] | None = None, *, emitted_by: str = "subscriptions") -> EventType:
    return EventType(name, 1, title, "subscription", fires, emitted_by,
                     obj({"subscription": SUBSCRIPTION, **required}, optional))


def _document(name: str, title: Any, fires: str, required: Mapping[str, Schema] | None = None,
              optional: Mapping[str, Schema] | None = None, *, emitted_by: str = "documents") -> EventType:
    return EventType(name, 1, title, "document", fires, emitted_by,
                     obj({"document": DOCUMENT, **(required or {})}, optional))


def _run(name: str, title: Any, fires: str, required: Mapping[str, Schema] | None = None) -> EventType:
    return EventType(name, 1, title, "billing_run", fires, "billing", obj({"run": BILLING_RUN, **(required or {})}),
                     client=False)


EVENT_TYPES: Final[tuple[EventType, ...]] = (
    # clients
    _client("client.created", _("Client created"), "clients.services.client_create, when the client is saved.",
            obj({"client": CLIENT})),
    _client("client.changed", _("Client changed"),
            "clients.services.client_update, when anything of the client changed (name, status, currency, "
            "field values, contacts, tags, external id); not when the update changed nothing.",
            obj({"client": CLIENT, "changed": {"type": "array", "items": TEXT}},
                {"before": {"type": "object"}, "after": {"type": "object"}})),
    _client("client.blocked", _("Client blocked"),
            "When the client becomes blocked: its status changes to blocked (clients.services.client_update), "
            "or — with credit control — the first block of the client is placed. Fires after client.changed "
            "of the same change.",
            obj({"client": CLIENT, **BLOCK}, BLOCK_OPTIONAL)),
    _client("client.unblocked", _("Client unblocked"),
            "When the client stops being blocked: its status changes from blocked (clients.services."
            "client_update), or — with credit control — the last block holding it is lifted.",
            obj({"client": CLIENT, **BLOCK}, BLOCK_OPTIONAL)),
    # subscriptions
    _subscription("subscription.created", _("Subscription created"),
                  "subscriptions: subscription_create, when the subscription is saved (any status).", {}),
    _subscription("subscription.activated", _("Subscription activated"),
                  "subscriptions: when the status becomes active from pending or trial — on the start date, "
                  "at the end of the trial, or at creation when it starts active.",
                  {"previous_status": nullable(enum(*SUBSCRIPTION_STATUSES))}),
    _subscription("subscription.plan_changed", _("Subscription's plan changed"),
                  "subscriptions: subscription_change_plan when applied at once, or a scheduled plan change "
                  "when it takes effect (not when it is only scheduled).",
                  {"from_plan": TEXT, "from_version": ID, "to_plan": TEXT, "to_version": ID,
                   "effective_date": DATE}),
    _subscription("subscription.quantity_changed", _("Subscription's quantity changed"),
                  "subscriptions: subscription_change_quantity when applied at once, or a scheduled quantity "
                  "change when it takes effect.",
                  {"from_quantity": {"type": "integer"}, "to_quantity": {"type": "integer"},
                   "effective_date": DATE}),
    _subscription("subscription.cancelled", _("Subscription cancelled"),
                  "subscriptions: subscription_cancel, when the cancellation is made — at once (status ended) "
                  "or at the period end (status cancelling; subscription.ended follows on that date).",
                  {"effective_date": DATE, "at_period_end": BOOL}),
    _subscription("subscription.ended", _("Subscription ended"),
                  "subscriptions: when the status becomes ended — an immediate cancellation, a cancellation at "
                  "period end taking effect, or the end date reached.", {"end_date": DATE}),
    _subscription("subscription.suspended", _("Subscription suspended"),
                  "subscriptions: subscription_suspend, when the subscription is suspended.",
                  {"effective_date": DATE, "billing_continues": BOOL}),
    _subscription("subscription.resumed", _("Subscription resumed"),
                  "subscriptions: subscription_resume, when a suspended subscription runs again.",
                  {"effective_date": DATE}),
    _subscription("subscription.blocked", _("Subscription blocked"),
                  "credit control: when the subscription becomes blocked (its first block is placed, manual or "
                  "automatic).", dict(BLOCK), BLOCK_OPTIONAL, emitted_by="credit"),
    _subscription("subscription.unblocked", _("Subscription unblocked"),
                  "credit control: when the last block holding the subscription is lifted.", dict(BLOCK),
                  BLOCK_OPTIONAL, emitted_by="credit"),
    _subscription("subscription.trial_ending", _("Subscription's trial ending"),
                  "subscriptions: the hourly job kopeck.subscriptions.trials_ending, once per subscription "
                  "and trial end, when the trial ends within KOPECK_TRIAL_ENDING_DAYS days (3 by default).",
                  {"trial_end": DATE, "days_left": COUNT}, emitted_by="subscriptions"),
    # usage
    EventType("usage.threshold_exceeded", 1, _("Usage above a threshold"), "subscription",
              "usage: usage_events_ingest or meter_readings_ingest, in the transaction that stores the batch, "
              "when it takes a subscription's usage of a metered component in the current billing period above "
              "one of its usage thresholds (POST /api/v1/usage/thresholds/); once per threshold and period.",
              "usage",
              obj({"subscription": SUBSCRIPTION, "component": TEXT, "threshold": DECIMAL, "quantity": DECIMAL,
                   "period_start": DATE, "period_end": DATE})),
    # billing runs
    _run("billing_run.completed", _("Billing run completed"),
         "billing: when a run that posts (automatic, or confirmed) finishes posting and its documents are issued."),
    _run("billing_run.awaiting_confirmation", _("Billing run awaiting confirmation"),
         "billing: when a run with confirmation has computed everything and waits for an operator."),
    _run("billing_run.failed", _("Billing run failed"), "billing: when a run stops with an error.",
         {"error": TEXT}),
    # documents
    _document("document.issued", _("Document issued"),
              "documents: when a document gets its number (issued by hand, by a billing run or by the monthly "
              "acts)."),
    _document("document.paid", _("Document paid"),
              "documents / payments: when an invoice's status becomes paid in full — its allocations reach its "
              "total (documents.services.invoice_paid_sync, called by the payments' allocations and by "
              "mark-paid), once per invoice."),
    _document("document.overdue", _("Document overdue"),
              "documents: the periodic job kopeck.documents.overdue (hourly), once per invoice (dedupe key "
              "document.overdue:<id>), on the first day after its due date on which it is still not fully paid.", {"due_date": DATE, "days_overdue": COUNT}),
    _document("document.cancelled", _("Document cancelled"), "documents: when a document is cancelled."),
    # payments (emitted by the payments app)
    EventType("payment.received", 1, _("Payment received"), "payment",
              "payments: when a payment is credited to a client's account — entered by hand, taken from a bank "
              "statement or a gateway, or an unidentified payment assigned to the client.", "payments",
              obj({"payment": PAYMENT})),
    EventType("payment.unidentified", 1, _("Payment unidentified"), "payment",
              "payments: when a payment whose payer is not recognised is put on the suspense account.",
              "payments", obj({"payment": PAYMENT}), client=False),
    EventType("payment.refunded", 1, _("Payment refunded"), "payment",
              "payments: when a refund of a payment (full or partial) is made.", "payments",
              obj({"payment": PAYMENT, "refund": obj({"id": ID, "amount": DECIMAL, "currency": CURRENCY,
                                                       "date": DATE})})),
    EventType("payment.reversed", 1, _("Payment reversed"), "payment",
              "payments: when a payment posted by mistake is reversed (its allocations released, its ledger "
              "transactions reversed).", "payments", obj({"payment": PAYMENT}, {"reason": TEXT})),
    EventType("payment.failed", 1, _("Payment failed"), "payment",
              "payments: when an online payment is declined or fails at the gateway.", "payments",
              obj({"payment": PAYMENT, "error": TEXT}, {"gateway": TEXT})),
    # credit control (emitted by the credit app)
    _client("balance.low", _("Balance low"),
            "credit control: when the client's balance falls below its low-balance threshold (an amount, or "
            "days left of forecast cost); once per crossing.",
            obj({"balance": DECIMAL, "currency": CURRENCY, "threshold": DECIMAL},
                {"days_left": nullable(COUNT)}), emitted_by="credit"),
    _client("balance.below_credit_limit", _("Balance below the credit limit"),
            "credit control: when the client's balance goes below minus its credit limit; once per crossing.",
            obj({"balance": DECIMAL, "currency": CURRENCY, "credit_limit": DECIMAL}), emitted_by="credit"),
    _client("dunning.step_reached", _("Dunning step reached"),
            "credit control: when a step of the dunning ladder runs for a debt (once per step and debt).",
            obj({"step": obj({"id": ID, "action": TEXT}, {"name": TEXT, "offset_days": {"type": "integer"}}),
                 "debt": DECIMAL, "currency": CURRENCY},
                {"document_id": nullable(ID), "next_step": nullable({"type": "object"})}), emitted_by="credit"),
    EventType("promise.granted", 1, _("Promised payment granted"), "promise",
              "credit control: when a promised payment is granted.", "credit", obj({"promise": PROMISE})),
    EventType("promise.expired", 1, _("Promised payment expired"), "promise",
              "credit control: when a promised payment's term ends (paid or not).", "credit",
              obj({"promise": PROMISE, "paid": BOOL})),
    # imports
    EventType("import.completed", 1, _("Import completed"), "import",
              "payments: when an import (a bank statement, …) has been applied.", "payments",
              obj({"import": obj({"id": ID, "kind": TEXT}, {"file_name": TEXT}),
                   "counts": {"type": "object", "additionalProperties": {"type": "integer"}}},
                  {"totals": {"type": "object"}}),
              client=False),
)

CATALOG: Final[dict[str, EventType]] = {t.name: t for t in EVENT_TYPES}


def event_type(name: str) -> EventType | None:
    return CATALOG.get(name)


def check_catalog() -> None:
    """Refuse a malformed catalog when Django starts (a programming error)."""
    from jsonschema import Draft202012Validator

    for t in EVENT_TYPES:
        group, sep, what = t.name.partition(".")
        if not sep or not group.replace("_", "a").isalpha() or not what.replace("_", "a").isalpha() \
                or t.name != t.name.lower():
            raise ImproperlyConfigured(f"Event name {t.name!r} is not <subject>.<what>.")
        if t.version < 1:
            raise ImproperlyConfigured(f"Event {t.name!r} needs a version of at least 1.")
        Draft202012Validator.check_schema(t.data)
        if t.data.get("type") != "object":
            raise ImproperlyConfigured(f"The payload of {t.name!r} must be an object.")
    if len(CATALOG) != len(EVENT_TYPES):
        raise ImproperlyConfigured("An event name appears twice in the catalog.")
