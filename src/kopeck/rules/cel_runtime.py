"""The operations of CEL on plain Python values, for the conditions compiled by
:mod:`kopeck.rules.cel_fast` — with the semantics of the interpreter Kopeck uses (the ``cel`` crate
behind ``common-expression-language``), checked value by value against it by a differential test:

* values: ``dict`` (map), ``list``, ``str``, ``int`` (64-bit), ``float`` (double), ``bool``, ``None``
  (null) and aware ``datetime`` (timestamp) — what the rules engine gives;
* a missing field, an operator on the wrong types (``1 + 2.5``, ``!1``, ``"a" < 1``), integer
  overflow, an integer division by zero raise :class:`CelError` (the condition fails);
* anything the fast path does not reproduce exactly — an integer outside 64 bits (the interpreter
  makes it ``uint`` or ``double``), ``string(1.5)``, a float division by zero, an error inside a
  macro — raises :class:`~kopeck.rules.cel_parse.Unsupported`: the interpreter evaluates that
  condition for that event instead.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Final, NoReturn

from kopeck.rules.cel_parse import Unsupported

INT_MIN: Final = -(2**63)
INT_MAX: Final = 2**63 - 1
INT_PATTERN: Final = re.compile(r"[+-]?[0-9]+")
DOUBLE_PATTERN: Final = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
SCALARS: Final = (str, int, float, bool, type(None))


class CelError(Exception):
    """The expression fails on this data (the interpreter fails the same way)."""


def fail(*_args: Any) -> NoReturn:
    raise CelError


def unsupported(*_args: Any) -> NoReturn:
    raise Unsupported


def _int(value: int) -> int:
    if INT_MIN <= value <= INT_MAX:
        return value
    raise Unsupported  # the interpreter holds it as uint or double


def _number(value: Any) -> bool:
    kind = value.__class__
    if kind is int:
        _int(value)
        return True
    return kind is float


def select(value: Any, name: str) -> Any:
    """``value.name``: a field of a map; a missing field or a non-map is an error."""
    if value.__class__ is dict:
        try:
            return value[name]
        except KeyError:
            raise CelError from None
    if value.__class__ in SCALARS or value.__class__ is list or isinstance(value, dt.datetime):
        raise CelError
    raise Unsupported


def has(value: Any, name: str) -> bool:
    if value.__class__ is dict:
        return name in value
    if value.__class__ in SCALARS or value.__class__ is list or isinstance(value, dt.datetime):
        raise CelError
    raise Unsupported


def index(value: Any, key: Any) -> Any:
    kind = value.__class__
    if kind is list:
        if key.__class__ is int:
            if 0 <= key < len(value):
                return value[key]
            raise CelError
        raise Unsupported if key.__class__ not in SCALARS else CelError
    if kind is dict:
        if key.__class__ is str:
            try:
                return value[key]
            except KeyError:
                raise CelError from None
        raise Unsupported
    raise Unsupported


def eq(a: Any, b: Any) -> bool:
    """CEL equality: across int and double by value, false across other types, lists and maps
    element by element."""
    ka, kb = a.__class__, b.__class__
    if ka is kb:
        if ka is str or ka is bool or ka is float or a is None:
            return bool(a == b)
        if ka is int:
            return _int(a) == _int(b)
        if ka is list:
            return len(a) == len(b) and all(eq(x, y) for x, y in zip(a, b, strict=True))
        if ka is dict:
            if len(a) != len(b):
                return False
            if any(k.__class__ is not str for k in a) or any(k.__class__ is not str for k in b):
                raise Unsupported
            return all(k in b and eq(v, b[k]) for k, v in a.items())
        if ka is dt.datetime:
            return _same_zone(a, b) and a == b
        raise Unsupported
    if (ka is int or ka is float) and (kb is int or kb is float):
        _number(a)
        _number(b)
        return float(a) == float(b)  # the interpreter compares an int with a double as doubles
    if ka not in SCALARS and ka not in (list, dict, dt.datetime):
        raise Unsupported
    if kb not in SCALARS and kb not in (list, dict, dt.datetime):
        raise Unsupported
    return False


def _same_zone(a: dt.datetime, b: dt.datetime) -> bool:
    if (a.tzinfo is None) != (b.tzinfo is None):
        raise Unsupported  # the interpreter reads a naive datetime as UTC
    return True


def ne(a: Any, b: Any) -> bool:
    return not eq(a, b)


def _order(a: Any, b: Any) -> tuple[Any, Any]:
    ka, kb = a.__class__, b.__class__
    if ka is int and kb is int:
        return _int(a), _int(b)
    if (ka is int or ka is float) and (kb is int or kb is float):
        _number(a)
        _number(b)
        return float(a), float(b)  # the interpreter compares an int with a double as doubles
    if ka is kb and (ka is str or ka is bool):
        return a, b
    if isinstance(a, dt.datetime) and isinstance(b, dt.datetime):
        _same_zone(a, b)
        return a, b
    if (ka in SCALARS or ka is list or ka is dict) and (kb in SCALARS or kb is list or kb is dict):
        raise CelError
    raise Unsupported


def lt(a: Any, b: Any) -> bool:
    x, y = _order(a, b)
    return bool(x < y)


def le(a: Any, b: Any) -> bool:
    x, y = _order(a, b)
    return bool(x <= y)


def gt(a: Any, b: Any) -> bool:
    x, y = _order(a, b)
    return bool(x > y)


def ge(a: Any, b: Any) -> bool:
    x, y = _order(a, b)
    return bool(x >= y)


def contained(item: Any, container: Any) -> bool:
    """``item in container``: an element of a list (CEL equality), a key of a map."""
    kind = container.__class__
    if kind is list:
        if item.__class__ is str:
            return item in container  # a string equals only an equal string
        return any(eq(item, element) for element in container)
    if kind is dict:
        if item.__class__ is str:
            return item in container
        raise Unsupported
    if kind in SCALARS:
        raise CelError
    raise Unsupported


def _checked(value: int) -> int:
    if INT_MIN <= value <= INT_MAX:
        return value
    raise CelError  # overflow


def add(a: Any, b: Any) -> Any:
    ka, kb = a.__class__, b.__class__
    if ka is int and kb is int:
        return _checked(_int(a) + _int(b))
    if ka is kb and (ka is float or ka is str or ka is list):
        return a + b
    return _mismatch(a, b)


def _mismatch(a: Any, b: Any) -> NoReturn:
    ka, kb = a.__class__, b.__class__
    if ka is int:
        _int(a)
    if kb is int:
        _int(b)
    if (ka in SCALARS or ka is list or ka is dict) and (kb in SCALARS or kb is list or kb is dict):
        raise CelError
    raise Unsupported  # timestamps and durations: the interpreter


def sub(a: Any, b: Any) -> Any:
    ka, kb = a.__class__, b.__class__
    if ka is int and kb is int:
        return _checked(_int(a) - _int(b))
    if ka is float and kb is float:
        return a - b
    return _mismatch(a, b)


def mul(a: Any, b: Any) -> Any:
    ka, kb = a.__class__, b.__class__
    if ka is int and kb is int:
        return _checked(_int(a) * _int(b))
    if ka is float and kb is float:
        return a * b
    return _mismatch(a, b)


def div(a: Any, b: Any) -> Any:
    ka, kb = a.__class__, b.__class__
    if ka is int and kb is int:
        _int(a)
        if _int(b) == 0:
            raise CelError
        quotient = abs(a) // abs(b)
        return _checked(quotient if (a < 0) == (b < 0) else -quotient)
    if ka is float and kb is float:
        if b == 0.0:
            raise Unsupported  # infinity or NaN: the interpreter
        return a / b
    return _mismatch(a, b)


def mod(a: Any, b: Any) -> Any:
    ka, kb = a.__class__, b.__class__
    if ka is int and kb is int:
        _int(a)
        if _int(b) == 0:
            raise CelError
        if a == INT_MIN and b == -1:
            raise CelError
        rest = abs(a) % abs(b)
        return rest if a >= 0 else -rest
    return _mismatch(a, b)


def neg(a: Any) -> Any:
    kind = a.__class__
    if kind is int:
        if a == INT_MIN:
            raise Unsupported  # the interpreter gives INT_MIN back (it wraps)
        return _checked(-_int(a))
    if kind is float:
        return -a
    if kind is bool:
        raise Unsupported  # the interpreter gives "not": -true is false
    if kind in SCALARS or kind is list or kind is dict:
        raise CelError
    raise Unsupported


def not_(a: Any) -> bool:
    if a is True:
        return False
    if a is False:
        return True
    if a.__class__ in SCALARS or a.__class__ is list or a.__class__ is dict:
        raise CelError
    raise Unsupported


def size(value: Any) -> int:
    kind = value.__class__
    if kind is str:
        return len(value) if value.isascii() else len(value.encode())  # bytes of UTF-8, as the interpreter
    if kind is list or kind is dict:
        return len(value)
    if kind in SCALARS:
        raise CelError
    raise Unsupported


def _strings(target: Any, arg: Any) -> None:
    if target.__class__ is not str or arg.__class__ is not str:
        if target.__class__ in SCALARS and arg.__class__ in SCALARS:
            raise CelError
        raise Unsupported


def contains(target: Any, arg: Any) -> bool:
    _strings(target, arg)
    return arg in target


def starts_with(target: Any, arg: Any) -> bool:
    _strings(target, arg)
    return bool(target.startswith(arg))


def ends_with(target: Any, arg: Any) -> bool:
    _strings(target, arg)
    return bool(target.endswith(arg))


def to_int(value: Any) -> int:
    kind = value.__class__
    if kind is int:
        return _int(value)
    if kind is str:
        if INT_PATTERN.fullmatch(value) and value.isascii():
            number = int(value)
            if INT_MIN <= number <= INT_MAX:
                return number
        raise CelError
    if kind is float:
        if -(2.0**62) < value < 2.0**62:
            return int(value)
        raise Unsupported
    if kind in SCALARS or kind is list or kind is dict:
        raise CelError
    raise Unsupported


def to_double(value: Any) -> float:
    kind = value.__class__
    if kind is float:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return float(_int(value))
    if kind is str:
        if value.isascii() and DOUBLE_PATTERN.fullmatch(value):
            return float(value)
        raise Unsupported  # "inf", "NaN", or an error: the interpreter
    if kind in SCALARS or kind is list or kind is dict:
        raise CelError
    raise Unsupported


def to_string(value: Any) -> str:
    kind = value.__class__
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return str(_int(value))
    raise Unsupported


def dyn(value: Any) -> Any:
    return value


def iterable(value: Any) -> list[Any]:
    """What a macro runs over: a list's elements, a map's keys."""
    if value.__class__ is list:
        return value  # type: ignore[no-any-return]
    if value.__class__ is dict:
        return list(value)
    if value.__class__ in SCALARS:
        raise CelError
    raise Unsupported


def result(value: Any) -> Any:
    """An expression's value as the interpreter gives it back, or Unsupported where it would differ
    (an integer beyond 64 bits comes back from it as uint or double)."""
    kind = value.__class__
    if kind is int:
        _int(value)
    elif kind is list:
        for item in value:
            result(item)
    elif kind is dict:
        for item in value.values():
            result(item)
    return value


NAMES: Final = {
    "CelError": CelError, "Unsupported": Unsupported, "fail": fail, "unsupported": unsupported, "select": select,
    "has": has, "index": index, "eq": eq, "ne": ne, "lt": lt, "le": le, "gt": gt, "ge": ge, "contained": contained,
    "add": add, "sub": sub, "mul": mul, "div": div, "mod": mod, "neg": neg, "not_": not_, "size": size,
    "contains": contains, "starts_with": starts_with, "ends_with": ends_with, "to_int": to_int,
    "to_double": to_double, "to_string": to_string, "dyn": dyn, "iterable": iterable, "result": result,
}
