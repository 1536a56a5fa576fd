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


DOMAINS = {"clients", "subscriptions", "usage", "billing", "documents", "ledger", "catalog", "settings", "operators",
           "events", "audit"}


def schema() -> dict:  # type: ignore[type-arg]
    return HttpClient().get("/api/schema/", HTTP_ACCEPT="application/json", HTTP_ACCEPT_LANGUAGE="ru").json()


def operations() -> list[tuple[str, str, dict]]:  # type: ignore[type-arg]
    return [(method.upper(), path, op) for path, ops in schema()["paths"].items() for method, op in ops.items()]


def test_every_operation_has_a_domain_tag_a_summary_and_its_problems() -> None:
    """Issue 13: a tag per domain, a summary on every operation; issue 12 finding 11: 4xx documented."""
    ops = operations()
    assert len(ops) >= 85
    tags = {t["name"] for t in schema()["tags"]}
    assert tags == DOMAINS
    for method, path, op in ops:
        assert len(op["tags"]) == 1 and op["tags"][0] in DOMAINS, (method, path)
        summary = op.get("summary", "")
        assert summary and not summary.startswith(("GET ", "POST ", "PATCH ")), (method, path)
        # English (Russian terms such as УПД may appear), whatever the caller's language
        assert summary.split()[0].isascii(), (method, path, summary)
        for status in ("400", "401", "403", "404", "429"):
            assert "application/problem+json" in op["responses"][status]["content"], (method, path, status)
        if method in ("POST", "PATCH"):
            for status in ("409", "413", "415", "422"):
                assert status in op["responses"], (method, path, status)


def test_the_schema_tells_the_truth_about_lists_and_nulls() -> None:
    s = schema()
    components = s["components"]["schemas"]

    def body(path: str, method: str, status: str) -> dict:  # type: ignore[type-arg]
        ref = s["paths"][path][method]["responses"][status]["content"]["application/json"]["schema"]
        return components[ref["$ref"].rsplit("/", 1)[1]] if "$ref" in ref else ref

    assert "results" in body("/api/v1/clients/{client_id}/operations/", "get", "200")["properties"]
    assert body("/api/v1/subscriptions/{id}/scheduled-changes/", "get", "200")["type"] == "array"
    assert body("/api/v1/documents/monthly-acts/", "post", "201")["type"] == "array"
    assert components["HistoryVersion"]["properties"]["effective_until"]["nullable"] is True
    cancel = s["paths"]["/api/v1/subscriptions/{id}/cancel/"]["post"]["requestBody"]["content"]["application/json"]
    assert cancel["schema"]["$ref"].endswith("/SubscriptionCancelRequest")
    assert "at_period_end" in components["SubscriptionCancelRequest"]["properties"]
    assert "reason" in components["DocumentCancelRequest"]["properties"]


def test_docs_api_lists_every_operation() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "api.md").read_text()
    missing = [f"{method} {path}" for method, path, _op in operations()
               if f"`{method} {path.removeprefix('/api/v1')}`" not in doc]
    assert missing == []
