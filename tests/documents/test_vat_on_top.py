"""One VAT policy: a plan priced 1000.00 with VAT on top is 1220.00 on the ledger, the invoice, the
act and the УПД (defect 5 of issue 11: the ledger, runs and monthly acts treated every charge as
VAT-inclusive)."""

from __future__ import annotations

import datetime as dt

import pytest

from kopeck.billing.models import RunMode
from kopeck.billing.services import billing_run_create, billing_run_execute
from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.configuration.services import billing_settings_update
from kopeck.core.clock import FixedClock
from kopeck.documents import services
from kopeck.documents.models import Document, DocumentType, LegalEntity
from kopeck.ledger.models import JournalTransaction
from kopeck.subscriptions.services import subscription_bill_due, subscription_create
from tests.subscriptions.helpers import at, make_plan

pytestmark = pytest.mark.django_db
D = dt.date


def _money(doc: Document) -> tuple[str, str, str]:
    totals = doc.data["totals"]
    # shown as the catalog prices them: the price without VAT, VAT added on top
    assert doc.data["prices_include_vat"] is False and doc.data["lines"][0]["price"] == "1000.00"
    return totals["net"], totals["vat"], totals["gross"]


def test_a_plan_priced_with_vat_on_top_is_the_same_everywhere(clock: FixedClock, actor: Actor, entity: LegalEntity,
                                                               buyer: Client) -> None:
    billing_settings_update(actor=actor, prices_include_vat=False)  # ОСН: 22 %
    at(clock, D(2026, 11, 1))
    make_plan(actor, clock, "net", base="1000.00", seat="0.00")
    sub = subscription_create(actor=actor, client=buyer, plan="net")
    preview = subscription_bill_due(actor=actor, subscription=sub, preview=True)
    assert [(i["component"], i["amount"]) for i in preview.items] == [("base", "1220.00"), ("seats", "0.00")]
    run = billing_run_execute(actor=actor, run=billing_run_create(actor=actor, billing_date=D(2026, 11, 1),
                                                                  mode=RunMode.AUTO))
    [charge] = JournalTransaction.objects.filter(client=buyer, operation="charge")
    assert (charge.amount_minor, charge.vat_minor, charge.vat_rate) == (122000, 22000, "22")
    [invoice] = Document.objects.filter(run=run)
    assert invoice.type == DocumentType.INVOICE
    assert (invoice.amount_minor, invoice.vat_minor, _money(invoice)) == (122000, 22000, ("1000.00", "220.00",
                                                                                          "1220.00"))
    at(clock, D(2026, 12, 1))
    [act] = services.documents_issue_monthly_acts(actor=actor, month="2026-11", kind=DocumentType.ACT)
    [upd] = services.documents_issue_monthly_acts(actor=actor, month="2026-11", kind=DocumentType.UPD)
    for doc in (act, upd):
        assert (doc.amount_minor, doc.vat_minor, _money(doc)) == (122000, 22000, ("1000.00", "220.00", "1220.00"))
        assert doc.data["lines"][0]["rate"] == "22"
