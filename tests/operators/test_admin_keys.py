"""API keys in the back office: scopes chosen per area, with presets; shown by name."""

from __future__ import annotations

import pytest
from django.test import Client as WebClient

from kopeck.operators.admin import scopes_from_areas, scopes_text
from kopeck.operators.models import ApiKey
from kopeck.operators.roles import Area

pytestmark = pytest.mark.django_db
ADD = "/admin/operators/apikey/add/"
AREAS = [a.value for a in Area]


def _form(**values: str) -> dict[str, str]:
    return {"name": "1C", "expires_at": "", "preset": "", **{f"area_{a}": "" for a in AREAS}, **values}


def test_a_preset_gives_its_scopes(admin_client: WebClient) -> None:
    response = admin_client.post(ADD, _form(preset="billing"))
    assert response.status_code == 302
    key = ApiKey.objects.get()
    assert sorted(key.scopes) == ["audit:read", "billing:write", "catalog:read", "clients:write", "documents:write",
                                  "ledger:write", "settings:read", "subscriptions:write", "usage:read"]


def test_areas_chosen_one_by_one(admin_client: WebClient) -> None:
    assert admin_client.post(ADD, _form(area_clients="write", area_documents="read")).status_code == 302
    assert ApiKey.objects.get().scopes == ["clients:write", "documents:read"]


def test_read_only_preset_is_the_star_scope(admin_client: WebClient) -> None:
    assert admin_client.post(ADD, _form(preset="read_only")).status_code == 302
    assert ApiKey.objects.get().scopes == ["*:read"]


def test_no_access_at_all_is_refused_and_nothing_is_written(admin_client: WebClient) -> None:
    response = admin_client.post(ADD, _form())
    assert response.status_code == 200
    assert "Дайте ключу доступ хотя бы к одному разделу" in response.content.decode()
    assert not ApiKey.objects.exists()


def test_the_add_page_groups_areas_with_presets(admin_client: WebClient) -> None:
    page = admin_client.get(ADD).content.decode()
    for text in ("Только чтение: все разделы", "Оператор биллинга", "Интеграция", "нет доступа", "чтение и запись"):
        assert text in page
    assert 'id="id_area_billing"' in page


def test_scopes_are_shown_by_name() -> None:
    from django.utils import translation

    with translation.override("ru"):
        assert scopes_text(["clients:write", "billing:read"]) == "Клиенты: чтение и запись; Биллинг: чтение"
        assert scopes_text(["*:read"]) == "Все разделы: чтение"
    assert scopes_from_areas({a: "write" for a in AREAS}) == ["*:write"]
