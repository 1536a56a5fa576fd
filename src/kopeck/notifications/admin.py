"""The admin of the outgoing mail settings (the model lives in kopeck.configuration with the other
settings; its admin is here, next to the e-mail sender its test button uses)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from kopeck.common import backoffice as bo
from kopeck.common.admin import ModelAdmin, admin_actor
from kopeck.configuration.models import MailSettings
from kopeck.configuration.selectors import mail_settings
from kopeck.configuration.services import MAIL_EDITABLE, mail_settings_update, mail_settings_validate
from kopeck.notifications.email import EmailNotSent, email_send


class MailSettingsForm(forms.ModelForm):  # type: ignore[type-arg]
    password = forms.CharField(
        label=capfirst(_("SMTP password")), required=False, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the current password."))
    clear_password = forms.BooleanField(label=capfirst(_("remove the password")), required=False)

    class Meta:
        model = MailSettings
        fields = [f for f in MAIL_EDITABLE if f != "password"]

    def changes(self) -> dict[str, Any]:
        data = self.cleaned_data
        changes = {f: data[f] for f in MAIL_EDITABLE if f != "password" and f in data}
        if data.get("clear_password"):
            changes["password"] = ""
        elif data.get("password"):
            changes["password"] = data["password"]
        return changes

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if not self.errors:
            for field, msgs in mail_settings_validate(self.changes()).items():
                self.add_error(field if field in self.fields else None, msgs)
        return cleaned


class MailTestForm(forms.Form):
    to = forms.EmailField(label=_("recipient"))


@admin.register(MailSettings)
class MailSettingsAdmin(ModelAdmin):
    form = MailSettingsForm
    fields = ["enabled", "host", "port", "security", "username", "password", "clear_password", "from_email",
              "from_name", "timeout", "updated_at"]
    readonly_fields = ["updated_at"]
    change_form_template = "admin/configuration/mailsettings/change_form.html"

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        obj = mail_settings()
        if obj._state.adding:
            obj.save()  # the admin's change page needs a row to edit
        return HttpResponseRedirect(reverse("admin:configuration_mailsettings_change", args=[obj.pk]))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: MailSettings, form: Any, change: bool) -> None:
        mail_settings_update(actor=admin_actor(request), **form.changes())

    def get_urls(self) -> list[Any]:
        return [
            path("test/", self.admin_site.admin_view(self.test_view), name="configuration_mailsettings_test"),
            *super().get_urls(),
        ]

    def test_view(self, request: HttpRequest) -> HttpResponse:
        """Send a test e-mail right away (not through the outbox) with the saved settings."""
        if not request.user.has_perm("configuration.change_mailsettings"):
            raise PermissionDenied
        user: Any = request.user
        form = MailTestForm(request.POST or None, initial={"to": user.email})
        if request.method == "POST" and form.is_valid():
            try:
                email_send(to=[form.cleaned_data["to"]], subject=str(_("Kopeck: test e-mail")),
                           body=str(_("This is a test e-mail from Kopeck. The mail settings work.")))
            except EmailNotSent as exc:
                messages.error(request, _("The test e-mail was not sent: %(error)s") % {"error": exc})
            else:
                messages.success(request, _("The test e-mail was sent to %(to)s.") % {"to": form.cleaned_data["to"]})
                return HttpResponseRedirect(reverse("admin:configuration_mailsettings_changelist"))
        context = {**self.admin_site.each_context(request), "form": form, "title": _("Send a test e-mail"),
                   "opts": self.model._meta}
        return render(request, "admin/configuration/mailsettings/test.html", context)


bo.nav_item("settings", _("Mail settings"), model="configuration.mailsettings", order=20, icon="mail")

