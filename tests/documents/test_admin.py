"""The admin: document list and page, PDF download, actions; the template editor's preview; the
ledger transaction page links its documents."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client as HttpClient

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.documents import services
from kopeck.documents.models import DocumentStatus, DocumentTemplate, LegalEntity
from kopeck.ledger.services import ledger_operation_post
from kopeck.operators.models import Operator
from tests.documents.test_services import draft

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_http(db: Any) -> HttpClient:
    http = HttpClient()
    http.force_login(Operator.objects.create(username="boss", role="administrator", is_staff=True))
    return http


def test_list_page_pdf_and_actions(admin_http: HttpClient, entity: LegalEntity, buyer: Client, actor: Actor) -> None:
    txn = ledger_operation_post(actor=actor, client=buyer, operation="charge", amount="100.00", reason="VPS")
    doc = draft(actor, buyer, transactions=[txn.pk])
    assert admin_http.get("/admin/documents/document/").status_code == 200
    r = admin_http.post("/admin/documents/document/", {"action": "issue_selected", "_selected_action": [doc.pk]})
    assert r.status_code == 302
    doc.refresh_from_db()
    assert (doc.status, doc.number) == (DocumentStatus.ISSUED, "1")
    page = admin_http.get(f"/admin/documents/document/{doc.pk}/change/").content.decode()
    assert f"/admin/ledger/journaltransaction/{txn.pk}/change/" in page
    r = admin_http.get(f"/admin/documents/document/{doc.pk}/pdf/")
    assert r.status_code == 200 and r.content.startswith(b"%PDF-")
    assert "attachment" in r["Content-Disposition"]
    ledger_page = admin_http.get(f"/admin/ledger/journaltransaction/{txn.pk}/change/").content.decode()
    assert f"/admin/documents/document/{doc.pk}/change/" in ledger_page


def test_template_editor_preview_and_save(admin_http: HttpClient, entity: LegalEntity) -> None:
    page = admin_http.get("/admin/documents/documenttemplate/add/?form=act&language=ru")
    assert page.status_code == 200 and "template-preview" in page.content.decode()
    r = admin_http.post("/admin/documents/documenttemplate/preview/",
                        {"form": "act", "language": "ru", "html": "<b>{{ client.name }}</b>"})
    assert r.json() == {"html": "<b>ООО «Ромашка»</b>", "problems": []}
    r = admin_http.post("/admin/documents/documenttemplate/preview/",
                        {"form": "act", "language": "ru", "html": "{{ lines.__class__ }}"})
    assert r.json()["html"] == "" and r.json()["problems"] == [
        "строка 1: «__class__» — внутренние атрибуты объектов (имена, начинающиеся с «_») недоступны"]  # the back office is Russian
    r = admin_http.post("/admin/documents/documenttemplate/add/",
                        {"form": "act", "language": "ru", "html": "{{ settings }}"})
    assert r.status_code == 200 and DocumentTemplate.objects.count() == 0  # refused, form shown again
    r = admin_http.post("/admin/documents/documenttemplate/add/",
                        {"form": "act", "language": "ru", "html": "<p>{{ document.number }}</p>"})
    assert r.status_code == 302 and DocumentTemplate.objects.get().html == "<p>{{ document.number }}</p>"


def test_legal_entity_form_checks_requisites(admin_http: HttpClient, entity: LegalEntity) -> None:
    data = {f: getattr(entity, f) for f in services.ENTITY_FIELDS}
    data.update(inn="7707083894", is_default="on", is_active="on")
    r = admin_http.post(f"/admin/documents/legalentity/{entity.pk}/change/", data)
    assert r.status_code == 200 and list(r.context["adminform"].form.errors) == ["inn"]
    entity.refresh_from_db()
    assert entity.inn == "7707083893"


def test_document_settings_open_the_single_row(admin_client: Any, actor: Any) -> None:
    base = "/admin/documents/documentsettings/"
    assert admin_client.get(base)["Location"] == f"{base}add/"
    services.document_settings_update(actor=actor, monthly_acts="act")
    assert admin_client.get(base)["Location"] == f"{base}1/change/"
    assert "monthly_acts" in admin_client.get(f"{base}1/change/").content.decode()
