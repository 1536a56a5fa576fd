"""The price calculator's input errors in Russian: the pricing core's errors (a code and parameters,
told at the Django edge by ``pricing_message``) and the calculator's own, through the function, the
API (``Accept-Language: ru``), the plan version's spec and ``kopeck price``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from kopeck.catalog.preview import PreviewDefaults, price_preview
from kopeck.catalog.pricing_errors import PLURAL, TEXTS, UNTRANSLATED, pricing_message
from kopeck.catalog.services import plan_spec_clean
from kopeck.common.errors import ValidationFailed
from kopeck.core.pricing.errors import MESSAGES, SpecError

D22 = PreviewDefaults(vat_rate="22", prices_include_vat=True, time_zone="Europe/Moscow")
GAP: dict[str, Any] = {"code": "storage", "model": "graduated", "tiers": [
    {"from": "0", "up_to": "100", "unit_price": "5.00"}, {"from": "101", "up_to": None, "unit_price": "4.00"}]}
GOOD: dict[str, Any] = {"code": "storage", "model": "standard", "unit_price": "5.00"}
METER: dict[str, Any] = {"code": "power", "model": "standard", "unit_price": "5.00",
                         "aggregation": {"type": "meter_reading"}}
KOPECK = str(Path(sys.executable).parent / "kopeck")


def errors_in(language: str, data: dict[str, Any]) -> dict[str, list[str]]:
    with translation.override(language), pytest.raises(ValidationFailed) as info:
        price_preview(data, D22)
    return info.value.errors


def test_every_code_of_the_core_has_one_text_saying_the_same_english() -> None:
    assert set(TEXTS) | set(PLURAL) | UNTRANSLATED == set(MESSAGES)
    assert not set(TEXTS) & (set(PLURAL) | UNTRANSLATED)
    with translation.override("en"):
        assert {code: str(text) for code, text in TEXTS.items()} == {code: MESSAGES[code] for code in TEXTS}
    assert {code: MESSAGES[code] for code in PLURAL} == {code: plural for code, (_, plural) in PLURAL.items()}


def test_every_text_of_the_core_has_a_russian_translation() -> None:
    with translation.override("ru"):
        untranslated = [code for code, text in TEXTS.items() if str(text) == MESSAGES[code]]
    assert untranslated == []


def test_an_error_of_the_core_is_told_in_the_active_language_with_its_parameters() -> None:
    exc = SpecError("tier_gap", "tiers[1].from", start="101", previous="tiers[0]", end="100")
    assert exc.message == ("gap: this tier starts at 101 but tiers[0].up_to is 100; tiers are [from, up_to), "
                           "so it must start at 100")
    with translation.override("ru"):
        assert pricing_message(exc) == ("разрыв: ступень начинается с 101, а tiers[0].up_to равно 100; ступени "
                                        "задаются как [from, up_to), поэтому она должна начинаться с 100")
    with translation.override("en"):
        assert pricing_message(exc) == exc.message


@pytest.mark.parametrize(("count", "russian"), [(1, "не более 1 символа"), (3, "не более 3 символов"),
                                                (40, "не более 40 символов")])
def test_a_count_in_an_error_takes_its_russian_plural(count: int, russian: str) -> None:
    with translation.override("ru"):
        assert pricing_message(SpecError("decimal_too_long", "quantity", count=count)) == russian


@pytest.mark.parametrize(("data", "field", "russian"), [
    ({"component": GAP, "currency": "RUB", "quantity": "5"}, "component.tiers[1].from",
     "разрыв: ступень начинается с 101, а tiers[0].up_to равно 100; ступени задаются как [from, up_to), "
     "поэтому она должна начинаться с 100"),
    ({"component": {**GAP, "model": "linear"}, "currency": "RUB", "quantity": "5"}, "component.model",
     "неизвестная модель «linear»; допустимые: standard, graduated, volume, package, tiered_package, "
     "percentage, graduated_percentage, stairstep"),
    ({"component": METER, "currency": "RUB", "readings": [
        {"id": "r1", "timestamp": "2026-01-01T00:00:00Z", "value": "100"},
        {"id": "r2", "timestamp": "2026-01-15T00:00:00Z", "value": "40"}]}, "readings[1]",
     "показание r2 (40 на 2026-01-15T00:00:00+00:00) меньше предыдущего показания r1 (100), но не отмечено как "
     "переход через ноль (rollover) или замена счётчика (replacement)"),
    ({"component": METER, "currency": "RUB", "readings": []}, "readings", "нужно хотя бы начальное показание"),
    ({"component": GOOD, "currency": "RUB", "quantity": 1.5}, "quantity",
     'нужна десятичная строка, например "0.50", а не дробное число или логическое значение JSON'),
    ({"component": GOOD, "currency": "RUB", "quantity": "-5"}, "quantity",
     "недопустимо отрицательное количество -5"),
    ({"component": GOOD, "currency": "RUB", "quantity": "5", "events": []}, "events",
     "укажите потребление в одном виде: quantity или events, но не оба сразу"),
    ({"component": GOOD, "currency": "XXY", "quantity": "5"}, "currency", "неизвестная валюта «XXY»"),
    ({"component": GOOD, "currency": "RUB", "quantity": "5", "vat_rate": "18"}, "vat_rate",
     "неизвестная ставка НДС «18»; допустимые: 22, 10, 0, 5, 7, exempt"),
    ({"component": GOOD, "currency": "RUB", "quantity": "5", "prices_include_vat": "да"}, "prices_include_vat",
     "нужно true или false, а не строка"),
    ({"component": GOOD, "currency": "RUB", "quantity": "5", "period": {"start": "2026-02-01", "end": "2026-01-01"}},
     "period.end", "должен быть позже начала (2026-02-01): день конца в период не входит"),
    ({"component": GOOD, "currency": "RUB", "quantity": "5", "setup_fee": True}, "setup_fee",
     "применяется только к тарифу"),
    ({"component": GAP, "plan": {}}, "plan", "укажите что-то одно: component или plan"),
])
def test_the_calculator_refuses_in_russian(data: dict[str, Any], field: str, russian: str) -> None:
    assert errors_in("ru", data) == {field: [russian]}


def test_the_same_refusal_in_english() -> None:
    assert errors_in("en", {"component": GAP, "currency": "RUB", "quantity": "5"}) == {"component.tiers[1].from": [
        "gap: this tier starts at 101 but tiers[0].up_to is 100; tiers are [from, up_to), so it must start at 100"]}
    assert errors_in("en", {"component": GOOD, "currency": "RUB", "quantity": "5", "prices_include_vat": "yes"}) == {
        "prices_include_vat": ["must be true or false, got a string"]}


PLAN: dict[str, Any] = {
    "code": "vps", "billing_period": {"unit": "fortnight"}, "currencies": ["RUB"],
    "components": [{"code": "base", "kind": "fixed", "prices": {"RUB": {"model": "standard", "unit_price": "990.00"}}}]}


def test_a_plan_in_the_calculator_is_refused_in_russian() -> None:
    assert errors_in("ru", {"plan": PLAN}) == {"plan.billing_period": ["неизвестная единица периода «fortnight»"]}
    plan = {**PLAN, "billing_period": {"unit": "month"}}
    assert errors_in("ru", {"plan": plan, "usage": {"base": {"quantity": "1"}}}) == {"usage.base": [
        "компонент «base» — вида fixed: потребление принимают только компоненты metered (per_unit рассчитываются "
        "по количеству quantity)"]}
    assert errors_in("ru", {"plan": plan, "currency": "USD"}) == {"currency": [
        "у тарифа нет цен в USD; его валюты: RUB"]}


@pytest.mark.django_db
def test_the_api_answers_in_the_callers_language(api_as: Any) -> None:
    reader: APIClient = api_as("catalog:read")
    body = {"component": GAP, "currency": "RUB", "quantity": "5", "vat_rate": "22", "prices_include_vat": True}
    ru = reader.post("/api/v1/price-preview/", body, format="json", HTTP_ACCEPT_LANGUAGE="ru")
    assert ru.status_code == 400
    assert ru.json()["errors"] == [{"field": "component.tiers[1].from", "detail": (
        "разрыв: ступень начинается с 101, а tiers[0].up_to равно 100; ступени задаются как [from, up_to), "
        "поэтому она должна начинаться с 100")}]
    en = reader.post("/api/v1/price-preview/", body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert en.json()["errors"] == [{"field": "component.tiers[1].from", "detail": (
        "gap: this tier starts at 101 but tiers[0].up_to is 100; tiers are [from, up_to), so it must start at 100")}]


@pytest.mark.django_db
def test_a_plan_versions_spec_is_refused_in_russian() -> None:
    from kopeck.catalog.models import Plan

    plan = Plan(code="vps")
    spec = {**PLAN, "billing_period": {"unit": "month", "count": 0}}
    with translation.override("ru"):
        assert plan_spec_clean(plan, spec) == (None, {"spec.billing_period": [
            "число единиц периода (count) должно быть целым положительным, указано «0»"]})


def test_kopeck_price_refuses_in_russian(tmp_path: Path) -> None:
    source = tmp_path / "input.json"
    source.write_text('{"component": {"code": "x", "model": "standard", "unit_price": "-1"}, "currency": "RUB", '
                      '"quantity": "1", "vat_rate": "22", "prices_include_vat": true}', encoding="utf-8")
    base = {k: v for k, v in os.environ.items() if k != "KOPECK_LANGUAGE"}
    env = {**base, "DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}", "KOPECK_VAR_DIR": str(tmp_path)}
    done = subprocess.run([KOPECK, "price", str(source)], capture_output=True, text=True, timeout=120, check=False,
                          env=env)
    assert (done.returncode, done.stdout, done.stderr) == (
        1, "", "Ошибка: неверные входные данные: component.unit_price: недопустимо отрицательное значение -1\n")
