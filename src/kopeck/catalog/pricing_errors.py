"""The pricing core's errors told in the active language — the one place they are translated.

The core (:mod:`kopeck.core.pricing.errors`) imports no Django: an error carries a ``code`` and its
``params`` and says itself in English. Here every code has its text as a catalogue msgid (the same
English, which a test compares with the core's) and :func:`pricing_message` fills it in the active
language. Field paths, JSON keys and codes (``up_to``, ``meter_reading``) stay as they are: they are
what the operator typed."""

from __future__ import annotations

from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from kopeck.core.pricing.errors import PricingError

TEXTS: dict[str, Promise] = {
    "float_or_bool": _('must be a decimal string such as "0.50", not a JSON float or boolean'),
    "not_plain_decimal": _('not a plain decimal such as "1500.00": %(text)r'),
    "decimal_type": _("must be a decimal string, got %(type)s"),
    "not_finite": _("must be a finite number"),
    "out_of_range": _("out of range: at most %(digits)d digits before the point and %(places)d after it"),
    "negative": _("must not be negative, got %(value)s"),
    "object_got": _("must be an object, got %(type)s"),
    "object": _("must be an object"),
    "unknown_field": _("unknown field; expected one of %(expected)s"),
    "required": _("is required"),
    "non_empty_string": _("must be a non-empty string"),
    "string": _("must be a string"),
    "positive": _("must be positive"),
    "positive_got": _("must be positive, got %(value)s"),
    "positive_whole": _("must be a positive whole number"),
    "non_negative_integer": _("must be a non-negative integer, got %(value)r"),
    "naive_datetime": _("must be a timezone-aware datetime"),
    "event_id": _("an event needs a non-empty string id"),
    "reading_id": _("a reading needs a non-empty string id"),
    "reading_kind": _("unknown reading kind %(kind)r"),
    "old_final": _("old_final is given exactly for replacement readings"),
    "one_usage_form": _("give the usage in one form only, not %(first)s and %(second)s"),
    "period_order": _("the period must end after it starts"),
    "reading_repeated": _("reading id %(id)r is repeated with different data"),
    "reading_negative": _("reading %(id)s: %(name)s %(value)s is negative"),
    "reading_over_max": _("reading %(id)s: %(name)s %(value)s is not below the meter's max_value %(max)s "
                          "(the dial shows 0 at max_value)"),
    "reading_below": _("reading %(id)s (%(value)s at %(at)s) is below the previous reading %(prev)s (%(base)s) "
                       "and is not marked rollover or replacement"),
    "rollover_no_max": _("reading %(id)s is marked rollover but the meter declares no max_value"),
    "replacement_below": _("replacement %(id)s: the old meter's final reading %(old)s is below the previous "
                           "reading %(prev)s (%(base)s)"),
    "max_value_positive": _("max_value must be positive"),
    "no_opening_reading": _("at least the opening reading is required"),
    "event_outside": _("event %(id)s at %(at)s is outside the period [%(start)s, %(end)s)"),
    "event_no_property": _("event %(id)s has no property %(property)r"),
    "weighted_needs_period": _("a weighted sum needs the period start and end"),
    "operation": _("operation must be 'add' or 'remove', got %(operation)r"),
    "meter_not_events": _("meter_reading aggregates meter readings, not events; use meter_consumption"),
    "transaction_negative": _("a transaction amount must not be negative, got %(amount)s"),
    "readings_not_meter": _("meter readings given but the component aggregates %(type)s"),
    "no_aggregation": _("the component has no aggregation: pass a quantity"),
    "percentage_needs_transactions": _("the percentage model needs the transactions, not a total"),
    "quantity_negative": _("quantity must not be negative, got %(quantity)s"),
    "no_tiers": _("at least one tier is required"),
    "tiers_list": _("must be a list of tiers"),
    "decimal_object": _("must be a Decimal"),
    "decimal_or_null": _("must be a Decimal or null"),
    "first_tier_start": _("the first tier must start at 0, not %(start)s"),
    "tier_gap": _("gap: this tier starts at %(start)s but %(previous)s.up_to is %(end)s; tiers are [from, up_to), "
                  "so it must start at %(end)s"),
    "tier_overlap": _("overlap: this tier starts at %(start)s, before %(previous)s.up_to = %(end)s; tiers must "
                      "ascend and start where the previous one ends"),
    "open_tier_not_last": _("only the last tier may be open (up_to null)"),
    "last_tier_closed": _("the last tier must be open (up_to null) so that every quantity is priced, got %(up_to)s"),
    "empty_tier": _("empty tier: up_to equals from (%(start)s)"),
    "tier_descends": _("tiers must ascend: up_to %(up_to)s is below from %(start)s"),
    "tier_type": _("must be a %(type)s"),
    "rate_percentage": _("a rate is a percentage 0..100, got %(rate)s"),
    "package_straddles": _("%(up_to)s is not a multiple of package_size %(size)s; a package may not straddle "
                           "two tiers"),
    "min_over_max": _("must not exceed max_per_transaction %(max)s, got %(min)s"),
    "charge_model": _("must be a charge model"),
    "percentage_included_units": _("the percentage model uses free_transactions / free_amount, not included units"),
    "aggregation_spec": _("must be an AggregationSpec"),
    "percentage_sum": _("a percentage model aggregates transaction amounts: use type sum"),
    "unknown_model": _("unknown model %(model)r; use one of %(models)s"),
    "unknown_aggregation": _("unknown aggregation %(type)r; use one of %(types)s"),
    "needs_property": _("%(type)s needs the property to aggregate"),
    "max_value_meter_only": _("max_value applies to meter_reading only"),
    "percentage_property": _("a percentage model needs aggregation.property naming the transaction amount"),
    "more_places": _("more decimal places than %(currency)s has"),
    "use_one_of": _("use one of %(choices)s"),
    "code_outside_prices": _("the component's code is given once, outside its prices"),
    "interval_unit": _('an interval needs a unit, e.g. {"unit": "month", "count": 1}'),
    "interval_unknown_unit": _("unknown period unit %(unit)r"),
    "interval_count": _("interval count must be a positive integer, got %(count)r"),
    "currencies_list": _("must be a non-empty list of ISO 4217 codes"),
    "currency_type": _("currency must be an ISO 4217 code, got %(type)s"),
    "unknown_currency": _("unknown currency %(currency)r"),
    "currency_twice": _("%(currency)s is listed twice"),
    "no_components": _("a plan needs at least one component"),
    "component_twice": _("component code %(code)r is used twice"),
    "trial_one_of": _("give either days or periods"),
    "no_price_in": _("the plan has no price in %(currency)s; it is priced in %(currencies)s"),
    "subscription_quantity": _("the subscription quantity must be at least 1"),
    "no_such_component": _("the plan has no component %(code)r"),
    "not_metered": _("component %(code)r is %(kind)s, not metered"),
    "used_outside_period": _("the used part must lie within the period"),
    "increments_type": _("increments must be a count or a list of step sizes"),
    "increments_count": _("at least one increment is needed, got %(count)s"),
    "increments_none": _("at least one increment is needed"),
}
# Told without a catalogue text: the count needs a plural form; the allocator's reason is its own.
PLURAL = {"decimal_too_long": ("at most %(count)d character", "at most %(count)d characters")}
UNTRANSLATED = frozenset({"increments_weights"})


def pricing_message(exc: PricingError) -> str:
    """What ``exc`` says, in the active language (without its field)."""
    params: dict[str, Any] = exc.params
    if exc.code in PLURAL:
        singular, plural = PLURAL[exc.code]
        return ngettext(singular, plural, params["count"]) % params
    text = TEXTS.get(exc.code)
    if text is None:
        return exc.message
    return str(text) % params if params else str(text)
