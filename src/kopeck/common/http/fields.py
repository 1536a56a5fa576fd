"""Serializer fields for the API's input: amounts in the one plain decimal grammar, and dates and
instants within the supported calendar (``settings.KOPECK_DATE_MIN`` … ``KOPECK_DATE_MAX``)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from kopeck.common.limits import date_out_of_bounds
from kopeck.core.money import DECIMAL_TEXT_MAX, decimal_text_problem

__all__ = ["AmountField", "DateField", "DateTimeField", "date_out_of_bounds"]

DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


@extend_schema_field({"type": "string", "pattern": DECIMAL_PATTERN, "maxLength": DECIMAL_TEXT_MAX,
                      "example": "1500.00"})
class AmountField(serializers.Field):  # type: ignore[type-arg]
    """A decimal as a JSON string in the plain grammar (``"1500.00"``, ``"-3"``): no JSON numbers,
    no exponent, no ``+``, no ``.5``, no separators, ASCII digits only. Gives a ``Decimal``."""

    default_error_messages = {
        "type": gettext_lazy('Must be a decimal string such as "1500.00", not a JSON number or another type.'),
    }

    def __init__(self, *, min_value: Decimal | None = None, max_places: int | None = None,
                 **kwargs: Any) -> None:
        self.min_value, self.max_places = min_value, max_places
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Decimal:
        if not isinstance(data, str):
            raise serializers.ValidationError(
                _('Must be a decimal string such as "1500.00", not a JSON number or another type.'))
        problem = decimal_text_problem(data)
        if problem is not None:
            raise serializers.ValidationError(
                _('Must be a decimal string such as "1500.00" (digits, an optional minus and point).'))
        value = Decimal(data)
        if self.min_value is not None and value < self.min_value:
            raise serializers.ValidationError(_("Must be at least %(min)s.") % {"min": self.min_value})
        if self.max_places is not None and -int(value.as_tuple().exponent) > self.max_places:
            raise serializers.ValidationError(ngettext("At most %(places)d decimal place.", "At most %(places)d decimal places.",
                                                       self.max_places) % {"places": self.max_places})
        return value

    def to_representation(self, value: Any) -> str:
        return str(value)


class DateField(serializers.DateField):
    """ISO 8601 date within the supported calendar."""

    def to_internal_value(self, value: Any) -> dt.date:
        day: dt.date = super().to_internal_value(value)
        problem = date_out_of_bounds(day)
        if problem:
            raise serializers.ValidationError(problem)
        return day


class DateTimeField(serializers.DateTimeField):
    """ISO 8601 instant with a UTC offset, within the supported calendar (checked in UTC and as given,
    so that converting it never leaves the calendar)."""

    def to_internal_value(self, value: Any) -> dt.datetime:
        if isinstance(value, str):
            try:
                given = dt.datetime.fromisoformat(value)
            except ValueError:
                given = None
            if given is not None and date_out_of_bounds(given.date()):
                raise serializers.ValidationError(date_out_of_bounds(given.date()))
        try:
            moment: dt.datetime = super().to_internal_value(value)
        except OverflowError:
            raise serializers.ValidationError(date_out_of_bounds(dt.date.min)) from None
        problem = date_out_of_bounds(moment.date())
        if problem:
            raise serializers.ValidationError(problem)
        return moment
