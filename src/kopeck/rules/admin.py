"""Business rules in the back office: the list in the order rules run, the form (events, CEL condition,
actions as JSON), the test button (no side effects) and the execution log."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.functional import lazy
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.text import capfirst
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kopeck.common.admin import ReadOnlyAdmin, admin_actor
from kopeck.common.errors import KopeckError
from kopeck.events.admin import event_title, group_choice_title, types_title
from kopeck.events.catalog import EVENT_TYPES
from kopeck.rules import services
from kopeck.rules.models import ExecutionStatus, Rule, RuleExecution
from kopeck.rules.said import said_of, say


def trigger_choices() -> list[tuple[str, Any]]:
    groups = sorted({t.group for t in EVENT_TYPES})
    return [(t.name, t.title) for t in EVENT_TYPES] + [(f"{g}.*", group_choice_title(g)) for g in groups]


def _code(text: str) -> str:
    return format_html('<code class="kopeck-code">{}</code>', text)


def _condition_help() -> str:
    return format_html(gettext("A {cel} expression, e.g. {example}. Empty: always. See {doc}."), cel=_code("CEL"),
                       example=_code('subscription.plan.startsWith("vps") && "vip" in client.tags'),
                       doc=_code("docs/rules.md"))


def _actions_help() -> str:
    return format_html(gettext("A {json} list of actions, run in order, e.g. {example}."), json=_code("JSON"),
                       example=_code('[{"type": "block_client", "reason": "abuse"}, {"type": "add_tag", "tag": "abuser"}]'))


class RuleForm(forms.ModelForm):  # type: ignore[type-arg]
    triggers = forms.MultipleChoiceField(label=capfirst(_("events")), choices=trigger_choices,
                                         widget=forms.SelectMultiple(attrs={"size": 12}))
    condition = forms.CharField(label=capfirst(_("condition")), required=False,
                                widget=forms.Textarea(attrs={"rows": 3, "cols": 90, "class": "vLargeTextField",
                                                             "style": "font-family: monospace"}),
                                help_text=lazy(_condition_help, SafeString)())
    actions = forms.CharField(label=capfirst(_("actions")),
                              widget=forms.Textarea(attrs={"rows": 10, "cols": 90, "style": "font-family: monospace"}),
                              help_text=lazy(_actions_help, SafeString)())

    class Meta:
        model = Rule
        fields = ["name", "description", "triggers", "condition", "actions", "priority", "stop_processing",
                  "is_enabled"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["actions"] = json.dumps(self.instance.actions, ensure_ascii=False, indent=2)
        else:
            self.initial.setdefault("actions", "[]")

    def clean_actions(self) -> Any:
        try:
            value = json.loads(self.cleaned_data["actions"] or "[]")
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(_("Not valid JSON: %(error)s") % {"error": exc}) from exc
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        merged = {f: data.get(f) for f in services.FIELDS if f in data}
        merged["triggers"] = list(merged.get("triggers") or [])
        for field, messages in services.rule_errors(merged).items():
            target = field.split(".", 1)[0]
            for message in messages:
                text = str(message)  # said in the operator's language by the service
                if field != target:  # actions.2: the third action
                    number = int(field.split(".", 1)[1]) + 1 if field.split(".", 1)[1].isdigit() else field
                    text = str(_("action %(number)s: %(problem)s") % {"number": number, "problem": text})
                self.add_error(target if target in self.fields else None, text)
        return data


@admin.register(Rule)
class RuleAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    form = RuleForm
    list_display = ["priority", "name", "events", "is_enabled", "stop_processing", "updated_at", "log_link"]
    list_display_links = ["name"]
    list_filter = ["is_enabled"]
    search_fields = ["name", "description", "condition"]
    ordering = ["priority", "id"]
    readonly_fields = ["revision", "log_link", "test_link"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = ["name", "description", "triggers", "condition", "actions", "priority", "stop_processing",
                  "is_enabled"]
        return [*fields, "revision", "test_link", "log_link"] if obj is not None else fields

    @admin.display(description=_("events"))
    def events(self, obj: Rule) -> str:
        return types_title(obj.triggers)

    @admin.display(description=_("log"))
    def log_link(self, obj: Rule) -> str:
        if not obj.pk:
            return ""
        url = reverse("admin:rules_ruleexecution_changelist") + f"?rule={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("executions"))

    @admin.display(description=_("test"))
    def test_link(self, obj: Rule) -> str:
        if not obj.pk:
            return ""
        return format_html('<a class="button" href="{}">{}</a>', reverse("admin:rules_rule_test", args=[obj.pk]),
                           _("Test the rule"))

    def save_model(self, request: HttpRequest, obj: Rule, form: Any, change: bool) -> None:
        data = {f: form.cleaned_data.get(f) for f in services.FIELDS}
        data["triggers"] = list(data["triggers"] or [])
        data["condition"] = data["condition"] or ""
        data["description"] = data["description"] or ""
        actor = admin_actor(request)
        saved = (services.rule_update(actor=actor, rule=Rule.objects.get(pk=obj.pk), **data) if change
                 else services.rule_create(actor=actor, **data))
        obj.pk = saved.pk
        obj.__dict__.update({k: v for k, v in saved.__dict__.items() if not k.startswith("_")})

    def delete_model(self, request: HttpRequest, obj: Rule) -> None:
        services.rule_delete(actor=admin_actor(request), rule=obj)

    def get_urls(self) -> list[URLPattern]:
        return [path("<int:pk>/test/", self.admin_site.admin_view(self.test_view), name="rules_rule_test"),
                *super().get_urls()]

    def test_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        rule = get_object_or_404(Rule, pk=pk)
        form = RuleTestForm(request.POST or None)
        result, error = None, ""
        if request.method == "POST" and form.is_valid():
            try:
                result = services.rule_test(actor=admin_actor(request), rule=rule, **form.test_arguments())
            except KopeckError as exc:  # as report_error says it: no API field names on the page
                generated = {f"{f}: {m}" for f, ms in exc.errors.items() for m in ms}
                parts = [] if exc.detail in generated else [exc.detail]
                parts += [m for ms in exc.errors.values() for m in ms if m not in parts]
                error = " ".join(parts)
        shown = None
        if result is not None:  # in the operator's language (the API gives the English text)
            shown = {**result, "error": say(said_of(result["error"]), str(result["error"])), "actions": [
                {"type": ACTION_LABELS.get(str(a.get("type")), a.get("type")),
                 "would": say(said_of(a["would"]), str(a["would"])) if a.get("would") else "",
                 "problem": say(said_of(a["problem"]), gettext(str(a["problem"]))) if a.get("problem") else ""}
                for a in result["actions"]]}
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "original": rule,
                   "title": _("Test of the rule «%(name)s»") % {"name": rule.name}, "form": form, "result": shown,
                   "error": error,
                   "seen": json.dumps(result["seen"], ensure_ascii=False, indent=2) if result else ""}
        return TemplateResponse(request, "admin/rules/rule_test.html", context)


class RuleTestForm(forms.Form):
    event_id = forms.IntegerField(label=_("Stored event (id)"), required=False, min_value=1)
    event = forms.CharField(label=_("Or a hand-written event (JSON)"), required=False,
                            widget=forms.Textarea(attrs={"rows": 8, "cols": 90, "style": "font-family: monospace"}),
                            help_text=_("{\"type\": \"client.blocked\", \"client_id\": 12, \"data\": {…}}"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("event_id") and not (data.get("event") or "").strip():
            raise forms.ValidationError(_("Give a stored event or write one."))
        if data.get("event_id") and (data.get("event") or "").strip():
            raise forms.ValidationError(_("Give either a stored event or a hand-written one."))
        if (data.get("event") or "").strip():
            try:
                parsed = json.loads(data["event"])
            except json.JSONDecodeError as exc:
                raise forms.ValidationError(_("Not valid JSON: %(error)s") % {"error": exc}) from exc
            if not isinstance(parsed, dict):
                raise forms.ValidationError(_("The event is a JSON object."))
            data["parsed"] = parsed
        return data

    def test_arguments(self) -> dict[str, Any]:
        if self.cleaned_data.get("event_id"):
            return {"event_id": self.cleaned_data["event_id"]}
        return {"event": self.cleaned_data["parsed"]}


ACTION_LABELS = {
    "notify": _("notification"), "webhook": _("webhook"), "block_client": _("block the client"),
    "unblock_client": _("unblock the client"), "add_tag": _("add a tag"), "remove_tag": _("remove a tag"),
    "subscription_status": _("subscription's status"), "set_client_field": _("client's field"),
}
STATUS_LABELS = {"done": _("done"), "failed": _("failed")}


def say_action(result: dict[str, Any]) -> str:
    """What an action did, in the operator's language (a service's refusal: its message and its field
    errors, each translated, without the API's field names — as ``report_error`` shows a refusal)."""
    said = result.get("said")
    if isinstance(said, dict) and "errors" in said:
        parts = [gettext(said.get("text") or "")]
        parts += [gettext(m) for messages in (said.get("errors") or {}).values() for m in messages]
        return " ".join(p for p in parts if p)
    return say(said, str(result.get("detail", "")))


class RuleFilter(admin.SimpleListFilter):
    title = _("rule")
    parameter_name = "rule"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(str(r.pk), r.name) for r in Rule.objects.order_by("priority", "id")]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        value = self.value()
        return queryset.filter(matched__contains=f",{value},") if value and value.isdigit() else queryset


@admin.register(RuleExecution)
class RuleExecutionAdmin(ReadOnlyAdmin):
    list_display = ["id", "at", "event_link", "client_id", "status", "rules_ran"]
    list_filter = [RuleFilter, "status", "event_type", "at"]
    search_fields = ["=event__id", "=client_id"]
    date_hierarchy = "at"
    readonly_fields = ("event_link", "event_type", "client_id", "at", "status", "stopped_by", "details")
    fields = tuple(readonly_fields)
    list_per_page = 50
    show_full_result_count = False

    @admin.display(description=_("event"))
    def event_link(self, obj: RuleExecution) -> str:
        return format_html('<a href="{}">{} #{}</a>', reverse("admin:events_event_change", args=[obj.event_id]),
                           event_title(obj.event_type), obj.event_id)

    @admin.display(description=_("rules that ran"))
    def rules_ran(self, obj: RuleExecution) -> str:
        return ", ".join(f"#{i}" for i in obj.matched.strip(",").split(",") if i) or "—"

    @admin.display(description=_("what happened"))
    def details(self, obj: RuleExecution) -> str:
        names = dict(Rule.objects.values_list("id", "name"))
        rows = []
        for entry in obj.results:
            if "evaluated" in entry:
                rows.append((str(_("Conditions evaluated")), str(entry["evaluated"])))
                continue
            if "loop" in entry:
                rows.append((str(_("Loop protection")), say(entry.get("said"), entry["loop"])))
                continue
            rule = f"#{entry['rule']} {names.get(entry['rule'], '')}".strip()
            if entry.get("condition") is None:
                rows.append((rule, str(_("condition failed: %(error)s") % {
                    "error": say(entry.get("said"), entry.get("error", ""))})))
            else:
                done = "; ".join(f"{ACTION_LABELS.get(a['type'], a['type'])}: {STATUS_LABELS.get(a['status'], a['status'])}"
                                 f" — {say_action(a)}" for a in entry.get("actions", []))
                rows.append((rule, str(_("ran: %(actions)s") % {"actions": done})))
        return format_html("<table>{}</table>", format_html_join(
            "", "<tr><td style=\"white-space: nowrap\">{}</td><td>{}</td></tr>", rows))


__all__ = ["ExecutionStatus", "RuleAdmin", "RuleExecutionAdmin"]
