"""The price calculator (kopeck.catalog.preview): hand-computed amounts, VAT, defaults and field paths."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest

from kopeck.catalog.preview import PreviewDefaults, price_preview
from kopeck.common.errors import ValidationFailed
from kopeck.configuration.models import BillingSettings

D22 = PreviewDefaults(vat_rate="22", prices_include_vat=True, time_zone="Europe/Moscow")

GRADUATED: dict[str, Any] = {"code": "storage", "model": "graduated", "tiers": [
    {"from": "0", "up_to": "100", "unit_price": "1.00"},
    {"from": "100", "up_to": None, "unit_price": "0.80", "flat_fee": "10.00"}]}
VOLUME: dict[str, Any] = {**GRADUATED, "model": "volume"}
METER: dict[str, Any] = {"code": "power", "model": "standard", "unit_price": "2.00",
                         "aggregation": {"type": "meter_reading", "max_value": "1000"}}
EVENTS_SUM: dict[str, Any] = {"code": "traffic", "model": "standard", "unit_price": "1.00",
                              "aggregation": {"type": "sum", "property": "gb"}}
MARCH = {"start": "2026-03-01", "end": "2026-04-01"}


def reading(rid: str, day: int, value: str, **extra: Any) -> dict[str, Any]:
    return {"id": rid, "timestamp": f"2026-03-{day:02d}T00:00:00+03:00", "value": value, **extra}


def event(eid: str, stamp: str, **props: Any) -> dict[str, Any]:
    return {"id": eid, "timestamp": stamp, "properties": props}


PLAN: dict[str, Any] = {
    "code": "vps", "billing_period": {"unit": "month", "count": 1}, "currencies": ["RUB", "USD"],
    "setup_fee": {"RUB": "500.00", "USD": "6.00"},
    "components": [
        {"code": "base", "kind": "fixed", "prices": {"RUB": {"model": "standard", "unit_price": "620.00"},
                                                     "USD": {"model": "standard", "unit_price": "8.00"}}},
        {"code": "seats", "kind": "per_unit", "prices": {"RUB": {"model": "standard", "unit_price": "100.00"},
                                                         "USD": {"model": "standard", "unit_price": "1.00"}}},
        {"code": "power", "kind": "metered", "prices": {
            "RUB": {"model": "graduated", "aggregation": {"type": "meter_reading"},
                    "tiers": [{"from": "0", "up_to": "10", "unit_price": "0"},
                              {"from": "10", "up_to": None, "unit_price": "5.00"}]},
            "USD": {"model": "standard", "unit_price": "0.10", "aggregation": {"type": "meter_reading"}}}},
        {"code": "traffic", "kind": "metered", "prices": {
            "RUB": {"model": "standard", "unit_price": "1.00", "aggregation": {"type": "sum", "property": "gb"}},
            "USD": {"model": "standard", "unit_price": "0.01", "aggregation": {"type": "sum", "property": "gb"}}}},
    ],
}


def preview(data: dict[str, Any], defaults: PreviewDefaults = D22) -> dict[str, Any]:
    return price_preview(data, defaults)


def error_of(data: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as info:
        preview(data)
    return info.value.errors


# --- amounts ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("quantity,amount,lines", [
    ("100", "100.00", ["100.00"]),  # all in [0, 100)
    ("101", "110.80", ["100.00", "10.80"]),  # the 101st unit enters [100, ∞): 1 × 0.80 + flat 10.00
    ("0", "0.00", []),
])
def test_graduated_tier_boundaries(quantity: str, amount: str, lines: list[str]) -> None:
    r = preview({"component": GRADUATED, "currency": "RUB", "quantity": quantity})
    assert r["amount"] == amount
    assert [line["amount"] for line in r["lines"]] == lines


@pytest.mark.parametrize("quantity,amount", [("100", "100.00"), ("101", "90.80")])
def test_volume_prices_all_units_at_the_last_units_tier(quantity: str, amount: str) -> None:
    # 100 units: tier [0, 100) (from < q ≤ up_to); 101: 101 × 0.80 + 10.00
    assert preview({"component": VOLUME, "currency": "RUB", "quantity": quantity})["amount"] == amount


def test_vat_inclusive_22_of_122() -> None:
    r = preview({"component": {"code": "x", "model": "standard", "unit_price": "100.00"}, "currency": "RUB",
                 "quantity": "1", "vat_rate": "22", "prices_include_vat": True})
    # 100.00 × 22 / 122 = 18.0327… → 18.03
    assert (r["amount"], r["vat"]["net"], r["vat"]["vat"], r["vat"]["gross"]) == ("100.00", "81.97", "18.03", "100.00")
    assert r["vat"]["inclusive"] is True and r["vat"]["rate"] == "22"
    assert r["vat"]["lines"][0]["explanation"]["formula"] == "vat = round(100.00 × 22 / 122) = 18.03"


def test_vat_on_top() -> None:
    r = preview({"component": {"code": "x", "model": "standard", "unit_price": "33.33"}, "currency": "RUB",
                 "quantity": "1", "vat_rate": "22", "prices_include_vat": False})
    # 33.33 × 0.22 = 7.3326 → 7.33
    assert (r["amount"], r["vat"]["net"], r["vat"]["vat"], r["vat"]["gross"]) == ("33.33", "33.33", "7.33", "40.66")


def test_vat_exempt() -> None:
    r = preview({"component": GRADUATED, "currency": "RUB", "quantity": "150", "vat_rate": "exempt"})
    # 100 × 1.00 + (50 × 0.80 + 10.00) = 150.00
    assert (r["amount"], r["vat"]["net"], r["vat"]["vat"], r["vat"]["gross"]) == ("150.00", "150.00", "0.00", "150.00")
    assert r["vat"]["label"] == {"ru": "Без налога (НДС)", "en": "VAT exempt"}


def test_vat_is_computed_per_component_and_summed() -> None:
    # three components of 0.10 each: per line round(0.10 × 22/122) = 0.02 → 0.06;
    # on the total it would be round(0.30 × 22/122) = 0.05
    plan = {"code": "p", "billing_period": {"unit": "month"}, "currencies": ["RUB"], "components": [
        {"code": c, "kind": "fixed", "prices": {"RUB": {"model": "standard", "unit_price": "0.10"}}}
        for c in ("a", "b", "c")]}
    r = preview({"plan": plan, "vat_rate": "22", "prices_include_vat": True})
    assert r["amount"] == "0.30"
    assert [line["vat"] for line in r["vat"]["lines"]] == ["0.02", "0.02", "0.02"]
    assert (r["vat"]["vat"], r["vat"]["net"]) == ("0.06", "0.24")


def test_meter_readings_with_rollover_and_replacement() -> None:
    r = preview({"component": METER, "currency": "RUB", "readings": [
        reading("r1", 1, "900"),
        reading("r2", 10, "980"),  # 80
        reading("r3", 15, "20", kind="rollover"),  # (1000 − 980) + 20 = 40
        reading("r4", 20, "5", kind="replacement", old_final="70"),  # old meter 70 − 20 = 50; new starts at 5
        reading("r5", 31, "35"),  # 30
    ]})
    assert r["quantity"] == "200" and r["amount"] == "400.00"
    formula = r["usage_explanation"]["formula"]
    assert "rollover: (1000 − 980) + 20 = 40" in formula and "replacement: old meter 70 − 20 = 50" in formula


def test_events_with_a_period_and_duplicates() -> None:
    r = preview({"component": EVENTS_SUM, "currency": "RUB", "period": MARCH, "events": [
        event("a", "2026-03-01T00:00:00+03:00", gb="10"),  # the first instant of March in Moscow
        event("b", "2026-03-31T23:59:59+03:00", gb="5"),
        event("b", "2026-03-31T23:59:59+03:00", gb="5"),  # a duplicate: counted once
    ]})
    assert r["quantity"] == "15" and r["amount"] == "15.00"
    assert "1 duplicate ignored" in r["usage_explanation"]["en"]
    assert r["input_echo"]["usage"] == {"events": 3} and r["input_echo"]["period"] == MARCH


def test_transactions_for_percentage() -> None:
    comp = {"code": "acq", "model": "percentage", "rate": "3", "fixed_fee": "0.10"}
    r = preview({"component": comp, "currency": "RUB", "transactions": ["100.00", "50.50"]})
    # 150.50 × 3 % = 4.515 → 4.52; 2 × 0.10 = 0.20
    assert r["amount"] == "4.72" and [line["amount"] for line in r["lines"]] == ["4.52", "0.20"]


def test_plan_with_quantity_usage_proration_and_setup_fee() -> None:
    r = preview({"plan": PLAN, "quantity": "2", "period": MARCH, "used": {"start": "2026-03-21", "end": "2026-04-01"},
                 "setup_fee": True, "vat_rate": "22", "prices_include_vat": False,
                 "usage": {"power": {"readings": [reading("p1", 1, "100"), reading("p2", 31, "125")]},
                           "traffic": {"events": [event("t1", "2026-03-05T10:00:00+03:00", gb="7")]}}})
    amounts = {c["component"]: c["amount"] for c in r["components"]}
    # base 620.00 × 11/31 = 220.00; seats 200.00 × 11/31 = 70.967… → 70.97; power: 10 free + 15 × 5.00;
    # traffic 7 × 1.00
    assert amounts == {"base": "220.00", "seats": "70.97", "power": "75.00", "traffic": "7.00"}
    assert r["extras"] == [{"kind": "setup_fee", "amount": "500.00", "explanation": r["extras"][0]["explanation"]}]
    assert r["amount"] == "872.97" and r["currency"] == "RUB"
    # VAT 22 % on top per group: 48.40 + 15.61 + 16.50 + 1.54 + 110.00 = 192.05
    assert [v["vat"] for v in r["vat"]["lines"]] == ["48.40", "15.61", "16.50", "1.54", "110.00"]
    assert (r["vat"]["vat"], r["vat"]["gross"]) == ("192.05", "1065.02")
    assert r["input_echo"]["usage"] == {"power": {"readings": 2}, "traffic": {"events": 1}}


def test_plan_defaults_to_its_first_currency_and_takes_another() -> None:
    assert preview({"plan": PLAN})["currency"] == "RUB"
    r = preview({"plan": PLAN, "currency": "usd", "usage": {"power": {"quantity": "30"}}})
    assert r["currency"] == "USD" and r["amount"] == "12.00"  # 8.00 + 1.00 + 30 × 0.10 + 0


# --- defaults from the billing settings -------------------------------------------------------------

@pytest.mark.django_db
def test_defaults_come_from_the_billing_settings() -> None:
    comp = {"component": {"code": "x", "model": "standard", "unit_price": "100.00"}, "currency": "RUB",
            "quantity": "1"}
    r = price_preview(comp)  # no settings row yet: ОСН, 22 %, prices include VAT
    assert (r["vat"]["rate"], r["vat"]["inclusive"], r["vat"]["vat"]) == ("22", True, "18.03")
    assert r["input_echo"]["from_settings"] == ["vat_rate", "prices_include_vat"]
    BillingSettings.objects.create(pk=1, time_zone="Asia/Yekaterinburg", vat_regime="usn_5",
                                   prices_include_vat=False)
    r = price_preview(comp)
    assert (r["vat"]["rate"], r["vat"]["inclusive"], r["vat"]["vat"]) == ("5", False, "5.00")
    # period days are the provider's: March 1 starts at 2026-02-28T19:00Z in Yekaterinburg (UTC+5)
    early = {"component": EVENTS_SUM, "currency": "RUB", "period": MARCH,
             "events": [event("e", "2026-02-28T19:30:00+00:00", gb="1")]}
    assert price_preview(early)["amount"] == "1.00"
    BillingSettings.objects.filter(pk=1).update(time_zone="Europe/Moscow")
    assert "events[0].timestamp" in error_of_settings(early)


def error_of_settings(data: dict[str, Any]) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as info:
        price_preview(data)
    return info.value.errors


def test_an_input_that_names_everything_reads_no_settings() -> None:
    def refuse() -> PreviewDefaults:
        raise AssertionError("the settings were read")

    r = price_preview({"component": GRADUATED, "currency": "RUB", "quantity": "5", "vat_rate": "10",
                       "prices_include_vat": False}, refuse)
    assert r["vat"]["vat"] == "0.50" and r["input_echo"]["from_settings"] == []


# --- errors name the field ----------------------------------------------------------------------------

def with_tiers(*tiers: tuple[str, str | None, str]) -> dict[str, Any]:
    return {"code": "t", "model": "graduated",
            "tiers": [{"from": a, "up_to": b, "unit_price": p} for a, b, p in tiers]}


COMPONENT_ERRORS: list[tuple[str, dict[str, Any], str, str]] = [
    ("tier gap", {"component": with_tiers(("0", "100", "1"), ("101", None, "1"))}, "component.tiers[1].from", "gap"),
    ("tier overlap", {"component": with_tiers(("0", "100", "1"), ("90", None, "1"))}, "component.tiers[1].from",
     "overlap"),
    ("first tier not at 0", {"component": with_tiers(("1", None, "1"))}, "component.tiers[0].from", "start at 0"),
    ("last tier closed", {"component": with_tiers(("0", "100", "1"))}, "component.tiers[0].up_to", "open"),
    ("negative tier price", {"component": with_tiers(("0", None, "-1"))}, "component.tiers[0].unit_price",
     "negative"),
    ("negative price", {"component": {"code": "x", "model": "standard", "unit_price": "-0.01"}},
     "component.unit_price", "negative"),
    ("unknown aggregation", {"component": {**EVENTS_SUM, "aggregation": {"type": "median", "property": "gb"}}},
     "component.aggregation.type", "unknown aggregation"),
    ("unknown model", {"component": {"code": "x", "model": "tiered", "unit_price": "1"}}, "component.model",
     "unknown model"),
    ("float price", {"component": {"code": "x", "model": "standard", "unit_price": 0.5}}, "component.unit_price",
     "decimal string"),
    ("missing currency", {"currency": None}, "currency", "is required"),
    ("unknown currency", {"currency": "XYZ"}, "currency", "unknown currency"),
    ("no usage", {"quantity": None}, "quantity", "give the usage"),
    ("float quantity", {"quantity": 1.5}, "quantity", "decimal string"),
    ("two usage forms", {"transactions": ["1"]}, "transactions", "one form only"),
    ("vat rate", {"vat_rate": "18"}, "vat_rate", "unknown VAT rate"),
    ("prices include vat", {"prices_include_vat": "yes"}, "prices_include_vat", "true or false"),
    ("unknown field", {"discount": "5"}, "discount", "unknown field"),
    ("plan-only field", {"setup_fee": True}, "setup_fee", "plan only"),
    ("period end", {"period": {"start": "2026-03-01", "end": "2026-03-01"}}, "period.end", "exclusive"),
    ("period date", {"period": {"start": "01.03.2026", "end": "2026-04-01"}}, "period.start", "YYYY-MM-DD"),
    ("plan and component", {"plan": PLAN}, "plan", "exactly one"),
]


@pytest.mark.parametrize("name,patch,field,words", COMPONENT_ERRORS, ids=[e[0] for e in COMPONENT_ERRORS])
def test_component_errors_name_the_field(name: str, patch: dict[str, Any], field: str, words: str) -> None:
    data: dict[str, Any] = {"component": {"code": "x", "model": "standard", "unit_price": "1"}, "currency": "RUB",
                            "quantity": "3"}
    for key, value in patch.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    errors = error_of(data)
    assert list(errors) == [field], errors
    assert words in errors[field][0]


def meter_input(*readings: dict[str, Any], spec: dict[str, Any] = METER) -> dict[str, Any]:
    return {"component": spec, "currency": "RUB", "readings": list(readings)}


USAGE_ERRORS: list[tuple[str, dict[str, Any], str, str]] = [
    ("reading below the previous", meter_input(
        reading("a", 1, "10"), reading("b", 2, "20"), reading("c", 3, "30"), reading("d", 4, "25")),
     "readings[3]", "below the previous reading c"),
    ("rollover without max_value", meter_input(
        reading("a", 1, "10"), reading("b", 2, "5", kind="rollover"),
        spec={**METER, "aggregation": {"type": "meter_reading"}}), "readings[1]", "no max_value"),
    ("reading at max_value", meter_input(reading("a", 1, "10"), reading("b", 2, "1000")), "readings[1].value",
     "max_value"),
    ("unknown reading kind", meter_input(reading("a", 1, "10"), reading("b", 2, "20", kind="reset")),
     "readings[1].kind", "unknown reading kind"),
    ("replacement without old_final", meter_input(reading("a", 1, "10"), reading("b", 2, "0", kind="replacement")),
     "readings[1].old_final", "old_final"),
    ("reading without offset", meter_input({"id": "a", "timestamp": "2026-03-01T00:00:00", "value": "1"}),
     "readings[0].timestamp", "UTC offset"),
    ("reading without id", meter_input({"timestamp": "2026-03-01T00:00:00Z", "value": "1"}), "readings[0].id",
     "required"),
    ("no readings", meter_input(), "readings", "opening reading"),
    ("event after the period", {"component": EVENTS_SUM, "currency": "RUB", "period": MARCH, "events": [
        event("ok", "2026-03-10T00:00:00+03:00", gb="1"), event("late", "2026-04-01T00:00:00+03:00", gb="1")]},
     "events[1].timestamp", "outside the period"),
    ("event without the property", {"component": EVENTS_SUM, "currency": "RUB", "events": [
        event("x", "2026-03-10T00:00:00Z"), event("y", "2026-03-10T00:00:00Z", mb="1")]},
     "events[0].properties.gb", "no property 'gb'"),
    ("events without aggregation", {"component": {"code": "x", "model": "standard", "unit_price": "1"},
                                    "currency": "RUB", "events": []}, "events", "no aggregation"),
    ("weighted sum without period", {"component": {**EVENTS_SUM, "aggregation": {
        "type": "weighted_sum", "property": "gb"}}, "currency": "RUB", "events": []}, "period", "period"),
    ("percentage given a total", {"component": {"code": "p", "model": "percentage", "rate": "1"},
                                  "currency": "RUB", "quantity": "100"}, "quantity", "transactions"),
    ("negative transaction", {"component": {"code": "p", "model": "percentage", "rate": "1"},
                              "currency": "RUB", "transactions": ["1", "-5"]}, "transactions[1]", "negative"),
]


@pytest.mark.parametrize("name,data,field,words", USAGE_ERRORS, ids=[e[0] for e in USAGE_ERRORS])
def test_usage_errors_name_the_item(name: str, data: dict[str, Any], field: str, words: str) -> None:
    errors = error_of(data)
    assert list(errors) == [field], errors
    assert words in errors[field][0]


def plan_with(path: list[Any], value: Any) -> dict[str, Any]:
    plan = copy.deepcopy(PLAN)
    target: Any = plan
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return plan


PLAN_ERRORS: list[tuple[str, dict[str, Any], str, str]] = [
    ("no price in the currency", {"plan": PLAN, "currency": "EUR"}, "currency", "no price in EUR"),
    ("tier gap in a price", {"plan": plan_with(["components", 2, "prices", "RUB", "tiers", 1, "from"], "11")},
     "plan.components[2].prices.RUB.tiers[1].from", "gap"),
    ("a price missing", {"plan": plan_with(["components", 0, "prices"], {"RUB": PLAN["components"][0]["prices"]["RUB"]})},
     "plan.components[0].prices.USD", "is required"),
    ("reading below the previous", {"plan": PLAN, "usage": {"power": {"readings": [
        reading("a", 1, "10"), reading("b", 2, "20"), reading("c", 3, "15")]}}},
     "usage.power.readings[2]", "below the previous"),
    ("event outside the period", {"plan": PLAN, "period": MARCH, "usage": {"traffic": {"events": [
        event("t", "2026-02-28T23:00:00+03:00", gb="1")]}}}, "usage.traffic.events[0].timestamp", "outside"),
    ("usage of no component", {"plan": PLAN, "usage": {"disk": {"quantity": "1"}}}, "usage.disk", "no component"),
    ("usage of a fixed component", {"plan": PLAN, "usage": {"base": {"quantity": "1"}}}, "usage.base", "fixed"),
    ("usage in two forms", {"plan": PLAN, "usage": {"traffic": {"quantity": "1", "events": []}}},
     "usage.traffic.events", "one form only"),
    ("top-level readings", {"plan": PLAN, "readings": []}, "readings", "usage.<component code>.readings"),
    ("used without period", {"plan": PLAN, "used": MARCH}, "used", "period"),
    ("used outside the period", {"plan": PLAN, "period": MARCH, "used": {"start": "2026-03-15", "end": "2026-04-02"}},
     "used", "within"),
    ("subscription quantity", {"plan": PLAN, "quantity": "0"}, "quantity", "at least 1"),
    ("setup_fee flag", {"plan": PLAN, "setup_fee": "yes"}, "setup_fee", "true or false"),
    ("neither", {"currency": "RUB"}, "component", "exactly one"),
]


@pytest.mark.parametrize("name,data,field,words", PLAN_ERRORS, ids=[e[0] for e in PLAN_ERRORS])
def test_plan_errors_name_the_field(name: str, data: dict[str, Any], field: str, words: str) -> None:
    errors = error_of(data)
    assert list(errors) == [field], errors
    assert words in errors[field][0]


def test_the_input_must_be_an_object() -> None:
    with pytest.raises(ValidationFailed) as info:
        preview([])  # type: ignore[arg-type]
    assert info.value.errors == {"": ["must be an object, got a list"]}


def test_amounts_are_exact_decimal_strings() -> None:
    r = preview({"component": {"code": "x", "model": "standard", "unit_price": "0.0025"}, "currency": "JPY",
                 "quantity": "1999"})
    assert r["amount"] == "5" and Decimal(r["vat"]["vat"]) == Decimal("1")  # ¥: 4.9975 → 5; 5 × 22/122 → 1
