"""The back office shell: grammar of titles, amounts and dates, navigation, dashboard, tabs, search."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import Client as WebClient
from django.utils import translation

from kopeck.billing.models import BillingRun, RunMode, RunStatus
from kopeck.clients.models import Client, Contact
from kopeck.common import backoffice, display, grammar
from kopeck.core.money import Money
from kopeck.ledger.models import Posting
from kopeck.subscriptions.models import TimelineEntry
from tests.factories import ClientFactory


def _shown_models() -> list[type]:
    models = list(admin.site._registry)
    for model_admin in admin.site._registry.values():
        models += [inline.model for inline in model_admin.inlines]
    return sorted(set(models), key=lambda m: m._meta.label_lower)


def test_every_model_the_admin_shows_has_its_russian_forms() -> None:
    """Accusative, genitive and three counted forms for each (kopeck/common/grammar.py)."""
    assert grammar.missing_forms(_shown_models()) == []


def test_titles_take_the_case_the_verb_needs() -> None:
    with translation.override("ru"):
        assert grammar.titles(Client)["add"] == "Добавить клиента"
        assert grammar.titles(Client)["change"] == "Изменить клиента"
        assert grammar.titles(Client)["changelist"] == "Клиенты"
        assert grammar.titles(Contact)["delete"] == "Удалить контакт"
        from kopeck.subscriptions.models import Subscription

        assert grammar.titles(Subscription)["add"] == "Добавить подписку"
    with translation.override("en"):
        assert grammar.titles(Client)["add"] == "Add client"
        assert grammar.titles(Client)["changelist"] == "Clients"


@pytest.mark.parametrize(("count", "text"), [(1, "1 клиент"), (2, "2 клиента"), (4, "4 клиента"), (5, "5 клиентов"),
                                             (11, "11 клиентов"), (21, "21 клиент"), (22, "22 клиента"), (0, "0 клиентов")])
def test_counts_have_three_russian_forms(count: int, text: str) -> None:
    with translation.override("ru"):
        assert grammar.count_of(Client, count) == text


def test_counts_in_english() -> None:
    with translation.override("en"):
        assert grammar.count_of(Client, 1) == "1 client"
        assert grammar.count_of(Client, 5) == "5 clients"
        assert grammar.count_of(Posting, 2) == "2 postings"
        assert grammar.count_of(TimelineEntry, 1) == "1 timeline entry"


def test_amounts_one_way_per_language() -> None:
    assert display.money_text(Money("1990", "RUB"), language="ru") == "1\u00a0990,00\u00a0₽"
    assert display.money_text(Money("1990", "RUB"), language="en") == "RUB\u00a01,990.00"
    assert display.money_text(Decimal("-32350.5"), "RUB", language="ru") == "\u221232\u00a0350,50\u00a0₽"
    assert display.money_text("12.5", "USD", language="ru") == "12,50\u00a0$"
    assert display.minor_text(199000, "RUB", language="en") == "RUB\u00a01,990.00"


def test_dates_one_way_per_language() -> None:
    day = dt.date(2026, 12, 6)
    assert display.date_text(day, language="ru") == "06.12.2026"
    assert display.date_text(day, language="en") == "2026-12-06"
    assert display.date_text("2027-01-05", language="ru") == "05.01.2027"
    assert display.date_text(None) == "—"
    assert display.period_text(day, dt.date(2026, 12, 31), language="ru") == "06.12.2026 – 31.12.2026"


@pytest.mark.django_db
def test_django_formats_dates_as_the_back_office_does(admin_client: WebClient) -> None:
    from django.utils import formats

    with translation.override("ru"):
        assert formats.date_format(dt.date(2026, 12, 6)) == "06.12.2026"
    with translation.override("en"):
        assert formats.date_format(dt.date(2026, 12, 6)) == "2026-12-06"


@pytest.mark.django_db
def test_sidebar_sections_follow_the_operators_work(admin_client: WebClient) -> None:
    page = admin_client.get("/admin/").content.decode()
    sidebar = page[page.index('id="nav-sidebar-apps"'):]
    titles = re.findall(r'<h2 class="font-semibold[^"]*"[^>]*>\s*([^<\n]+?)\s*<', sidebar)
    order = ["Клиенты", "Подписки", "Биллинг", "Документы", "Платежи", "Каталог", "Отчёты", "Настройки"]
    assert titles == [t for t in order if t in titles]
    assert titles[:4] == ["Клиенты", "Подписки", "Биллинг", "Документы"]
    assert "Настройки" in titles


def test_an_unknown_section_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown back-office section"):
        backoffice.nav_item("bananas", "Bananas", model="clients.client")


@pytest.mark.django_db
def test_dashboard_shows_runs_awaiting_confirmation(admin_client: WebClient) -> None:
    BillingRun.objects.create(billing_date=dt.date(2026, 12, 6), mode=RunMode.CONFIRM,
                              status=RunStatus.AWAITING_CONFIRMATION, created_by="test", created_at=_now())
    page = admin_client.get("/admin/").content.decode()
    assert "Запуски, ждущие подтверждения" in page
    card = page[page.index("Запуски, ждущие подтверждения"):][:400]
    assert re.search(r'kopeck-card-value[^>]*>\s*1\s*<', card)
    assert "status__exact=awaiting_confirmation" in page


@pytest.mark.django_db
def test_client_page_has_the_tabs_the_apps_contribute(admin_client: WebClient) -> None:
    client = ClientFactory()
    page = admin_client.get(f"/admin/clients/client/{client.pk}/change/").content.decode()
    for key, title in [("subscriptions", "Подписки"), ("operations", "Операции"), ("documents", "Документы"),
                       ("history", "История")]:
        assert f"dataset-{key}" in page
        assert title in page
    assert f"/admin/subscriptions/subscription/add/?client={client.pk}" in page
    assert f"/admin/ledger/journaltransaction/statement/{client.pk}/" in page


@pytest.mark.django_db
def test_client_page_offers_no_delete(admin_client: WebClient) -> None:
    client = ClientFactory()
    page = admin_client.get(f"/admin/clients/client/{client.pk}/change/").content.decode()
    assert "Удалить клиента" not in page
    assert admin_client.post(f"/admin/clients/client/{client.pk}/delete/").status_code == 403
    assert Client.objects.filter(pk=client.pk).exists()


@pytest.mark.django_db
def test_global_search_finds_a_client_by_inn_email_and_name(admin_client: WebClient) -> None:
    from kopeck.clients.services import client_create
    from kopeck.common.actor import Actor

    client = client_create(actor=Actor.system("test"), type="legal", name="ООО «Ромашка»", currency="RUB",
                           fields={"full_name": "ООО «Ромашка»", "inn": "7707083893", "kpp": "773601001"},
                           contacts=[{"kind": "email", "value": "buh@romashka.example"}])
    client_create(actor=Actor.system("test"), type="legal", name="ООО «Лютик»", currency="RUB",
                  fields={"full_name": "ООО «Лютик»", "inn": "7736207543", "kpp": "770401001"})
    url = f"/admin/clients/client/{client.pk}/change/"
    for query in ("7707083893", "buh@romashka.example", "ромашка"):
        response = admin_client.get("/admin/find/", {"q": query})
        assert response.status_code == 302, query
        assert response["Location"] == url
    page = admin_client.get("/admin/find/", {"q": "ООО"}).content.decode()
    assert "ООО «Ромашка»" in page and "ООО «Лютик»" in page
    page = admin_client.get("/admin/find/", {"q": "нет такого"}).content.decode()
    assert "По запросу «нет такого» ничего не найдено." in page


@pytest.mark.django_db
def test_global_search_needs_a_login() -> None:
    response = WebClient().get("/admin/find/", {"q": "ООО"})
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def _now() -> dt.datetime:
    from kopeck.common import clock

    return clock.now()


@pytest.mark.django_db
def test_long_lists_are_autocompletes(admin_client: WebClient) -> None:
    """The run scope's clients and a subscription's client are found by typing, not scrolled."""
    from kopeck.clients.services import client_create
    from kopeck.common.actor import Actor

    client = client_create(actor=Actor.system("test"), type="legal", name="ООО «Ромашка»", currency="RUB",
                           fields={"full_name": "ООО «Ромашка»", "inn": "7707083893", "kpp": "773601001"})
    for url, field in (("/admin/billing/billingrun/new/", "clients"),
                       ("/admin/subscriptions/subscription/add/", "client")):
        page = admin_client.get(url).content.decode()
        assert re.search(rf'<select[^>]*name="{field}"[^>]*data-ajax--url="/admin/autocomplete/"', page) or \
            re.search(rf'<select[^>]*data-ajax--url="/admin/autocomplete/"[^>]*name="{field}"', page), url
    found = admin_client.get("/admin/autocomplete/", {"term": "7707083893", "app_label": "billing",
                                                      "model_name": "runitem", "field_name": "client"}).json()
    assert [r["id"] for r in found["results"]] == [str(client.pk)]
    found = admin_client.get("/admin/autocomplete/", {"term": "ромаш", "app_label": "subscriptions",
                                                      "model_name": "subscription", "field_name": "client"}).json()
    assert [r["text"] for r in found["results"]] == ["ООО «Ромашка»"]


@pytest.mark.django_db
def test_dashboard_chart_of_charges_and_payments(admin_client: WebClient) -> None:
    from kopeck.common.actor import Actor
    from kopeck.ledger.services import ledger_operation_post

    client = ClientFactory()
    ledger_operation_post(actor=Actor.system("test"), client=client, operation="payment", amount="1500.00",
                          reason="Оплата")
    ledger_operation_post(actor=Actor.system("test"), client=client, operation="charge", amount="990.00",
                          reason="Хостинг")
    page = admin_client.get("/admin/").content.decode()
    assert "Начислено и поступило по месяцам, RUB" in page
    data = re.search(r'data-type="bar" data-value="([^"]+)"', page)
    assert data is not None
    import html as html_lib
    import json

    chart = json.loads(html_lib.unescape(data.group(1)))
    assert len(chart["labels"]) == 6
    assert [d["label"] for d in chart["datasets"]] == ["начислено", "поступило"]
    assert chart["datasets"][0]["data"][-1] == 990.0 and chart["datasets"][1]["data"][-1] == 1500.0
    assert chart["datasets"][0]["data"][:-1] == [0.0] * 5


def test_stored_texts_are_written_as_the_page_writes() -> None:
    """Explanations, timeline entries and reasons were stored with "990.00 RUB", ISO dates and codes."""
    ru = display.polish("VPS S: модель standard, количество 1, итого 1990.00 RUB; 2026-12-06 – 2027-01-05; статус active",
                        language="ru")
    assert ru == ("VPS S: модель «цена за единицу», количество 1, итого 1\u00a0990,00\u00a0₽; 06.12.2026 – 05.01.2027; "
                  "статус «активна»")
    assert display.polish("total 1990.00 RUB from 2026-12-06", language="en") == "total RUB\u00a01,990.00 from 2026-12-06"
    assert display.polish("", language="ru") == ""
    assert display.polish("ИНН 7707083893, № 2026-1", language="ru") == "ИНН 7707083893, № 2026-1"  # not a date
