"""Document refusals in Russian (the installation's language, KOPECK_LANGUAGE, for a service called from
the back office; ``Accept-Language: ru`` through the API): statuses and document types by their Russian
names, never their codes; counted transactions and characters in their plural forms."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.documents import services
from kopeck.documents.models import Document, DocumentType, LegalEntity
from tests.documents.conftest import counters, counts

pytestmark = pytest.mark.django_db
LINE = {"name": "Хостинг", "price": "1220.00", "vat_rate": "22"}


def refusal(call: Any, error: type[Exception] = ValidationFailed) -> tuple[str, dict[str, list[str]]]:
    """The message and field errors of ``call()``, checking it wrote nothing."""
    before = counts(), counters()
    with pytest.raises(error) as exc:
        call()
    assert (counts(), counters()) == before
    return str(exc.value), exc.value.errors  # type: ignore[attr-defined]


def draft(actor: Actor, buyer: Client, **kwargs: Any) -> Document:
    return services.document_create_draft(actor=actor, type=DocumentType.INVOICE, client=buyer,
                                          lines=kwargs.pop("lines", [LINE]), **kwargs)


def test_a_refused_draft_in_russian(entity: LegalEntity, buyer: Client, actor: Actor,
                                    installation_language: None) -> None:
    lines = [{"name": "", "price": "1.005", "vat_rate": "18"}, {"name": "VPS", "price": "abc", "quantity": "0"}]
    assert refusal(lambda: draft(actor, buyer, lines=lines, notes="x" * 501, transactions=[999998, 999999])) == (
        "Неверные данные документа.", {
            "lines.0.name": ["Нужно наименование длиной от 1 до 1000 символов."],
            "lines.0.price": ["Цена — ноль или больше, не более 2 знаков после запятой."],
            "lines.0.vat_rate": ["Неизвестная ставка НДС «18»; допустимые значения: 22, 10, 0, 5, 7, exempt."],
            "lines.1.price": ['не десятичное число вида "1500.00": «abc»'],
            "lines.1.quantity": ["Количество — больше нуля, не более трёх знаков после запятой."],
            "transactions": ["Операции не этого клиента: 999998, 999999."],
            "notes": ["Текст не длиннее 500 символов."]})


def test_statuses_and_types_are_named_in_russian(entity: LegalEntity, buyer: Client, actor: Actor,
                                                 installation_language: None) -> None:
    doc = services.document_issue(actor=actor, document=draft(actor, buyer))
    assert refusal(lambda: services.document_issue(actor=actor, document=doc), Conflict) == (
        "Выставить можно только черновик, а статус этого документа — «Выставлен».",
        {"status": ["Статус: «Выставлен»."]})
    act = services.document_create_draft(actor=actor, type=DocumentType.ACT, client=buyer, lines=[LINE])
    assert refusal(lambda: services.invoice_paid_sync(actor=actor, document=act, paid_minor=100), Conflict) == (
        "Документ «Акт оказанных услуг» в статусе «Черновик» оплатить нельзя.",
        {"document": ["Это не выставленный счёт на оплату."]})
    assert refusal(lambda: services.document_mark_paid(actor=actor, document=doc, amount="2000.00")) == (
        "amount: Не больше неоплаченного остатка: 1220.00.", {"amount": ["Не больше неоплаченного остатка: 1220.00."]})


def test_a_legal_entity_refused_in_russian(entity: LegalEntity, actor: Actor, installation_language: None) -> None:
    assert refusal(lambda: services.legal_entity_update(actor=actor, entity=entity, name="x" * 301, phone="1" * 51,
                                                        kpp="", colour="red")) == (
        "Неверные реквизиты организации.", {
            "colour": ["Неизвестный атрибут."],
            "kpp": ["Для юридического лица (ИНН из 10 цифр) нужен КПП."],
            "name": ["Не более 300 символов."],
            "phone": ["Не более 50 символов."]})


def test_a_numbering_rule_refused_through_the_api_in_russian(api: APIClient, entity: LegalEntity, buyer: Client,
                                                             actor: Actor) -> None:
    doc = services.document_issue(actor=actor, document=draft(actor, buyer), issue_date="2026-11-20")
    late = draft(actor, buyer)
    before = counts(), counters()
    r = api.post(f"/api/v1/documents/{late.pk}/issue/", {"issue_date": "2026-11-19"}, format="json",
                 HTTP_ACCEPT_LANGUAGE="ru")
    assert (r.status_code, r.json()["detail"], r.json()["errors"]) == (
        409, "Номера идут по датам документов: в этой нумерации уже есть документ от 2026-11-20, поэтому документ "
             "от 2026-11-19 выставить нельзя.", [{"field": "issue_date", "detail": "Не раньше 2026-11-20."}])
    assert (counts(), counters()) == before and doc.number == "1"


def test_a_document_templates_syntax_error_in_russian(actor: Actor, installation_language: None) -> None:
    from kopeck.documents.models import TemplateForm

    message, errors = refusal(lambda: services.document_template_save(
        actor=actor, form=TemplateForm.INVOICE, language="ru", html="<p>\n{% if document.number %}\n</p>"))
    assert message == "Шаблон не принят: Ошибка в шаблоне, строка 2: блок «if» не закрыт."
    assert errors == {"html": ["Ошибка в шаблоне, строка 2: блок «if» не закрыт."]}
