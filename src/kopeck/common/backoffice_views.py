"""The back office's own pages: the dashboard (what the apps registered) and the global search."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.templatetags.static import static
from django.utils.translation import gettext as _

from kopeck.common import backoffice

# Chart colours: the theme's primary, then calm contrasting ones.
PALETTE = ["#7c3aed", "#0ea5e9", "#f59e0b", "#10b981", "#ef4444"]


def stylesheet(request: HttpRequest) -> str:
    return static("kopeck/backoffice.css")


def _chart_data(chart: backoffice.Chart) -> str:
    return json.dumps({
        "labels": list(chart.labels),
        "datasets": [{"label": str(label), "data": [float(v) for v in values],
                      "backgroundColor": PALETTE[i % len(PALETTE)], "borderColor": PALETTE[i % len(PALETTE)]}
                     for i, (label, values) in enumerate(chart.series)],
    }, ensure_ascii=False)


def dashboard_context(request: HttpRequest, context: dict[str, Any]) -> dict[str, Any]:
    """unfold's DASHBOARD_CALLBACK: the cards and charts the apps registered."""
    cards, charts = backoffice.dashboard(request)
    context.update(
        title=_("Dashboard"), cards=cards,
        charts=[{"chart": c, "data": _chart_data(c),
                 "options": json.dumps({"plugins": {"legend": {"display": len(c.series) > 1}}})} for c in charts],
    )
    return context


def search_view(request: HttpRequest) -> HttpResponse:
    """The global search: clients by name, ИНН, e-mail or external id, and whatever else the apps
    registered. One hit in all: straight to it."""
    from django.contrib import admin

    query = str(request.GET.get("q", "")).strip()[:200]
    groups = backoffice.search(request, query) if query else []
    hits = [hit for group in groups for hit in group.hits]
    if len(hits) == 1 and not request.GET.get("all"):
        return HttpResponseRedirect(hits[0].url)
    context = {**admin.site.each_context(request), "title": _("Search"), "query": query, "groups": groups,
               "found": len(hits)}
    return render(request, "backoffice/search.html", context)
