from __future__ import annotations

import pytest
from django.test import Client as HttpClient

pytestmark = pytest.mark.django_db


def test_schema_answers_and_documents_idempotency_and_auth() -> None:
    r = HttpClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert r.status_code == 200
    schema = r.json()
    assert schema["openapi"].startswith("3.")
    post = schema["paths"]["/api/v1/clients/{client_id}/operations/"]["post"]
    assert "Idempotency-Key" in [p["name"] for p in post["parameters"]]
    get = schema["paths"]["/api/v1/clients/"]["get"]
    assert "Idempotency-Key" not in [p["name"] for p in get.get("parameters", [])]
    assert schema["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"


def test_swagger_ui_is_served_without_the_internet() -> None:
    r = HttpClient().get("/api/docs/")
    assert r.status_code == 200
    html = r.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()
    asset = HttpClient().get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200


def test_unknown_api_paths_are_problems() -> None:
    for url in ("/api/v1/nothing-here/", "/api/v2/clients/"):
        r = HttpClient().get(url)
        assert r.status_code == 404 and r["Content-Type"] == "application/problem+json"
        assert r.json()["type"] == "urn:kopeck:problem:not-found"
