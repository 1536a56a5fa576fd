"""Strict value parsing and plain formatting shared by the pricing modules (private)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from kopeck.core.money import DECIMAL_TEXT_MAX, decimal_text_problem
from kopeck.core.pricing.errors import PricingError, SpecError

ZERO = Decimal(0)
# Input numbers are bounded so that every product and sum of them stays exact in the 60-digit
# context the rating runs in (18 + 12 digits per factor: a product has at most 60).
MAX_INTEGER_DIGITS = 18
MAX_PLACES = 12
HUNDRED = Decimal(100)


def dec(value: object, field: str, error: type[PricingError] = SpecError) -> Decimal:
    """An exact Decimal from a Decimal, an int or a numeric string; floats and booleans are refused."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool | float):
        raise error("float_or_bool", field)
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        if decimal_text_problem(value) is not None:
            if len(value) > DECIMAL_TEXT_MAX:
                raise error("decimal_too_long", field, count=DECIMAL_TEXT_MAX)
            raise error("not_plain_decimal", field, text=value)
        result = Decimal(value)
    else:
        raise error("decimal_type", field, type=type(value).__name__)
    if not result.is_finite():
        raise error("not_finite", field)
    if result and (result.adjusted() >= MAX_INTEGER_DIGITS or int(result.as_tuple().exponent) < -MAX_PLACES):
        raise error("out_of_range", field, digits=MAX_INTEGER_DIGITS, places=MAX_PLACES)
    return result


def non_negative(value: Decimal, field: str) -> None:
    if value < 0:
        raise SpecError("negative", field, value=fmt(value))


def fmt(value: Decimal) -> str:
    """Plain notation, exactly as many digits as the value has (no exponent)."""
    return f"{value:f}"


def trim(value: Decimal) -> str:
    """Plain notation without trailing zeros (for exact intermediate results: 0.17100 → 0.171)."""
    return f"{value.normalize():f}"


def check_keys(data: object, allowed: Iterable[str], path: str = "") -> Mapping[str, Any]:
    """``data`` as a mapping with only ``allowed`` keys (unknown keys are errors, to catch typos)."""
    if not isinstance(data, Mapping):
        raise SpecError("object_got", path or None, type=type(data).__name__)
    allowed_set = set(allowed)
    for key in data:
        if key not in allowed_set:
            where = f"{path}.{key}" if path else str(key)
            raise SpecError("unknown_field", where, expected=", ".join(sorted(allowed_set)))
    return data


def req(data: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in data:
        raise SpecError("required", path)
    return data[key]


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
