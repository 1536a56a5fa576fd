"""Admin of documents: the list with filters, PDF download, issue / cancel / resend; legal entities,
variables, numbering rules (with their counters), document settings, deliveries; and the template
editor with a live preview (a textarea and an iframe refreshed by a POST of the text to the preview
view, which renders it with sample data in the sandbox).

Every write goes through :mod:`kopeck.documents.services`; forms only check the shape and show the
services' errors."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.http import content_disposition_header
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kopeck.common import backoffice as bo
from kopeck.common import display
from kopeck.common.admin import (
    ModelAdmin,
    ReadOnlyAdmin,
    TabularInline,
    admin_actor,
    contribute_field,
    money_cell,
    report_error,
)
from kopeck.common.errors import KopeckError
from kopeck.documents import services
from kopeck.documents.handlers import attachment_name
from kopeck.documents.models import (
    DeliveryStatus,
    Document,
    DocumentDelivery,
    DocumentSettings,
    DocumentStatus,
    DocumentTemplate,
    DocumentType,
    Language,
    LegalEntity,
    NumberCounter,
    NumberingRule,
    TemplateForm,
    Variable,
)
from kopeck.documents.numbering import NUMBERED_SEQUENCES, template_errors
from kopeck.documents.rendering import default_source
from kopeck.ledger.amounts import from_minor
from kopeck.ledger.models import JournalTransaction

WRITE_PERM = "documents.change_document"


def _require_write(request: HttpRequest) -> None:
    if not request.user.has_perm(WRITE_PERM):
        raise PermissionDenied


def document_links(documents: Iterable[Document]) -> str:
    """Links to the admin pages of ``documents`` (used by the ledger's transaction page)."""
    rows = [(reverse("admin:documents_document_change", args=[d.pk]), str(d)) for d in documents]
    return format_html_join(", ", '<a href="{}">{}</a>', rows) if rows else "—"


contribute_field(JournalTransaction, "documents", lambda txn: document_links(txn.documents.all()))


class DeliveryInline(TabularInline):
    model = DocumentDelivery
    extra = 0
    fields = ("recipient", "status", "attempts", "error", "message_id", "created_at", "sent_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


DOCUMENT_FIELDS: tuple[str, ...] = ("type", "upd_status", "status", "number", "correction_number", "issue_date", "due_date",
                                     "period_start", "period_end", "legal_entity", "client", "currency", "language", "amount",
                                     "paid", "run", "run_part", "corrects", "transaction_links", "notes", "creator", "created_at", "issued_at",
                                     "cancelled_at", "cancel_reason", "pdf_link", "data_json")


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ["id", "type", "number", "issue_date", "client", "status", "amount", "currency", "pdf_link"]
    list_filter = ["type", "status", "legal_entity", "issue_date", "language"]
    search_fields = ["number", "client__name"]
    list_select_related = ["client"]
    date_hierarchy = "issue_date"
    fields = DOCUMENT_FIELDS
    readonly_fields = DOCUMENT_FIELDS
    inlines = [DeliveryInline]
    actions = ["issue_selected", "cancel_selected", "resend_selected"]

    @admin.display(description=_("amount"))
    def amount(self, obj: Document) -> str:
        return from_minor(obj.amount_minor, obj.currency).to_str()

    @admin.display(description=_("created by"))
    def creator(self, obj: Document) -> str:
        return display.actor_text(obj.created_by)

    @admin.display(description=pgettext_lazy("amount column", "paid"))
    def paid(self, obj: Document) -> str:
        return from_minor(obj.paid_minor, obj.currency).to_str()

    @admin.display(description=_("ledger transactions"))
    def transaction_links(self, obj: Document) -> str:
        rows = [(reverse("admin:ledger_journaltransaction_change", args=[t.pk]), f"#{t.pk}")
                for t in obj.transactions.order_by("id")]
        return format_html_join(", ", '<a href="{}">{}</a>', rows) if rows else "—"

    @admin.display(description=_("data"))
    def data_json(self, obj: Document) -> str:
        """The document's data, indented and scrollable (one long line of JSON is unreadable)."""
        return format_html('<pre class="kopeck-code" style="max-height: 30em; overflow: auto; white-space: pre-wrap; '
                           'margin: 0">{}</pre>',
                           json.dumps(obj.data, ensure_ascii=False, indent=2, sort_keys=False, default=str))

    @admin.display(description=_("PDF"))
    def pdf_link(self, obj: Document) -> str:
        return format_html('<a href="{}">{}</a>', reverse("admin:documents_document_pdf", args=[obj.pk]), _("PDF"))

    def get_urls(self) -> list[Any]:
        return [path("<int:pk>/pdf/", self.admin_site.admin_view(self.pdf_view), name="documents_document_pdf"),
                *super().get_urls()]

    def pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        doc = get_object_or_404(Document, pk=pk)
        response = HttpResponse(services.document_pdf(doc), content_type="application/pdf")
        response["Content-Disposition"] = content_disposition_header(True, attachment_name(doc)) or ""
        return response

    def _each(self, request: HttpRequest, queryset: QuerySet[Document], func: Any, done: str) -> None:
        _require_write(request)
        count = 0
        for doc in queryset.order_by("id"):
            try:
                func(doc)
                count += 1
            except KopeckError as exc:
                report_error(request, exc)
        if count:
            messages.success(request, f"{done}: {count}")

    @admin.action(description=_("Issue the selected drafts (today)"))
    def issue_selected(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        actor = admin_actor(request)
        self._each(request, queryset.filter(status=DocumentStatus.DRAFT),
                   lambda d: services.document_issue(actor=actor, document=d), str(_("Issued")))

    @admin.action(description=_("Cancel the selected documents"))
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        actor = admin_actor(request)
        self._each(request, queryset, lambda d: services.document_cancel(
            actor=actor, document=d, reason=str(_("Cancelled in the admin"))), str(pgettext_lazy("document status", "Cancelled")))

    @admin.action(description=_("Send the selected documents by e-mail again"))
    def resend_selected(self, request: HttpRequest, queryset: QuerySet[Document]) -> None:
        actor = admin_actor(request)
        self._each(request, queryset, lambda d: services.document_resend(actor=actor, document=d),
                   str(_("Queued for sending")))


@admin.register(DocumentDelivery)
class DocumentDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "document", "recipient", "status", "attempts", "sent_at"]
    list_filter = ["status"]
    search_fields = ["recipient", "document__number"]


# -- legal entities, variables, numbering ----------------------------------------------------------


class LegalEntityForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = LegalEntity
        fields = list(services.ENTITY_FIELDS)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        _clean, errors = services.legal_entity_clean({k: data.get(k) for k in services.ENTITY_FIELDS})
        for field, problems in errors.items():
            self.add_error(field if field in self.fields else None, "; ".join(problems))
        return data


class ServiceSaveMixin:
    """``save_model`` calls a service; the form has already checked the input."""

    def _saved(self, request: HttpRequest, obj: Any, saved: Any) -> None:
        obj.pk = saved.pk
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})


@admin.register(LegalEntity)
class LegalEntityAdmin(ServiceSaveMixin, ModelAdmin):
    form = LegalEntityForm
    list_display = ["name", "inn", "kpp", "is_default", "is_active"]
    search_fields = ["name", "full_name", "inn"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: LegalEntity, form: Any, change: bool) -> None:
        data = {k: form.cleaned_data.get(k) for k in services.ENTITY_FIELDS}
        actor = admin_actor(request)
        saved = (services.legal_entity_update(actor=actor, entity=LegalEntity.objects.get(pk=obj.pk), **data)
                 if change else services.legal_entity_create(actor=actor, **data))
        self._saved(request, obj, saved)


@admin.register(Variable)
class VariableAdmin(ServiceSaveMixin, ModelAdmin):
    list_display = ["code", "value", "legal_entity", "description"]
    list_filter = ["legal_entity"]
    search_fields = ["code", "value"]
    fields = ["code", "value", "legal_entity", "description"]

    def save_model(self, request: HttpRequest, obj: Variable, form: Any, change: bool) -> None:
        try:
            saved = services.variable_set(actor=admin_actor(request), code=obj.code, value=obj.value,
                                          legal_entity=obj.legal_entity, description=obj.description)
        except KopeckError as exc:
            report_error(request, exc)
            return
        self._saved(request, obj, saved)

    def delete_model(self, request: HttpRequest, obj: Variable) -> None:
        services.variable_delete(actor=admin_actor(request), variable=obj)


class NumberingRuleForm(forms.ModelForm):  # type: ignore[type-arg]
    sequence = forms.ChoiceField(label=capfirst(_("document type")),
                                 choices=[(s, DocumentType(s).label) for s in NUMBERED_SEQUENCES])

    class Meta:
        model = NumberingRule
        fields = ["sequence", "legal_entity", "template", "reset"]

    def clean_template(self) -> str:
        template = str(self.cleaned_data.get("template") or "")
        problems = template_errors(template)
        if problems:
            raise forms.ValidationError(" ".join(problems))
        return template


class CounterInline(TabularInline):
    model = NumberCounter
    extra = 0
    fields = ("period_key", "last_number", "last_issue_date")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(NumberingRule)
class NumberingRuleAdmin(ServiceSaveMixin, ModelAdmin):
    form = NumberingRuleForm
    list_display = ["legal_entity", "sequence", "template", "reset"]

    def object_title(self, obj: NumberingRule) -> str:
        return f"{obj.get_sequence_display()}: {obj.template}"
    list_filter = ["legal_entity", "sequence"]
    inlines = [CounterInline]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: NumberingRule, form: Any, change: bool) -> None:
        try:
            saved = services.numbering_rule_set(actor=admin_actor(request), sequence=obj.sequence,
                                                legal_entity=obj.legal_entity, template=obj.template, reset=obj.reset)
        except KopeckError as exc:
            report_error(request, exc)
            return
        self._saved(request, obj, saved)


@admin.register(DocumentSettings)
class DocumentSettingsAdmin(ServiceSaveMixin, ModelAdmin):
    fields = list(services.SETTINGS_FIELDS)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not DocumentSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        """One row: straight to it (or to the form that creates it)."""
        from django.http import HttpResponseRedirect
        from django.urls import reverse

        if DocumentSettings.objects.filter(pk=1).exists():
            return HttpResponseRedirect(reverse("admin:documents_documentsettings_change", args=[1]))
        return HttpResponseRedirect(reverse("admin:documents_documentsettings_add"))

    def save_model(self, request: HttpRequest, obj: DocumentSettings, form: Any, change: bool) -> None:
        changes = {k: getattr(obj, k) for k in services.SETTINGS_FIELDS}
        self._saved(request, obj, services.document_settings_update(actor=admin_actor(request), **changes))


# -- templates with a live preview -------------------------------------------------------------------


class TemplateForm_(forms.ModelForm):  # type: ignore[type-arg]
    html = forms.CharField(label=_("HTML (Jinja2)"), widget=forms.Textarea(
        attrs={"rows": 30, "style": "width: 100%; font-family: monospace;", "id": "id_html"}))

    class Meta:
        model = DocumentTemplate
        fields = ["form", "language", "html"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("form") and data.get("language") and data.get("html"):
            problems = services.template_check(data["form"], data["language"], data["html"])
            if problems:
                self.add_error("html", forms.ValidationError([str(p) for p in problems]))
        return data


@admin.register(DocumentTemplate)
class DocumentTemplateAdmin(ServiceSaveMixin, ModelAdmin):
    form = TemplateForm_
    list_display = ["form", "language", "updated_at", "updated_by"]
    change_form_template = "admin/documents/documenttemplate/change_form.html"

    def get_urls(self) -> list[Any]:
        return [path("preview/", self.admin_site.admin_view(self.preview_view), name="documents_template_preview"),
                *super().get_urls()]

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        """"Add" starts from the shipped default of the form and language (``?form=act&language=ru``)."""
        initial = dict(super().get_changeform_initial_data(request))
        form = str(request.GET.get("form") or TemplateForm.INVOICE)
        language = str(request.GET.get("language") or Language.RU)
        if form in TemplateForm.values and language in Language.values:
            initial.update(form=form, language=language, html=default_source(form, language))
        return initial

    def preview_view(self, request: HttpRequest) -> HttpResponse:
        """POST form, language, html: the template rendered with sample data, or its problems (JSON)."""
        if request.method != "POST" or not self.has_change_permission(request):
            raise PermissionDenied  # a preview runs operator code: the template-edit permission, not view
        html, problems = services.template_preview(str(request.POST.get("form", "")),
                                                   str(request.POST.get("language", "")),
                                                   str(request.POST.get("html", "")))
        return JsonResponse({"html": html, "problems": problems})

    def changeform_view(self, request: HttpRequest, object_id: str | None = None, form_url: str = "",
                        extra_context: Any = None) -> Any:
        extra_context = {**(extra_context or {}),
                         "preview_url": reverse("admin:documents_template_preview"),
                         "forms_and_languages": [(f.value, lang.value, f"{f.label} ({lang.label.lower()})")
                                                 for f in TemplateForm for lang in Language]}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request: HttpRequest, obj: DocumentTemplate, form: Any, change: bool) -> None:
        saved = services.document_template_save(actor=admin_actor(request), form=obj.form, language=obj.language,
                                                html=obj.html)
        self._saved(request, obj, saved)

    def delete_model(self, request: HttpRequest, obj: DocumentTemplate) -> None:
        services.document_template_reset(actor=admin_actor(request), form=obj.form, language=obj.language)


bo.nav_item("documents", _("Documents"), model="documents.document", order=10, icon="description")
bo.nav_item("documents", _("Document deliveries"), model="documents.documentdelivery", order=20, icon="outgoing_mail")
bo.nav_item("settings", _("Our legal entities"), model="documents.legalentity", order=30, icon="apartment")
bo.nav_item("settings", _("Document settings"), model="documents.documentsettings", order=31, icon="tune")
bo.nav_item("settings", _("Document templates"), model="documents.documenttemplate", order=32, icon="article")
bo.nav_item("settings", _("Numbering rules"), model="documents.numberingrule", order=33, icon="format_list_numbered")
bo.nav_item("settings", _("Template variables"), model="documents.variable", order=34, icon="data_object")


def _client_documents(request: HttpRequest, client: Any) -> str | None:
    """The client page's "Documents" tab: the latest documents with their PDFs."""
    if not request.user.has_perm("documents.view_document"):
        return None
    docs = list(Document.objects.filter(client=client).order_by("-issue_date", "-id")[:10])
    rows = [(format_html('<a href="{}">{}</a>', reverse("admin:documents_document_change", args=[d.pk]),
                         d.get_type_display()), d.number or "—", display.date_text(d.issue_date),
             money_cell(d.amount_minor, d.currency), d.get_status_display(),
             format_html('<a href="{}">PDF</a>', reverse("admin:documents_document_pdf", args=[d.pk]))) for d in docs]
    total = Document.objects.filter(client=client).count()
    return bo.panel_table(
        [_("document"), _("number"), _("issue date"), _("amount"), _("status"), ""], rows,
        empty=_("No documents for the client yet."),
        more_url=f"{reverse('admin:documents_document_changelist')}?client__id__exact={client.pk}" if total else "",
        more_text=_("All documents of the client (%(count)s)") % {"count": total})


bo.page_tab("clients.client", "documents", _("Documents"), _client_documents, order=30,
            count=lambda client: Document.objects.filter(client=client).count())


def _delivery_cards(request: HttpRequest) -> list[bo.Card] | None:
    """Deliveries that failed, and e-mails waiting for the mail settings."""
    if not request.user.has_perm("documents.view_documentdelivery"):
        return None
    url = reverse("admin:documents_documentdelivery_changelist")
    failed = DocumentDelivery.objects.filter(status=DeliveryStatus.FAILED).count()
    waiting = DocumentDelivery.objects.filter(status=DeliveryStatus.NO_MAIL).count()
    cards = [bo.Card(_("Failed deliveries"), failed, f"{url}?status__exact={DeliveryStatus.FAILED}",
                     tone="attention" if failed else "ok")]
    if waiting:
        cards.append(bo.Card(_("E-mails waiting for the mail settings"), waiting,
                             reverse("admin:configuration_mailsettings_changelist"),
                             _("Documents are issued; their e-mails go once outgoing mail is configured."),
                             "attention"))
    return cards


bo.dashboard_card("documents.deliveries", _delivery_cards, order=20)
