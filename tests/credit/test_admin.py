"""The back office: the client's «Блокировки» tab shows the credit state, where the client stands on
the ladder and what comes next with its date, the blocks and promises; an operator blocks, lifts and
grants a promised payment from the admin (through the services)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client as WebClient

from kopeck.credit.models import Block, Promise
from kopeck.operators.models import Operator
from tests.credit.conftest import World

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.fixture
def admin_client(db: Any, client: WebClient) -> WebClient:
    client.force_login(Operator.objects.create_superuser("root", "root@example.ru", "a-long-password-1"))
    return client


def text_of(response: Any) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode()))


def test_the_client_tab_shows_the_ladder_and_what_comes_next(world: World, admin_client: WebClient) -> None:
    world.daily_run(D(2026, 12, 1))
    world.check(D(2026, 12, 11))
    page = admin_client.get(f"/admin/clients/client/{world.client.pk}/change/")
    assert page.status_code == 200
    text = text_of(page)
    assert "Задолженность с 11.12.2026." in text
    assert "Предупреждение о блокировке Предупредить 11.12.2026 выполнен 11.12.2026" in text
    assert "Блокировка клиента Заблокировать клиента 16.12.2026 следующий" in text
    assert "Просрочено 1 300,00 ₽" in text


def test_block_lift_and_promise_from_the_admin(world: World, admin_client: WebClient) -> None:
    added = admin_client.post("/admin/credit/block/add/", {"client": world.client.pk, "reason": "abuse",
                                                           "comment": "Спам"})
    assert added.status_code == 302
    [block] = Block.objects.all()
    assert (block.source, block.automatic, block.created_by) == ("operator", False, "root")
    lifted = admin_client.post("/admin/credit/block/", {"action": "lift_selected", "_selected_action": [block.pk]})
    assert lifted.status_code == 302
    block.refresh_from_db()
    assert block.lifted_at is not None and block.lifted_by == "root"
    world.day(D(2026, 11, 20))
    granted = admin_client.post("/admin/credit/promise/add/", {"client": world.client.pk, "amount": "300.00",
                                                               "days": 2, "comment": ""})
    assert granted.status_code == 302
    assert [(p.amount_minor, p.until) for p in Promise.objects.all()] == [(30000, D(2026, 11, 21))]
    for url in ("/admin/credit/block/", "/admin/credit/promise/", "/admin/credit/debt/", "/admin/credit/dunningstep/",
                "/admin/credit/creditpolicy/", f"/admin/credit/block/{block.pk}/change/", "/admin/credit/block/add/",
                "/en/admin/credit/block/", f"/en/admin/clients/client/{world.client.pk}/change/"):
        assert admin_client.get(url).status_code == 200, url
