"""Tests for the Django admin of clients (kopeck.clients.admin), in Russian (default) and English."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client as WebClient

from kopeck.audit.models import AuditEntry
from kopeck.clients.models import Client, ClientFieldDefinition, ClientType, Contact, Tag
from kopeck.clients.services import client_create
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.operators.models import Operator

SBER_INN = "7707083893"
ADD_URL = "/admin/clients/client/add/"
INVALID_INN_MESSAGE = "ИНН юридического лица: неверное контрольное число (ожидалось 3, указано 4)"


@pytest.fixture
def admin_client(db: Any, client: WebClient) -> WebClient:
    root = Operator.objects.create_superuser("root", "root@example.ru", "a-long-password-1")
    client.force_login(root)
    return client


def counts() -> dict[str, int]:
    return {"clients": Client.objects.count(), "contacts": Contact.objects.count(), "tags": Tag.objects.count(),
            "audit": AuditEntry.objects.count(), "field_definitions": ClientFieldDefinition.objects.count()}


def errors_of(response: Any) -> list[str]:
    """The texts of the field errors shown on an admin form page."""
    page = response.content.decode()
    return [html.unescape(re.sub(r"<[^>]+>", "", li)).strip()
            for ul in re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', page, re.S)
            for li in re.findall(r"<li>(.*?)</li>", ul, re.S)]


def legal_form(**overrides: str) -> dict[str, str]:
    data = {
        "name": "ООО «Ромашка»", "external_id": "", "status": "active", "currency": "RUB", "tag_names": "vip, hosting",
        "f__full_name": "Общество с ограниченной ответственностью «Ромашка»", "f__inn": SBER_INN,
        "f__kpp": "773601001", "f__bik": "044525225", "f__settlement_account": "40702810938000012345",
        "contacts-TOTAL_FORMS": "1", "contacts-INITIAL_FORMS": "0", "contacts-MIN_NUM_FORMS": "0",
        "contacts-MAX_NUM_FORMS": "1000",
        "contacts-0-kind": "email", "contacts-0-value": "buh@example.ru", "contacts-0-name": "Бухгалтерия",
        "contacts-0-receives_documents": "on",
    }
    data.update(overrides)
    return data


# -- pages render --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_changelist_renders(admin_client: WebClient, clock: FixedClock, actor: Actor) -> None:
    client_create(actor=actor, type=ClientType.LEGAL, name="ООО «Ромашка»",
                  fields={"full_name": "ООО «Ромашка»", "inn": SBER_INN})
    response = admin_client.get("/admin/clients/client/")
    assert response.status_code == 200
    assert "ООО «Ромашка»" in response.content.decode()


@pytest.mark.django_db
def test_changelist_search_by_inn_and_name(admin_client: WebClient, clock: FixedClock, actor: Actor) -> None:
    client_create(actor=actor, type=ClientType.LEGAL, name="ООО «Ромашка»",
                  fields={"full_name": "ООО «Ромашка»", "inn": SBER_INN})
    client_create(actor=actor, type=ClientType.INDIVIDUAL, name="Петров Пётр", fields={"full_name": "Петров Пётр"})
    for term, shown, hidden in ((SBER_INN, "ООО «Ромашка»", "Петров Пётр"), ("петров", "Петров Пётр", "ООО «Ромашка»")):
        response = admin_client.get("/admin/clients/client/", {"q": term})
        assert response.status_code == 200
        page = response.content.decode()
        assert shown in page
        assert hidden not in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("client_type", "present", "absent"),
    [
        ("legal", ["f__full_name", "f__inn", "f__kpp", "f__ogrn", "f__bik", "f__settlement_account"], ["f__ogrnip"]),
        ("sole_proprietor", ["f__full_name", "f__inn", "f__ogrnip", "f__bik"], ["f__kpp", "f__ogrn"]),
        ("individual", ["f__full_name", "f__birth_date", "f__inn", "f__phone"], ["f__kpp", "f__bik"]),
    ],
)
def test_add_page_renders_the_field_set_of_the_type(admin_client: WebClient, client_type: str, present: list[str],
                                                    absent: list[str]) -> None:
    response = admin_client.get(ADD_URL, {"type": client_type})
    assert response.status_code == 200
    page = response.content.decode()
    for name in present:
        assert f'name="{name}"' in page
    for name in absent:
        assert f'name="{name}"' not in page


@pytest.mark.django_db
def test_add_page_labels_follow_the_language(admin_client: WebClient) -> None:
    ru = admin_client.get(ADD_URL, {"type": "legal"}).content.decode()
    assert "Полное наименование" in ru
    en = admin_client.get("/en" + ADD_URL, {"type": "legal"}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Full legal name" in en
    assert "Полное наименование" not in en


@pytest.mark.django_db
def test_change_page_renders(admin_client: WebClient, clock: FixedClock, actor: Actor) -> None:
    client = client_create(actor=actor, type=ClientType.SOLE_PROPRIETOR, name="ИП Иванов",
                           fields={"full_name": "Иванов Иван Иванович", "inn": "500100732259"})
    response = admin_client.get(f"/admin/clients/client/{client.pk}/change/")
    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="f__ogrnip"' in page
    assert 'value="500100732259"' in page


@pytest.mark.django_db
def test_field_definition_changelist_renders(admin_client: WebClient) -> None:
    response = admin_client.get("/admin/clients/clientfielddefinition/", {"client_type__exact": "legal"})
    assert response.status_code == 200
    assert "settlement_account" in response.content.decode()


# -- the add form --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_add_form_creates_the_client_through_the_service(admin_client: WebClient, clock: FixedClock) -> None:
    response = admin_client.post(f"{ADD_URL}?type=legal", legal_form())
    assert response.status_code == 302, errors_of(response)
    client = Client.objects.get()
    assert (client.type, client.name, client.currency, client.status) == ("legal", "ООО «Ромашка»", "RUB", "active")
    assert client.fields == {"full_name": "Общество с ограниченной ответственностью «Ромашка»", "inn": SBER_INN,
                             "kpp": "773601001", "bik": "044525225", "settlement_account": "40702810938000012345"}
    assert sorted(t.name for t in client.tags.all()) == ["hosting", "vip"]
    assert [(c.kind, c.value, c.name) for c in client.contacts.all()] == [("email", "buh@example.ru", "Бухгалтерия")]
    entries = AuditEntry.objects.filter(object_type="client", object_id=str(client.pk))
    assert entries.filter(action="client.create").exists()
    assert {(e.actor_kind, e.actor_label) for e in entries} == {("operator", "root")}


@pytest.mark.django_db
def test_change_form_updates_the_client_through_the_service(admin_client: WebClient, clock: FixedClock,
                                                            actor: Actor) -> None:
    client = client_create(actor=actor, type=ClientType.LEGAL, name="ООО «Ромашка»",
                           fields={"full_name": "ООО «Ромашка»", "inn": SBER_INN})
    data = legal_form(name="ООО «Ромашка-2»", **{"contacts-TOTAL_FORMS": "0"})
    response = admin_client.post(f"/admin/clients/client/{client.pk}/change/", data)
    assert response.status_code == 302, errors_of(response)
    client.refresh_from_db()
    assert client.name == "ООО «Ромашка-2»"
    assert AuditEntry.objects.filter(object_id=str(client.pk), action="client.update").exists()


@pytest.mark.django_db
def test_add_form_with_an_invalid_inn_is_shown_again_and_creates_nothing(admin_client: WebClient,
                                                                         clock: FixedClock) -> None:
    before = counts()
    response = admin_client.post(f"{ADD_URL}?type=legal", legal_form(f__inn="7707083894"))
    assert response.status_code == 200
    assert errors_of(response) == [INVALID_INN_MESSAGE]
    assert 'name="f__inn"' in response.content.decode()
    assert counts() == before


@pytest.mark.django_db
def test_add_form_errors_in_english(admin_client: WebClient, clock: FixedClock) -> None:
    before = counts()
    response = admin_client.post(f"/en{ADD_URL}?type=legal", legal_form(f__inn="0000000000"),
                                 HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert errors_of(response) == ["INN of a legal entity cannot consist of zeros only"]
    assert counts() == before


@pytest.mark.django_db
def test_add_form_missing_required_requisite(admin_client: WebClient, clock: FixedClock) -> None:
    before = counts()
    response = admin_client.post(f"{ADD_URL}?type=legal", legal_form(f__inn="", f__full_name=""))
    assert response.status_code == 200
    assert errors_of(response)
    assert counts() == before


@pytest.mark.django_db
def test_add_form_with_an_account_that_does_not_match_the_bik(admin_client: WebClient, clock: FixedClock) -> None:
    before = counts()
    response = admin_client.post(f"{ADD_URL}?type=legal",
                                 legal_form(f__settlement_account="40702810938000012346"))
    assert response.status_code == 200
    assert errors_of(response) == [
        "Расчётный счёт 40702810938000012346 не соответствует БИК 044525225: неверный контрольный ключ"]
    assert counts() == before


@pytest.mark.django_db
def test_add_form_with_an_unknown_currency_is_shown_again(admin_client: WebClient, clock: FixedClock) -> None:
    before = counts()
    response = admin_client.post(f"{ADD_URL}?type=legal", legal_form(currency="XYZ"))
    assert response.status_code == 200
    assert errors_of(response) == ["unknown currency 'XYZ'"]
    assert counts() == before


@pytest.mark.django_db
def test_field_definition_add_form_choice_without_choices_is_shown_again(admin_client: WebClient) -> None:
    before = counts()
    response = admin_client.post("/admin/clients/clientfielddefinition/add/", {
        "client_type": "legal", "code": "segment", "label_ru": "Сегмент", "label_en": "Segment", "kind": "choice",
        "help_ru": "", "help_en": "", "choices": "[]", "position": "5", "is_active": "on"})
    assert response.status_code == 200
    assert errors_of(response) == ["Для поля выбора нужен непустой список текстовых вариантов."]
    assert counts() == before


# -- languages -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_admin_index_is_russian_by_default(admin_client: WebClient) -> None:
    response = admin_client.get("/admin/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="ru"' in page
    assert "Сводка" in page  # the dashboard's title in Russian


@pytest.mark.django_db
def test_admin_index_shows_the_project_strings_in_russian(admin_client: WebClient) -> None:
    page = admin_client.get("/admin/").content.decode()
    assert "Клиенты" in page


@pytest.mark.django_db
def test_admin_index_in_english(admin_client: WebClient) -> None:
    response = admin_client.get("/en/admin/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="en"' in page
    assert "Dashboard" in page
    assert "Clients" in page
    assert "Клиенты" not in page


@pytest.mark.django_db
def test_english_changelist(admin_client: WebClient, clock: FixedClock, actor: Actor) -> None:
    client_create(actor=actor, type=ClientType.LEGAL, name="ООО «Ромашка»",
                  fields={"full_name": "ООО «Ромашка»", "inn": SBER_INN})
    response = admin_client.get("/en/admin/clients/client/", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert "ООО «Ромашка»" in response.content.decode()
