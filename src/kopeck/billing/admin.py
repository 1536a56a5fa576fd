"""Admin of billing runs: the list with a progress bar, the run's page (a live progress bar polling
the run's progress as JSON every second, summary, items per client with their lines and
explanations, exclude / include, Confirm and Reject, CSV and XLSX export) and "New run" (date,
mode, scope; executed in-process).

Every write goes through :mod:`kopeck.billing.services`. "Confirm" sends back the fingerprint of
the page the operator reviewed: if the run changed since (another exclusion, or subscriptions
changed and were recomputed), nothing is applied and the page shows the new items. Viewing needs
read access to the billing area, every write needs write access."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.widgets import AutocompleteSelectMultiple
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import get_language, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from kopeck.billing import services
from kopeck.billing.exports import XLSX_CONTENT_TYPE, run_export_xlsx_file, xlsx_filename
from kopeck.billing.models import BillingRun, ItemStatus, RunItem, RunMode, RunStatus
from kopeck.billing.selectors import (
    APPLYING,
    COMPUTING,
    LIVE,
    RUN_ITEM_FILTERS,
    run_client_ids,
    run_progress,
    run_review,
)
from kopeck.clients.models import Client
from kopeck.common import backoffice as bo
from kopeck.common import display
from kopeck.common.admin import ReadOnlyAdmin, admin_actor, report_error
from kopeck.common.errors import KopeckError
from kopeck.configuration.selectors import provider_today
from kopeck.subscriptions.admin import component_name

WRITE_PERM = "billing.change_billingrun"
DECISIONS = ("confirm", "reject", "exclude", "include")
PHASE_LABELS = {COMPUTING: _("computing"), APPLYING: _("applying")}
LINE_KIND_LABELS = {"charge": pgettext_lazy("billed piece", "charge"), "credit": pgettext_lazy("billed piece", "credit")}
CLIENTS_PER_PAGE = 50
SHOW_LABELS = {"": _("all clients"), "charged": _("with charges or credits"), "errors": _("with errors"),
               "changed": _("changed since computed"), "excluded": _("with exclusions")}
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


def _require_write(request: HttpRequest) -> None:
    if not request.user.has_perm(WRITE_PERM):
        raise PermissionDenied


def _text(explanation: dict[str, Any]) -> str:
    ru, en = explanation.get("ru", ""), explanation.get("en", "")
    return display.polish(str((en or ru) if (get_language() or "").startswith("en") else (ru or en)))


def _period_text(period: dict[str, Any]) -> str:
    """``first – last day`` in the page's date format (a line's ``end`` is exclusive)."""
    start, end = str(period.get("start") or ""), str(period.get("end") or "")
    try:
        first, last = dt.date.fromisoformat(start), dt.date.fromisoformat(end) - dt.timedelta(days=1)
    except ValueError:
        return f"{start} – {end}" if start and end else start or end
    return display.period_text(first, max(first, last))


class RunForm(forms.Form):
    billing_date = forms.DateField(label=_("billing date"), widget=DATE_WIDGET)
    mode = forms.ChoiceField(label=_("mode"), choices=RunMode.choices, initial=RunMode.SANDBOX)
    clients = forms.ModelMultipleChoiceField(
        label=_("clients"), queryset=Client.objects.order_by("name"), required=False,
        help_text=_("Type a name, INN or external id; empty: all clients."),
        widget=AutocompleteSelectMultiple(RunItem._meta.get_field("client"), admin.site))
    plans = forms.CharField(label=_("plan codes"), required=False, help_text=_("Comma-separated; empty: all."))
    tags = forms.CharField(label=_("client tags"), required=False, help_text=_("Comma-separated; empty: all."))

    def scope(self) -> dict[str, list[Any]]:
        d = self.cleaned_data

        def names(value: str) -> list[str]:
            return [v.strip() for v in value.split(",") if v.strip()]

        scope: dict[str, list[Any]] = {"clients": [c.pk for c in d["clients"]], "plans": names(d["plans"]),
                                       "tags": names(d["tags"])}
        return {k: v for k, v in scope.items() if v}


SUMMARY_LABELS = {
    "clients": _("clients"), "subscriptions": _("subscriptions"), "charges": _("charges"), "credits": _("credits"),
    "totals_by_currency": _("totals by currency"), "totals_by_vat_rate": _("charges by VAT rate"),
    "errors": _("errors"), "recomputed": _("recomputed subscriptions"), "changed": _("changed since computed"),
    "documents": _("documents issued"), "excluded": _("excluded"),
}
VAT_LABELS = {"22": "22 %", "20": "20 %", "10": "10 %", "7": "7 %", "5": "5 %", "0": "0 %"}
EVENT_LABELS = {"billing_run.completed": _("the run is completed"), "billing_run.awaiting_confirmation":
                _("the run awaits confirmation"), "billing_run.failed": _("the run failed")}


def _show(key: str, value: Any) -> str:
    """A summary figure as the operator reads it: amounts in the page's format, VAT rates by name."""
    if key == "totals_by_currency" and isinstance(value, dict):
        return "; ".join(display.money_text(v, c) for c, v in value.items()) or "—"
    if key == "totals_by_vat_rate" and isinstance(value, dict):
        return "; ".join(f"{_vat_label(rate)}: {display.money_text(amount, cur)}"
                         for cur, rates in value.items() for rate, amount in rates.items()) or "—"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {v}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(f"#{v}" for v in value)
    return str(value)


def _vat_label(rate: str) -> str:
    if rate in ("exempt", "none", ""):
        return str(_("without VAT"))
    return str(_("VAT %(rate)s") % {"rate": VAT_LABELS.get(rate, f"{rate} %")})


def _progress(run: BillingRun) -> tuple[int, int]:
    progress = run_progress(run)
    return progress["done"], progress["total"]


def _duration(seconds: float | None) -> str:
    """``H:MM:SS`` (rounded up to a second), or a dash when unknown."""
    if seconds is None:
        return "—"
    whole = math.ceil(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


@admin.register(BillingRun)
class BillingRunAdmin(ReadOnlyAdmin):
    list_display = ["id", "billing_date", "mode", "status", "progress_bar", "scheduled", "creator", "created_at"]

    @admin.display(description=_("created by"), ordering="created_by")
    def creator(self, obj: BillingRun) -> str:
        return display.actor_text(obj.created_by)
    list_filter = ["mode", "status", "scheduled"]
    change_list_template = "admin/billing/billingrun/change_list.html"

    @admin.display(description=_("progress"))
    def progress_bar(self, obj: BillingRun) -> str:
        done, total = _progress(obj)
        return format_html('<progress value="{}" max="{}"></progress> {}/{}', done, max(total, 1), done, total)

    def get_urls(self) -> list[Any]:
        view = self.admin_site.admin_view
        return [
            path("new/", view(self.new_view), name="billing_billingrun_new"),
            path("<int:pk>/run/", view(self.run_view), name="billing_billingrun_run"),
            path("<int:pk>/export.csv", view(self.export_view), name="billing_billingrun_export"),
            path("<int:pk>/export.xlsx", view(self.export_xlsx_view), name="billing_billingrun_export_xlsx"),
            path("<int:pk>/progress/", view(self.progress_view), name="billing_billingrun_progress"),
            *[path(f"<int:pk>/{name}/", view(self.decide_view), {"name": name}, name=f"billing_billingrun_{name}")
              for name in DECISIONS],
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> Any:
        return HttpResponseRedirect(reverse("admin:billing_billingrun_run", args=[int(object_id)]))

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        live = BillingRun.objects.filter(status__in=LIVE).exists()
        extra = {**(extra_context or {}), "refresh": live, "can_write": request.user.has_perm(WRITE_PERM)}
        return super().changelist_view(request, extra)

    def _context(self, request: HttpRequest, title: Any, **extra: Any) -> dict[str, Any]:
        return {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title, **extra}

    def new_view(self, request: HttpRequest) -> HttpResponse:
        """Create and execute a run in-process, then show it."""
        _require_write(request)
        form = RunForm(request.POST or None, initial={"billing_date": provider_today()})
        if request.method == "POST" and form.is_valid():
            actor = admin_actor(request)
            try:
                run = services.billing_run_create(actor=actor, billing_date=form.cleaned_data["billing_date"],
                                                  mode=form.cleaned_data["mode"], scope=form.scope())
            except KopeckError as exc:
                report_error(request, exc)
            else:
                try:
                    services.billing_run_start(actor=actor, run=run)
                except KopeckError as exc:
                    report_error(request, exc)
                else:
                    messages.success(request, _("Billing run #%(id)s is executed.") % {"id": run.pk})
                return HttpResponseRedirect(reverse("admin:billing_billingrun_run", args=[run.pk]))
        return render(request, "admin/billing/billingrun/new.html", self._context(request, _("New billing run"),
                                                                                   form=form))

    def run_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = get_object_or_404(BillingRun, pk=pk)
        awaiting = run.status == RunStatus.AWAITING_CONFIRMATION
        # a run may hold many thousands of clients: a page of them, found by name or shown by kind
        search = str(request.GET.get("q", ""))[:200]
        show = str(request.GET.get("show", ""))
        show = show if show in RUN_ITEM_FILTERS else ""
        page = Paginator(run_client_ids(run, search=search, show=show), CLIENTS_PER_PAGE).get_page(
            request.GET.get("page"))
        query = {k: v for k, v in (("q", search), ("show", show)) if v}
        review = run_review(run) if awaiting else None
        return render(request, "admin/billing/billingrun/run.html", self._context(
            request, _("Billing run #%(id)s") % {"id": run.pk}, run=run, progress=self._progress_json(run),
            live=run.status in LIVE, awaiting=awaiting, can_write=request.user.has_perm(WRITE_PERM),
            fingerprint=review.fingerprint if review else "", to_post=review.to_post if review else None,
            status_label=RunStatus(run.status).label, mode_label=RunMode(run.mode).label,
            clients=list(self._clients(run, list(page.object_list))), page=page, search=search, show=show,
            show_choices=[(value, SHOW_LABELS[value]) for value in RUN_ITEM_FILTERS],
            page_query=urlencode(query),
            summary_rows=[(SUMMARY_LABELS.get(k, k), _show(k, v)) for k, v in run.summary.items()
                          if k != "events" and k in SUMMARY_LABELS],
            events=[EVENT_LABELS.get(str(e.get("type", "")), e.get("type", "")) for e in run.summary.get("events", [])],
            billing_date=display.date_text(run.billing_date), created_by=display.actor_text(run.created_by),
            decided_by=display.actor_text(run.decided_by) if run.decided_by else "",
            to_post_totals=[display.money_text(total, cur) for cur, total in review.to_post["totals_by_currency"].items()]
            if review and review.to_post else []))

    @staticmethod
    def _clients(run: BillingRun, client_ids: list[int]) -> Iterator[dict[str, Any]]:
        current: dict[str, Any] | None = None
        for item in RunItem.objects.filter(run=run, client_id__in=client_ids) \
                .select_related("client", "subscription__plan", "subscription__plan_version") \
                .order_by("client__name", "client_id", "subscription_id"):
            if current is None or current["client"].pk != item.client_id:
                if current is not None:
                    yield current
                current = {"client": item.client, "items": [], "all_excluded": True}
            skipped = {(str(c), str(d)) for c, d in item.excluded_lines}
            lines = [{"kind": line.get("kind", ""), "component": line.get("component", ""),
                      "component_label": component_name(item.subscription, str(line.get("component", ""))),
                      "kind_label": LINE_KIND_LABELS.get(line.get("kind", ""), line.get("kind", "")),
                      "period": line.get("period") or {}, "amount": line.get("amount", ""),
                      "period_text": _period_text(line.get("period") or {}),
                      "currency": line.get("currency") or item.currency,
                      "excluded": (str(line.get("component", "")), str((line.get("period") or {}).get("start", "")))
                      in skipped,
                      "explanation": _text(line.get("explanation") or {})} for line in item.items]
            current["items"].append({"item": item, "lines": lines, "error": item.status == ItemStatus.ERROR})
            current["all_excluded"] = current["all_excluded"] and item.excluded
        if current is not None:
            yield current

    def decide_view(self, request: HttpRequest, pk: int, name: str) -> HttpResponse:
        """POST only: confirm, reject, exclude, include."""
        _require_write(request)
        run = get_object_or_404(BillingRun, pk=pk)
        back = HttpResponseRedirect(reverse("admin:billing_billingrun_run", args=[run.pk]))
        if request.method != "POST":
            return back
        actor = admin_actor(request)
        data = request.POST
        try:
            if name == "confirm":
                services.billing_run_confirm_start(actor=actor, run=run,
                                                   fingerprint=str(data.get("fingerprint", "")))
                messages.success(request, _("The run is confirmed and applied."))
            elif name == "reject":
                services.billing_run_reject(actor=actor, run=run)
                messages.success(request, _("The run is rejected: nothing was posted."))
            else:
                client = int(data["client"]) if str(data.get("client", "")).isdigit() else None
                item = int(data["item"]) if str(data.get("item", "")).isdigit() else None
                func = services.billing_run_exclude if name == "exclude" else services.billing_run_include
                line = {"component": data["component"], "period_start": data.get("period_start", "")} \
                    if data.get("component") else None
                func(actor=actor, run=run, client=client, item=item, line=line)
        except services.RunChanged as exc:
            messages.warning(request, _("The run changed since you reviewed it; nothing was applied. Review the "
                                        "items again (changed ones are marked) and confirm again."))
            report_error(request, exc)
        except KopeckError as exc:
            report_error(request, exc)
        return back

    def _require_view(self, request: HttpRequest) -> None:
        if not self.has_view_permission(request):
            raise PermissionDenied

    @staticmethod
    def _progress_json(run: BillingRun) -> dict[str, Any]:
        progress = run_progress(run)
        return {**progress, "live": run.status in LIVE, "status_label": str(RunStatus(run.status).label),
                "phase_label": str(PHASE_LABELS[progress["phase"]]), "left_text": _duration(progress["seconds_left"])}

    def progress_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        """The run's progress as JSON for the live progress bar (see :func:`run_progress`), plus
        ``live`` and the status and phase in the operator's language. Staff with read access."""
        self._require_view(request)
        return JsonResponse(self._progress_json(get_object_or_404(BillingRun, pk=pk)))  # never cached (admin_view)

    def export_xlsx_view(self, request: HttpRequest, pk: int) -> FileResponse:
        """The run as a workbook (see :mod:`kopeck.billing.exports`), headers in the operator's language."""
        self._require_view(request)
        run = get_object_or_404(BillingRun, pk=pk)
        return FileResponse(run_export_xlsx_file(run), as_attachment=True, filename=xlsx_filename(run),
                            content_type=XLSX_CONTENT_TYPE)

    def export_view(self, request: HttpRequest, pk: int) -> StreamingHttpResponse:
        run = get_object_or_404(BillingRun, pk=pk)
        response = StreamingHttpResponse(services.run_export_csv(run), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="billing-run-{run.pk}.csv"'
        return response


def _awaiting_count() -> int:
    return BillingRun.objects.filter(status=RunStatus.AWAITING_CONFIRMATION).count()


def _awaiting_badge(request: HttpRequest) -> int | None:
    return _awaiting_count() if request.user.has_perm("billing.view_billingrun") else None


def _runs_cards(request: HttpRequest) -> list[bo.Card] | None:
    """What needs the operator: runs awaiting confirmation, runs that failed."""
    if not request.user.has_perm("billing.view_billingrun"):
        return None
    url = reverse("admin:billing_billingrun_changelist")
    awaiting, failed = _awaiting_count(), BillingRun.objects.filter(status=RunStatus.FAILED).count()
    cards = [bo.Card(_("Runs awaiting confirmation"), awaiting, f"{url}?status__exact={RunStatus.AWAITING_CONFIRMATION}",
                     _("Review and confirm them: nothing is posted until then.") if awaiting else "",
                     "attention" if awaiting else "ok")]
    if failed:
        cards.append(bo.Card(_("Failed billing runs"), failed, f"{url}?status__exact={RunStatus.FAILED}",
                             tone="attention"))
    return cards


bo.dashboard_card("billing.runs", _runs_cards, order=10)
bo.nav_item("billing", _("Billing runs"), model="billing.billingrun", order=10, icon="bolt",
            badge=_awaiting_badge)

