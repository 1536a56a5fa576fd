"""Writers for clients, their contacts and tags, and the client field sets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kopeck.audit.services import audit_record
from kopeck.clients.fieldsets import normalize_phone, validate_fields
from kopeck.clients.models import (
    Client,
    ClientFieldDefinition,
    ClientStatus,
    ClientType,
    Contact,
    ContactKind,
    FieldKind,
    Tag,
)
from kopeck.common import clock
from kopeck.common.actor import Actor, ActorKind
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.configuration.selectors import billing_settings
from kopeck.core.money import Currency, MoneyError
from kopeck.events.services import event_record


def client_state(client: Client) -> dict[str, Any]:
    return {
        "type": client.type,
        "name": client.name,
        "external_id": client.external_id,
        "status": client.status,
        "currency": client.currency,
        "fields": dict(client.fields),
        "tags": sorted(t.name for t in client.tags.all()),
        "contacts": [
            {"kind": c.kind, "value": c.value, "name": c.name, "receives_documents": c.receives_documents}
            for c in client.contacts.all()
        ],
    }


def client_event_data(client: Client, *, tags: Iterable[str] | None = None) -> dict[str, Any]:
    """The ``client`` object of the events' payloads (see the event catalog). ``tags``: the client's
    tag names when the caller read them already (bulk writers); else they are read."""
    return {"id": client.pk, "type": client.type, "name": client.name, "status": client.status,
            "currency": client.currency, "external_id": client.external_id,
            "tags": sorted(tags if tags is not None else (t.name for t in client.tags.all()))}


def client_tags_of(client_ids: Sequence[int]) -> dict[int, list[str]]:
    """The tag names of many clients (sorted), in one query — for bulk writers' event payloads."""
    out: dict[int, list[str]] = {cid: [] for cid in client_ids}
    for cid, name in Client.tags.through.objects.filter(client_id__any_of=client_ids) \
            .values_list("client_id", "tag__name"):
        out[cid].append(name)
    return {cid: sorted(names) for cid, names in out.items()}


BLOCK_SOURCE = {ActorKind.OPERATOR: "operator", ActorKind.API_KEY: "api", ActorKind.SYSTEM: "rule"}


def _block_source(actor: Actor) -> str:
    """Who blocks: an operator (admin), an API key, or — for the system — a rule or credit control."""
    if actor.kind == ActorKind.SYSTEM:
        return "credit_control" if actor.label.startswith("credit") else "rule"
    return BLOCK_SOURCE[actor.kind]


def _record_client_events(actor: Actor, client: Client, before: dict[str, Any] | None,
                          after: dict[str, Any]) -> None:
    """client.created, or client.changed (+ client.blocked / client.unblocked when the status moved
    to or from blocked), in the caller's transaction."""
    data = client_event_data(client)
    if before is None:
        event_record("client.created", actor=actor, client_id=client.pk, data={"client": data})
        return
    changed = sorted(k for k in after if after[k] != before.get(k))
    event_record("client.changed", actor=actor, client_id=client.pk, data={
        "client": data, "changed": changed, "before": {k: before.get(k) for k in changed},
        "after": {k: after[k] for k in changed}})
    was, now = before.get("status"), after.get("status")
    if was != now and ClientStatus.BLOCKED in (was, now):
        event_record("client.blocked" if now == ClientStatus.BLOCKED else "client.unblocked", actor=actor,
                     client_id=client.pk, data={"client": data, "reason": "other", "source": _block_source(actor)})


def contact_value_clean(kind: object, value: str) -> str:
    """The normalised value of a contact, or ValueError with the reason."""
    value = value.strip()
    if kind not in ContactKind.values:
        raise ValueError(_("Choose one of: %(choices)s.") % {"choices": ", ".join(ContactKind.values)})
    if not value:
        raise ValueError(_("This field is required."))
    if kind == ContactKind.EMAIL:
        try:
            validate_email(value)
        except DjangoValidationError as exc:
            raise ValueError(_("Enter a valid e-mail address.")) from exc
        return value
    return normalize_phone(value)


def _clean_contacts(contacts: Sequence[Mapping[str, Any]], errors: dict[str, list[str]]) -> list[dict[str, Any]]:
    cleaned = []
    limit = int(settings.KOPECK_CLIENT_CONTACTS_MAX)
    if len(contacts) > limit:
        errors["contacts"] = [ngettext("At most %(limit)d contact per client, got %(count)d.",
                                        "At most %(limit)d contacts per client, got %(count)d.", limit)
                               % {"limit": limit, "count": len(contacts)}]
        return []
    for i, raw in enumerate(contacts):
        kind = raw.get("kind")
        value = str(raw.get("value") or "").strip()
        item: dict[str, Any] = {
            "kind": kind,
            "value": value,
            "name": str(raw.get("name") or "").strip(),
            "receives_documents": bool(raw.get("receives_documents", True)),
        }
        if kind not in ContactKind.values:
            errors[f"contacts.{i}.kind"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(ContactKind.values)}]
        else:
            try:
                item["value"] = contact_value_clean(kind, value)
            except ValueError as exc:
                errors[f"contacts.{i}.value"] = [str(exc)]
        cleaned.append(item)
    return cleaned


def _clean_tags(tags: Sequence[str], errors: dict[str, list[str]]) -> list[str]:
    names = []
    limit = int(settings.KOPECK_CLIENT_TAGS_MAX)
    if len(tags) > limit:
        errors["tags"] = [ngettext("At most %(limit)d tag per client, got %(count)d.",
                                    "At most %(limit)d tags per client, got %(count)d.", limit)
                           % {"limit": limit, "count": len(tags)}]
        return []
    for i, tag in enumerate(tags):
        name = str(tag).strip()
        if not name or len(name) > 100:
            errors[f"tags.{i}"] = [_("A tag is 1 to 100 characters.")]
        names.append(name)
    return sorted(set(names))


def search_text(name: str, fields: Mapping[str, Any]) -> str:
    """Casefolded names for case-insensitive search (SQLite's LIKE folds ASCII only)."""
    parts = [name, *(str(fields.get(k) or "") for k in ("full_name", "short_name"))]
    return " | ".join(p.casefold() for p in parts if p)


def _set_tags(client: Client, names: list[str]) -> None:
    tags = []
    for name in names:
        tag, _created = Tag.objects.get_or_create(name=name)
        tags.append(tag)
    client.tags.set(tags)


def _set_contacts(client: Client, contacts: list[dict[str, Any]]) -> None:
    client.contacts.all().delete()
    Contact.objects.bulk_create([Contact(client=client, **c) for c in contacts])


MAX_LENGTHS = {"name": 300, "external_id": 100}


def _length_errors(values: Mapping[str, Any]) -> dict[str, list[str]]:
    return {k: [ngettext("At most %(count)d character.", "At most %(count)d characters.", MAX_LENGTHS[k])
                % {"count": MAX_LENGTHS[k]}] for k, v in values.items()
            if v is not None and len(str(v).strip()) > MAX_LENGTHS[k]}


def client_create(
    *,
    actor: Actor,
    type: str,
    name: str,
    currency: str | None = None,
    fields: Mapping[str, Any] | None = None,
    contacts: Sequence[Mapping[str, Any]] = (),
    tags: Sequence[str] = (),
    external_id: str | None = None,
    status: str = ClientStatus.ACTIVE,
) -> Client:
    errors: dict[str, list[str]] = {}
    if type not in ClientType.values:
        errors["type"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(ClientType.values)}]
    if not str(name or "").strip():
        errors["name"] = [_("This field is required.")]
    errors.update(_length_errors({"name": name, "external_id": external_id}))
    if status not in ClientStatus.values:
        errors["status"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(ClientStatus.values)}]
    try:
        currency_code = Currency.of(currency or billing_settings().default_currency).code
    except MoneyError:
        errors["currency"] = [_("unknown currency %(code)r")
                              % {"code": str(currency or billing_settings().default_currency)}]
        currency_code = ""
    cleaned_fields: dict[str, Any] = {}
    if type in ClientType.values:
        cleaned_fields, field_errors = validate_fields(
            type, fields or {}, ClientFieldDefinition.objects.filter(client_type=type)
        )
        errors.update(field_errors)
    cleaned_contacts = _clean_contacts(contacts, errors)
    tag_names = _clean_tags(tags, errors)
    if errors:
        raise ValidationFailed(_("The client has invalid data."), errors=errors)
    now = clock.now()
    try:
        with transaction.atomic():
            client = Client.objects.create(
                type=type, name=name.strip(), currency=currency_code, fields=cleaned_fields,
                search_text=search_text(name.strip(), cleaned_fields),
                external_id=external_id or None, status=status, created_at=now, updated_at=now,
            )
            _set_contacts(client, cleaned_contacts)
            _set_tags(client, tag_names)
            state = client_state(client)
            audit_record(actor=actor, action="client.create", object_type="client", object_id=client.pk,
                         after=state)
            _record_client_events(actor, client, None, state)
    except IntegrityError as exc:
        raise Conflict(_("A client with external id %(id)r already exists.") % {"id": external_id},
                       errors={"external_id": [_("Already used by another client.")]}) from exc
    return client


UPDATABLE = ("name", "status", "currency", "fields", "contacts", "tags", "external_id")


def client_update(*, actor: Actor, client: Client, **changes: Any) -> Client:
    """Change a client. ``fields`` replaces the field values as a whole (send all of them);
    ``contacts`` and ``tags``, when given, replace the lists."""
    errors: dict[str, list[str]] = {}
    for key in changes:
        if key not in UPDATABLE:
            errors[key] = [_("This field cannot be changed.")]
    if "name" in changes and not str(changes["name"] or "").strip():
        errors["name"] = [_("This field is required.")]
    errors.update(_length_errors({k: changes[k] for k in ("name", "external_id") if k in changes}))
    if "status" in changes and changes["status"] not in ClientStatus.values:
        errors["status"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(ClientStatus.values)}]
    if "currency" in changes:
        try:
            changes["currency"] = Currency.of(str(changes["currency"])).code
        except MoneyError:
            errors["currency"] = [_("unknown currency %(code)r") % {"code": str(changes["currency"])}]
    if "fields" in changes:
        definitions = list(ClientFieldDefinition.objects.filter(client_type=client.type))
        inactive = {d.code for d in definitions if not d.is_active}
        given = dict(changes["fields"] or {})
        # Values of deactivated fields are kept as they were: not validated, not lost, not changeable.
        kept = {code: value for code, value in client.fields.items() if code in inactive}
        changes["fields"], field_errors = validate_fields(
            client.type, {k: v for k, v in given.items() if k not in inactive}, definitions)
        changes["fields"].update(kept)
        errors.update(field_errors)
    if "contacts" in changes:
        changes["contacts"] = _clean_contacts(changes["contacts"], errors)
    if "tags" in changes:
        changes["tags"] = _clean_tags(changes["tags"], errors)
    if errors:
        raise ValidationFailed(_("The client has invalid data."), errors=errors)
    try:
        with transaction.atomic():
            client = Client.objects.select_for_update().get(pk=client.pk)
            before = client_state(client)
            if "name" in changes:
                client.name = changes["name"].strip()
            if "external_id" in changes:
                client.external_id = changes["external_id"] or None
            for key in ("status", "currency", "fields"):
                if key in changes:
                    setattr(client, key, changes[key])
            client.search_text = search_text(client.name, client.fields)
            if "contacts" in changes:
                _set_contacts(client, changes["contacts"])
            if "tags" in changes:
                _set_tags(client, changes["tags"])
            after = client_state(client)
            if after != before:
                client.updated_at = clock.now()
                client.save()
                audit_record(actor=actor, action="client.update", object_type="client", object_id=client.pk,
                             before=before, after=after)
                _record_client_events(actor, client, before, after)
    except IntegrityError as exc:
        raise Conflict(_("The external id is already used by another client."),
                       errors={"external_id": [_("Already used by another client.")]}) from exc
    return client


# -- field definitions ----------------------------------------------------------------------

FIELD_ATTRS = ("client_type", "code", "label_ru", "label_en", "kind", "required", "help_ru", "help_en",
               "choices", "position", "is_active")


def field_definition_state(defn: ClientFieldDefinition) -> dict[str, Any]:
    return {a: getattr(defn, a) for a in FIELD_ATTRS}


def field_definition_errors(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """Problems of a field definition's attributes, keyed by attribute."""
    errors: dict[str, list[str]] = {}
    if data.get("client_type") not in ClientType.values:
        errors["client_type"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(ClientType.values)}]
    if data.get("kind") not in FieldKind.values:
        errors["kind"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(FieldKind.values)}]
    code = str(data.get("code") or "")
    if not code or not code.replace("_", "a").replace("-", "a").isalnum() or not code.isascii():
        errors["code"] = [_("Use latin letters, digits, '_' or '-'.")]
    for label in ("label_ru", "label_en"):
        if not str(data.get(label) or "").strip():
            errors[label] = [_("This field is required.")]
    choices = data.get("choices", [])
    if not isinstance(choices, list):
        errors["choices"] = [_("Choices must be a list of text values.")]
        choices = []
    position = data.get("position", 0)
    if not isinstance(position, int) or isinstance(position, bool) or position < 0:
        errors["position"] = [_("Position must be a whole number, 0 or more.")]
    for flag in ("required", "is_active"):
        if flag in data and not isinstance(data[flag], bool):
            errors[flag] = [_("Must be true or false.")]
    if data.get("kind") == FieldKind.CHOICE and (
        not isinstance(choices, list) or not choices or not all(isinstance(c, str) and c for c in choices)
    ):
        errors["choices"] = [_("A choice field needs a non-empty list of text choices.")]
    return errors


def field_definition_create(*, actor: Actor, **data: Any) -> ClientFieldDefinition:
    unknown = [k for k in data if k not in FIELD_ATTRS]
    errors = {k: [_("Unknown attribute.")] for k in unknown}
    errors.update(field_definition_errors(data))
    if errors:
        raise ValidationFailed(_("Invalid field definition."), errors=errors)
    if ClientFieldDefinition.objects.filter(client_type=data["client_type"], code=data["code"]).exists():
        raise Conflict(_("This client type already has a field with this code."),
                       errors={"code": [_("Already used for this client type.")]})
    try:
        with transaction.atomic():
            defn = ClientFieldDefinition.objects.create(**data)
            audit_record(actor=actor, action="client_field.create", object_type="client_field",
                         object_id=defn.pk, after=field_definition_state(defn))
    except IntegrityError as exc:
        raise Conflict(_("This client type already has a field with this code."),
                       errors={"code": [_("Already used for this client type.")]}) from exc
    return defn


def field_definition_update(*, actor: Actor, definition: ClientFieldDefinition, **changes: Any) -> ClientFieldDefinition:
    errors = {k: [_("This attribute cannot be changed.")] for k in changes if k not in FIELD_ATTRS or k in ("client_type", "code")}
    merged = field_definition_state(definition) | changes
    errors.update(field_definition_errors(merged))
    if errors:
        raise ValidationFailed(_("Invalid field definition."), errors=errors)
    with transaction.atomic():
        defn = ClientFieldDefinition.objects.select_for_update().get(pk=definition.pk)
        before = field_definition_state(defn)
        for key, value in changes.items():
            setattr(defn, key, value)
        defn.save()
        audit_record(actor=actor, action="client_field.update", object_type="client_field", object_id=defn.pk,
                     before=before, after=field_definition_state(defn))
    return defn


def client_block_status_set(*, actor: Actor, client: Client, blocked: bool, block: Mapping[str, Any]) -> Client:
    """The client's status follows its blocks (kopeck.credit): blocked while a block of the client
    holds, active again when the last one is lifted. Records client.changed and client.blocked /
    client.unblocked with the block's ``reason``, ``source``, ``block_id`` and ``comment``, in the
    caller's transaction. Nothing happens when the status is already so (or the client is closed)."""
    target = ClientStatus.BLOCKED if blocked else ClientStatus.ACTIVE
    if client.status == target or client.status == ClientStatus.CLOSED:
        return client
    before = client_state(client)
    client.status = target
    client.updated_at = clock.now()
    client.save(update_fields=["status", "updated_at"])
    after = client_state(client)
    audit_record(actor=actor, action="client.update", object_type="client", object_id=client.pk,
                 before={"status": before["status"]}, after={"status": after["status"]})
    data = client_event_data(client)
    event_record("client.changed", actor=actor, client_id=client.pk, data={
        "client": data, "changed": ["status"], "before": {"status": before["status"]},
        "after": {"status": after["status"]}})
    event_record("client.blocked" if blocked else "client.unblocked", actor=actor, client_id=client.pk,
                 data={"client": data, **block})
    return client


def clients_block_status_set_many(*, actor: Actor, changes: Sequence[tuple[Client, bool, Mapping[str, Any]]],
                                  tags: Mapping[int, Iterable[str]] | None = None) -> int:
    """:func:`client_block_status_set` for many clients at once (the credit check's bulk path): one
    UPDATE per target status, the audit entries and events in bulk, in the caller's transaction.
    ``changes``: (client, blocked, block); ``tags``: the clients' tag names (:func:`client_tags_of`),
    else read per client (prefetch them). How many clients changed."""
    from kopeck.audit.services import audit_record_many
    from kopeck.events.services import NewEvent, event_record_many

    now = clock.now()
    moved = [(c, blocked, block) for c, blocked, block in changes
             if c.status != ClientStatus.CLOSED and c.status != (ClientStatus.BLOCKED if blocked else ClientStatus.ACTIVE)]
    audits: list[tuple[str, str, object, Any, Any]] = []
    events = []
    for target in (ClientStatus.BLOCKED, ClientStatus.ACTIVE):
        ids = [c.pk for c, blocked, _b in moved if (target == ClientStatus.BLOCKED) == blocked]
        if ids:
            Client.objects.filter(pk__any_of=ids).update(status=target, updated_at=now)
    for client, blocked, block in moved:
        before = str(client.status)
        client.status, client.updated_at = (ClientStatus.BLOCKED if blocked else ClientStatus.ACTIVE), now
        audits.append(("client.update", "client", client.pk, {"status": before}, {"status": str(client.status)}))
        data = client_event_data(client, tags=tags.get(client.pk, ()) if tags is not None else None)
        events.append(NewEvent("client.changed", {"client": data, "changed": ["status"], "before": {"status": before},
                                                  "after": {"status": str(client.status)}}, client_id=client.pk))
        events.append(NewEvent("client.blocked" if blocked else "client.unblocked", {"client": data, **block},
                               client_id=client.pk))
    audit_record_many(actor=actor, entries=audits, json_safe=True)
    event_record_many(events, actor=actor)
    return len(moved)
