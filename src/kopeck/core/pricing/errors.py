"""Errors of the pricing core. Every error names the offending field or item when there is one.

An error says what is wrong by a ``code`` (a key of :data:`MESSAGES`) and its ``params``; its
``message`` is the English text ``MESSAGES[code] % params``. The core imports no Django, so it cannot
translate: the Django edge tells the same error in the active language from the code and the
parameters (:func:`kopeck.catalog.pricing_errors.pricing_message`, one translation per code)."""

from __future__ import annotations

from typing import Any

# code → English text with named placeholders (the catalogue's msgid at the Django edge).
MESSAGES: dict[str, str] = {
    # values (_values.py)
    "float_or_bool": 'must be a decimal string such as "0.50", not a JSON float or boolean',
    "decimal_too_long": "at most %(count)d characters",
    "not_plain_decimal": 'not a plain decimal such as "1500.00": %(text)r',
    "decimal_type": "must be a decimal string, got %(type)s",
    "not_finite": "must be a finite number",
    "out_of_range": "out of range: at most %(digits)d digits before the point and %(places)d after it",
    "negative": "must not be negative, got %(value)s",
    "object_got": "must be an object, got %(type)s",
    "object": "must be an object",
    "unknown_field": "unknown field; expected one of %(expected)s",
    "required": "is required",
    "non_empty_string": "must be a non-empty string",
    "string": "must be a string",
    "positive": "must be positive",
    "positive_got": "must be positive, got %(value)s",
    "positive_whole": "must be a positive whole number",
    "non_negative_integer": "must be a non-negative integer, got %(value)r",
    # usage (usage.py, aggregation.py, meter.py, percentage.py)
    "naive_datetime": "must be a timezone-aware datetime",
    "event_id": "an event needs a non-empty string id",
    "reading_id": "a reading needs a non-empty string id",
    "reading_kind": "unknown reading kind %(kind)r",
    "old_final": "old_final is given exactly for replacement readings",
    "one_usage_form": "give the usage in one form only, not %(first)s and %(second)s",
    "period_order": "the period must end after it starts",
    "reading_repeated": "reading id %(id)r is repeated with different data",
    "reading_negative": "reading %(id)s: %(name)s %(value)s is negative",
    "reading_over_max": ("reading %(id)s: %(name)s %(value)s is not below the meter's max_value %(max)s "
                         "(the dial shows 0 at max_value)"),
    "reading_below": ("reading %(id)s (%(value)s at %(at)s) is below the previous reading %(prev)s (%(base)s) "
                      "and is not marked rollover or replacement"),
    "rollover_no_max": "reading %(id)s is marked rollover but the meter declares no max_value",
    "replacement_below": ("replacement %(id)s: the old meter's final reading %(old)s is below the previous "
                          "reading %(prev)s (%(base)s)"),
    "max_value_positive": "max_value must be positive",
    "no_opening_reading": "at least the opening reading is required",
    "event_outside": "event %(id)s at %(at)s is outside the period [%(start)s, %(end)s)",
    "event_no_property": "event %(id)s has no property %(property)r",
    "weighted_needs_period": "a weighted sum needs the period start and end",
    "operation": "operation must be 'add' or 'remove', got %(operation)r",
    "meter_not_events": "meter_reading aggregates meter readings, not events; use meter_consumption",
    "transaction_negative": "a transaction amount must not be negative, got %(amount)s",
    "readings_not_meter": "meter readings given but the component aggregates %(type)s",
    "no_aggregation": "the component has no aggregation: pass a quantity",
    "percentage_needs_transactions": "the percentage model needs the transactions, not a total",
    "quantity_negative": "quantity must not be negative, got %(quantity)s",
    # tiers (tiers.py, models.py)
    "no_tiers": "at least one tier is required",
    "tiers_list": "must be a list of tiers",
    "decimal_object": "must be a Decimal",
    "decimal_or_null": "must be a Decimal or null",
    "first_tier_start": "the first tier must start at 0, not %(start)s",
    "tier_gap": ("gap: this tier starts at %(start)s but %(previous)s.up_to is %(end)s; tiers are [from, up_to), "
                 "so it must start at %(end)s"),
    "tier_overlap": ("overlap: this tier starts at %(start)s, before %(previous)s.up_to = %(end)s; tiers must "
                     "ascend and start where the previous one ends"),
    "open_tier_not_last": "only the last tier may be open (up_to null)",
    "last_tier_closed": "the last tier must be open (up_to null) so that every quantity is priced, got %(up_to)s",
    "empty_tier": "empty tier: up_to equals from (%(start)s)",
    "tier_descends": "tiers must ascend: up_to %(up_to)s is below from %(start)s",
    "tier_type": "must be a %(type)s",
    "rate_percentage": "a rate is a percentage 0..100, got %(rate)s",
    "package_straddles": ("%(up_to)s is not a multiple of package_size %(size)s; a package may not straddle "
                          "two tiers"),
    "min_over_max": "must not exceed max_per_transaction %(max)s, got %(min)s",
    # component (component.py, aggregation.py)
    "charge_model": "must be a charge model",
    "percentage_included_units": "the percentage model uses free_transactions / free_amount, not included units",
    "aggregation_spec": "must be an AggregationSpec",
    "percentage_sum": "a percentage model aggregates transaction amounts: use type sum",
    "unknown_model": "unknown model %(model)r; use one of %(models)s",
    "unknown_aggregation": "unknown aggregation %(type)r; use one of %(types)s",
    "needs_property": "%(type)s needs the property to aggregate",
    "max_value_meter_only": "max_value applies to meter_reading only",
    "percentage_property": "a percentage model needs aggregation.property naming the transaction amount",
    # plan (plan.py)
    "more_places": "more decimal places than %(currency)s has",
    "use_one_of": "use one of %(choices)s",
    "code_outside_prices": "the component's code is given once, outside its prices",
    "interval_unit": 'an interval needs a unit, e.g. {"unit": "month", "count": 1}',
    "interval_unknown_unit": "unknown period unit %(unit)r",
    "interval_count": "interval count must be a positive integer, got %(count)r",
    "currencies_list": "must be a non-empty list of ISO 4217 codes",
    "currency_type": "currency must be an ISO 4217 code, got %(type)s",
    "unknown_currency": "unknown currency %(currency)r",
    "currency_twice": "%(currency)s is listed twice",
    "no_components": "a plan needs at least one component",
    "component_twice": "component code %(code)r is used twice",
    "trial_one_of": "give either days or periods",
    "no_price_in": "the plan has no price in %(currency)s; it is priced in %(currencies)s",
    "subscription_quantity": "the subscription quantity must be at least 1",
    "no_such_component": "the plan has no component %(code)r",
    "not_metered": "component %(code)r is %(kind)s, not metered",
    "used_outside_period": "the used part must lie within the period",
    # split in advance (advance.py)
    "increments_type": "increments must be a count or a list of step sizes",
    "increments_count": "at least one increment is needed, got %(count)s",
    "increments_none": "at least one increment is needed",
    "increments_weights": "%(reason)s",  # the allocator's own (English) reason
}


class PricingError(ValueError):
    """A pricing problem. ``field`` is the path of the offending field or item (``tiers[1].from``,
    ``readings[3]``, ``events[evt-17].properties.gb``) or ``None``; ``code`` (a key of
    :data:`MESSAGES`) and ``params`` say what is wrong; ``message`` says it in English."""

    def __init__(self, code: str, field: str | None = None, /, **params: Any) -> None:
        message = MESSAGES[code] % params if params else MESSAGES[code]
        super().__init__(f"{field}: {message}" if field else message)
        self.code = code
        self.params = params
        self.message = message
        self.field = field

    def as_dict(self) -> dict[str, str | None]:
        return {"field": self.field, "message": self.message}


class SpecError(PricingError):
    """An invalid component spec (rejected when it is built or parsed, never at billing time)."""


class UsageError(PricingError):
    """Invalid usage: a bad event, an impossible meter reading, usage of the wrong kind."""
