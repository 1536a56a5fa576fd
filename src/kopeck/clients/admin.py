from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from unfold.widgets import UnfoldAdminTextInputWidget

from kopeck.clients import selectors, services
from kopeck.clients.fieldsets import validate_fields
from kopeck.clients.models import Client, ClientFieldDefinition, ClientType, Contact, Tag
from kopeck.common import backoffice as bo
from kopeck.common.admin import (
    ModelAdmin,
    ReadOnlyAdmin,
    TabularInline,
    admin_actor,
    contributed_field,
    report_error,
)
from kopeck.common.errors import ValidationFailed
from kopeck.core.money import Currency, MoneyError

PREFIX = "f__"


class ClientForm(forms.ModelForm):  # type: ignore[type-arg]
    """The client's own fields plus one form field per field of its type's field set."""

    tag_names = forms.CharField(label=capfirst(_("tags")), required=False, help_text=_("Comma-separated."),
                                widget=UnfoldAdminTextInputWidget())

    class Meta:
        model = Client
        fields = ["type", "name", "external_id", "status", "currency"]

    def __init__(self, *args: Any, client_type: str = ClientType.LEGAL, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client_type = self.instance.type if self.instance.pk else client_type
        if self.instance.pk:
            self.fields["type"].disabled = True
            self.fields["tag_names"].initial = ", ".join(sorted(t.name for t in self.instance.tags.all()))
        else:
            self.fields["type"].initial = self.client_type
            self.fields["type"].disabled = True
        ru = (get_language() or "ru").startswith("ru")
        self.definitions = list(ClientFieldDefinition.objects.filter(client_type=self.client_type, is_active=True))
        for d in self.definitions:
            self.fields[PREFIX + d.code] = forms.CharField(
                label=d.label_ru if ru else d.label_en, required=d.required, widget=UnfoldAdminTextInputWidget(),
                help_text=d.help_ru if ru else d.help_en,
                initial=(self.instance.fields or {}).get(d.code, "") if self.instance.pk else "",
            )

    def clean_currency(self) -> str:
        try:
            return Currency.of(str(self.cleaned_data.get("currency") or "")).code
        except MoneyError as exc:
            raise forms.ValidationError(str(exc)) from exc

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        values = {d.code: data.get(PREFIX + d.code) or None for d in self.definitions}
        cleaned, errors = validate_fields(self.client_type, values, self.definitions)
        for key, messages in errors.items():
            self.add_error(PREFIX + key.removeprefix("fields."), messages)
        data["field_values"] = cleaned
        data["tags"] = [t.strip() for t in (data.get("tag_names") or "").split(",") if t.strip()]
        return data


class ContactForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Contact
        fields = ["kind", "value", "name", "receives_documents"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("value"):
            try:
                data["value"] = services.contact_value_clean(data.get("kind"), data["value"])
            except ValueError as exc:
                self.add_error("value", str(exc))
        return data


class ContactInline(TabularInline):
    model = Contact
    form = ContactForm
    extra = 1
    tab = True


@admin.register(Client)
class ClientAdmin(ModelAdmin):
    form = ClientForm
    inlines = [ContactInline]
    list_display = ["id", "name", "type", "status", "currency", "balance", "created_at"]
    list_filter = ["type", "status", "currency", "tags"]
    search_fields = ["external_id"]

    def get_search_results(self, request: HttpRequest, queryset: Any, search_term: str) -> Any:
        if not search_term.strip():
            return queryset, False
        matches = selectors.client_list(search=search_term).values("pk")
        return queryset.filter(pk__in=matches), False
    readonly_fields = ["balance"]

    @staticmethod
    def _client_type(request: HttpRequest, obj: Client | None) -> str:
        if obj is not None:
            return obj.type
        client_type = request.GET.get("type", ClientType.LEGAL)
        return client_type if client_type in ClientType.values else ClientType.LEGAL

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        # The field-set fields are added per instance by ClientForm, so name the model fields here.
        kwargs["fields"] = list(ClientForm.Meta.fields)
        form = super().get_form(request, obj, change=change, **kwargs)
        client_type = self._client_type(request, obj)

        class TypedForm(form):  # type: ignore[valid-type,misc]
            def __init__(self, *args: Any, **kw: Any) -> None:
                super().__init__(*args, client_type=client_type, **kw)

        return TypedForm

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        definitions = ClientFieldDefinition.objects.filter(client_type=self._client_type(request, obj), is_active=True)
        dynamic = [PREFIX + d.code for d in definitions]
        main = ["type", "name", "external_id", "status", "currency", "tag_names"]
        sets: list[Any] = [(None, {"fields": main}), (_("Requisites"), {"fields": dynamic})]
        if obj is not None:
            sets[0][1]["fields"] = [*main, "balance"]
        return sets

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a client has an account, documents, history: it is closed (status), never deleted

    @admin.display(description=_("balance"))
    def balance(self, obj: Client) -> str:
        return contributed_field(obj, "balance")  # the ledger fills it (kopeck.ledger.admin)

    def history_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        """The client's history is the audit log (every write, with before and after)."""
        url = reverse("admin:audit_auditentry_changelist")
        return HttpResponseRedirect(f"{url}?object_type=client&object_id={int(object_id)}")

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: Any = None) -> Any:
        current = self._client_type(request, None)
        links = [(f"?type={t.value}", t.label, t.value == current) for t in ClientType]
        return super().add_view(request, form_url, {**(extra_context or {}), "type_links": links})

    def save_model(self, request: HttpRequest, obj: Client, form: Any, change: bool) -> None:
        data = form.cleaned_data
        common = {"name": data["name"], "external_id": data.get("external_id"), "status": data["status"],
                  "currency": data["currency"], "fields": data["field_values"], "tags": data["tags"]}
        actor = admin_actor(request)
        if change:
            saved = services.client_update(actor=actor, client=obj, **common)
        else:
            saved = services.client_create(actor=actor, type=form.client_type, **common)
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        # Contacts go through the client service too (validated, audited).
        contacts = []
        for formset in formsets:
            # Django's change message reads what formset.save() would have set.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
            for f in formset.forms:
                cd = getattr(f, "cleaned_data", None)
                if cd and not cd.get("DELETE") and cd.get("value"):
                    contacts.append({k: cd.get(k) for k in ("kind", "value", "name", "receives_documents")})
        try:
            services.client_update(actor=admin_actor(request), client=form.instance, contacts=contacts)
        except ValidationFailed as exc:
            report_error(request, exc)


class FieldDefinitionForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = ClientFieldDefinition
        fields = list(services.FIELD_ATTRS)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        merged = {**(services.field_definition_state(self.instance) if self.instance.pk else {}), **data}
        for field, messages in services.field_definition_errors(merged).items():
            self.add_error(field if field in self.fields else None, messages)
        return data


@admin.register(ClientFieldDefinition)
class ClientFieldDefinitionAdmin(ModelAdmin):
    form = FieldDefinitionForm
    list_display = ["client_type", "position", "code_text", "label_ru", "english_label", "kind", "required", "is_active"]

    @admin.display(description=_("code"), ordering="code")
    def code_text(self, obj: ClientFieldDefinition) -> str:
        return format_html('<code class="kopeck-code">{}</code>', obj.code)

    @admin.display(description=_("label (English)"), ordering="label_en")
    def english_label(self, obj: ClientFieldDefinition) -> str:
        return format_html('<span lang="en">{}</span>', obj.label_en)
    list_filter = ["client_type", "kind", "required", "is_active"]
    list_editable = ["position"]
    ordering = ["client_type", "position"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ["client_type", "code"] if obj else []

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # deactivate instead: existing clients keep their values

    def save_model(self, request: HttpRequest, obj: ClientFieldDefinition, form: Any, change: bool) -> None:
        data = {k: v for k, v in form.cleaned_data.items() if k in services.FIELD_ATTRS}
        actor = admin_actor(request)
        if change:
            data.pop("client_type", None)
            data.pop("code", None)
            saved = services.field_definition_update(actor=actor, definition=obj, **data)
        else:
            saved = services.field_definition_create(actor=actor, **data)
        obj.pk = saved.pk


@admin.register(Tag)
class TagAdmin(ReadOnlyAdmin):
    """Tags are set on clients (through the client service); here they are only listed."""

    search_fields = ["name"]


bo.nav_item("clients", _("Clients"), model="clients.client", order=10, icon="group")
bo.nav_item("settings", _("Client fields"), model="clients.clientfielddefinition", order=60, icon="list_alt")
bo.nav_item("clients", _("Tags"), model="clients.tag", order=20, icon="sell")


def _search_clients(request: HttpRequest, query: str, limit: int) -> list[bo.SearchHit] | None:
    """Clients by name, ИНН, e-mail or external id (the client selector's search)."""
    if not request.user.has_perm("clients.view_client"):
        return None
    hits = []
    for client in selectors.client_search(query)[:limit]:
        inn = (client.fields or {}).get("inn", "")
        note = " · ".join(x for x in (client.get_type_display(), f"{_('INN')} {inn}" if inn else "",
                                      client.external_id or "") if x)
        hits.append(bo.SearchHit(client.name, reverse("admin:clients_client_change", args=[client.pk]), note))
    return hits


bo.search_provider("clients", _("Clients"), _search_clients, order=10)
