"""Tests for the clients REST API (kopeck.clients.api): /api/v1/clients/ and /api/v1/client-fields/.

Errors are RFC 9457 problem+json (kopeck.common.http.problems). Validation messages of DRF itself follow the
active language, which is Russian (the project default) for the un-prefixed /api/ URLs.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.audit.models import AuditEntry
from kopeck.clients.models import Client, ClientFieldDefinition, ClientType, Contact, Tag
from kopeck.clients.services import client_create
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock

PROBLEM = "application/problem+json"
SBER_INN = "7707083893"
SBER_BIK = "044525225"
SETTLEMENT = "40702810938000012345"
PERSON_INN = "500100732259"

LEGAL_BODY: dict[str, Any] = {
    "type": "legal",
    "name": "ООО «Ромашка»",
    "currency": "RUB",
    "external_id": "crm-1",
    "fields": {"full_name": "Общество с ограниченной ответственностью «Ромашка»", "inn": SBER_INN,
               "kpp": "773601001", "ogrn": "1027700132195", "bik": SBER_BIK, "settlement_account": SETTLEMENT},
    "tags": ["vip"],
    "contacts": [{"kind": "email", "value": "buh@example.ru"}],
}


def counts() -> dict[str, int]:
    return {
        "clients": Client.objects.count(),
        "contacts": Contact.objects.count(),
        "tags": Tag.objects.count(),
        "field_definitions": ClientFieldDefinition.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


def assert_problem(response: Any, status: int, code: str, errors: list[dict[str, str]] | None) -> dict[str, Any]:
    """Check the problem+json envelope and return the body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = json.loads(response.content)
    assert body["type"] == f"urn:kopeck:problem:{code}"
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["instance"] == response.wsgi_request.get_full_path()
    if errors is None:
        assert "errors" not in body
    else:
        assert body["errors"] == errors
    return body


def make(actor: Actor, name: str, **kwargs: Any) -> Client:
    kwargs.setdefault("type", ClientType.LEGAL)
    return client_create(actor=actor, name=name, **kwargs)


def legal_fields(n: int, full_name: str) -> dict[str, str]:
    from tests.factories import valid_inn

    return {"full_name": full_name, "inn": valid_inn(n)}


# -- create --------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_create_client(api: APIClient, clock: FixedClock) -> None:
    response = api.post("/api/v1/clients/", LEGAL_BODY, format="json")
    assert response.status_code == 201, response.content
    assert response["Content-Type"] == "application/json"
    client = Client.objects.get()
    assert response.json() == {
        "id": client.pk,
        "type": "legal",
        "name": "ООО «Ромашка»",
        "external_id": "crm-1",
        "status": "active",
        "currency": "RUB",
        "fields": LEGAL_BODY["fields"],
        "tags": ["vip"],
        "contacts": [{"kind": "email", "value": "buh@example.ru", "name": "", "receives_documents": True}],
        "created_at": "2026-11-25T12:00:00+03:00",
        "updated_at": "2026-11-25T12:00:00+03:00",
    }
    entry = AuditEntry.objects.get(object_type="client")
    assert (entry.action, entry.object_id, entry.actor_kind) == ("client.create", str(client.pk), "api_key")
    assert entry.actor_label.startswith("test (")


@pytest.mark.django_db
def test_create_client_with_defaults(api: APIClient, clock: FixedClock) -> None:
    response = api.post("/api/v1/clients/", {"type": "individual", "name": "Петров Пётр",
                                             "fields": {"full_name": "Петров Пётр", "phone": "8 916 000 00 01"}},
                        format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["currency"], body["status"], body["external_id"], body["tags"], body["contacts"]) == (
        "RUB", "active", None, [], [])
    assert body["fields"] == {"full_name": "Петров Пётр", "phone": "+79160000001"}


# -- bad inputs ----------------------------------------------------------------------------------


def with_fields(**fields: Any) -> dict[str, Any]:
    return {**LEGAL_BODY, "fields": {**LEGAL_BODY["fields"], **fields}}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "errors"),
    [
        (with_fields(inn="7707083894"),
         [{"field": "fields.inn", "detail": "ИНН юридического лица: неверное контрольное число (ожидалось 3, указано 4)"}]),
        (with_fields(inn="0000000000"),
         [{"field": "fields.inn", "detail": "ИНН юридического лица не может состоять из одних нулей"}]),
        (with_fields(inn=PERSON_INN),
         [{"field": "fields.inn", "detail": "ИНН юридического лица должен содержать 10 цифр, получено 12"}]),
        (with_fields(colour="green"), [{"field": "fields.colour", "detail": "Для этого типа клиентов такого поля нет."}]),
        ({**LEGAL_BODY, "fields": {"inn": SBER_INN}}, [{"field": "fields.full_name", "detail": "Обязательное поле."}]),
        (with_fields(settlement_account="40702810938000012346"),
         [{"field": "fields.settlement_account",
           "detail": "Расчётный счёт 40702810938000012346 не соответствует БИК 044525225: неверный контрольный ключ"}]),
        ({**LEGAL_BODY, "type": "company"},
         [{"field": "type", "detail": "Значения company нет среди допустимых вариантов."}]),
        ({k: v for k, v in LEGAL_BODY.items() if k != "name"}, [{"field": "name", "detail": "Обязательное поле."}]),
        ({**LEGAL_BODY, "name": ""}, [{"field": "name", "detail": "Это поле не может быть пустым."}]),
        ({**LEGAL_BODY, "name": "   "}, [{"field": "name", "detail": "Это поле не может быть пустым."}]),
        ({**LEGAL_BODY, "currency": "XYZ"}, [{"field": "currency", "detail": "Неизвестная валюта «XYZ»."}]),
        ({**LEGAL_BODY, "currency": "RUBL"},
         [{"field": "currency", "detail": "Убедитесь, что это значение содержит не более 3 символов."}]),
        ({**LEGAL_BODY, "status": "deleted"},
         [{"field": "status", "detail": "Значения deleted нет среди допустимых вариантов."}]),
        ({**LEGAL_BODY, "fields": ["inn"]},
         [{"field": "fields", "detail": 'Ожидался словарь со значениями, но был получен "list".'}]),
        ({**LEGAL_BODY, "contacts": [{"kind": "email", "value": "not-an-email"}]},
         [{"field": "contacts.0.value", "detail": "Введите правильный адрес электронной почты."}]),
        ({**LEGAL_BODY, "contacts": [{"kind": "fax", "value": "1"}]},
         [{"field": "contacts.0.kind", "detail": "Значения fax нет среди допустимых вариантов."}]),
    ],
)
def test_create_client_refusals(api: APIClient, clock: FixedClock, body: dict[str, Any],
                                errors: list[dict[str, str]]) -> None:
    before = counts()
    response = api.post("/api/v1/clients/", body, format="json")
    problem = assert_problem(response, 400, "validation-error", errors)
    assert problem["title"] == "Неверные данные"  # no Accept-Language: KOPECK_LANGUAGE (ru)
    assert counts() == before


@pytest.mark.django_db
def test_create_client_reports_service_errors_together(api: APIClient, clock: FixedClock) -> None:
    before = counts()
    body = {**LEGAL_BODY, "currency": "XYZ", "fields": {"inn": "0000000000", "kpp": "1"}}
    response = api.post("/api/v1/clients/", body, format="json")
    problem = assert_problem(response, 400, "validation-error", [
        {"field": "currency", "detail": "Неизвестная валюта «XYZ»."},
        {"field": "fields.full_name", "detail": "Обязательное поле."},
        {"field": "fields.inn", "detail": "ИНН юридического лица не может состоять из одних нулей"},
        {"field": "fields.kpp", "detail": "КПП должен содержать 9 символов, получено 1"},
    ])
    assert problem["detail"] == "Данные клиента заполнены неверно."
    assert counts() == before


@pytest.mark.django_db
def test_create_client_with_a_taken_external_id_is_a_conflict(api: APIClient, clock: FixedClock) -> None:
    assert api.post("/api/v1/clients/", LEGAL_BODY, format="json").status_code == 201
    before = counts()
    response = api.post("/api/v1/clients/", {**LEGAL_BODY, "name": "Другой", "tags": ["new"]}, format="json")
    problem = assert_problem(response, 409, "conflict",
                             [{"field": "external_id", "detail": "Уже занят другим клиентом."}])
    assert (problem["title"], problem["detail"]) == ("Конфликт", "Клиент с внешним ID «crm-1» уже есть.")
    assert counts() == before


@pytest.mark.django_db
def test_malformed_json_body(api: APIClient, clock: FixedClock) -> None:
    before = counts()
    response = api.post("/api/v1/clients/", '{"type": "legal", "name": ', content_type="application/json")
    problem = assert_problem(response, 400, "malformed-request", None)
    assert problem["title"] == "Неверный формат запроса"
    assert problem["detail"].startswith("Тело запроса — не JSON: ")
    assert counts() == before


@pytest.mark.django_db
def test_wrong_content_type(api: APIClient, clock: FixedClock) -> None:
    before = counts()
    response = api.post("/api/v1/clients/", "type=legal&name=x", content_type="text/plain")
    problem = assert_problem(response, 415, "unsupported-media-type", None)
    assert "text/plain" in problem["detail"]
    assert counts() == before


@pytest.mark.django_db
def test_wrong_content_type_title_has_no_template_placeholder(api: APIClient) -> None:
    response = api.post("/api/v1/clients/", "x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["title"] == "Неподдерживаемый тип данных"


@pytest.mark.django_db
def test_unknown_api_url_is_a_problem(api: APIClient) -> None:
    response = api.get("/api/v1/nope/")
    problem = assert_problem(response, 404, "not-found", None)
    assert problem == {"type": "urn:kopeck:problem:not-found", "title": "Не найдено", "status": 404,
                       "detail": "Такого адреса в API нет.", "instance": "/api/v1/nope/"}


@pytest.mark.django_db
def test_unauthenticated_request_is_refused(client: Any) -> None:
    response = client.get("/api/v1/clients/")
    assert_problem(response, 401, "unauthorized", None)
    assert response["WWW-Authenticate"] == 'Bearer realm="kopeck"'


@pytest.mark.django_db
def test_read_only_key_cannot_create(api_as: Any, clock: FixedClock) -> None:
    reader = api_as("clients:read")
    assert reader.get("/api/v1/clients/").status_code == 200
    before = counts()
    response = reader.post("/api/v1/clients/", LEGAL_BODY, format="json")
    problem = assert_problem(response, 403, "forbidden", None)
    assert problem["detail"] == "Your role or API key scopes do not allow this."
    assert counts() == before


# -- list, filters, pagination -------------------------------------------------------------------


@pytest.fixture
def some_clients(db: Any, clock: FixedClock, actor: Actor) -> dict[str, Client]:
    return {
        "romashka": make(actor, "ООО «Ромашка»", fields=legal_fields(1, "ООО «Ромашка»"), tags=["vip"],
                         external_id="crm-1"),
        "vasilek": make(actor, "ООО «Василёк»", fields=legal_fields(2, "ООО «Василёк»"), currency="USD",
                        tags=["vip", "hosting"]),
        "ip": make(actor, "ИП Иванов", type=ClientType.SOLE_PROPRIETOR, status="blocked",
                   fields={"full_name": "Иванов Иван Иванович", "inn": PERSON_INN}, tags=["hosting"]),
        "person": make(actor, "Petrov Petr", type=ClientType.INDIVIDUAL, currency="EUR",
                       fields={"full_name": "Petrov Petr"}),
    }


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [c["name"] for c in response.json()["results"]]


@pytest.mark.django_db
def test_list_clients(api: APIClient, some_clients: dict[str, Client]) -> None:
    response = api.get("/api/v1/clients/")
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (4, None, None)
    assert names(response) == ["ООО «Ромашка»", "ООО «Василёк»", "ИП Иванов", "Petrov Petr"]
    assert body["results"][1]["tags"] == ["hosting", "vip"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("type=legal", ["ООО «Ромашка»", "ООО «Василёк»"]),
        ("type=sole_proprietor", ["ИП Иванов"]),
        ("type=individual", ["Petrov Petr"]),
        ("status=blocked", ["ИП Иванов"]),
        ("status=active", ["ООО «Ромашка»", "ООО «Василёк»", "Petrov Petr"]),
        ("currency=USD", ["ООО «Василёк»"]),
        ("currency=eur", ["Petrov Petr"]),
        ("tag=vip", ["ООО «Ромашка»", "ООО «Василёк»"]),
        ("tag=hosting", ["ООО «Василёк»", "ИП Иванов"]),
        ("tag=none", []),
        ("type=legal&tag=hosting", ["ООО «Василёк»"]),
        ("search=Ромашка", ["ООО «Ромашка»"]),
        ("search=ООО", ["ООО «Ромашка»", "ООО «Василёк»"]),
        ("search=petrov", ["Petrov Petr"]),
        ("search=crm-1", ["ООО «Ромашка»"]),
        (f"search={PERSON_INN}", ["ИП Иванов"]),
        ("search=77", []),  # an ИНН is matched exactly, not as a prefix
    ],
)
def test_list_filters(api: APIClient, some_clients: dict[str, Client], query: str, expected: list[str]) -> None:
    assert names(api.get(f"/api/v1/clients/?{query}")) == expected


@pytest.mark.django_db
def test_search_by_inn(api: APIClient, some_clients: dict[str, Client]) -> None:
    inn = some_clients["vasilek"].fields["inn"]
    assert names(api.get("/api/v1/clients/", {"search": inn})) == ["ООО «Василёк»"]
    assert names(api.get("/api/v1/clients/", {"search": f" {inn} "})) == ["ООО «Василёк»"]


@pytest.mark.django_db
def test_search_by_name_is_case_insensitive_for_cyrillic(api: APIClient, some_clients: dict[str, Client]) -> None:
    assert names(api.get("/api/v1/clients/", {"search": "ромашка"})) == ["ООО «Ромашка»"]
    assert names(api.get("/api/v1/clients/", {"search": "ип иванов"})) == ["ИП Иванов"]


@pytest.mark.django_db
def test_list_pagination(api: APIClient, some_clients: dict[str, Client]) -> None:
    first = api.get("/api/v1/clients/?page_size=3").json()
    assert first["count"] == 4
    assert first["next"] == "http://testserver/api/v1/clients/?page=2&page_size=3"
    assert first["previous"] is None
    assert [c["name"] for c in first["results"]] == ["ООО «Ромашка»", "ООО «Василёк»", "ИП Иванов"]
    second = api.get(first["next"]).json()
    assert second["count"] == 4
    assert second["next"] is None
    assert second["previous"] == "http://testserver/api/v1/clients/?page_size=3"
    assert [c["name"] for c in second["results"]] == ["Petrov Petr"]
    filtered = api.get("/api/v1/clients/?type=legal&page_size=1").json()
    assert filtered["count"] == 2
    assert filtered["next"] == "http://testserver/api/v1/clients/?page=2&page_size=1&type=legal"


@pytest.mark.django_db
def test_list_page_out_of_range(api: APIClient, some_clients: dict[str, Client]) -> None:
    assert_problem(api.get("/api/v1/clients/?page=9"), 404, "not-found", None)


# -- retrieve ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_get_one_client(api: APIClient, some_clients: dict[str, Client]) -> None:
    ip = some_clients["ip"]
    response = api.get(f"/api/v1/clients/{ip.pk}/")
    assert response.status_code == 200
    assert response.json() == {
        "id": ip.pk, "type": "sole_proprietor", "name": "ИП Иванов", "external_id": None, "status": "blocked",
        "currency": "RUB", "fields": {"full_name": "Иванов Иван Иванович", "inn": PERSON_INN},
        "tags": ["hosting"], "contacts": [],
        "created_at": "2026-11-25T12:00:00+03:00", "updated_at": "2026-11-25T12:00:00+03:00",
    }


@pytest.mark.django_db
def test_get_missing_client(api: APIClient) -> None:
    problem = assert_problem(api.get("/api/v1/clients/999999/"), 404, "not-found", None)
    assert problem["detail"] == "Такого объекта нет."


@pytest.mark.django_db
def test_get_client_with_non_numeric_id_has_a_detail(api: APIClient) -> None:
    problem = assert_problem(api.get("/api/v1/clients/abc/"), 404, "not-found", None)
    assert problem["detail"] != ""


# -- update and history --------------------------------------------------------------------------


@pytest.mark.django_db
def test_patch_client(api: APIClient, clock: FixedClock) -> None:
    client_id = api.post("/api/v1/clients/", LEGAL_BODY, format="json").json()["id"]
    clock.set(clock.now().replace(hour=10))
    response = api.patch(f"/api/v1/clients/{client_id}/", {"name": "ООО «Ромашка-2»", "status": "blocked",
                                                            "tags": ["hosting", "vip"]}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["name"], body["status"], body["tags"], body["fields"]) == (
        "ООО «Ромашка-2»", "blocked", ["hosting", "vip"], LEGAL_BODY["fields"])
    assert body["contacts"] == [{"kind": "email", "value": "buh@example.ru", "name": "", "receives_documents": True}]
    assert (body["created_at"], body["updated_at"]) == ("2026-11-25T12:00:00+03:00", "2026-11-25T13:00:00+03:00")
    assert api.get(f"/api/v1/clients/{client_id}/").json() == body


@pytest.mark.django_db
def test_patch_client_type_is_ignored(api: APIClient, clock: FixedClock) -> None:
    client_id = api.post("/api/v1/clients/", LEGAL_BODY, format="json").json()["id"]
    response = api.patch(f"/api/v1/clients/{client_id}/", {"type": "individual"}, format="json")
    assert response.status_code == 200
    assert response.json()["type"] == "legal"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "code", "errors"),
    [
        ({"fields": {"full_name": "ООО", "inn": "7707083894"}}, 400, "validation-error",
         [{"field": "fields.inn", "detail": "ИНН юридического лица: неверное контрольное число (ожидалось 3, указано 4)"}]),
        ({"fields": {"full_name": "ООО", "inn": SBER_INN, "nope": "1"}}, 400, "validation-error",
         [{"field": "fields.nope", "detail": "Для этого типа клиентов такого поля нет."}]),
        ({"name": ""}, 400, "validation-error", [{"field": "name", "detail": "Это поле не может быть пустым."}]),
        ({"currency": "XYZ"}, 400, "validation-error", [{"field": "currency", "detail": "Неизвестная валюта «XYZ»."}]),
        ({"external_id": "crm-2"}, 409, "conflict",
         [{"field": "external_id", "detail": "Уже занят другим клиентом."}]),
    ],
)
def test_patch_client_refusals(api: APIClient, clock: FixedClock, body: dict[str, Any], status: int, code: str,
                               errors: list[dict[str, str]]) -> None:
    client_id = api.post("/api/v1/clients/", LEGAL_BODY, format="json").json()["id"]
    api.post("/api/v1/clients/", {**LEGAL_BODY, "external_id": "crm-2"}, format="json")
    before_counts = counts()
    before = api.get(f"/api/v1/clients/{client_id}/").json()
    assert_problem(api.patch(f"/api/v1/clients/{client_id}/", body, format="json"), status, code, errors)
    assert counts() == before_counts
    assert api.get(f"/api/v1/clients/{client_id}/").json() == before


@pytest.mark.django_db
def test_patch_malformed_json(api: APIClient, clock: FixedClock) -> None:
    client_id = api.post("/api/v1/clients/", LEGAL_BODY, format="json").json()["id"]
    before = counts()
    response = api.patch(f"/api/v1/clients/{client_id}/", "{nope", content_type="application/json")
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM
    assert counts() == before


@pytest.mark.django_db
def test_patch_missing_client(api: APIClient) -> None:
    assert_problem(api.patch("/api/v1/clients/999999/", {"name": "x"}, format="json"), 404, "not-found", None)


@pytest.mark.django_db
def test_patch_with_non_numeric_id_is_404(api: APIClient) -> None:
    assert_problem(api.patch("/api/v1/clients/abc/", {"name": "x"}, format="json"), 404, "not-found", None)


@pytest.mark.django_db
def test_history_with_non_numeric_id_is_404(api: APIClient) -> None:
    assert_problem(api.get("/api/v1/clients/abc/history/"), 404, "not-found", None)


@pytest.mark.django_db
def test_client_history(api: APIClient, clock: FixedClock) -> None:
    client_id = api.post("/api/v1/clients/", LEGAL_BODY, format="json").json()["id"]
    clock.set(clock.now().replace(hour=10))
    api.patch(f"/api/v1/clients/{client_id}/", {"name": "Второе имя"}, format="json")
    clock.set(clock.now().replace(hour=11))
    api.patch(f"/api/v1/clients/{client_id}/", {"status": "closed"}, format="json")
    other = api.post("/api/v1/clients/", {**LEGAL_BODY, "external_id": "crm-other"}, format="json").json()["id"]
    api.patch(f"/api/v1/clients/{other}/", {"name": "Чужой"}, format="json")

    response = api.get(f"/api/v1/clients/{client_id}/history/")
    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["next"], body["previous"]) == (3, None, None)
    entries = body["results"]
    assert [e["action"] for e in entries] == ["client.update", "client.update", "client.create"]
    assert [e["at"] for e in entries] == ["2026-11-25T14:00:00+03:00", "2026-11-25T13:00:00+03:00",
                                          "2026-11-25T12:00:00+03:00"]
    assert {e["object_type"] for e in entries} == {"client"}
    assert {e["object_id"] for e in entries} == {str(client_id)}
    assert {e["actor_kind"] for e in entries} == {"api_key"}
    newest, middle, create = entries
    assert create["before"] is None
    assert create["after"]["name"] == "ООО «Ромашка»"
    assert (middle["before"]["name"], middle["after"]["name"]) == ("ООО «Ромашка»", "Второе имя")
    assert (newest["before"]["status"], newest["after"]["status"]) == ("active", "closed")
    assert newest["before"] == middle["after"]
    assert set(create) == {"id", "at", "actor_kind", "actor_id", "actor_label", "action", "object_type",
                           "object_id", "before", "after"}


@pytest.mark.django_db
def test_history_of_missing_client(api: APIClient) -> None:
    assert_problem(api.get("/api/v1/clients/999999/history/"), 404, "not-found", None)


# -- client fields -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_list_client_fields(api: APIClient) -> None:
    body = api.get("/api/v1/client-fields/?client_type=individual").json()
    assert body["count"] == 5
    assert [f["code"] for f in body["results"]] == ["full_name", "birth_date", "inn", "address", "phone"]
    assert body["results"][0] == {
        "id": body["results"][0]["id"], "client_type": "individual", "code": "full_name", "label_ru": "ФИО",
        "label_en": "Full name", "kind": "text", "required": True, "help_ru": "", "help_en": "", "choices": [],
        "position": 10, "is_active": True,
    }
    legal = api.get("/api/v1/client-fields/?client_type=legal&page_size=100").json()
    assert [f["code"] for f in legal["results"]] == [
        "full_name", "short_name", "inn", "kpp", "ogrn", "legal_address", "postal_address", "director",
        "bank_name", "bik", "settlement_account", "correspondent_account"]
    assert api.get("/api/v1/client-fields/").json()["count"] == 25


@pytest.mark.django_db
def test_create_and_patch_client_field(api: APIClient, clock: FixedClock) -> None:
    body = {"client_type": "legal", "code": "segment", "label_ru": "Сегмент", "label_en": "Segment",
            "kind": "choice", "choices": ["smb", "enterprise"], "required": True, "position": 200}
    response = api.post("/api/v1/client-fields/", body, format="json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created == {**body, "id": created["id"], "help_ru": "", "help_en": "", "is_active": True}
    response = api.patch(f"/api/v1/client-fields/{created['id']}/", {"required": False, "label_en": "Market segment"},
                         format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {**created, "required": False, "label_en": "Market segment"}
    entries = AuditEntry.objects.filter(object_type="client_field", object_id=str(created["id"])).order_by("id")
    assert [e.action for e in entries] == ["client_field.create", "client_field.update"]
    assert (entries[1].before["label_en"], entries[1].after["label_en"]) == ("Segment", "Market segment")
    # the new field is part of the legal field set now
    response = api.post("/api/v1/clients/", {**LEGAL_BODY, "fields": {**LEGAL_BODY["fields"], "segment": "b2b"}},
                        format="json")
    assert_problem(response, 400, "validation-error",
                   [{"field": "fields.segment", "detail": "Допустимые значения: smb, enterprise."}])


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "status", "code", "errors"),
    [
        ({"code": "inn", "kind": "text"}, 409, "conflict", [{"field": "code", "detail": "Уже занят для этого типа клиентов."}]),
        ({"kind": "choice", "choices": []}, 400, "validation-error",
         [{"field": "choices", "detail": "Для поля выбора нужен непустой список текстовых вариантов."}]),
        ({"kind": "colour"}, 400, "validation-error",
         [{"field": "kind", "detail": "Значения colour нет среди допустимых вариантов."}]),
        ({"client_type": "company"}, 400, "validation-error",
         [{"field": "client_type", "detail": "Значения company нет среди допустимых вариантов."}]),
        ({"label_ru": ""}, 400, "validation-error", [{"field": "label_ru", "detail": "Это поле не может быть пустым."}]),
    ],
)
def test_create_client_field_refusals(api: APIClient, body: dict[str, Any], status: int, code: str,
                                      errors: list[dict[str, str]]) -> None:
    base = {"client_type": "legal", "code": "segment", "label_ru": "Сегмент", "label_en": "Segment", "kind": "text"}
    before = counts()
    assert_problem(api.post("/api/v1/client-fields/", {**base, **body}, format="json"), status, code, errors)
    assert counts() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"code": "tax_id"}, [{"field": "code", "detail": "Этот атрибут нельзя изменить."}]),
        ({"client_type": "individual"}, [{"field": "client_type", "detail": "Этот атрибут нельзя изменить."}]),
        ({"kind": "choice"}, [{"field": "choices", "detail": "Для поля выбора нужен непустой список текстовых вариантов."}]),
    ],
)
def test_patch_client_field_refusals(api: APIClient, body: dict[str, Any], errors: list[dict[str, str]]) -> None:
    kpp = ClientFieldDefinition.objects.get(client_type="legal", code="kpp")
    before = counts()
    assert_problem(api.patch(f"/api/v1/client-fields/{kpp.pk}/", body, format="json"), 400, "validation-error", errors)
    assert counts() == before
    kpp.refresh_from_db()
    assert (kpp.code, kpp.client_type, kpp.kind) == ("kpp", "legal", "kpp")


@pytest.mark.django_db
def test_patch_client_field_with_non_numeric_id_is_404(api: APIClient) -> None:
    assert_problem(api.patch("/api/v1/client-fields/abc/", {"required": True}, format="json"), 404, "not-found", None)


@pytest.mark.django_db
def test_client_fields_need_settings_scope(api_as: Any) -> None:
    clients_only = api_as("clients:write")
    assert_problem(clients_only.get("/api/v1/client-fields/"), 403, "forbidden", None)
    reader = api_as("settings:read")
    assert reader.get("/api/v1/client-fields/").status_code == 200
    before = counts()
    response = reader.post("/api/v1/client-fields/", {"client_type": "legal", "code": "x", "label_ru": "x",
                                                      "label_en": "x", "kind": "text"}, format="json")
    assert_problem(response, 403, "forbidden", None)
    assert counts() == before
