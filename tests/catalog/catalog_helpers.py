"""Shared helpers of the catalog tests: a realistic hosting plan spec and a snapshot of everything the
catalog services may write (to assert that a refused call wrote nothing)."""

from __future__ import annotations

import copy
from typing import Any

from kopeck.audit.models import AuditEntry
from kopeck.catalog import services
from kopeck.catalog.models import Plan, PlanVersion, Product
from kopeck.common.actor import Actor

HOSTING_SPEC: dict[str, Any] = {
    "code": "vps-pro",
    "name": "VPS Pro",
    "billing_period": {"unit": "month", "count": 1},
    "currencies": ["RUB", "USD"],
    "trial": {"days": 14},
    "components": [
        {"code": "base", "name": "Абонентская плата", "kind": "fixed", "billing": "in_advance",
         "prices": {"RUB": {"model": "standard", "unit_price": "1490.00"},
                    "USD": {"model": "standard", "unit_price": "19.00"}}},
        {"code": "seats", "name": "Места", "kind": "per_unit", "billing": "in_advance",
         "prices": {"RUB": {"model": "standard", "unit_price": "300.00"},
                    "USD": {"model": "standard", "unit_price": "4.00"}}},
        {"code": "traffic", "name": "Трафик, ГБ", "kind": "metered", "billing": "in_arrears",
         "prices": {
             "RUB": {"model": "graduated", "aggregation": {"type": "sum", "property": "gb"},
                     "tiers": [{"from": "0", "up_to": "100", "unit_price": "0.00"},
                               {"from": "100", "up_to": "1000", "unit_price": "2.50"},
                               {"from": "1000", "up_to": None, "unit_price": "1.80"}]},
             "USD": {"model": "graduated", "aggregation": {"type": "sum", "property": "gb"},
                     "tiers": [{"from": "0", "up_to": "100", "unit_price": "0.00"},
                               {"from": "100", "up_to": "1000", "unit_price": "0.03"},
                               {"from": "1000", "up_to": None, "unit_price": "0.02"}]}}},
    ],
}


def hosting_spec(code: str = "vps-pro", *, base_rub: str = "1490.00") -> dict[str, Any]:
    spec = copy.deepcopy(HOSTING_SPEC)
    spec["code"] = code
    spec["components"][0]["prices"]["RUB"]["unit_price"] = base_rub
    return spec


def tier_gap(spec: dict[str, Any]) -> None:
    spec["components"][2]["prices"]["RUB"]["tiers"][1]["from"] = "101"


def negative_price(spec: dict[str, Any]) -> None:
    spec["components"][1]["prices"]["USD"]["unit_price"] = "-4.00"


def unknown_aggregation(spec: dict[str, Any]) -> None:
    spec["components"][2]["prices"]["RUB"]["aggregation"]["type"] = "average"


def currency_without_price(spec: dict[str, Any]) -> None:
    spec["currencies"].append("EUR")


# (how to break the spec, the field named by the error, a fragment of its message)
BAD_SPECS = [
    (tier_gap, "spec.components[2].prices.RUB.tiers[1].from", "gap"),
    (negative_price, "spec.components[1].prices.USD.unit_price", "must not be negative"),
    (unknown_aggregation, "spec.components[2].prices.RUB.aggregation.type", "unknown aggregation 'average'"),
    (currency_without_price, "spec.components[0].prices.EUR", "is required"),
]


def snapshot() -> dict[str, Any]:
    """Every row the catalog services write (catalog tables and the audit log)."""
    return {
        "counts": {m.__name__: m.objects.count() for m in (Product, Plan, PlanVersion, AuditEntry)},
        "products": list(Product.objects.order_by("pk").values()),
        "plans": list(Plan.objects.order_by("pk").values()),
        "versions": list(PlanVersion.objects.order_by("pk").values()),
        "audit": list(AuditEntry.objects.order_by("pk").values_list("pk", flat=True)),
    }


def make_product(actor: Actor, code: str = "vps", **kwargs: Any) -> Product:
    kwargs.setdefault("name_ru", "Виртуальный сервер")
    kwargs.setdefault("name_en", "Virtual server")
    kwargs.setdefault("unit", "мес")
    return services.product_create(actor=actor, code=code, **kwargs)


def make_plan(actor: Actor, code: str = "vps-pro", product: Product | None = None, **kwargs: Any) -> Plan:
    kwargs.setdefault("name_ru", "VPS Про")
    kwargs.setdefault("name_en", "VPS Pro")
    return services.plan_create(actor=actor, product=product or make_product(actor), code=code, **kwargs)
