"""Template tags of the back office: amounts, dates, counted names, the page's breadcrumbs."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import template
from django.db.models import Model
from django.db.models.options import Options
from django.urls import NoReverseMatch, reverse
from django.utils.text import capfirst

from kopeck.common import display, grammar

register = template.Library()


@register.simple_tag
def money(amount: Decimal | str | int, currency: str) -> str:
    """``{% money line.amount line.currency %}`` → "1 990,00 ₽" / "RUB 1,990.00"."""
    return display.money_text(amount, currency)


@register.simple_tag
def money_minor(minor: int, currency: str) -> str:
    return display.minor_text(minor, currency)


@register.filter
def money_text(value: Any) -> str:
    """``{{ statement.opening|money_text }}``: a Money as "1 990,00 ₽" / "RUB 1,990.00"."""
    if value is None or value == "":
        return "—"
    return display.money_text(value)


@register.filter
def polish(value: str) -> str:
    """A stored text (explanation, reason) with amounts and dates as the page writes them."""
    return display.polish(str(value or ""))


@register.filter
def date_text(value: dt.date | str | None) -> str:
    return display.date_text(value)


@register.filter
def datetime_text(value: dt.datetime | None) -> str:
    return display.datetime_text(value)


@register.simple_tag
def count_of(model: type[Model] | Model | Options[Any], count: int) -> str:
    """``{% count_of cl.opts cl.result_count %}`` → "5 клиентов"."""
    return grammar.count_of(model, int(count or 0))


@register.simple_tag
def model_title(model: type[Model] | Model | Options[Any], which: str) -> str:
    """``{% model_title opts "add" %}`` → "Добавить клиента" (see grammar.titles)."""
    return grammar.titles(model)[which]


@register.simple_tag
def case_of(model: type[Model] | Model | Options[Any], case: str) -> str:
    return grammar.name_in(model, case)


@register.simple_tag(takes_context=True)
def breadcrumbs(context: template.Context) -> list[dict[str, Any]]:
    """The header's path: list › object › page (the sidebar marks the section)."""
    parts: list[dict[str, Any]] = []
    opts: Options[Any] | None = context.get("opts")
    if opts is None and (cl := context.get("cl")) is not None:
        opts = cl.opts
    title = context.get("title")
    if opts is None:
        return [{"title": title or ""}] if title else []
    plural = capfirst(str(opts.verbose_name_plural))  # the sidebar shows the section
    try:
        list_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
    except NoReverseMatch:
        list_url = ""
    parts.append({"title": plural, "link": list_url})
    obj = context.get("original") or context.get("object")
    model_admin: Any = getattr(context.get("adminform"), "model_admin", None) or context.get("model_admin")
    if isinstance(obj, Model) and obj.pk is not None:
        # an admin may name its objects for the page (object_title) where __str__ is technical
        name = model_admin.object_title(obj) if hasattr(model_admin, "object_title") else str(obj)
        try:
            obj_url = reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])
        except NoReverseMatch:
            obj_url = ""
        parts.append({"title": name, "link": obj_url})
        if context.get("kopeck_page_title"):
            parts.append({"title": context["kopeck_page_title"]})
    elif context.get("add") or (title and not context.get("cl") and str(title) != parts[-1]["title"]):
        parts.append({"title": title})
    return parts
