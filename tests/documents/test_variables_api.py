"""Variables get an API (they are used by documents, rules and notifications)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from kopeck.documents.models import Variable

pytestmark = pytest.mark.django_db


def test_variables_crud_and_the_effective_values(api: APIClient) -> None:
    created = api.post("/api/v1/variables/", {"code": "support_phone", "value": "+7 495 123-45-67",
                                              "description": "Телефон поддержки"}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["code"], body["value"], body["legal_entity"]) == ("support_phone", "+7 495 123-45-67", None)
    assert [v["code"] for v in api.get("/api/v1/variables/").json()["results"]] == ["support_phone"]
    changed = api.patch(f"/api/v1/variables/{body['id']}/", {"value": "8 800 000-00-00"}, format="json")
    assert changed.json()["value"] == "8 800 000-00-00"
    assert api.get("/api/v1/variables/effective/").json() == {"support_phone": "8 800 000-00-00"}
    assert api.delete(f"/api/v1/variables/{body['id']}/").status_code == 204
    assert Variable.objects.count() == 0


@pytest.mark.parametrize(("payload", "field"), [
    ({"code": "1abc", "value": "x"}, "code"),
    ({"code": "entity_inn", "value": "x"}, "code"),
    ({"code": "ok", "value": "x", "legal_entity": 999}, "legal_entity"),
])
def test_a_bad_variable_is_refused(api: APIClient, payload: dict[str, object], field: str) -> None:
    response = api.post("/api/v1/variables/", payload, format="json")
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert Variable.objects.count() == 0
