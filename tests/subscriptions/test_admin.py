"""Tests of the subscriptions admin (kopeck.subscriptions.admin): pages render, "Add subscription"
and every action go through the services, an action shows its preview and "Confirm" applies exactly
that, refusals write nothing, read-only operators cannot act, and the pages follow the language."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client as WebClient

from kopeck.audit.models import AuditEntry
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.operators.models import Operator
from kopeck.subscriptions import services as s
from kopeck.subscriptions.models import Subscription, SubscriptionStatus
from tests.subscriptions.helpers import at, counts, make_client, make_plan, posted

pytestmark = pytest.mark.django_db
D = dt.date
BASE = "/admin/subscriptions/subscription/"


@pytest.fixture
def admin_client(db: Any, client: WebClient) -> WebClient:
    root = Operator.objects.create_superuser("root", "root@example.ru", "a-long-password-1")
    client.force_login(root)
    return client


@pytest.fixture
def plans(clock: FixedClock, actor: Actor) -> None:
    at(clock, D(2027, 1, 1))
    make_plan(actor, clock, "basic", base="1000.00")
    make_plan(actor, clock, "pro", base="3100.00")


@pytest.fixture
def sub(clock: FixedClock, actor: Actor, plans: None) -> Subscription:
    """basic since Jan 1, 2027, billed for January (1000 + 300)."""
    created = s.subscription_create(actor=actor, client=make_client(), plan="basic")
    s.subscription_bill_due(actor=actor, subscription=created)
    return created


def text_of(response: Any) -> str:
    return html.unescape(response.content.decode())


def errors_of(response: Any) -> list[str]:
    page = response.content.decode()
    return [html.unescape(re.sub(r"<[^>]+>", "", li)).strip()
            for ul in re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', page, re.S)
            for li in re.findall(r"<li>(.*?)</li>", ul, re.S)]


def messages_of(response: Any) -> list[str]:
    page = response.content.decode()
    block = re.search(r'<ul class="messagelist[^"]*">(.*?)</ul>', page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", li)).strip()
            for li in re.findall(r"<li[^>]*>(.*?)</li>", block.group(1), re.S)] if block else []


def confirm_data(response: Any) -> dict[str, str]:
    """The hidden fields of the "Confirm" form of a preview page."""
    page = response.content.decode()
    assert '<form method="post"' in page, "no Confirm form on the page"
    form = page.split('<form method="post"', 1)[1].split("</form>", 1)[0]
    return {html.unescape(n): html.unescape(v)
            for n, v in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form)
            if n != "csrfmiddlewaretoken"}


def action_url(sub: Subscription, name: str) -> str:
    return f"{BASE}{sub.pk}/action/{name}/"


def pro_id() -> int:
    from kopeck.catalog.models import Plan

    return Plan.objects.get(code="pro").pk


# -- pages render --------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "?status__exact=active", "?anchor_kind__exact=anniversary&currency=RUB",
                                   "?q=basic"])
def test_changelist_renders(admin_client: WebClient, sub: Subscription, query: str) -> None:
    response = admin_client.get(BASE + query)
    assert response.status_code == 200
    assert sub.client.name in text_of(response)


def test_change_page_shows_timeline_billed_periods_balance_and_buttons(admin_client: WebClient,
                                                                       sub: Subscription) -> None:
    response = admin_client.get(f"{BASE}{sub.pk}/change/")
    assert response.status_code == 200
    page = text_of(response)
    created = page.index("Подписка на тариф basic")  # the timeline, in Russian, oldest first
    charged = page.index("итого 1\u00a0000,00\u00a0₽")  # stored "1000.00 RUB", written as the page writes amounts
    assert created < charged
    assert "31.01.2027" in page  # the billed period's last day
    assert "Абонентская плата: модель «цена за единицу»" in page  # its explanation, the model by name
    assert "\u22121\u00a0300,00\u00a0₽" in page  # the client's balance: owes January
    for name in ("change_plan", "change_quantity", "cancel", "change_billing_day", "suspend", "bill_due"):
        assert action_url(sub, name) in page
    assert action_url(sub, "uncancel") not in page and action_url(sub, "resume") not in page
    assert "name=\"_save\"" not in page  # read-only fields: no save button
    history = admin_client.get(f"{BASE}{sub.pk}/history/")  # the history is the audit log
    assert history["Location"].endswith(f"?object_type=subscription&object_id={sub.pk}")


def test_change_page_shows_the_pending_change(admin_client: WebClient, clock: FixedClock, actor: Actor,
                                              sub: Subscription) -> None:
    at(clock, D(2027, 1, 15))
    s.subscription_cancel(actor=actor, subscription=sub, at_period_end=True)
    page = text_of(admin_client.get(f"{BASE}{sub.pk}/change/"))
    assert "01.02.2027" in page
    assert action_url(sub, "uncancel") in page


def test_add_page_renders(admin_client: WebClient, plans: None) -> None:
    response = admin_client.get(BASE + "add/")
    assert response.status_code == 200
    page = text_of(response)
    for name in ("client", "plan", "quantity", "currency", "start_date", "anchor_kind", "billing_day",
                 "first_period_policy", "trial_end", "no_trial", "discount_percent", "fixed_price", "external_id"):
        assert f'name="{name}"' in page, name
    assert BASE + "add/" in text_of(admin_client.get(BASE))  # the changelist's "Add" button


def _cancelling(actor: Actor, sub: Subscription) -> None:
    s.subscription_cancel(actor=actor, subscription=sub, at_period_end=True)


def _suspended(actor: Actor, sub: Subscription) -> None:
    s.subscription_suspend(actor=actor, subscription=sub)


@pytest.mark.parametrize(("name", "params", "setup"), [
    ("change_plan", {"plan": "PRO", "timing": "default"}, None),
    ("change_quantity", {"quantity": "3"}, None),
    ("cancel", {"when": "now"}, None),
    ("cancel", {"when": "period_end"}, None),
    ("uncancel", {}, _cancelling),
    ("change_billing_day", {"billing_day": "15", "when": "now"}, None),
    ("suspend", {"billing": "paused"}, None),
    ("resume", {}, _suspended),
    ("bill_due", {}, None),
])
def test_each_action_shows_its_preview(admin_client: WebClient, clock: FixedClock, actor: Actor, sub: Subscription,
                                       name: str, params: dict[str, str],
                                       setup: Callable[[Actor, Subscription], None] | None) -> None:
    at(clock, D(2027, 1, 22))
    if setup is not None:
        setup(actor, sub)
    if params.get("plan") == "PRO":
        params = {**params, "plan": str(pro_id())}
    before = counts()
    response = admin_client.get(action_url(sub, name), {"_preview": "1", **params} if params else {})
    assert response.status_code == 200
    page = text_of(response)
    assert 'id="preview"' in page, messages_of(response)
    assert 'name="_confirm"' in page
    assert counts() == before  # a preview writes nothing
    if name in ("change_plan", "change_quantity", "cancel", "change_billing_day", "suspend"):
        plain = admin_client.get(action_url(sub, name))  # the parameters first
        assert plain.status_code == 200
        assert 'id="preview"' not in text_of(plain)


# -- add -----------------------------------------------------------------------------------------


def add_form(**overrides: Any) -> dict[str, Any]:
    from kopeck.catalog.models import Plan
    from kopeck.clients.models import Client

    data: dict[str, Any] = {
        "client": Client.objects.order_by("id").first().pk,  # type: ignore[union-attr]
        "plan": Plan.objects.get(code="basic").pk, "quantity": "2", "currency": "", "start_date": "2027-01-01",
        "anchor_kind": "anniversary", "billing_day": "", "first_period_policy": "prorate", "trial_end": "",
        "discount_percent": "10", "fixed_price": "", "external_id": "crm-42"}
    data.update(overrides)
    return data


def test_add_form_creates_through_the_service(admin_client: WebClient, clock: FixedClock, plans: None) -> None:
    make_client()
    response = admin_client.post(BASE + "add/", add_form())
    assert response.status_code == 302, errors_of(response)
    created = Subscription.objects.get()
    assert response["Location"] == f"{BASE}{created.pk}/change/"
    assert (created.plan.code, created.quantity, created.status, str(created.discount_percent),
            created.external_id) == ("basic", 2, SubscriptionStatus.ACTIVE, "10.00", "crm-42")
    entry = AuditEntry.objects.get(action="subscription.create", object_id=str(created.pk))
    assert (entry.actor_kind, entry.actor_label) == ("operator", "root")
    assert created.timeline.filter(kind="created").exists()


@pytest.mark.parametrize(("overrides", "field"), [
    ({"billing_day": "15"}, "billing_day"),  # anniversary billing takes no billing day
    ({"currency": "USD"}, "currency"),  # the plan is priced in RUB only
    ({"anchor_kind": "calendar"}, "billing_day"),  # calendar billing needs one
])
def test_add_form_refusals_are_shown_and_write_nothing(admin_client: WebClient, clock: FixedClock, plans: None,
                                                       overrides: dict[str, str], field: str) -> None:
    make_client()
    before = counts()
    response = admin_client.post(BASE + "add/", add_form(**overrides))
    assert response.status_code == 200
    assert errors_of(response)
    assert re.search(rf'<ul class="errorlist"[^>]*id="id_{field}_error"', response.content.decode()), errors_of(
        response)
    assert counts() == before


# -- preview and confirm -------------------------------------------------------------------------


def preview_plan_change(admin_client: WebClient, sub: Subscription) -> Any:
    return admin_client.get(action_url(sub, "change_plan"), {"_preview": "1", "plan": pro_id(), "timing": "default"})


def test_preview_shows_the_amounts_and_explanations(admin_client: WebClient, clock: FixedClock,
                                                    sub: Subscription) -> None:
    at(clock, D(2027, 1, 31))
    page = text_of(preview_plan_change(admin_client, sub))
    # 1 unused day of 31: credit 1000 × 1/31 = 32.26; pro's base 3100 × 1/31 = 100.00; total 67.74
    assert "\u221232,26\u00a0₽" in page
    assert "100,00\u00a0₽" in page
    assert "67,74\u00a0₽" in page
    assert "возврат за неиспользованные дни" in page
    assert "повышение" in page  # the action: an upgrade


def test_confirm_applies_exactly_the_preview(admin_client: WebClient, clock: FixedClock, sub: Subscription) -> None:
    at(clock, D(2027, 1, 31))
    data = confirm_data(preview_plan_change(admin_client, sub))
    assert data["_total"] == "67.74"
    before = len(posted())
    response = admin_client.post(action_url(sub, "change_plan"), data)
    assert response.status_code == 302
    assert response["Location"] == f"{BASE}{sub.pk}/change/"
    assert posted()[before:] == [("correction_credit", "32.26"), ("charge", "100.00")]
    sub.refresh_from_db()
    assert sub.plan.code == "pro"
    assert AuditEntry.objects.filter(action="subscription.change_plan", actor_label="root").count() == 1
    page = admin_client.get(response["Location"])
    assert messages_of(page) == ["Смена тарифа применена."]
    assert "Тариф изменён на pro" in text_of(page)  # the timeline
    # the same confirmation sent twice (double click): the idempotency key replays, nothing more is posted
    again = admin_client.post(action_url(sub, "change_plan"), data)
    assert again.status_code == 302
    assert len(posted()) == before + 2


def test_confirm_shows_the_new_preview_when_the_amounts_changed(admin_client: WebClient, clock: FixedClock,
                                                                sub: Subscription) -> None:
    at(clock, D(2027, 1, 30))
    data = confirm_data(preview_plan_change(admin_client, sub))
    assert data["_total"] == "135.48"  # 2 days: 3100 × 2/31 = 200.00 − 1000 × 2/31 = 64.52
    at(clock, D(2027, 1, 31))  # the day changes before "Confirm"
    before = counts()
    response = admin_client.post(action_url(sub, "change_plan"), data)
    assert response.status_code == 200
    assert counts() == before  # nothing applied
    assert any("изменились после предпросмотра" in m for m in messages_of(response))
    fresh = confirm_data(response)
    assert fresh["_total"] == "67.74"
    assert admin_client.post(action_url(sub, "change_plan"), fresh).status_code == 302
    assert posted()[-2:] == [("correction_credit", "32.26"), ("charge", "100.00")]


def test_confirm_cancel_now_posts_the_credits(admin_client: WebClient, clock: FixedClock, sub: Subscription) -> None:
    at(clock, D(2027, 1, 22))
    response = admin_client.get(action_url(sub, "cancel"), {"_preview": "1", "when": "now"})
    page = text_of(response)
    assert "\u2212322,58\u00a0₽" in page and "\u221296,77\u00a0₽" in page and "\u2212419,35\u00a0₽" in page
    before = len(posted())
    assert admin_client.post(action_url(sub, "cancel"), confirm_data(response)).status_code == 302
    assert posted()[before:] == [("correction_credit", "322.58"), ("correction_credit", "96.77")]
    sub.refresh_from_db()
    assert sub.status == SubscriptionStatus.ENDED


def test_bill_due_preview_writes_nothing_and_confirm_posts_it(admin_client: WebClient, clock: FixedClock,
                                                             sub: Subscription) -> None:
    at(clock, D(2027, 2, 1))
    before = counts()
    response = admin_client.get(action_url(sub, "bill_due"))
    assert counts() == before
    page = text_of(response)
    assert "1\u00a0000,00\u00a0₽" in page and "300,00\u00a0₽" in page and "1\u00a0300,00\u00a0₽" in page
    assert admin_client.post(action_url(sub, "bill_due"), confirm_data(response)).status_code == 302
    assert posted()[-2:] == [("charge", "1000.00"), ("charge", "300.00")]


def test_a_refused_action_shows_an_error_and_writes_nothing(admin_client: WebClient, clock: FixedClock,
                                                            sub: Subscription) -> None:
    at(clock, D(2027, 1, 15))
    before = counts()
    shown = admin_client.get(action_url(sub, "uncancel"))  # not cancelling: the preview is refused
    assert shown.status_code == 200
    assert 'name="_confirm"' not in shown.content.decode()
    assert messages_of(shown) == ["Нельзя отозвать отмену подписки в статусе «Активна» (допустимые статусы: «Отменяется "
                                  "в конце периода»). Недоступно в статусе «Активна»."]
    response = admin_client.post(action_url(sub, "uncancel"), {"_effective_date": "2027-01-15", "_total": "0",
                                                               "_digest": "x", "_key": "k"})
    assert response.status_code == 200
    assert any("Нельзя отозвать отмену подписки" in m for m in messages_of(response))
    assert counts() == before


def test_invalid_parameters_are_shown_on_the_form(admin_client: WebClient, clock: FixedClock,
                                                  sub: Subscription) -> None:
    before = counts()
    response = admin_client.get(action_url(sub, "change_quantity"), {"_preview": "1", "quantity": "1"})
    assert response.status_code == 200
    assert 'id="preview"' not in response.content.decode()
    assert "Изменять нечего." in errors_of(response)
    assert counts() == before


# -- permissions and languages -------------------------------------------------------------------


def test_a_read_only_operator_sees_but_cannot_act(client: WebClient, clock: FixedClock, sub: Subscription) -> None:
    reader = Operator.objects.create(username="reader", role="read_only", is_staff=True)
    client.force_login(reader)
    assert client.get(BASE).status_code == 200
    page = client.get(f"{BASE}{sub.pk}/change/")
    assert page.status_code == 200
    assert "/action/" not in page.content.decode()
    before = counts()
    assert client.get(action_url(sub, "cancel"), {"_preview": "1", "when": "now"}).status_code == 403
    assert client.post(action_url(sub, "bill_due"), {}).status_code == 403
    assert client.get(BASE + "add/").status_code == 403
    assert client.post(BASE + "add/", {}).status_code == 403
    assert counts() == before


def test_a_manager_may_act(client: WebClient, clock: FixedClock, sub: Subscription) -> None:
    manager = Operator.objects.create(username="manager", role="manager", is_staff=True)
    client.force_login(manager)
    assert client.get(action_url(sub, "bill_due")).status_code == 200


def test_english_admin(admin_client: WebClient, clock: FixedClock, sub: Subscription) -> None:
    page = text_of(admin_client.get(f"/en{BASE}{sub.pk}/change/", HTTP_ACCEPT_LANGUAGE="en"))
    for label in ("Timeline", "Billed periods", "Client's balance", "Pending scheduled change", "Change plan",
                  "Bill what is due now", "Subscribed to plan basic"):
        assert label in page, label
    assert "Подписка на тариф" not in page
    at(clock, D(2027, 1, 31))
    response = admin_client.get(f"/en{action_url(sub, 'change_plan')}",
                                {"_preview": "1", "plan": pro_id(), "timing": "default"}, HTTP_ACCEPT_LANGUAGE="en")
    page = text_of(response)
    for label in ("Preview", "Confirm", "upgrade", "credit for the unused days", "Total (charges minus credits)"):
        assert label in page, label
    assert "возврат" not in page
    assert "New plan" in text_of(admin_client.get(f"/en{action_url(sub, 'change_plan')}", HTTP_ACCEPT_LANGUAGE="en"))
    assert "Add subscription" in text_of(admin_client.get(f"/en{BASE}add/", HTTP_ACCEPT_LANGUAGE="en"))
