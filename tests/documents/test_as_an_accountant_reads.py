"""Documents as a Russian accountant reads them (defect 6 of issue 11): a line names the component,
never its code; the unit is the product's with its ОКЕИ code; "на сумму 1 990,00 руб."; an act is
dated no earlier than the last day of the service period it closes; a signature line never wraps a
name."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from pypdf import PdfReader

from kopeck.billing.models import RunMode
from kopeck.billing.services import billing_run_create, billing_run_execute
from kopeck.catalog import services as catalog
from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.common.errors import ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.documents import services
from kopeck.documents.models import Document, DocumentType, LegalEntity, RunDocument
from kopeck.documents.selectors import document_html
from kopeck.ledger.models import JournalTransaction
from kopeck.subscriptions.services import subscription_bill_due, subscription_create
from tests.documents.conftest import counts
from tests.subscriptions.helpers import LONG_AGO, at

pytestmark = pytest.mark.django_db
D = dt.date

SPEC: dict[str, Any] = {
    "code": "vps-s", "name": "VPS S", "billing_period": {"unit": "month", "count": 1}, "currencies": ["RUB"],
    "setup_fee": {"RUB": "500.00"},
    "components": [{"code": "base", "name": "Абонентская плата", "kind": "fixed", "billing": "in_advance",
                    "prices": {"RUB": {"model": "standard", "unit_price": "1490.00"}}}],
}


@pytest.fixture
def vps(clock: FixedClock, actor: Actor) -> None:
    saved = clock.now()
    clock.set(LONG_AGO)
    product = catalog.product_create(actor=actor, code="vps", name_ru="Виртуальный сервер", name_en="VPS",
                                     vat_rate="22", unit="мес")
    plan = catalog.plan_create(actor=actor, product=product, code="vps-s", name_ru="VPS S", name_en="VPS S")
    catalog.plan_version_publish(actor=actor, version=catalog.plan_version_create(actor=actor, plan=plan, spec=SPEC),
                                 effective_from=LONG_AGO.date())
    clock.set(saved)


def test_an_invoice_names_components_and_units_and_says_the_sum_in_roubles(
        clock: FixedClock, actor: Actor, entity: LegalEntity, buyer: Client, vps: None) -> None:
    at(clock, D(2026, 11, 1))
    subscription_create(actor=actor, client=buyer, plan="vps-s")
    run = billing_run_execute(actor=actor, run=billing_run_create(actor=actor, billing_date=D(2026, 11, 1),
                                                                  mode=RunMode.AUTO))
    [invoice] = Document.objects.filter(run=run)
    lines = invoice.data["lines"]
    assert [(ln["name"], ln["unit"], ln["unit_code"], ln["gross"]) for ln in lines] == [
        ("Виртуальный сервер «VPS S»: Абонентская плата, 01.11.2026–30.11.2026", "мес", "362", "1490.00"),
        ("Виртуальный сервер «VPS S»: Плата за подключение, 01.11.2026", "мес", "362", "500.00")]
    html = document_html(invoice)
    assert "setup_fee" not in html and "усл. ед." not in html
    assert "на сумму 1\u00a0990,00 руб." in html


def test_a_monthly_act_closes_only_the_periods_ended_by_its_date(clock: FixedClock, actor: Actor,
                                                                 entity: LegalEntity, buyer: Client,
                                                                 vps: None) -> None:
    at(clock, D(2026, 10, 15))
    sub = subscription_create(actor=actor, client=buyer, plan="vps-s")
    subscription_bill_due(actor=actor, subscription=sub)  # setup fee; 15 October – 14 November
    at(clock, D(2026, 11, 1))
    [act] = services.documents_issue_monthly_acts(actor=actor, month="2026-10", kind=DocumentType.ACT)
    # the setup fee (a day of October) is closed; the period ending 14 November waits for November's
    assert act.issue_date == D(2026, 10, 31)
    assert [ln["gross"] for ln in act.data["lines"]] == ["500.00"]
    at(clock, D(2026, 11, 16))
    subscription_bill_due(actor=actor, subscription=sub)  # 15 November – 14 December
    at(clock, D(2026, 12, 1))
    [november] = services.documents_issue_monthly_acts(actor=actor, month="2026-11", kind=DocumentType.ACT)
    assert (november.issue_date, [ln["gross"] for ln in november.data["lines"]]) == (D(2026, 11, 30), ["1490.00"])
    assert [ln["period_end"] for ln in november.data["lines"]] == ["2026-11-15"]  # exclusive: the 14th
    for doc in (act, november):
        assert all(D.fromisoformat(ln["period_end"]) - dt.timedelta(days=1) <= doc.issue_date
                   for ln in doc.data["lines"] if ln["period_end"])


def test_a_runs_act_leaves_the_periods_not_ended_yet(clock: FixedClock, actor: Actor, entity: LegalEntity,
                                                     buyer: Client, vps: None) -> None:
    services.document_settings_update(actor=actor, run_document=RunDocument.ACT)
    at(clock, D(2026, 11, 1))
    subscription_create(actor=actor, client=buyer, plan="vps-s")
    run = billing_run_execute(actor=actor, run=billing_run_create(actor=actor, billing_date=D(2026, 11, 1),
                                                                  mode=RunMode.AUTO))
    # billed in advance on 1 November: the month is not rendered yet; the setup fee (that day) is
    acts = list(Document.objects.filter(run=run))
    assert [(d.issue_date, [ln["gross"] for ln in d.data["lines"]]) for d in acts] == [(D(2026, 11, 1), ["500.00"])]
    assert JournalTransaction.objects.filter(operation="charge").count() == 2


def test_an_act_cannot_be_dated_before_the_end_of_its_period(actor: Actor, entity: LegalEntity,
                                                             buyer: Client) -> None:
    doc = services.document_create_draft(actor=actor, type=DocumentType.ACT, client=buyer, period_start="2026-11-01",
                                         period_end="2026-11-30", lines=[{"name": "Хостинг", "price": "990.00"}])
    before = counts()
    with pytest.raises(ValidationFailed) as info:
        services.document_issue(actor=actor, document=doc, issue_date="2026-11-25")
    assert "issue_date" in info.value.errors
    assert counts() == before


def test_a_signature_line_never_wraps_a_name(actor: Actor, entity: LegalEntity, buyer: Client) -> None:
    services.legal_entity_update(actor=actor, entity=entity,
                                 director_name="Константинопольский-Задунайский Александр Александрович",
                                 accountant_name="Петрова-Водкина Анастасия Владиславовна")
    for kind in (DocumentType.INVOICE, DocumentType.ACT, DocumentType.UPD, DocumentType.INVOICE_FACTURA):
        doc = services.document_issue(actor=actor, document=services.document_create_draft(
            actor=actor, type=kind, client=buyer, lines=[{"name": "Хостинг", "price": "990.00"}]),
            issue_date="2026-11-25")
        lines = [ln for page in PdfReader(io.BytesIO(services.document_pdf(doc))).pages
                 for ln in (page.extract_text() or "").splitlines()]
        for name in ("Константинопольский-Задунайский Александр Александрович",
                     "Петрова-Водкина Анастасия Владиславовна"):
            first = name.split()[0]
            holding = [ln for ln in lines if first in ln]
            assert all(name in ln for ln in holding), (kind, name, holding)
        assert any("Константинопольский" in ln for ln in lines)
