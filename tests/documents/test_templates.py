"""Operator templates: validated on save; anything reaching settings, files, object internals or an
unknown template is refused (nothing saved); a saved template is used for new renders."""

from __future__ import annotations

from typing import Any

import pytest

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.common.errors import ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.documents import services
from kopeck.documents.data import sample_data
from kopeck.documents.models import DocumentTemplate, DocumentType, LegalEntity, TemplateForm
from kopeck.documents.rendering import TemplateRefused, default_source, render_source
from kopeck.documents.selectors import document_html
from tests.documents.conftest import counts
from tests.documents.test_services import draft

pytestmark = pytest.mark.django_db

REFUSED = {
    "settings": ("{{ settings.SECRET_KEY }}", "'settings' is not available to templates"),
    "config": ("{{ config }}", "'config' is not available to templates"),
    "request": ("{{ request.user }}", "'request' is not available to templates"),
    "class": ("{{ lines.__class__ }}", "'__class__' — object internals"),
    "mro": ('{{ "".__class__.mro() }}', "'mro' is not accessible"),
    "subclasses": ("{{ ().__class__.__bases__[0].__subclasses__() }}", "object internals"),
    "globals": ("{{ range.__globals__ }}", "'__globals__' — object internals"),
    "item internals": ('{{ provider["__class__"] }}', "'__class__' — object internals"),
    "file include": ('{% include "/etc/passwd" %}', "unknown template '/etc/passwd'"),
    "unknown import": ('{% import "secrets.html" as s %}', "unknown template 'secrets.html'"),
    "dynamic include": ("{% include document.title %}", "only the base templates"),
    "extends a file": ('{% extends "../settings.py" %}', "unknown template '../settings.py'"),
    "format": ('{{ "{0.__class__}".format(lines) }}', "'format' is not accessible"),
    "lipsum": ("{{ lipsum.__globals__ }}", "'lipsum' is not available"),
    "syntax": ("{% for x in lines %}", "Error in the template, line 1: the 'for' block is not closed."),
    "unknown field": ("{{ document.no_such_field }}", "does not render with sample data"),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_refused_templates_are_not_saved(db: Any, actor: Actor, clock: FixedClock, name: str) -> None:
    source, reason = REFUSED[name]
    before = counts()
    with pytest.raises(ValidationFailed) as exc:
        services.document_template_save(actor=actor, form=TemplateForm.INVOICE, language="ru", html=source)
    assert any(reason in p for p in exc.value.errors["html"]), exc.value.errors
    assert counts() == before


def test_the_sandbox_refuses_internals_at_render_time_too() -> None:
    with pytest.raises(TemplateRefused) as exc:
        render_source("{{ x.__class__ }}", {"x": "a"})
    assert "sandbox" in str(exc.value) or "__class__" in str(exc.value)
    with pytest.raises(TypeError):
        render_source("{{ x }}", {"x": object()})  # only plain data reaches a template


def test_a_saved_template_is_used_and_reset_restores_the_default(entity: LegalEntity, buyer: Client,
                                                                 actor: Actor) -> None:
    html = ('{% extends "base.html" %}{% import "macros.html" as m %}{% block content %}'
            '<h1>Мой счёт {{ document.number }} для {{ client.name }}</h1>{{ m.bank_block(provider) }}'
            '{% set total = namespace(n=0) %}{% for line in lines %}{% set total.n = total.n + 1 %}{% endfor %}'
            '<p>{{ total.n }} строк, {{ totals.gross|money }}, {{ vars.entity_inn }}</p>{% endblock %}')
    services.document_template_save(actor=actor, form=TemplateForm.INVOICE, language="ru", html=html)
    doc = services.document_issue(actor=actor, document=draft(actor, buyer))
    rendered = document_html(doc)
    assert "<h1>Мой счёт 1 для ООО «Ромашка»</h1>" in rendered
    assert "<p>2 строк, 2\u00a0220,00, 7707083893</p>" in rendered
    services.document_template_reset(actor=actor, form=TemplateForm.INVOICE, language="ru")
    assert DocumentTemplate.objects.count() == 0
    assert "Счёт на оплату № 1 от 25 ноября 2026 г." in document_html(doc)


def test_autoescape_is_on(entity: LegalEntity, buyer: Client, actor: Actor) -> None:
    buyer.fields = {**buyer.fields, "full_name": "<script>alert(1)</script>"}
    buyer.save()
    doc = draft(actor, buyer, DocumentType.ACT)
    assert "<script>" not in document_html(doc) and "&lt;script&gt;" in document_html(doc)


@pytest.mark.parametrize("form", TemplateForm.values)
@pytest.mark.parametrize("language", ["ru", "en"])
def test_the_defaults_pass_their_own_validation(form: str, language: str) -> None:
    assert services.template_check(form, language, default_source(form, language)) == []
    assert "<html" in render_source(default_source(form, language), sample_data(form, language))


def test_preview_renders_sample_data_or_says_why_not() -> None:
    html, problems = services.template_preview("act", "ru", "<b>{{ client.name }}</b>")
    assert (html, problems) == ("<b>ООО «Ромашка»</b>", [])
    html, problems = services.template_preview("act", "ru", "{{ settings }}")
    assert html == "" and len(problems) == 1
