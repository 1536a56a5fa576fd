"""Strict value parsing and plain formatting shared by the pricing modules (private)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from kopeck.core.money import decimal_text_problem
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
        raise error('must be a decimal string such as "0.50", not a JSON float or boolean', field)
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str):
        problem = decimal_text_problem(value)
        if problem is not None:
            raise error(problem, field)
        result = Decimal(value)
    else:
        raise error(f"must be a decimal string, got {type(value).__name__}", field)
    if not result.is_finite():
        raise error("must be a finite number", field)
    if result and (result.adjusted() >= MAX_INTEGER_DIGITS or int(result.as_tuple().exponent) < -MAX_PLACES):
        raise error(f"out of range: at most {MAX_INTEGER_DIGITS} digits before the point and "
                    f"{MAX_PLACES} after it", field)
    return result


def non_negative(value: Decimal, field: str) -> None:
    if value < 0:
        raise SpecError(f"must not be negative, got {fmt(value)}", field)


def fmt(value: Decimal) -> str:
    """Plain notation, exactly as many digits as the value has (no exponent)."""
    return f"{value:f}"


def trim(value: Decimal) -> str:
    """Plain notation without trailing zeros (for exact intermediate results: 0.17100 → 0.171)."""
    return f"{value.normalize():f}"


def check_keys(data: object, allowed: Iterable[str], path: str = "") -> Mapping[str, Any]:
    """``data`` as a mapping with only ``allowed`` keys (unknown keys are errors, to catch typos)."""
    if not isinstance(data, Mapping):
        raise SpecError(f"must be an object, got {type(data).__name__}", path or None)
    allowed_set = set(allowed)
    for key in data:
        if key not in allowed_set:
            where = f"{path}.{key}" if path else str(key)
            raise SpecError(f"unknown field; expected one of {', '.join(sorted(allowed_set))}", where)
    return data


def req(data: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in data:
        raise SpecError("is required", path)
    return data[key]


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key
