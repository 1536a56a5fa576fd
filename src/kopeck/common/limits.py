"""Limits every layer checks the same way (the values live in settings; docs/settings.md "Limits")."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils.translation import gettext as _


def date_bounds() -> tuple[dt.date, dt.date]:
    """The calendar Kopeck accepts (``KOPECK_DATE_MIN`` … ``KOPECK_DATE_MAX``)."""
    return (dt.date.fromisoformat(settings.KOPECK_DATE_MIN), dt.date.fromisoformat(settings.KOPECK_DATE_MAX))


def date_out_of_bounds(day: dt.date) -> str | None:
    """Why ``day`` is outside the calendar Kopeck works in (None: it is inside)."""
    low, high = date_bounds()
    if not low <= day <= high:
        return _("Dates from %(low)s to %(high)s are supported.") % {"low": low.isoformat(), "high": high.isoformat()}
    return None
