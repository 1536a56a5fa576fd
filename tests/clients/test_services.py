"""Tests for kopeck.clients.services: clients, their contacts and tags, and the client field sets.

Every refusal must raise before anything is written: the counts of clients, contacts, tags, field
definitions and audit entries are compared before and after.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kopeck.audit.models import AuditEntry
from kopeck.clients.models import Client, ClientFieldDefinition, ClientStatus, ClientType, Contact, Tag
from kopeck.clients.services import (
    client_create,
    client_update,
    field_definition_create,
    field_definition_update,
)
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.configuration.services import billing_settings_update
from kopeck.core.clock import FixedClock
from tests.conftest import START

SBER_INN = "7707083893"
SBER_BIK = "044525225"
SETTLEMENT = "40702810938000012345"
PERSON_INN = "500100732259"

LEGAL_FIELDS = {"full_name": "ООО «Ромашка»", "inn": SBER_INN}
TYPE_CHOICES = "Choose one of: legal, sole_proprietor, individual."
STATUS_CHOICES = "Choose one of: active, blocked, closed."
REQUIRED = "This field is required."


def counts() -> dict[str, int]:
    return {
        "clients": Client.objects.count(),
        "contacts": Contact.objects.count(),
        "tags": Tag.objects.count(),
        "field_definitions": ClientFieldDefinition.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


@pytest.fixture
def unchanged() -> Iterator[Callable[[], None]]:
    """``unchanged()`` asserts that nothing was written since the fixture was set up (call it last)."""
    before: dict[str, int] = {}

    def snapshot() -> None:
        before.update(counts())

    def check() -> None:
        assert counts() == before

    snapshot()
    yield check


def make_client(actor: Actor, **overrides: Any) -> Client:
    data: dict[str, Any] = {"type": ClientType.LEGAL, "name": "ООО «Ромашка»", "fields": dict(LEGAL_FIELDS)}
    data.update(overrides)
    return client_create(actor=actor, **data)


def audit_of(client: Client) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_type="client", object_id=str(client.pk)).order_by("id"))


# -- client_create -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_client_create_stores_normalised_values_contacts_tags_and_audits(clock: FixedClock, actor: Actor) -> None:
    client = client_create(
        actor=actor,
        type=ClientType.LEGAL,
        name="  ООО «Ромашка»  ",
        currency="rub",
        external_id="crm-1",
        fields={"full_name": " Общество с ограниченной ответственностью «Ромашка» ", "inn": f" {SBER_INN} ",
                "kpp": "773601001", "bik": SBER_BIK, "settlement_account": SETTLEMENT, "ogrn": ""},
        contacts=[
            {"kind": "email", "value": " buh@example.ru ", "name": " Бухгалтерия "},
            {"kind": "phone", "value": "8 (495) 123-45-67", "receives_documents": False},
        ],
        tags=[" vip ", "hosting", "vip"],
    )
    client.refresh_from_db()
    assert client.type == ClientType.LEGAL
    assert client.name == "ООО «Ромашка»"
    assert client.currency == "RUB"
    assert client.status == ClientStatus.ACTIVE
    assert client.external_id == "crm-1"
    assert client.fields == {"full_name": "Общество с ограниченной ответственностью «Ромашка»", "inn": SBER_INN,
                             "kpp": "773601001", "bik": SBER_BIK, "settlement_account": SETTLEMENT}
    assert client.created_at == START
    assert client.updated_at == START
    assert sorted(t.name for t in client.tags.all()) == ["hosting", "vip"]
    assert [(c.kind, c.value, c.name, c.receives_documents) for c in client.contacts.all()] == [
        ("email", "buh@example.ru", "Бухгалтерия", True),
        ("phone", "+74951234567", "", False),
    ]
    assert counts() == {"clients": 1, "contacts": 2, "tags": 2, "field_definitions": 25, "audit": 1}

    (entry,) = audit_of(client)
    assert entry.action == "client.create"
    assert entry.at == START
    assert (entry.actor_kind, entry.actor_id, entry.actor_label) == ("system", "", "tests")
    assert entry.before is None
    assert entry.after == {
        "type": "legal",
        "name": "ООО «Ромашка»",
        "external_id": "crm-1",
        "status": "active",
        "currency": "RUB",
        "fields": client.fields,
        "tags": ["hosting", "vip"],
        "contacts": [
            {"kind": "email", "value": "buh@example.ru", "name": "Бухгалтерия", "receives_documents": True},
            {"kind": "phone", "value": "+74951234567", "name": "", "receives_documents": False},
        ],
    }


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("client_type", "fields"),
    [
        (ClientType.SOLE_PROPRIETOR, {"full_name": "Иванов Иван Иванович", "inn": PERSON_INN,
                                      "ogrnip": "304500000000010"}),
        (ClientType.INDIVIDUAL, {"full_name": "Петров Пётр", "birth_date": "1990-05-17", "phone": "+7 916 000-00-01"}),
    ],
)
def test_client_create_of_other_types(clock: FixedClock, actor: Actor, client_type: str, fields: dict[str, str]) -> None:
    client = client_create(actor=actor, type=client_type, name=fields["full_name"], fields=fields)
    client.refresh_from_db()
    expected = dict(fields)
    if "phone" in expected:
        expected["phone"] = "+79160000001"
    assert client.type == client_type
    assert client.fields == expected


@pytest.mark.django_db
def test_client_create_takes_the_default_currency_from_the_settings(clock: FixedClock, actor: Actor) -> None:
    assert make_client(actor).currency == "RUB"
    billing_settings_update(actor=actor, default_currency="EUR")
    assert make_client(actor, name="Другой").currency == "EUR"


@pytest.mark.django_db
def test_client_create_reuses_existing_tags(clock: FixedClock, actor: Actor) -> None:
    first = make_client(actor, tags=["vip"])
    second = make_client(actor, name="Второй", tags=["vip", "new"])
    assert Tag.objects.count() == 2
    assert list(Tag.objects.get(name="vip").clients.order_by("id")) == [first, second]


@pytest.mark.django_db
def test_client_create_with_blank_external_id_stores_null(clock: FixedClock, actor: Actor) -> None:
    first = make_client(actor, external_id="")
    second = make_client(actor, name="Второй", external_id=None)
    assert (first.external_id, second.external_id) == (None, None)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"type": "company"}, {"type": [TYPE_CHOICES]}),
        ({"name": "   "}, {"name": [REQUIRED]}),
        ({"name": ""}, {"name": [REQUIRED]}),
        ({"status": "deleted"}, {"status": [STATUS_CHOICES]}),
        ({"currency": "XYZ"}, {"currency": ["unknown currency 'XYZ'"]}),
        ({"fields": {"full_name": "ООО «Ромашка»", "inn": "7707083894"}},
         {"fields.inn": ["INN of a legal entity: invalid check digit (expected 3, got 4)"]}),
        ({"fields": {"full_name": "ООО «Ромашка»", "inn": "0000000000"}},
         {"fields.inn": ["INN of a legal entity cannot consist of zeros only"]}),
        ({"fields": {"full_name": "ООО «Ромашка»"}}, {"fields.inn": [REQUIRED]}),
        ({"fields": {}}, {"fields.full_name": [REQUIRED], "fields.inn": [REQUIRED]}),
        ({"fields": {**LEGAL_FIELDS, "colour": "green"}}, {"fields.colour": ["Unknown field for this client type."]}),
        ({"fields": {**LEGAL_FIELDS, "settlement_account": SETTLEMENT}},
         {"fields.settlement_account": ["An account number needs the bank's БИК in the same record."]}),
        ({"contacts": [{"kind": "fax", "value": "123"}]}, {"contacts.0.kind": ["Choose one of: email, phone."]}),
        ({"contacts": [{"kind": "email", "value": "ok@example.ru"}, {"kind": "email", "value": "not-an-email"}]},
         {"contacts.1.value": ["Enter a valid e-mail address."]}),
        ({"contacts": [{"kind": "phone", "value": "12-34"}]},
         {"contacts.0.value": ["Enter a phone number of 10–15 digits, e.g. +7 495 123-45-67."]}),
        ({"contacts": [{"kind": "email", "value": "  "}]}, {"contacts.0.value": [REQUIRED]}),
        ({"tags": ["ok", " "]}, {"tags.1": ["A tag is 1 to 100 characters."]}),
        ({"tags": ["x" * 101]}, {"tags.0": ["A tag is 1 to 100 characters."]}),
    ],
)
def test_client_create_refusals_write_nothing(
    clock: FixedClock, actor: Actor, unchanged: Callable[[], None], overrides: dict[str, Any],
    errors: dict[str, list[str]],
) -> None:
    data: dict[str, Any] = {"type": ClientType.LEGAL, "name": "ООО «Ромашка»", "currency": "RUB",
                            "fields": dict(LEGAL_FIELDS), "tags": ["vip"],
                            "contacts": [{"kind": "email", "value": "buh@example.ru"}]}
    data.update(overrides)
    with pytest.raises(ValidationFailed) as info:
        client_create(actor=actor, **data)
    assert info.value.errors == errors
    assert info.value.detail == "The client has invalid data."
    unchanged()


@pytest.mark.django_db
def test_client_create_reports_all_errors_at_once(clock: FixedClock, actor: Actor, unchanged: Callable[[], None]) -> None:
    with pytest.raises(ValidationFailed) as info:
        client_create(actor=actor, type="company", name="", status="x", currency="??", tags=[""],
                      contacts=[{"kind": "pager", "value": "1"}])
    assert info.value.errors == {
        "type": [TYPE_CHOICES],
        "name": [REQUIRED],
        "status": [STATUS_CHOICES],
        "currency": ["unknown currency '??'"],
        "contacts.0.kind": ["Choose one of: email, phone."],
        "tags.0": ["A tag is 1 to 100 characters."],
    }
    unchanged()


@pytest.mark.django_db
def test_client_create_with_a_duplicate_external_id_is_a_conflict(clock: FixedClock, actor: Actor) -> None:
    make_client(actor, external_id="crm-1", tags=["vip"], contacts=[{"kind": "email", "value": "a@example.ru"}])
    before = counts()
    with pytest.raises(Conflict) as info:
        make_client(actor, name="Другой", external_id="crm-1", tags=["new"],
                    contacts=[{"kind": "email", "value": "b@example.ru"}])
    assert info.value.errors == {"external_id": ["Already used by another client."]}
    assert info.value.detail == "A client with external id 'crm-1' already exists."
    assert counts() == before


# -- client_update -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_client_update_changes_values_and_audits_before_and_after(clock: FixedClock, actor: Actor) -> None:
    client = make_client(actor, tags=["vip"], contacts=[{"kind": "email", "value": "old@example.ru"}])
    later = clock.advance(dt.timedelta(minutes=5))
    updated = client_update(
        actor=actor, client=client, name=" ООО «Ромашка-2» ", status="blocked", currency="eur",
        external_id="crm-9",
        fields={"full_name": "ООО «Ромашка-2»", "inn": SBER_INN, "bik": SBER_BIK, "settlement_account": SETTLEMENT},
        contacts=[{"kind": "phone", "value": "+7 (916) 000-00-01", "name": "Директор"}],
        tags=["hosting"],
    )
    updated.refresh_from_db()
    assert updated.name == "ООО «Ромашка-2»"
    assert updated.status == ClientStatus.BLOCKED
    assert updated.currency == "EUR"
    assert updated.external_id == "crm-9"
    assert updated.fields == {"full_name": "ООО «Ромашка-2»", "inn": SBER_INN, "bik": SBER_BIK,
                              "settlement_account": SETTLEMENT}
    assert updated.created_at == START
    assert updated.updated_at == later
    assert [t.name for t in updated.tags.all()] == ["hosting"]
    assert [(c.kind, c.value, c.name) for c in updated.contacts.all()] == [("phone", "+79160000001", "Директор")]
    assert Contact.objects.count() == 1  # the old contact is replaced
    assert Tag.objects.count() == 2  # the "vip" tag itself stays, only the link is removed

    create, update = audit_of(client)
    assert (create.action, update.action) == ("client.create", "client.update")
    assert update.at == later
    assert update.before == create.after
    assert update.before == {
        "type": "legal", "name": "ООО «Ромашка»", "external_id": None, "status": "active", "currency": "RUB",
        "fields": LEGAL_FIELDS, "tags": ["vip"],
        "contacts": [{"kind": "email", "value": "old@example.ru", "name": "", "receives_documents": True}],
    }
    assert update.after == {
        "type": "legal", "name": "ООО «Ромашка-2»", "external_id": "crm-9", "status": "blocked", "currency": "EUR",
        "fields": {"full_name": "ООО «Ромашка-2»", "inn": SBER_INN, "bik": SBER_BIK, "settlement_account": SETTLEMENT},
        "tags": ["hosting"],
        "contacts": [{"kind": "phone", "value": "+79160000001", "name": "Директор", "receives_documents": True}],
    }


@pytest.mark.django_db
def test_client_update_of_one_attribute_keeps_the_others(clock: FixedClock, actor: Actor) -> None:
    client = make_client(actor, tags=["vip"], contacts=[{"kind": "email", "value": "a@example.ru"}])
    client_update(actor=actor, client=client, status=ClientStatus.CLOSED)
    client.refresh_from_db()
    assert client.status == ClientStatus.CLOSED
    assert client.fields == LEGAL_FIELDS
    assert [t.name for t in client.tags.all()] == ["vip"]
    assert [c.value for c in client.contacts.all()] == ["a@example.ru"]
    _create, update = audit_of(client)
    assert {k for k in update.after if update.after[k] != update.before[k]} == {"status"}


@pytest.mark.django_db
def test_client_update_history_has_one_entry_per_change_in_order(clock: FixedClock, actor: Actor) -> None:
    client = make_client(actor)
    client_update(actor=actor, client=client, name="Первое имя")
    client_update(actor=actor, client=client, name="Второе имя", tags=["vip"])
    create, first, second = audit_of(client)
    assert [e.action for e in (create, first, second)] == ["client.create", "client.update", "client.update"]
    assert (first.before["name"], first.after["name"]) == ("ООО «Ромашка»", "Первое имя")
    assert (second.before["name"], second.after["name"]) == ("Первое имя", "Второе имя")
    assert (second.before["tags"], second.after["tags"]) == ([], ["vip"])
    assert first.after == second.before


@pytest.mark.django_db
def test_client_update_without_a_change_writes_no_audit_entry(clock: FixedClock, actor: Actor) -> None:
    client = make_client(actor, tags=["vip"])
    client_update(actor=actor, client=client, name="ООО «Ромашка»", tags=["vip"], fields=dict(LEGAL_FIELDS))
    assert [e.action for e in audit_of(client)] == ["client.create"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"type": ClientType.INDIVIDUAL}, {"type": ["This field cannot be changed."]}),
        ({"created_at": START}, {"created_at": ["This field cannot be changed."]}),
        ({"name": " "}, {"name": [REQUIRED]}),
        ({"name": None}, {"name": [REQUIRED]}),
        ({"status": "deleted"}, {"status": [STATUS_CHOICES]}),
        ({"currency": "XYZ"}, {"currency": ["unknown currency 'XYZ'"]}),
        ({"currency": None}, {"currency": ["unknown currency 'None'"]}),
        ({"fields": {"full_name": "ООО «Ромашка»", "inn": PERSON_INN}},
         {"fields.inn": ["INN of a legal entity must have 10 digits, got 12"]}),
        ({"fields": {"full_name": "ООО «Ромашка»"}}, {"fields.inn": [REQUIRED]}),
        ({"fields": {**LEGAL_FIELDS, "ogrnip": "304500000000010"}},
         {"fields.ogrnip": ["Unknown field for this client type."]}),
        ({"fields": {**LEGAL_FIELDS, "bik": SBER_BIK, "settlement_account": "40702810938000012346"}},
         {"fields.settlement_account": [
             "settlement account 40702810938000012346 does not match BIK 044525225: invalid check key"]}),
        ({"contacts": [{"kind": "email", "value": "nope"}]}, {"contacts.0.value": ["Enter a valid e-mail address."]}),
        ({"tags": [""]}, {"tags.0": ["A tag is 1 to 100 characters."]}),
        ({"name": "", "status": "x", "tags": [""]},
         {"name": [REQUIRED], "status": [STATUS_CHOICES], "tags.0": ["A tag is 1 to 100 characters."]}),
    ],
)
def test_client_update_refusals_write_nothing(
    clock: FixedClock, actor: Actor, changes: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    client = make_client(actor, tags=["vip"], contacts=[{"kind": "email", "value": "a@example.ru"}])
    before = counts()
    clock.advance(dt.timedelta(minutes=1))
    with pytest.raises(ValidationFailed) as info:
        client_update(actor=actor, client=client, **changes)
    assert info.value.errors == errors
    assert counts() == before
    fresh = Client.objects.get(pk=client.pk)
    assert (fresh.name, fresh.status, fresh.currency, fresh.fields, fresh.updated_at) == (
        "ООО «Ромашка»", "active", "RUB", LEGAL_FIELDS, START)
    assert [t.name for t in fresh.tags.all()] == ["vip"]
    assert [c.value for c in fresh.contacts.all()] == ["a@example.ru"]


@pytest.mark.django_db
def test_client_update_to_a_taken_external_id_is_a_conflict(clock: FixedClock, actor: Actor) -> None:
    make_client(actor, external_id="crm-1")
    other = make_client(actor, name="Другой", external_id="crm-2", tags=["vip"])
    before = counts()
    with pytest.raises(Conflict) as info:
        client_update(actor=actor, client=other, external_id="crm-1", name="Переименован", tags=["new"])
    assert info.value.errors == {"external_id": ["Already used by another client."]}
    assert counts() == before
    other.refresh_from_db()
    assert (other.external_id, other.name) == ("crm-2", "Другой")
    assert [t.name for t in other.tags.all()] == ["vip"]


@pytest.mark.django_db
def test_client_update_validates_fields_against_the_clients_own_type(clock: FixedClock, actor: Actor) -> None:
    person = client_create(actor=actor, type=ClientType.INDIVIDUAL, name="Петров",
                           fields={"full_name": "Петров Пётр"})
    client_update(actor=actor, client=person, fields={"full_name": "Петров Пётр", "inn": PERSON_INN})
    person.refresh_from_db()
    assert person.fields == {"full_name": "Петров Пётр", "inn": PERSON_INN}
    with pytest.raises(ValidationFailed) as info:
        client_update(actor=actor, client=person, fields={"full_name": "Петров Пётр", "inn": SBER_INN})
    assert info.value.errors == {"fields.inn": ["INN of an individual must have 12 digits, got 10"]}


# -- field definitions ---------------------------------------------------------------------------


def definition_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"client_type": ClientType.LEGAL, "code": "segment", "label_ru": "Сегмент",
                            "label_en": "Segment", "kind": "choice", "choices": ["smb", "enterprise"],
                            "required": True, "position": 200}
    data.update(overrides)
    return data


def definition_audit(defn: ClientFieldDefinition) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(object_type="client_field", object_id=str(defn.pk)).order_by("id"))


@pytest.mark.django_db
def test_field_definition_create_stores_and_audits(clock: FixedClock, actor: Actor) -> None:
    defn = field_definition_create(actor=actor, **definition_data())
    defn.refresh_from_db()
    state = {"client_type": "legal", "code": "segment", "label_ru": "Сегмент", "label_en": "Segment",
             "kind": "choice", "required": True, "help_ru": "", "help_en": "", "choices": ["smb", "enterprise"],
             "position": 200, "is_active": True}
    assert {k: getattr(defn, k) for k in state} == state
    (entry,) = definition_audit(defn)
    assert (entry.action, entry.at, entry.before, entry.after) == ("client_field.create", START, None, state)


@pytest.mark.django_db
def test_a_new_required_field_is_required_of_new_clients(clock: FixedClock, actor: Actor) -> None:
    field_definition_create(actor=actor, **definition_data())
    with pytest.raises(ValidationFailed) as info:
        make_client(actor)
    assert info.value.errors == {"fields.segment": [REQUIRED]}
    client = make_client(actor, fields={**LEGAL_FIELDS, "segment": "smb"})
    assert client.fields == {**LEGAL_FIELDS, "segment": "smb"}


@pytest.mark.django_db
def test_the_same_code_may_be_used_by_another_client_type(clock: FixedClock, actor: Actor) -> None:
    field_definition_create(actor=actor, **definition_data(client_type=ClientType.LEGAL))
    defn = field_definition_create(actor=actor, **definition_data(client_type=ClientType.INDIVIDUAL))
    assert defn.client_type == ClientType.INDIVIDUAL


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "errors"),
    [
        ({"client_type": "company"}, {"client_type": [TYPE_CHOICES]}),
        ({"kind": "colour"}, {"kind": [
            "Choose one of: text, number, date, choice, email, phone, inn, kpp, ogrn, ogrnip, bik, "
            "settlement_account, correspondent_account."]}),
        ({"code": ""}, {"code": ["Use latin letters, digits, '_' or '-'."]}),
        ({"code": "сегмент"}, {"code": ["Use latin letters, digits, '_' or '-'."]}),
        ({"code": "my field"}, {"code": ["Use latin letters, digits, '_' or '-'."]}),
        ({"label_ru": " "}, {"label_ru": [REQUIRED]}),
        ({"label_en": ""}, {"label_en": [REQUIRED]}),
        ({"choices": []}, {"choices": ["A choice field needs a non-empty list of text choices."]}),
        ({"choices": ["a", 2]}, {"choices": ["A choice field needs a non-empty list of text choices."]}),
        ({"choices": "a,b"}, {"choices": ["A choice field needs a non-empty list of text choices."]}),
        ({"colour": "red"}, {"colour": ["Unknown attribute."]}),
    ],
)
def test_field_definition_create_refusals_write_nothing(
    actor: Actor, unchanged: Callable[[], None], overrides: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    with pytest.raises(ValidationFailed) as info:
        field_definition_create(actor=actor, **definition_data(**overrides))
    assert info.value.errors == errors
    assert info.value.detail == "Invalid field definition."
    unchanged()


@pytest.mark.django_db
def test_field_definition_create_with_a_taken_code_is_a_conflict(actor: Actor, unchanged: Callable[[], None]) -> None:
    with pytest.raises(Conflict) as info:
        field_definition_create(actor=actor, **definition_data(code="inn", kind="text", choices=[]))
    assert info.value.errors == {"code": ["Already used for this client type."]}
    unchanged()


@pytest.mark.django_db
def test_field_definition_update_changes_and_audits(clock: FixedClock, actor: Actor) -> None:
    defn = ClientFieldDefinition.objects.get(client_type=ClientType.LEGAL, code="kpp")
    updated = field_definition_update(actor=actor, definition=defn, required=True, label_en="KPP code",
                                      help_ru="9 символов", position=35)
    updated.refresh_from_db()
    assert (updated.required, updated.label_en, updated.help_ru, updated.position) == (True, "KPP code",
                                                                                        "9 символов", 35)
    (entry,) = definition_audit(defn)
    assert entry.action == "client_field.update"
    assert entry.before == {"client_type": "legal", "code": "kpp", "label_ru": "КПП", "label_en": "KPP",
                            "kind": "kpp", "required": False, "help_ru": "", "help_en": "", "choices": [],
                            "position": 40, "is_active": True}
    assert entry.after == {**entry.before, "required": True, "label_en": "KPP code", "help_ru": "9 символов",
                           "position": 35}
    with pytest.raises(ValidationFailed) as info:
        make_client(actor)
    assert info.value.errors == {"fields.kpp": [REQUIRED]}


@pytest.mark.django_db
def test_field_definition_deactivated_is_no_longer_checked(clock: FixedClock, actor: Actor) -> None:
    defn = ClientFieldDefinition.objects.get(client_type=ClientType.LEGAL, code="inn")
    field_definition_update(actor=actor, definition=defn, is_active=False)
    client = make_client(actor, fields={"full_name": "ООО «Ромашка»"})
    assert client.fields == {"full_name": "ООО «Ромашка»"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"code": "tax_id"}, {"code": ["This attribute cannot be changed."]}),
        ({"client_type": ClientType.INDIVIDUAL}, {"client_type": ["This attribute cannot be changed."]}),
        ({"colour": "red"}, {"colour": ["This attribute cannot be changed."]}),
        ({"kind": "choice"}, {"choices": ["A choice field needs a non-empty list of text choices."]}),
        ({"kind": "colour"}, {"kind": [
            "Choose one of: text, number, date, choice, email, phone, inn, kpp, ogrn, ogrnip, bik, "
            "settlement_account, correspondent_account."]}),
        ({"label_ru": ""}, {"label_ru": [REQUIRED]}),
    ],
)
def test_field_definition_update_refusals_write_nothing(
    actor: Actor, unchanged: Callable[[], None], changes: dict[str, Any], errors: dict[str, list[str]]
) -> None:
    defn = ClientFieldDefinition.objects.get(client_type=ClientType.LEGAL, code="kpp")
    with pytest.raises(ValidationFailed) as info:
        field_definition_update(actor=actor, definition=defn, **changes)
    assert info.value.errors == errors
    unchanged()
    fresh = ClientFieldDefinition.objects.get(pk=defn.pk)
    assert (fresh.code, fresh.kind, fresh.label_ru, fresh.client_type) == ("kpp", "kpp", "КПП", "legal")


# -- values the database would refuse ------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(("overrides", "field"), [({"name": "Я" * 301}, "name"), ({"external_id": "x" * 101}, "external_id")])
def test_client_create_refuses_too_long_values(
    clock: FixedClock, actor: Actor, unchanged: Callable[[], None], overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        make_client(actor, **overrides)
    limit = {"name": 300, "external_id": 100}[field]
    assert info.value.errors == {field: [f"At most {limit} characters."]}
    unchanged()


@pytest.mark.django_db
@pytest.mark.parametrize(("overrides", "field"), [({"choices": None}, "choices"), ({"position": -1}, "position")])
def test_field_definition_create_invalid_values_are_not_a_code_conflict(
    actor: Actor, unchanged: Callable[[], None], overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as info:
        field_definition_create(actor=actor, **definition_data(kind="text", **overrides))
    assert info.value.errors == {field: [{"choices": "Choices must be a list of text values.",
                                          "position": "Position must be a whole number, 0 or more."}[field]]}
    unchanged()
