"""What the apps contribute to the back office's shell: navigation, dashboard, page tabs, search.

The shell (theme, sidebar, dashboard, global search, a page's tabs) cannot import the apps — most of
them sit above it in the layers — so each app registers what it shows when its admin module loads:

    from kopeck.common import backoffice as bo

    bo.nav_item("billing", _("Billing runs"), model="billing.billingrun", order=10, icon="bolt",
                badge=runs_awaiting_confirmation)
    bo.dashboard_card("billing.awaiting", runs_awaiting_card, order=10)
    bo.dashboard_chart("ledger.month", charges_and_payments_chart, order=10)
    bo.page_tab("clients.client", "documents", _("Documents"), client_documents_panel, order=30)
    bo.search_provider("clients", _("Clients"), clients_search, order=10)

Every callable gets the request (and the object of the page, for tabs) and returns what to show,
or ``None`` to show nothing (no permission, nothing to report). Rendering helpers for the usual
panel — a short table with a link to the full list — are at the end (``panel_table``).
docs/backoffice.md explains the conventions; docs/architecture.md the principle."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

Text = str | Promise

# -- navigation ------------------------------------------------------------------------------------

# The sidebar's sections, in the order of the operator's work. An app adds items to one of them.
SECTIONS: dict[str, tuple[Text, str]] = {
    "clients": (pgettext_lazy("sidebar", "Clients"), "group"),
    "subscriptions": (pgettext_lazy("sidebar", "Subscriptions"), "autorenew"),
    "billing": (pgettext_lazy("sidebar", "Billing"), "bolt"),
    "documents": (pgettext_lazy("sidebar", "Documents"), "description"),
    "payments": (pgettext_lazy("sidebar", "Payments"), "payments"),
    "catalog": (pgettext_lazy("sidebar", "Catalog"), "inventory_2"),
    "reports": (pgettext_lazy("sidebar", "Reports"), "monitoring"),
    "settings": (pgettext_lazy("sidebar", "Settings"), "settings"),
}


@dataclass(frozen=True, slots=True)
class NavItem:
    section: str
    title: Text
    url_name: str
    permission: str | Callable[[HttpRequest], bool] | None
    order: int
    icon: str
    model: str
    badge: Callable[[HttpRequest], int | str | None] | None


_nav: dict[tuple[str, str], NavItem] = {}


def nav_item(section: str, title: Text, *, model: str = "", url_name: str = "", order: int = 100, icon: str = "",
             permission: str | Callable[[HttpRequest], bool] | None = None,
             badge: Callable[[HttpRequest], int | str | None] | None = None) -> None:
    """Add a link to a section of the sidebar.

    ``model`` ("app_label.model_name") links to the model's list and shows the link to whoever may view
    it; ``url_name`` links elsewhere (then ``permission`` is a permission name or a callable). ``badge``
    returns a small figure shown next to the link (``None`` or 0: none)."""
    if section not in SECTIONS:
        raise ValueError(f"unknown back-office section {section!r}; one of {sorted(SECTIONS)}")
    if model:
        app_label, model_name = model.split(".")
        url_name = url_name or f"admin:{app_label}_{model_name}_changelist"
        permission = permission or f"{app_label}.view_{model_name}"
    if not url_name:
        raise ValueError("nav_item needs a model or a url_name")
    _nav[(section, url_name)] = NavItem(section, title, url_name, permission, order, icon, model, badge)


def _allowed(request: HttpRequest, permission: str | Callable[[HttpRequest], bool] | None) -> bool:
    if permission is None:
        return True
    if callable(permission):
        return bool(permission(request))
    return bool(request.user.has_perm(permission))


def navigation(request: HttpRequest) -> list[dict[str, Any]]:
    """The sidebar (unfold's SIDEBAR navigation): the dashboard, then each section with its items."""
    groups: list[dict[str, Any]] = [{"items": [{"title": _("Dashboard"), "icon": "space_dashboard",
                                                "link": reverse("admin:index")}]}]
    for key, (title, _icon) in SECTIONS.items():
        items = []
        for item in sorted((i for i in _nav.values() if i.section == key), key=lambda i: (i.order, str(i.title))):
            if not _allowed(request, item.permission):
                continue
            try:
                link = reverse(item.url_name)
            except NoReverseMatch:
                continue
            entry: dict[str, Any] = {"title": item.title, "icon": item.icon, "link": link}
            badge = item.badge(request) if item.badge else None
            if badge:
                entry.update(badge=badge, badge_variant="warning")
            items.append(entry)
        if items:
            groups.append({"title": title, "separator": True, "collapsible": False, "items": items,
                           "section": key})
    return groups


def section_of(model_label: str) -> str | None:
    """The sidebar section whose items link to ``model_label``'s list (for breadcrumbs)."""
    for item in _nav.values():
        if item.model == model_label:
            return item.section
    return None


# -- dashboard ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Card:
    """A figure on the dashboard: "Runs awaiting confirmation: 2", linking to them.

    ``tone`` is "attention" (something to do), "ok" or "neutral"."""

    title: Text
    value: str | int
    url: str = ""
    note: Text = ""
    tone: str = "neutral"


@dataclass(frozen=True, slots=True)
class Chart:
    """A chart on the dashboard (Chart.js, served with the theme): labels and one or more series."""

    title: Text
    labels: Sequence[str]
    series: Sequence[tuple[Text, Sequence[float]]]
    kind: str = "bar"  # or "line"
    note: Text = ""
    url: str = ""


@dataclass(frozen=True, slots=True)
class _Entry:
    key: str
    order: int
    render: Callable[[HttpRequest], Any]


_cards: dict[str, _Entry] = {}
_charts: dict[str, _Entry] = {}


def dashboard_card(key: str, render: Callable[[HttpRequest], Card | Sequence[Card] | None], *, order: int = 100) -> None:
    """Show ``render(request)`` — a Card, several, or None — on the dashboard (ordered by ``order``)."""
    _cards[key] = _Entry(key, order, render)


def dashboard_chart(key: str, render: Callable[[HttpRequest], Chart | None], *, order: int = 100) -> None:
    """Show ``render(request)`` — a Chart or None — on the dashboard."""
    _charts[key] = _Entry(key, order, render)


def dashboard(request: HttpRequest) -> tuple[list[Card], list[Chart]]:
    cards: list[Card] = []
    for entry in sorted(_cards.values(), key=lambda e: (e.order, e.key)):
        result = entry.render(request)
        if isinstance(result, Card):
            cards.append(result)
        elif result:
            cards.extend(result)
    charts = [c for e in sorted(_charts.values(), key=lambda e: (e.order, e.key)) if (c := e.render(request))]
    return cards, charts


# -- tabs on an object's page ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PageTab:
    model: str
    key: str
    title: Text
    render: Callable[[HttpRequest, Any], str | None]
    order: int
    count: Callable[[Any], int | None] | None


_tabs: dict[tuple[str, str], PageTab] = {}


def page_tab(model: str, key: str, title: Text, render: Callable[[HttpRequest, Any], str | None], *,
             order: int = 100, count: Callable[[Any], int | None] | None = None) -> None:
    """Add a tab to the change page of ``model`` ("clients.client"): ``render(request, obj)`` returns its
    HTML (``panel_table`` builds the usual one) or None to hide it (say, no permission); ``count(obj)``,
    if given, is shown on the tab."""
    _tabs[(model, key)] = PageTab(model, key, title, render, order, count)


@dataclass(frozen=True, slots=True)
class RenderedTab:
    """A contributed tab as the change form shows it (the attributes of unfold's datasets)."""

    key: str
    title: str
    contents: SafeString
    count: int | None
    tab: bool = True

    @property
    def model_name(self) -> str:  # unfold names a dataset's tab "dataset-<model_name>"
        return self.key


def page_tabs(request: HttpRequest, obj: Any) -> list[RenderedTab]:
    label = obj._meta.label_lower
    rendered = []
    for tab in sorted((t for t in _tabs.values() if t.model == label), key=lambda t: (t.order, t.key)):
        html = tab.render(request, obj)
        if html is None:
            continue
        body = render_to_string("backoffice/page_tab.html", {"key": tab.key, "body": html}, request=request)
        rendered.append(RenderedTab(tab.key, str(tab.title), SafeString(body), tab.count(obj) if tab.count else None))
    return rendered


def has_page_tabs(model: str) -> bool:
    return any(t.model == model for t in _tabs.values())


# -- global search ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchHit:
    title: str
    url: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class _Provider:
    key: str
    title: Text
    search: Callable[[HttpRequest, str, int], Sequence[SearchHit] | None]
    order: int


_providers: dict[str, _Provider] = {}


def search_provider(key: str, title: Text, search: Callable[[HttpRequest, str, int], Sequence[SearchHit] | None],
                    *, order: int = 100) -> None:
    """Let the global search find objects: ``search(request, query, limit)`` returns up to ``limit``
    hits, or None when the operator may not see them."""
    _providers[key] = _Provider(key, title, search, order)


@dataclass(slots=True)
class SearchGroup:
    title: str
    hits: list[SearchHit] = field(default_factory=list)


def search(request: HttpRequest, query: str, limit: int = 20) -> list[SearchGroup]:
    groups = []
    for provider in sorted(_providers.values(), key=lambda p: (p.order, p.key)):
        hits = provider.search(request, query, limit)
        if hits:
            groups.append(SearchGroup(str(provider.title), list(hits)[:limit]))
    return groups


# -- rendering helpers ---------------------------------------------------------------------------------


def panel_table(headers: Sequence[Text], rows: Sequence[Sequence[Any]], *, empty: Text,
                more_url: str = "", more_text: Text = "", actions: Sequence[tuple[str, Text]] = (),
                note: Text = "") -> str:
    """The usual tab: a short table (cells are text or safe HTML), a line when there is nothing, a link
    to the full list, and buttons (``actions``: url and title) above it."""
    return render_to_string("backoffice/panel_table.html", {
        "headers": headers, "rows": rows, "empty": empty, "more_url": more_url, "more_text": more_text,
        "actions": actions, "note": note})
