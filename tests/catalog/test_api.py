"""Tests of the catalog REST API (kopeck.catalog.api): /api/v1/products/, /api/v1/plans/,
/api/v1/plans/{id}/versions/, /api/v1/plan-versions/{id}/ and its publish action."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.audit.models import AuditEntry
from kopeck.catalog import services
from kopeck.catalog.models import Plan, PlanVersion, Product
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.core.pricing.plan import PlanSpec
from tests.catalog.catalog_helpers import BAD_SPECS, hosting_spec, make_plan, make_product, snapshot

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"
NOW = "2026-11-25T12:00:00+03:00"  # the clock fixture's instant, shown in Moscow time


def assert_problem(response: Any, status: int, code: str) -> list[dict[str, str]]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = json.loads(response.content)
    assert body["type"] == f"urn:kopeck:problem:{code}"
    assert body["status"] == status
    assert body["instance"] == response.wsgi_request.get_full_path()
    return list(body.get("errors", []))


def refused_call(call: Callable[[], Any], status: int, code: str) -> list[dict[str, str]]:
    before = snapshot()
    errors = assert_problem(call(), status, code)
    assert snapshot() == before
    return errors


def draft(actor: Actor, plan: Plan, **kwargs: Any) -> PlanVersion:
    return services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec(plan.code, **kwargs))


# -- products ------------------------------------------------------------------------------------


def test_create_product(api: APIClient, clock: FixedClock) -> None:
    body = {"code": "vps", "name_ru": "Виртуальный сервер", "name_en": "Virtual server",
            "description": "Аренда виртуального сервера", "vat_rate": "22", "unit": "мес"}
    response = api.post("/api/v1/products/", body, format="json")
    assert response.status_code == 201, response.content
    product = Product.objects.get()
    assert response.json() == {"id": product.pk, **body, "is_active": True, "created_at": NOW, "updated_at": NOW}
    entry = AuditEntry.objects.get(object_type="product")
    assert (entry.action, entry.actor_kind) == ("product.create", "api_key")


def test_product_defaults(api: APIClient, clock: FixedClock) -> None:
    response = api.post("/api/v1/products/", {"code": "domain", "name_ru": "Домен"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["vat_rate"], body["unit"], body["name_en"], body["is_active"]) == ("", "шт", "", True)


def test_product_list_filters_retrieve_and_patch(api: APIClient, clock: FixedClock, actor: Actor) -> None:
    vps = make_product(actor, "vps", vat_rate="22")
    make_product(actor, "domains", name_ru="Домены", name_en="Domains")
    make_product(actor, "old", is_active=False, vat_rate="exempt")

    def codes(**params: str) -> list[str]:
        response = api.get("/api/v1/products/", params)
        assert response.status_code == 200, response.content
        return [p["code"] for p in response.json()["results"]]

    assert codes() == ["domains", "old", "vps"]
    assert codes(is_active="true") == ["domains", "vps"]
    assert codes(is_active="false") == ["old"]
    assert codes(vat_rate="default") == ["domains"]
    assert codes(vat_rate="exempt") == ["old"]
    assert codes(search="omain") == ["domains"]
    assert_problem(api.get("/api/v1/products/", {"is_active": "maybe"}), 400, "validation-error")
    assert_problem(api.get("/api/v1/products/", {"vat_rate": "18"}), 400, "validation-error")

    response = api.get(f"/api/v1/products/{vps.pk}/")
    assert response.status_code == 200
    assert response.json()["code"] == "vps"
    response = api.patch(f"/api/v1/products/{vps.pk}/", {"vat_rate": "", "name_en": "VPS"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["vat_rate"], response.json()["name_en"]) == ("", "VPS")
    assert AuditEntry.objects.filter(action="product.update").count() == 1


def test_product_refusals(api: APIClient, clock: FixedClock, actor: Actor) -> None:
    vps = make_product(actor, "vps")
    errors = refused_call(lambda: api.post("/api/v1/products/", {"code": "vps", "name_ru": "Другой"}, format="json"),
                          409, "conflict")
    assert errors == [{"field": "code", "detail": "Уже занят другой услугой."}]
    errors = refused_call(lambda: api.post("/api/v1/products/", {"code": "vps 2", "name_ru": "", "vat_rate": "20"},
                                           format="json"), 400, "validation-error")
    assert {e["field"] for e in errors} == {"code", "name_ru", "vat_rate"}
    errors = refused_call(lambda: api.patch(f"/api/v1/products/{vps.pk}/", {"code": "vds"}, format="json"),
                          400, "validation-error")
    assert errors == [{"field": "code", "detail": "Это поле нельзя изменить."}]
    refused_call(lambda: api.get("/api/v1/products/999/"), 404, "not-found")


# -- plans ---------------------------------------------------------------------------------------


def test_create_plan(api: APIClient, clock: FixedClock, actor: Actor) -> None:
    product = make_product(actor)
    response = api.post("/api/v1/plans/", {"product": product.pk, "code": "vps-pro", "name_ru": "VPS Про",
                                           "name_en": "VPS Pro"}, format="json")
    assert response.status_code == 201, response.content
    plan = Plan.objects.get()
    assert response.json() == {"id": plan.pk, "product": product.pk, "product_code": "vps", "code": "vps-pro",
                               "name_ru": "VPS Про", "name_en": "VPS Pro", "is_active": True, "created_at": NOW,
                               "version_in_force": None, "versions": []}


def test_plan_refusals(api: APIClient, clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    product = plan.product
    inactive = make_product(actor, "old", is_active=False)
    errors = refused_call(lambda: api.post("/api/v1/plans/", {"product": product.pk, "code": "vps-pro",
                                                              "name_ru": "Дубль"}, format="json"), 409, "conflict")
    assert errors == [{"field": "code", "detail": "Уже занят другим тарифом."}]
    errors = refused_call(lambda: api.post("/api/v1/plans/", {"product": inactive.pk, "code": "old-1",
                                                              "name_ru": "Старый"}, format="json"),
                          400, "validation-error")
    assert [e["field"] for e in errors] == ["product"]
    errors = refused_call(lambda: api.post("/api/v1/plans/", {"product": 999, "code": "x", "name_ru": "X"},
                                           format="json"), 400, "validation-error")
    assert [e["field"] for e in errors] == ["product"]
    errors = refused_call(lambda: api.patch(f"/api/v1/plans/{plan.pk}/", {"product": inactive.pk, "code": "y"},
                                            format="json"), 400, "validation-error")
    assert {e["field"] for e in errors} == {"product", "code"}


def test_plan_list_filters_and_patch(api: APIClient, clock: FixedClock, actor: Actor) -> None:
    vps, domains = make_product(actor, "vps"), make_product(actor, "domains")
    pro = make_plan(actor, "vps-pro", vps)
    make_plan(actor, "vps-old", vps, is_active=False)
    make_plan(actor, "ru-domain", domains)

    def codes(**params: Any) -> list[str]:
        response = api.get("/api/v1/plans/", params)
        assert response.status_code == 200, response.content
        return [p["code"] for p in response.json()["results"]]

    assert codes() == ["ru-domain", "vps-old", "vps-pro"]
    assert codes(product=vps.pk) == ["vps-old", "vps-pro"]
    assert codes(product_code="domains") == ["ru-domain"]
    assert codes(product=vps.pk, is_active="true") == ["vps-pro"]
    assert_problem(api.get("/api/v1/plans/", {"product": "vps"}), 400, "validation-error")

    response = api.patch(f"/api/v1/plans/{pro.pk}/", {"name_ru": "VPS Профи", "is_active": False}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["name_ru"], response.json()["is_active"]) == ("VPS Профи", False)
    assert "versions" in response.json()


def test_plan_shows_its_versions_and_the_version_in_force(api: APIClient, clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    v1 = services.plan_version_publish(actor=actor, version=draft(actor, plan), effective_from=clock.now().date())
    import datetime as dt

    v2 = services.plan_version_publish(actor=actor, version=draft(actor, plan, base_rub="1690.00"),
                                       effective_from=dt.date(2027, 1, 1), existing_subscribers="new_subscribers_only")
    v3 = draft(actor, plan)
    body = api.get(f"/api/v1/plans/{plan.pk}/").json()
    assert body["version_in_force"]["id"] == v1.pk
    assert body["version_in_force"]["spec"] == v1.spec
    summary = {k: v for k, v in body["versions"][1].items()}
    assert summary == {"id": v2.pk, "number": 2, "status": "published", "effective_from": "2027-01-01",
                       "existing_subscribers": "new_subscribers_only", "created_at": NOW, "created_by": "tests",
                       "published_at": NOW, "published_by": "tests", "effective_until": None}
    assert [(v["number"], v["status"], v["effective_until"]) for v in body["versions"]] == [
        (3, "draft", None), (2, "published", None), (1, "published", "2027-01-01")]
    assert body["versions"][0]["id"] == v3.pk
    assert body["versions"][0]["existing_subscribers"] is None

    listed = api.get("/api/v1/plans/").json()["results"][0]
    assert listed["version_in_force"]["number"] == 1
    assert "spec" not in listed["version_in_force"]
    clock.advance(dt.timedelta(days=37))  # 2027-01-01 in Moscow
    assert api.get(f"/api/v1/plans/{plan.pk}/").json()["version_in_force"]["number"] == 2


# -- versions ------------------------------------------------------------------------------------


def test_create_list_patch_and_publish_a_version(api: APIClient, clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    response = api.post(f"/api/v1/plans/{plan.pk}/versions/", {"spec": hosting_spec()}, format="json")
    assert response.status_code == 201, response.content
    version = PlanVersion.objects.get()
    canonical = PlanSpec.from_dict(hosting_spec()).to_dict()
    assert response.json() == {
        "id": version.pk, "plan": plan.pk, "plan_code": "vps-pro", "number": 1, "status": "draft", "spec": canonical,
        "effective_from": None, "existing_subscribers": None, "created_at": NOW, "created_by": version.created_by,
        "published_at": None, "published_by": ""}
    assert version.created_by.startswith("test (")

    response = api.patch(f"/api/v1/plan-versions/{version.pk}/", {"spec": hosting_spec(base_rub="1590.00")},
                         format="json")
    assert response.status_code == 200, response.content
    assert response.json()["spec"]["components"][0]["prices"]["RUB"]["unit_price"] == "1590.00"

    response = api.post(f"/api/v1/plan-versions/{version.pk}/publish/", {"effective_from": "2026-12-01"},
                        format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["status"], body["effective_from"], body["existing_subscribers"], body["published_at"]) == (
        "published", "2026-12-01", "next_period", NOW)

    response = api.post(f"/api/v1/plans/{plan.pk}/versions/", {}, format="json")  # a copy of the latest
    assert response.status_code == 201, response.content
    assert (response.json()["number"], response.json()["spec"]) == (2, body["spec"])
    response = api.post(f"/api/v1/plans/{plan.pk}/versions/", {"copy_from": 1}, format="json")
    assert response.status_code == 201, response.content

    response = api.get(f"/api/v1/plans/{plan.pk}/versions/")
    assert response.status_code == 200
    assert response.json()["count"] == 3
    assert [v["number"] for v in response.json()["results"]] == [3, 2, 1]
    assert api.get(f"/api/v1/plan-versions/{version.pk}/").json()["status"] == "published"


@pytest.mark.parametrize(("breaker", "field", "message"), BAD_SPECS)
def test_bad_spec_is_a_problem_naming_the_field(api: APIClient, clock: FixedClock, actor: Actor,
                                                breaker: Callable[[dict[str, Any]], None], field: str,
                                                message: str) -> None:
    plan = make_plan(actor)
    spec = hosting_spec()
    breaker(spec)
    errors = refused_call(lambda: api.post(f"/api/v1/plans/{plan.pk}/versions/", {"spec": spec}, format="json",
                                           HTTP_ACCEPT_LANGUAGE="en"), 400, "validation-error")
    assert [e["field"] for e in errors] == [field]
    assert message in errors[0]["detail"]
    version = draft(actor, plan)
    errors = refused_call(lambda: api.patch(f"/api/v1/plan-versions/{version.pk}/", {"spec": spec}, format="json"),
                          400, "validation-error")
    assert [e["field"] for e in errors] == [field]


def test_tier_gap_problem_in_full(api: APIClient, clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    spec = hosting_spec()
    spec["components"][2]["prices"]["RUB"]["tiers"][1]["from"] = "101"
    response = api.post(f"/api/v1/plans/{plan.pk}/versions/", {"spec": spec}, format="json",
                        HTTP_ACCEPT_LANGUAGE="en")
    assert json.loads(response.content)["errors"] == [{
        "field": "spec.components[2].prices.RUB.tiers[1].from",
        "detail": "gap: this tier starts at 101 but tiers[0].up_to is 100; tiers are [from, up_to), so it must "
                  "start at 100"}]


@pytest.mark.parametrize(("spec", "field"), [
    ({**hosting_spec(), "tax": "22"}, "spec.tax"),
    ({**hosting_spec(), "setup_fee": {"RUB": 1000.0}}, "spec.setup_fee.RUB"),
    ("not an object", "spec"),
    (None, "spec"),
])
def test_malformed_specs(api: APIClient, clock: FixedClock, actor: Actor, spec: Any, field: str) -> None:
    plan = make_plan(actor)
    errors = refused_call(lambda: api.post(f"/api/v1/plans/{plan.pk}/versions/", {"spec": spec}, format="json"),
                          400, "validation-error")
    assert [e["field"] for e in errors] == [field]


def test_version_refusals(api: APIClient, clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    errors = refused_call(lambda: api.post(f"/api/v1/plans/{plan.pk}/versions/", {}, format="json"),
                          400, "validation-error")
    assert [e["field"] for e in errors] == ["spec"]
    version = draft(actor, plan)
    errors = refused_call(lambda: api.patch(f"/api/v1/plan-versions/{version.pk}/",
                                            {"spec": hosting_spec(), "status": "published"}, format="json"),
                          400, "validation-error")
    assert errors == [{"field": "status", "detail": "Это поле нельзя изменить."}]
    errors = refused_call(lambda: api.post(f"/api/v1/plan-versions/{version.pk}/publish/",
                                           {"effective_from": "2026-11-24"}, format="json"), 400, "validation-error")
    assert [e["field"] for e in errors] == ["effective_from"]
    errors = refused_call(lambda: api.post(f"/api/v1/plan-versions/{version.pk}/publish/",
                                           {"effective_from": "1 December"}, format="json"), 400, "validation-error")
    assert [e["field"] for e in errors] == ["effective_from"]
    errors = refused_call(lambda: api.post(f"/api/v1/plan-versions/{version.pk}/publish/",
                                           {"effective_from": "2026-12-01", "existing_subscribers": "sometimes"},
                                           format="json"), 400, "validation-error")
    assert [e["field"] for e in errors] == ["existing_subscribers"]

    services.plan_version_publish(actor=actor, version=version, effective_from=clock.now().date())
    refused_call(lambda: api.patch(f"/api/v1/plan-versions/{version.pk}/", {"spec": hosting_spec(base_rub="1.00")},
                                   format="json"), 409, "conflict")
    refused_call(lambda: api.post(f"/api/v1/plan-versions/{version.pk}/publish/",
                                  {"effective_from": "2027-01-01", "existing_subscribers": "next_period"},
                                  format="json"), 409, "conflict")
    second = draft(actor, plan)
    errors = refused_call(lambda: api.post(f"/api/v1/plan-versions/{second.pk}/publish/",
                                           {"effective_from": "2027-01-01"}, format="json"), 400, "validation-error")
    assert [e["field"] for e in errors] == ["existing_subscribers"]
    refused_call(lambda: api.post("/api/v1/plan-versions/999/publish/", {"effective_from": "2027-01-01"},
                                  format="json"), 404, "not-found")
    refused_call(lambda: api.post("/api/v1/plans/999/versions/", {"spec": hosting_spec()}, format="json"),
                 404, "not-found")


def test_publish_is_idempotent_with_a_key(api: APIClient, clock: FixedClock, actor: Actor) -> None:
    plan = make_plan(actor)
    version = draft(actor, plan)
    url, body = f"/api/v1/plan-versions/{version.pk}/publish/", {"effective_from": "2026-12-01"}
    first = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="publish-1")
    again = api.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="publish-1")
    assert first.status_code == again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert AuditEntry.objects.filter(action="plan_version.publish").count() == 1


# -- permissions ---------------------------------------------------------------------------------


def test_a_read_key_reads_but_cannot_write(api_as: Callable[..., APIClient], clock: FixedClock,
                                           actor: Actor) -> None:
    plan = make_plan(actor)
    version = draft(actor, plan)
    reader = api_as("catalog:read")
    for url in ("/api/v1/products/", "/api/v1/plans/", f"/api/v1/plans/{plan.pk}/", f"/api/v1/plans/{plan.pk}/versions/",
                f"/api/v1/plan-versions/{version.pk}/"):
        assert reader.get(url).status_code == 200, url
    writes = [
        lambda: reader.post("/api/v1/products/", {"code": "x", "name_ru": "X"}, format="json"),
        lambda: reader.patch(f"/api/v1/products/{plan.product.pk}/", {"name_ru": "X"}, format="json"),
        lambda: reader.post("/api/v1/plans/", {"product": plan.product.pk, "code": "x", "name_ru": "X"},
                            format="json"),
        lambda: reader.patch(f"/api/v1/plans/{plan.pk}/", {"name_ru": "X"}, format="json"),
        lambda: reader.post(f"/api/v1/plans/{plan.pk}/versions/", {"spec": hosting_spec()}, format="json"),
        lambda: reader.patch(f"/api/v1/plan-versions/{version.pk}/", {"spec": hosting_spec()}, format="json"),
        lambda: reader.post(f"/api/v1/plan-versions/{version.pk}/publish/", {"effective_from": "2026-12-01"},
                            format="json"),
    ]
    for write in writes:
        refused_call(write, 403, "forbidden")


def test_other_areas_cannot_read_the_catalog(api_as: Callable[..., APIClient], clock: FixedClock) -> None:
    assert_problem(api_as("clients:write").get("/api/v1/products/"), 403, "forbidden")
    assert api_as("catalog:write").get("/api/v1/products/").status_code == 200


def test_roles(operator_as: Callable[[str], APIClient], clock: FixedClock, actor: Actor) -> None:
    product = make_product(actor)
    accountant = operator_as("accountant")  # catalog: read
    assert accountant.get("/api/v1/products/").status_code == 200
    assert_problem(accountant.patch(f"/api/v1/products/{product.pk}/", {"name_ru": "X"}, format="json"),
                   403, "forbidden")
    manager = operator_as("manager")  # catalog: write
    response = manager.patch(f"/api/v1/products/{product.pk}/", {"name_ru": "VPS"}, format="json")
    assert response.status_code == 200, response.content
    entry = AuditEntry.objects.get(action="product.update")
    assert (entry.actor_kind, entry.actor_label) == ("operator", "op-manager")


def test_schema_documents_the_catalog() -> None:
    from django.test import Client as HttpClient

    schema = HttpClient().get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    for p in ("/api/v1/products/", "/api/v1/products/{id}/", "/api/v1/plans/", "/api/v1/plans/{id}/",
              "/api/v1/plans/{id}/versions/", "/api/v1/plan-versions/{id}/", "/api/v1/plan-versions/{id}/publish/"):
        assert p in paths, p
    create = paths["/api/v1/plans/{id}/versions/"]["post"]
    example = create["requestBody"]["content"]["application/json"]["examples"]
    spec = next(iter(example.values()))["value"]["spec"]
    assert [c["kind"] for c in spec["components"]] == ["fixed", "per_unit", "metered"]
    assert spec["components"][2]["prices"]["RUB"]["model"] == "graduated"
    PlanSpec.from_dict(spec)  # the documented example is a valid plan
    assert "Idempotency-Key" in [p["name"] for p in paths["/api/v1/plan-versions/{id}/publish/"]["post"]["parameters"]]
