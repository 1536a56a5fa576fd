"""Query parameters of API reads, checked in one place: a bad value is a 400 problem that names the
parameter, never a 500."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.utils.translation import gettext as _

from kopeck.common.errors import ValidationFailed
from kopeck.common.limits import date_out_of_bounds
from kopeck.core.money import MINOR_UNITS


def date_param(params: Mapping[str, str], name: str, *, required: bool = False) -> dt.date | None:
    """``YYYY-MM-DD`` within the supported calendar, or None when absent (and not required)."""
    raw = params.get(name)
    if raw is None:
        if required:
            raise ValidationFailed.field(name, _("This parameter is required (YYYY-MM-DD)."))
        return None
    try:
        day = dt.date.fromisoformat(raw) if len(raw) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise ValidationFailed.field(name, _("Enter a date as YYYY-MM-DD."))
    problem = date_out_of_bounds(day)
    if problem:
        raise ValidationFailed.field(name, problem)
    return day


def currency_param(params: Mapping[str, str], name: str = "currency") -> str | None:
    """An ISO 4217 code Kopeck knows, or None when absent."""
    raw = params.get(name)
    if raw is None:
        return None
    code = raw.strip().upper()
    if code not in MINOR_UNITS:
        raise ValidationFailed.field(name, _("Unknown currency %(code)s.") % {"code": raw[:10]})
    return code


def int_param(params: Mapping[str, str], name: str) -> int | None:
    """A positive id (a whole number), or None when absent."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise ValidationFailed.field(name, _("Must be an id (a whole number)."))
    return int(raw)


def choice_param(params: Mapping[str, str], name: str, choices: list[str]) -> str | None:
    raw = params.get(name)
    if raw is None:
        return None
    if raw not in choices:
        raise ValidationFailed.field(name, _("One of: %(choices)s.") % {"choices": ", ".join(choices)})
    return raw


def bool_param(params: Mapping[str, str], name: str) -> bool | None:
    """``true`` or ``false`` (as the schema's boolean parameters are written), or None when absent."""
    raw = params.get(name)
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise ValidationFailed.field(name, _("One of: %(choices)s.") % {"choices": "true, false"})
    return raw == "true"
