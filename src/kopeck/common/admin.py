"""The back office's base admin classes and helpers shared by the admin modules.

Every admin class derives from :class:`ModelAdmin` (or :class:`ReadOnlyAdmin`), every inline from
:class:`TabularInline` / :class:`StackedInline` / :class:`ReadOnlyTabularInline`: they carry the theme
(django-unfold), the page titles in the right grammatical case (:mod:`kopeck.common.grammar`), the
tabs other apps contribute to a page (:mod:`kopeck.common.backoffice`) and full-width lists."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.html import format_html
from unfold import admin as unfold_admin

from kopeck.common import backoffice, display, grammar
from kopeck.common.actor import Actor, ActorKind
from kopeck.common.errors import KopeckError


def admin_actor(request: HttpRequest) -> Actor:
    user: Any = request.user
    return Actor(ActorKind.OPERATOR, str(user.pk), user.get_username())


def report_error(request: HttpRequest, exc: KopeckError) -> None:
    """A refusal on a back-office page: its detail and its fields' messages, without the API's field
    names (codes such as ``status`` or ``scope.clients`` mean nothing to an operator, and are English on
    a Russian page); a detail that only repeats one field's message (``ValidationFailed.field``) is
    shown once."""
    generated = {f"{f}: {m}" for f, ms in exc.errors.items() for m in ms}
    parts = [] if exc.detail in generated else [exc.detail]
    for m in (m for ms in exc.errors.values() for m in ms):
        if m not in parts:
            parts.append(m)
    messages.error(request, " ".join(parts).strip())


class ModelAdmin(unfold_admin.ModelAdmin):  # type: ignore[misc]
    """The back office's model admin: the theme, titles in the right case, contributed tabs."""

    list_fullwidth = True  # wide tables use the whole screen (1280 and 1920 px), not a centred column
    list_horizontal_scrollbar_top = True
    list_filter_submit = True
    warn_unsaved_form = True

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        titles = grammar.titles(self.model)
        return super().changelist_view(request, {"title": titles["changelist"], **(extra_context or {})})

    def render_change_form(self, request: HttpRequest, context: dict[str, Any], add: bool = False,
                           change: bool = False, form_url: str = "", obj: Any = None) -> Any:
        titles = grammar.titles(self.model)
        if not context.get("kopeck_own_title"):
            if add:
                context["title"] = titles["add"]
            else:
                context["title"] = titles["change" if self.has_change_permission(request, obj) else "view"]
        if obj is not None and obj.pk is not None:
            context["datasets"] = [*(context.get("datasets") or []), *backoffice.page_tabs(request, obj)]
            if hasattr(self, "object_title"):  # the page's name of the object where __str__ is technical
                context["subtitle"] = self.object_title(obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        extra = {"object_name": grammar.name_in(self.model, "accusative"), **(extra_context or {})}
        return super().delete_view(request, object_id, extra)


class TabularInline(unfold_admin.TabularInline):  # type: ignore[misc]
    hide_title = True  # no "Model object (1)" line above each row


class StackedInline(unfold_admin.StackedInline):  # type: ignore[misc]
    hide_title = True


class ReadOnlyTabularInline(TabularInline):
    """Rows shown on their parent's page, never added, changed or deleted there."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def json_block(value: Any) -> str:
    """Stored JSON (a state, a payload) as code: indented, in grey monospace, scrollable."""
    text = json.dumps(value, ensure_ascii=False, indent=2, default=str)
    return format_html('<pre class="kopeck-code">{}</pre>', text)


def json_field(name: str, description: Any) -> Callable[[Any, Any], str]:
    """An admin display of the JSON field ``name`` as code (use as a class attribute)."""

    @admin.display(description=description)
    def show(self: Any, obj: Any) -> str:
        return json_block(getattr(obj, name))

    return show


def labelled_filter(field: str, title: Any, label: Callable[[str], Any]) -> type[admin.SimpleListFilter]:
    """A list filter on ``field`` whose values (codes) are shown by ``label(value)`` — the operator never
    reads a code in the filter panel."""

    class LabelledFilter(admin.SimpleListFilter):
        parameter_name = field

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
            values = model_admin.model.objects.order_by(field).values_list(field, flat=True).distinct()
            return [(v, label(v)) for v in values if v]

        def queryset(self, request: HttpRequest, queryset: Any) -> Any:
            return queryset.filter(**{field: self.value()}) if self.value() else queryset

    LabelledFilter.title = title
    LabelledFilter.__name__ = f"{field.title().replace('_', '')}Filter"
    return LabelledFilter


def actor_cell(label: str, kind: str = "") -> str:
    return display.actor_text(label, kind)


def money_cell(minor: int, currency: str) -> str:
    """An amount in minor units for a list column: "1 990,00 ₽" / "RUB 1,990.00", right-aligned."""
    return format_html('<span class="kopeck-amount">{}</span>', display.minor_text(minor, currency))


class ReadOnlyAdmin(ModelAdmin):
    """Append-only records: visible, never added, changed or deleted from the admin."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# -- fields that an app higher in the layers contributes to a lower app's admin page ---------------
#
# A lower app's admin cannot import the apps above it (the layers contract); it shows a named slot,
# and the app that knows what goes there fills it when its admin module loads. Example: the client
# page shows the balance, which the ledger computes.

_contributions: dict[tuple[type[Any], str], Callable[[Any], str]] = {}


def contribute_field(model: type[Any], name: str, render: Callable[[Any], str]) -> None:
    """Fill the slot ``name`` of ``model``'s admin pages with ``render(obj)`` (safe HTML or text)."""
    _contributions[(model, name)] = render


def contributed_field(obj: Any, name: str) -> str:
    """The contribution to the slot ``name`` for ``obj`` (empty when no app contributes one)."""
    render = _contributions.get((type(obj), name))
    return render(obj) if render is not None else ""
