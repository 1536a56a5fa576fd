"""Usage thresholds in the back office: the list with its filters, the add and change forms with their
refusals in the operator's language (nothing written), deletion — all through the services (audited)."""

from __future__ import annotations

import html
import re
from decimal import Decimal
from typing import Any

import pytest

from kopeck.audit.models import AuditEntry
from kopeck.subscriptions.models import Subscription
from kopeck.usage.models import UsageThreshold
from kopeck.usage.services import usage_threshold_create
from tests.usage.conftest import make_subscription

pytestmark = pytest.mark.django_db
URL = "/admin/usage/usagethreshold/"
RU = {"accept-language": "ru"}
EN = {"accept-language": "en"}
EN_URL = "/en" + URL  # the English back office


def text_of(page: bytes) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page.decode())).split())


def actions() -> list[str]:
    return list(AuditEntry.objects.filter(object_type="usage_threshold").order_by("id").values_list("action", flat=True))


def test_the_list_shows_components_by_name_and_filters_them(operator_as: Any, sub: Subscription, actor: Any) -> None:
    usage_threshold_create(actor=actor, subscription=sub, metric="api_calls", amount="1000")
    usage_threshold_create(actor=actor, subscription=sub, metric="traffic", amount="0.5")
    admin = operator_as("administrator")
    page = text_of(admin.get(URL, headers=RU).content)
    assert "API calls" in page and "Traffic, GB" in page and "1000" in page and "0.5" in page
    filtered = text_of(admin.get(f"{URL}?metric=traffic", headers=RU).content)
    assert "Traffic, GB" in filtered and "1000" not in filtered
    assert admin.get(f"{URL}?q=sub-1").status_code == 200
    assert operator_as("read_only").get(URL).status_code == 200


def test_a_threshold_is_added_and_changed_through_the_services(operator_as: Any, sub: Subscription) -> None:
    admin = operator_as("administrator")
    r = admin.post(f"{URL}add/", {"subscription": sub.pk, "metric": "api_calls", "amount": "1000"}, headers=EN)
    assert r.status_code == 302, text_of(r.content)
    threshold = UsageThreshold.objects.get()
    assert (threshold.subscription_id, threshold.metric, threshold.amount) == (sub.pk, "api_calls", Decimal("1000"))
    r = admin.post(f"{URL}{threshold.pk}/change/", {"metric": "traffic", "amount": "2.5"}, headers=EN)
    assert r.status_code == 302, text_of(r.content)
    threshold.refresh_from_db()
    assert (threshold.subscription_id, threshold.metric, threshold.amount) == (sub.pk, "traffic", Decimal("2.5"))
    assert actions() == ["usage_threshold.create", "usage_threshold.update"]
    entry = AuditEntry.objects.get(action="usage_threshold.update")
    assert (entry.before, entry.after) == ({"subscription": sub.pk, "metric": "api_calls", "amount": "1000"},
                                           {"subscription": sub.pk, "metric": "traffic", "amount": "2.5"})


@pytest.mark.parametrize(("amount", "russian", "english"), [
    ("abc", "Введите число, например 1000 или 0,5.", 'Give a decimal number, e.g. "1000" or "0.5".'),
    ("0", "Должно быть больше нуля.", "Must be greater than zero."),
    ("1.0000000000001", "Не более 18 цифр до запятой и 12 после.", "At most 18 digits before the point and 12 after."),
])
def test_a_bad_quantity_is_refused_in_the_operators_language_and_nothing_written(
        operator_as: Any, sub: Subscription, amount: str, russian: str, english: str) -> None:
    admin = operator_as("administrator")
    data = {"subscription": sub.pk, "metric": "api_calls", "amount": amount}
    ru = text_of(admin.post(f"{URL}add/", data, headers=RU).content)
    assert russian in ru and english not in ru
    en = text_of(admin.post(f"{EN_URL}add/", data, headers=EN).content)
    assert english in en
    assert not UsageThreshold.objects.exists() and actions() == []


def test_a_component_not_in_the_subscriptions_plan_is_refused(operator_as: Any, sub: Subscription, clock: Any) -> None:
    other = make_subscription(external_id="sub-2", code="other")  # the same components: choices come from all plans
    assert other.plan_id != sub.plan_id
    sub.plan_version.spec = {**sub.plan_version.spec, "components": [
        c for c in sub.plan_version.spec["components"] if c["code"] != "power"]}
    sub.plan_version.save(update_fields=["spec"])
    page = text_of(operator_as("administrator").post(f"{URL}add/", {"subscription": sub.pk, "metric": "power",
                                                                     "amount": "5"}, headers=RU).content)
    assert "В тарифе подписки нет компонента по потреблению «Power, kWh» (есть: «API calls», «Traffic, GB»)." in page
    assert not UsageThreshold.objects.exists() and actions() == []


def test_a_change_to_an_existing_threshold_is_refused_and_nothing_changed(operator_as: Any, sub: Subscription,
                                                                          actor: Any) -> None:
    usage_threshold_create(actor=actor, subscription=sub, metric="api_calls", amount="1000")
    second = usage_threshold_create(actor=actor, subscription=sub, metric="api_calls", amount="2000")
    page = text_of(operator_as("administrator").post(f"{URL}{second.pk}/change/", {"metric": "api_calls",
                                                                                  "amount": "1000.00"},
                                                     headers=RU).content)
    assert "У подписки уже есть порог 1000 для компонента «API calls»." in page
    second.refresh_from_db()
    assert second.amount == Decimal("2000")
    assert actions() == ["usage_threshold.create", "usage_threshold.create"]


def test_deleting_goes_through_the_service(operator_as: Any, sub: Subscription, actor: Any) -> None:
    threshold = usage_threshold_create(actor=actor, subscription=sub, metric="api_calls", amount="1000")
    r = operator_as("administrator").post(f"{URL}{threshold.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302
    assert not UsageThreshold.objects.exists()
    assert actions() == ["usage_threshold.create", "usage_threshold.delete"]


def test_the_pages_are_in_russian(operator_as: Any, sub: Subscription, actor: Any) -> None:
    threshold = usage_threshold_create(actor=actor, subscription=sub, metric="api_calls", amount="1000")
    admin = operator_as("administrator")
    add = html.unescape(admin.get(f"{URL}add/", headers=RU).content.decode())
    assert "Добавить порог потребления" in add and "Компонент тарифа по потреблению" in add
    change = html.unescape(admin.get(f"{URL}{threshold.pk}/change/", headers=RU).content.decode())
    assert "Пороговое количество" in change and "Изменить порог потребления" in change
