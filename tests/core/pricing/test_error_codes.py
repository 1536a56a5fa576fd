"""Refusals by code and parameters: what the Django edge translates (kopeck.catalog.pricing_errors) is
the error's ``code`` and ``params``, so each refusal here pins them together with its field and its
English text. The refusals the code-and-parameters change added: a decimal text too long (at 40
characters a text is still read as a decimal and refused as one), a currency that is not a code, and
the billing period's missing unit, unknown unit and bad count."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kopeck.core.pricing import ComponentSpec, PricingError, SpecError
from kopeck.core.pricing.errors import MESSAGES
from kopeck.core.pricing.plan import PlanSpec


def comp(**fields: Any) -> ComponentSpec:
    return ComponentSpec.from_dict({"code": "c", "model": "standard", "unit_price": "1", **fields})


def plan(**overrides: Any) -> PlanSpec:
    data: dict[str, Any] = {
        "code": "p", "billing_period": {"unit": "month", "count": 1}, "currencies": ["RUB"],
        "components": [{"code": "base", "kind": "fixed",
                        "prices": {"RUB": {"model": "standard", "unit_price": "10"}}}],
    }
    data.update(overrides)
    return PlanSpec.from_dict(data)


FORTY_X = "x" * 40  # the longest text still read as a decimal (DECIMAL_TEXT_MAX)
FORTY_ONE_DIGITS = "1" * 41

# (id, refused call, field, code, params, English text as the API user reads it)
CASES: list[tuple[str, Callable[[], object], str, str, dict[str, Any], str]] = [
    ("decimal text of 40 characters", lambda: comp(unit_price=FORTY_X), "unit_price", "not_plain_decimal",
     {"text": FORTY_X}, f"unit_price: not a plain decimal such as \"1500.00\": '{FORTY_X}'"),
    ("decimal text of 41 characters", lambda: comp(unit_price=FORTY_ONE_DIGITS), "unit_price", "decimal_too_long",
     {"count": 40}, "unit_price: at most 40 characters"),
    ("currency a number", lambda: plan(currencies=["RUB", 643]), "currencies[1]", "currency_type",
     {"type": "int"}, "currencies[1]: currency must be an ISO 4217 code, got int"),
    ("currency null", lambda: plan(currencies=[None]), "currencies[0]", "currency_type",
     {"type": "NoneType"}, "currencies[0]: currency must be an ISO 4217 code, got NoneType"),
    ("currency a number on pricing", lambda: plan().require_currency(643),  # type: ignore[arg-type]
     "currency", "currency_type", {"type": "int"}, "currency: currency must be an ISO 4217 code, got int"),
    ("currency unknown", lambda: plan(currencies=["XYZ"]), "currencies[0]", "unknown_currency",
     {"currency": "XYZ"}, "currencies[0]: unknown currency 'XYZ'"),
    ("billing period without a unit", lambda: plan(billing_period={"count": 1}), "billing_period", "interval_unit",
     {}, 'billing_period: an interval needs a unit, e.g. {"unit": "month", "count": 1}'),
    ("billing period empty", lambda: plan(billing_period={}), "billing_period", "interval_unit",
     {}, 'billing_period: an interval needs a unit, e.g. {"unit": "month", "count": 1}'),
    ("billing period of an unknown unit", lambda: plan(billing_period={"unit": "fortnight"}), "billing_period",
     "interval_unknown_unit", {"unit": "fortnight"}, "billing_period: unknown period unit 'fortnight'"),
    ("billing period unit a number", lambda: plan(billing_period={"unit": 1, "count": 1}), "billing_period",
     "interval_unknown_unit", {"unit": 1}, "billing_period: unknown period unit 1"),
    ("billing period count as text", lambda: plan(billing_period={"unit": "month", "count": "2"}), "billing_period",
     "interval_count", {"count": "2"}, "billing_period: interval count must be a positive integer, got '2'"),
    ("billing period count negative", lambda: plan(billing_period={"unit": "day", "count": -1}), "billing_period",
     "interval_count", {"count": -1}, "billing_period: interval count must be a positive integer, got -1"),
]


@pytest.mark.parametrize(("make", "field", "code", "params", "text"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_refusal_code_and_params(make: Callable[[], object], field: str, code: str, params: dict[str, Any],
                                 text: str) -> None:
    with pytest.raises(PricingError) as info:
        make()
    exc = info.value
    assert type(exc) is SpecError
    assert (exc.field, exc.code, exc.params) == (field, code, params)
    assert str(exc) == text
    assert f"{field}: {exc.message}" == text


def test_a_message_without_parameters_has_no_percent_sign() -> None:
    # An error without parameters says MESSAGES[code] as it stands; a "%" in such a text would be a
    # placeholder left unfilled, or a literal one "%"-formatting would read differently.
    assert [code for code, text in MESSAGES.items() if "%" in text and "%(" not in text] == []
