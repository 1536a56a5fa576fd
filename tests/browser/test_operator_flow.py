"""The operator's main flow in a real browser, in Russian: log in, check the dashboard and the order of
the sidebar, create a client with requisites, subscribe it, run billing with confirmation, review,
confirm, open the invoice's PDF.

Playwright for Python drives the distribution's Chromium (/usr/bin/chromium, or KOPECK_CHROMIUM;
`.ci/run` installs it and requires it: KOPECK_TEST_SERVICES=…,chromium); elsewhere it is skipped where
no Chromium is installed (tests/required_services.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kopeck.catalog.services import plan_version_create, plan_version_publish
from kopeck.common.actor import Actor
from kopeck.documents import services as documents
from kopeck.documents.models import Document, DocumentType
from kopeck.operators.models import Operator
from kopeck.operators.roles import Role
from kopeck.operators.services import operator_create
from tests.catalog.catalog_helpers import hosting_spec, make_plan
from tests.documents.conftest import ENTITY
from tests.required_services import chromium_path

CHROMIUM = chromium_path()
PASSWORD = "browser-test-password-1"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture
def browser_page(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are still
    # synchronous (Django refuses them otherwise, thinking it is in async code).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM,
                                     args=["--no-sandbox", "--disable-gpu", "--no-first-run",
                                           "--disable-background-networking", "--disable-component-update",
                                           "--disable-sync"])
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ru-RU", accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(20_000)
        yield page
        browser.close()


@pytest.fixture
def provider() -> None:
    """What the provider sets up once: an operator, its legal entity, a published plan (and the
    default field sets of client types, which a transactional test's flush removes)."""
    from importlib import import_module

    from django.apps import apps

    import_module("kopeck.clients.migrations.0002_default_field_sets").forwards(apps, None)
    actor = Actor.system("browser-test")
    operator_create(username="operator", password=PASSWORD, role=Role.ADMINISTRATOR, superuser=True, actor=actor)
    documents.legal_entity_create(actor=actor, **ENTITY)
    plan = make_plan(actor, code="vps-pro", name_ru="VPS Про", name_en="VPS Pro")
    version = plan_version_create(actor=actor, plan=plan, spec=hosting_spec("vps-pro"))
    from kopeck.configuration.selectors import provider_today

    plan_version_publish(actor=actor, version=version, effective_from=provider_today())


def test_operator_bills_a_new_client_with_confirmation(live_server: Any, browser_page: Any, provider: None) -> None:
    page, base = browser_page, live_server.url

    # log in: the dashboard, in Russian, with the sidebar in the order of the work
    page.goto(f"{base}/admin/")
    page.fill("#id_username", "operator")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/admin/")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert "Сводка" in page.title()
    sections = [t.strip() for t in page.locator("#nav-sidebar-apps h2").all_inner_texts()]
    expected = ["Клиенты", "Подписки", "Биллинг", "Документы", "Платежи", "Каталог", "Отчёты", "Настройки"]
    assert sections == [s for s in expected if s in sections] and sections[:4] == expected[:4]
    assert page.locator("#dashboard").is_visible()

    # a client with requisites
    page.click("#nav-sidebar-apps a[href='/admin/clients/client/']")
    page.wait_for_url(re.compile(r".*/admin/clients/client/$"))
    page.goto(f"{base}/admin/clients/client/add/?type=legal")
    assert "Добавить клиента" in page.title()
    page.fill("#id_name", "ООО «Василёк»")
    page.fill("#id_currency", "RUB")
    page.fill("#id_f__full_name", "Общество с ограниченной ответственностью «Василёк»")
    page.fill("#id_f__inn", "7736207543")
    page.fill("#id_f__kpp", "770401001")
    page.click("#tabs-items >> text=Контакты")
    page.fill("#id_contacts-0-value", "buh@vasilek.example")
    with page.expect_navigation():
        page.click("button[name=_continue]")
    assert re.search(r"/admin/clients/client/\d+/change/", page.url), page.url
    client_url = page.url.split("#")[0]
    assert page.locator(".messagelist").inner_text().strip() != ""

    # subscribe it, from the client's "Subscriptions" tab
    page.click("#tabs-items >> text=Подписки")
    page.click("#tab-subscriptions >> text=Добавить подписку")
    page.wait_for_url(re.compile(r".*/admin/subscriptions/subscription/add/\?client=\d+$"))
    page.select_option("#id_plan", page.locator("#id_plan option", has_text="VPS Про").get_attribute("value"))
    page.check("#id_no_trial")
    with page.expect_navigation():
        page.click("#content form [type=submit]")
    assert re.search(r"/admin/subscriptions/subscription/\d+/change/", page.url), page.url
    assert "Подписка" in page.locator(".messagelist").inner_text()

    # a billing run with confirmation: review, then confirm
    page.goto(f"{base}/admin/billing/billingrun/new/")
    page.select_option("#id_mode", "confirm")
    page.click("#content form [type=submit]")
    page.wait_for_url(re.compile(r".*/admin/billing/billingrun/\d+/run/$"))
    assert page.locator("text=Ожидает подтверждения").first.is_visible()
    assert page.locator("text=ООО «Василёк»").first.is_visible()
    page.goto(f"{base}/admin/")
    card = page.locator(".kopeck-card", has_text="Запуски, ждущие подтверждения")
    assert card.locator(".kopeck-card-value").inner_text().strip() == "1"
    card.click()
    page.wait_for_url(re.compile(r".*/admin/billing/billingrun/\?status__exact=awaiting_confirmation$"))
    page.locator("#result_list a[href*='/billing/billingrun/']").first.click()
    page.wait_for_url(re.compile(r".*/admin/billing/billingrun/\d+/run/$"))
    page.click("[name=_confirm]")
    page.wait_for_url(re.compile(r".*/admin/billing/billingrun/\d+/run/$"))
    page.wait_for_selector("text=Завершён", timeout=60_000)

    # the invoice of the run, and its PDF
    invoice = Document.objects.get(type=DocumentType.INVOICE, client__name="ООО «Василёк»")
    page.goto(client_url)
    page.click("#tabs-items >> text=Документы")
    with page.expect_download() as download:
        page.click(f"#tab-documents a[href='/admin/documents/document/{invoice.pk}/pdf/']")
    path = download.value.path()
    assert Path(path).read_bytes().startswith(b"%PDF")
    assert Operator.objects.filter(username="operator").exists()
