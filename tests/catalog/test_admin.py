"""Tests of the catalog admin (kopeck.catalog.admin): pages render, writes go through the services,
published versions are read-only, and a draft is published from its page."""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from typing import Any

import pytest
from django.test import Client as WebClient

from kopeck.audit.models import AuditEntry
from kopeck.catalog import services
from kopeck.catalog.models import Plan, PlanVersion, Product, VersionStatus
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.operators.models import Operator
from tests.catalog.catalog_helpers import hosting_spec, make_plan, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db: Any, client: WebClient) -> WebClient:
    root = Operator.objects.create_superuser("root", "root@example.ru", "a-long-password-1")
    client.force_login(root)
    return client


def page(response: Any) -> str:
    return html.unescape(response.content.decode())


def errors_of(response: Any) -> list[str]:
    text = response.content.decode()
    return [html.unescape(re.sub(r"<[^>]+>", "", li)).strip()
            for ul in re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', text, re.S)
            for li in re.findall(r"<li>(.*?)</li>", ul, re.S)]


@pytest.fixture
def catalog(clock: FixedClock, actor: Actor) -> dict[str, Any]:
    plan = make_plan(actor)
    published = services.plan_version_publish(
        actor=actor, version=services.plan_version_create(actor=actor, plan=plan, spec=hosting_spec()),
        effective_from=dt.date(2026, 11, 25))
    draft = services.plan_version_create(actor=actor, plan=plan)
    return {"product": plan.product, "plan": plan, "published": published, "draft": draft}


@pytest.mark.parametrize("url", [
    "/admin/catalog/", "/admin/catalog/product/", "/admin/catalog/product/add/", "/admin/catalog/plan/",
    "/admin/catalog/plan/add/", "/admin/catalog/planversion/", "/admin/catalog/planversion/add/",
    "/admin/catalog/planversion/?status__exact=draft", "/admin/catalog/planversion/add/?plan=1",
])
def test_pages_render(admin_client: WebClient, catalog: dict[str, Any], url: str) -> None:
    response = admin_client.get(url)
    assert response.status_code == 200, url


def test_change_pages_render(admin_client: WebClient, catalog: dict[str, Any]) -> None:
    for obj in ("product", "plan", "published", "draft"):
        model = "planversion" if obj in ("published", "draft") else obj
        response = admin_client.get(f"/admin/catalog/{model}/{catalog[obj].pk}/change/")
        assert response.status_code == 200, obj


def test_english_labels(admin_client: WebClient, catalog: dict[str, Any]) -> None:
    text = page(admin_client.get(f"/en/admin/catalog/plan/{catalog['plan'].pk}/change/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Price history" in text
    assert "Version 1" in text
    text = page(admin_client.get("/en/admin/catalog/planversion/", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Plan versions" in text


def test_russian_labels(admin_client: WebClient, catalog: dict[str, Any]) -> None:
    text = page(admin_client.get("/admin/catalog/planversion/"))
    assert "Версии тарифов" in text or "версии тарифов" in text.lower()
    text = page(admin_client.get(f"/admin/catalog/plan/{catalog['plan'].pk}/change/"))
    assert "История цен" in text


def test_add_product_goes_through_the_service(admin_client: WebClient, clock: FixedClock) -> None:
    response = admin_client.post("/admin/catalog/product/add/", {
        "code": "vps", "name_ru": "Виртуальный сервер", "name_en": "VPS", "description": "", "vat_rate": "22",
        "unit": "мес", "is_active": "on"})
    assert response.status_code == 302, errors_of(response)
    product = Product.objects.get()
    assert (product.code, product.vat_rate, product.created_at) == ("vps", "22", clock.now())
    entry = AuditEntry.objects.get(action="product.create")
    assert (entry.actor_kind, entry.actor_label) == ("operator", "root")


def test_add_product_refusals_show_errors(admin_client: WebClient, catalog: dict[str, Any]) -> None:
    before = snapshot()
    response = admin_client.post("/admin/catalog/product/add/", {
        "code": "vps", "name_ru": "  ", "vat_rate": "22", "unit": "мес"})
    assert response.status_code == 200
    assert errors_of(response)
    assert snapshot() == before


def test_change_product(admin_client: WebClient, catalog: dict[str, Any]) -> None:
    product = catalog["product"]
    response = admin_client.post(f"/admin/catalog/product/{product.pk}/change/", {
        "name_ru": "VPS-сервер", "name_en": "VPS", "description": "", "vat_rate": "exempt", "unit": "мес"})
    assert response.status_code == 302, errors_of(response)
    product.refresh_from_db()
    assert (product.name_ru, product.vat_rate, product.is_active) == ("VPS-сервер", "exempt", False)
    assert AuditEntry.objects.filter(action="product.update").count() == 1


def test_add_plan_and_change_it(admin_client: WebClient, catalog: dict[str, Any]) -> None:
    response = admin_client.post("/admin/catalog/plan/add/", {
        "product": catalog["product"].pk, "code": "vps-max", "name_ru": "VPS Макс", "name_en": "", "is_active": "on"})
    assert response.status_code == 302, errors_of(response)
    plan = Plan.objects.get(code="vps-max")
    assert AuditEntry.objects.filter(action="plan.create", object_id=str(plan.pk)).count() == 1
    response = admin_client.post(f"/admin/catalog/plan/{plan.pk}/change/", {
        "name_ru": "VPS Максимум", "name_en": "VPS Max", "is_active": "on",
        "versions-TOTAL_FORMS": "0", "versions-INITIAL_FORMS": "0", "versions-MIN_NUM_FORMS": "0",
        "versions-MAX_NUM_FORMS": "1000"})
    assert response.status_code == 302, errors_of(response)
    plan.refresh_from_db()
    assert plan.name_ru == "VPS Максимум"


def test_plan_page_shows_versions_and_history(admin_client: WebClient, catalog: dict[str, Any]) -> None:
    plan = catalog["plan"]
    text = page(admin_client.get(f"/admin/catalog/plan/{plan.pk}/change/"))
    assert f"/admin/catalog/planversion/{catalog['published'].pk}/change/" in text
    assert f"/admin/catalog/planversion/{catalog['draft'].pk}/change/" in text
    assert "2026-11-25" in text
    assert f"/admin/catalog/planversion/add/?plan={plan.pk}" in text  # "New version"
    changelist = page(admin_client.get("/admin/catalog/plan/"))
    assert "2026-11-25" in changelist  # the version in force today


def test_add_version_is_prefilled_with_the_latest_prices(admin_client: WebClient, catalog: dict[str, Any]) -> None:
    text = page(admin_client.get(f"/admin/catalog/planversion/add/?plan={catalog['plan'].pk}"))
    assert '"unit_price": "1490.00"' in text
    assert '"name": "Абонентская плата"' in text  # pretty JSON keeps Cyrillic as is


def test_add_version_through_the_admin(admin_client: WebClient, catalog: dict[str, Any]) -> None:
    spec = hosting_spec(base_rub="1590.00")
    response = admin_client.post("/admin/catalog/planversion/add/", {"plan": catalog["plan"].pk,
                                                                     "spec": json.dumps(spec)})
    assert response.status_code == 302, errors_of(response)
    version = PlanVersion.objects.get(number=3)
    assert version.spec["components"][0]["prices"]["RUB"]["unit_price"] == "1590.00"
    assert version.created_by == "root"


def test_add_version_with_a_bad_spec_shows_the_field(admin_client: WebClient, catalog: dict[str, Any]) -> None:
    spec = hosting_spec()
    spec["components"][2]["prices"]["RUB"]["tiers"][1]["from"] = "101"
    before = snapshot()
    response = admin_client.post("/admin/catalog/planversion/add/", {"plan": catalog["plan"].pk,
                                                                     "spec": json.dumps(spec)})
    assert response.status_code == 200
    assert "spec.components[2].prices.RUB.tiers[1].from: разрыв: ступень начинается с 101, а tiers[0].up_to равно " \
           "100; ступени задаются как [from, up_to), поэтому она должна начинаться с 100" in errors_of(response)
    response = admin_client.post("/admin/catalog/planversion/add/", {"plan": catalog["plan"].pk, "spec": "{oops"})
    assert response.status_code == 200
    assert errors_of(response)
    assert snapshot() == before


def test_change_a_draft_through_the_admin(admin_client: WebClient, catalog: dict[str, Any]) -> None:
    draft = catalog["draft"]
    text = page(admin_client.get(f"/admin/catalog/planversion/{draft.pk}/change/"))
    assert "<textarea" in text
    assert f"/admin/catalog/planversion/{draft.pk}/publish/" in text
    response = admin_client.post(f"/admin/catalog/planversion/{draft.pk}/change/",
                                 {"spec": json.dumps(hosting_spec(base_rub="1790.00"))})
    assert response.status_code == 302, errors_of(response)
    draft.refresh_from_db()
    assert draft.spec["components"][0]["prices"]["RUB"]["unit_price"] == "1790.00"
    assert AuditEntry.objects.filter(action="plan_version.update", actor_label="root").count() == 1


def test_a_published_version_is_read_only(admin_client: WebClient, catalog: dict[str, Any]) -> None:
    published = catalog["published"]
    response = admin_client.get(f"/admin/catalog/planversion/{published.pk}/change/")
    text = page(response)
    assert "<textarea" not in text
    assert "/publish/" not in text
    assert '"unit_price": "1490.00"' in text  # the spec, pretty-printed
    before = snapshot()
    response = admin_client.post(f"/admin/catalog/planversion/{published.pk}/change/",
                                 {"spec": json.dumps(hosting_spec(base_rub="1.00"))})
    assert response.status_code == 403
    assert snapshot() == before
    response = admin_client.get(f"/admin/catalog/planversion/{published.pk}/publish/")
    assert response.status_code == 302  # already published: back to its page
    assert snapshot() == before


def test_publish_through_the_admin(admin_client: WebClient, catalog: dict[str, Any]) -> None:
    draft = catalog["draft"]
    url = f"/admin/catalog/planversion/{draft.pk}/publish/"
    text = page(admin_client.get(url))
    assert "2026-11-25" in text  # today is the proposed date; version 1's date is mentioned

    before = snapshot()
    response = admin_client.post(url, {"effective_from": "2026-11-24", "existing_subscribers": "next_period"})
    assert response.status_code == 200
    assert any("уже прошла" in e for e in errors_of(response))
    response = admin_client.post(url, {"effective_from": "2027-01-01", "existing_subscribers": ""})
    assert response.status_code == 200
    assert any("Обязательно, если у тарифа уже есть опубликованные цены" in e for e in errors_of(response))
    assert snapshot() == before

    response = admin_client.post(url, {"effective_from": "2027-01-01", "existing_subscribers": "immediately_prorated"})
    assert response.status_code == 302
    assert response["Location"] == f"/admin/catalog/planversion/{draft.pk}/change/"
    draft.refresh_from_db()
    assert (draft.status, draft.effective_from, draft.existing_subscribers, draft.published_by) == (
        VersionStatus.PUBLISHED, dt.date(2027, 1, 1), "immediately_prorated", "root")
    assert AuditEntry.objects.filter(action="plan_version.publish", actor_kind="operator").count() == 1


def test_publish_needs_write_access(client: WebClient, catalog: dict[str, Any]) -> None:
    accountant = Operator.objects.create(username="acc", role="accountant", is_staff=True)  # catalog: read
    client.force_login(accountant)
    assert client.get("/admin/catalog/planversion/").status_code == 200
    before = snapshot()
    response = client.post(f"/admin/catalog/planversion/{catalog['draft'].pk}/publish/",
                           {"effective_from": "2027-01-01", "existing_subscribers": "next_period"})
    assert response.status_code == 403
    assert snapshot() == before


def test_nothing_is_deleted_from_the_admin(admin_client: WebClient, catalog: dict[str, Any]) -> None:
    for model, obj in (("product", "product"), ("plan", "plan"), ("planversion", "draft")):
        assert admin_client.get(f"/admin/catalog/{model}/{catalog[obj].pk}/delete/").status_code == 403


def test_history_is_the_audit_log(admin_client: WebClient, catalog: dict[str, Any]) -> None:
    response = admin_client.get(f"/admin/catalog/plan/{catalog['plan'].pk}/history/")
    assert response.status_code == 302
    assert response["Location"].endswith(f"?object_type=plan&object_id={catalog['plan'].pk}")
