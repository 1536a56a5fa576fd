"""The billing-run admin: list with progress, run page, new run, exclude, confirm, reject, export."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.test import Client as WebClient

from kopeck.billing import services
from kopeck.billing.models import BillingRun, RunItem, RunMode, RunStatus
from kopeck.billing.selectors import run_fingerprint
from kopeck.common.actor import Actor
from kopeck.common.display import polish
from kopeck.ledger.models import JournalTransaction
from kopeck.operators.models import Operator
from kopeck.operators.roles import Role
from tests.billing.conftest import TODAY, Book

pytestmark = pytest.mark.django_db
BASE = "/admin/billing/billingrun/"


@pytest.fixture
def admin_client(db: Any, client: WebClient) -> WebClient:
    client.force_login(Operator.objects.create_superuser("root", "root@example.ru", "a-long-password-1"))
    return client


def text_of(response: Any) -> str:
    return html.unescape(response.content.decode())


def confirm_run(actor: Actor) -> BillingRun:
    run = services.billing_run_create(actor=actor, billing_date=TODAY, mode=RunMode.CONFIRM)
    return services.billing_run_execute(actor=actor, run=run)


def test_list_and_run_pages_render_with_progress(book: Book, actor: Actor, admin_client: WebClient) -> None:
    run = confirm_run(actor)
    page = text_of(admin_client.get(BASE))
    assert "<progress" in page and "4/4" in page and "new/" in page
    assert 'http-equiv="refresh"' not in page
    BillingRun.objects.filter(pk=run.pk).update(status=RunStatus.COMPUTING)
    assert 'http-equiv="refresh"' in text_of(admin_client.get(BASE))
    assert f"{BASE}{run.pk}/progress/" in text_of(admin_client.get(f"{BASE}{run.pk}/run/"))  # the live bar
    BillingRun.objects.filter(pk=run.pk).update(status=RunStatus.AWAITING_CONFIRMATION)
    assert admin_client.get(f"{BASE}{run.pk}/change/")["Location"].endswith(f"{BASE}{run.pk}/run/")
    page = text_of(admin_client.get(f"/en{BASE}{run.pk}/run/", HTTP_ACCEPT_LANGUAGE="en"))
    assert 'id="run-progress"' in page and "Confirm" in page and "Reject" in page and "export.csv" in page
    assert all(c.name in page for c in book.clients)
    line = RunItem.objects.filter(run=run).exclude(items=[]).first()
    assert line is not None and polish(line.items[0]["explanation"]["en"], language="en") in page  # the English admin
    ru = text_of(admin_client.get(f"{BASE}{run.pk}/run/"))
    assert polish(line.items[0]["explanation"]["ru"], language="ru") in ru
    for label in ("Подтвердить", "Отклонить", "Исключить клиента", "Выгрузить CSV"):
        assert label in ru, label
    export = admin_client.get(f"{BASE}{run.pk}/export.csv")
    assert b"".join(export.streaming_content).startswith(b"client_id,client")  # type: ignore[attr-defined]


def test_new_run_form_executes_in_process(book: Book, admin_client: WebClient) -> None:
    assert admin_client.get(f"{BASE}new/").status_code == 200
    reply = admin_client.post(f"{BASE}new/", {"billing_date": TODAY.isoformat(), "mode": "sandbox",
                                              "plans": "pro", "tags": ""})
    run = BillingRun.objects.get()
    assert reply.status_code == 302 and run.status == RunStatus.COMPLETED and run.scope == {"plans": ["pro"]}
    bad = admin_client.post(f"{BASE}new/", {"billing_date": "2026-11-26", "mode": "sandbox"}, follow=True)
    assert "Нельзя выставить начисления на дату позже сегодняшней (2026-11-25)." in text_of(bad) and BillingRun.objects.count() == 1


def test_exclude_then_confirm_through_the_admin(book: Book, actor: Actor, admin_client: WebClient) -> None:
    run = confirm_run(actor)
    url = f"{BASE}{run.pk}/"
    admin_client.post(url + "exclude/", {"client": book.clients[0].pk})
    assert RunItem.objects.filter(run=run, excluded=True).count() == 2
    stale = run_fingerprint(run)
    admin_client.post(url + "exclude/", {"client": book.clients[2].pk})
    page = text_of(admin_client.post(url + "confirm/", {"fingerprint": stale}, follow=True))
    assert "Запуск изменился после вашей проверки" in page and JournalTransaction.objects.count() == 0
    admin_client.post(url + "include/", {"client": book.clients[2].pk})
    admin_client.post(url + "confirm/", {"fingerprint": run_fingerprint(run)})
    run.refresh_from_db()
    assert run.status == RunStatus.COMPLETED
    applied = RunItem.objects.filter(run=run, applied_at__isnull=False)
    assert sorted(applied.values_list("client_id", flat=True)) == sorted([book.clients[1].pk, book.clients[2].pk])
    assert sorted(JournalTransaction.objects.values_list("pk", flat=True)) == sorted(
        t for ids in applied.values_list("transaction_ids", flat=True) for t in ids)


def test_reject_through_the_admin_and_read_only_cannot_act(book: Book, actor: Actor, admin_client: WebClient,
                                                           client: WebClient) -> None:
    run = confirm_run(actor)
    reader = Operator.objects.create(username="reader", role=Role.READ_ONLY, is_staff=True)
    other = WebClient()
    other.force_login(reader)
    assert other.get(f"{BASE}{run.pk}/run/").status_code == 200
    assert other.get(f"{BASE}{run.pk}/change/").status_code == 302
    assert other.get(BASE).status_code == 200
    assert other.post(f"{BASE}{run.pk}/reject/").status_code == 403
    assert other.get(f"{BASE}new/").status_code == 403
    admin_client.post(f"{BASE}{run.pk}/reject/")
    run.refresh_from_db()
    assert run.status == RunStatus.REJECTED and JournalTransaction.objects.count() == 0


def test_exclude_one_line_through_the_admin(book: Book, actor: Actor, admin_client: WebClient) -> None:
    run = services.billing_run_execute(actor=actor, run=services.billing_run_create(
        actor=actor, billing_date=TODAY, mode=RunMode.CONFIRM, scope={"clients": [book.clients[1].pk]}))
    item = RunItem.objects.get(run=run)
    line = item.items[0]
    page = text_of(admin_client.get(f"{BASE}{run.pk}/run/"))
    assert "Исключить строку" in page
    admin_client.post(f"{BASE}{run.pk}/exclude/", {"item": item.pk, "component": line["component"],
                                                  "period_start": line["period"]["start"]})
    assert RunItem.objects.get(pk=item.pk).excluded_lines == [[line["component"], line["period"]["start"]]]
    assert "Вернуть строку" in text_of(admin_client.get(f"{BASE}{run.pk}/run/"))
    admin_client.post(f"{BASE}{run.pk}/include/", {"item": item.pk, "component": line["component"],
                                                  "period_start": line["period"]["start"]})
    assert RunItem.objects.get(pk=item.pk).excluded_lines == []


def test_the_run_page_shows_a_page_of_clients_found_by_name_or_kind(book: Book, actor: Actor,
                                                                    admin_client: WebClient,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from kopeck.billing import admin as billing_admin
    from kopeck.billing.models import ItemStatus

    monkeypatch.setattr(billing_admin, "CLIENTS_PER_PAGE", 2)
    run = confirm_run(actor)
    names = sorted(c.name for c in book.clients)
    url = f"/en{BASE}{run.pk}/run/"

    def shown(**params: str) -> list[str]:
        page = text_of(admin_client.get(url, params, HTTP_ACCEPT_LANGUAGE="en"))
        return [n for n in names if re.search(r"<h2><a href=\"[^\"]*\">" + re.escape(n) + "</a>", page)]

    first = text_of(admin_client.get(url, HTTP_ACCEPT_LANGUAGE="en"))
    assert shown() == names[:2] and "page 1 of 2 (3 clients)" in first and "?page=2" in first
    assert shown(page="2") == names[2:]
    assert shown(page="99") == names[2:]  # past the end: the last page
    assert shown(q=names[2]) == [names[2]]
    target = next(c for c in book.clients if c.name == names[1])
    assert names[1] in shown(q=str(target.pk))  # by id (names with that digit match too)
    assert shown(show="errors") == []
    assert "No client matches." in text_of(admin_client.get(url, {"show": "errors"}, HTTP_ACCEPT_LANGUAGE="en"))
    RunItem.objects.filter(run=run, client=target).update(status=ItemStatus.ERROR, error="boom")
    assert shown(show="errors") == [names[1]]
    assert shown(show="nonsense") == names[:2]  # an unknown filter shows every client
    services.billing_run_exclude(actor=actor, run=run, client=book.clients[0].pk)
    assert shown(show="excluded") == [book.clients[0].name]
    ru = text_of(admin_client.get(f"{BASE}{run.pk}/run/"))
    assert "страница 1 из 2 (3 клиента)" in ru and "Показать" in ru
