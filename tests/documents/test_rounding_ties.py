"""Exact half-kopeck ties where they cost money: a document's lines and totals, a billed charge on
the ledger and its invoice, a prorated first period. Kopeck rounds once per line, half-up (away from
zero): 0.005 is 0.01. Each amount below is an exact tie whose half-even (banker's) rounding is a
kopeck lower, so rounding half-even (``ROUND_HALF_EVEN`` in :meth:`Money.round_line`) or half-down
(``>`` for ``>=`` in :func:`kopeck.core.proration.round_half_up`) fails these tests."""

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
from kopeck.documents.models import Document, LegalEntity
from kopeck.ledger.models import JournalTransaction
from kopeck.ledger.selectors import client_balance
from kopeck.subscriptions.models import AnchorKind, BilledPeriod
from kopeck.subscriptions.services import subscription_bill_due, subscription_create
from tests.subscriptions.helpers import at, make_plan

pytestmark = pytest.mark.django_db
D = dt.date


def test_a_documents_lines_and_totals_round_each_tie_half_up(actor: Actor, entity: LegalEntity,
                                                            buyer: Client) -> None:
    doc = services.document_create_draft(actor=actor, type="invoice", client=buyer, prices_include_vat=False, lines=[
        # 2.5 × 100.25 = 250.625 → 250.63 (half-even: 250.62); VAT 250.63 × 0.22 = 55.1386 → 55.14
        {"name": "Администрирование, ч", "price": "100.25", "quantity": "2.5", "vat_rate": "22"},
        # VAT 100.75 × 0.22 = 22.165 → 22.17 (half-even: 22.16), on each line
        {"name": "Хостинг", "price": "100.75", "quantity": "1", "vat_rate": "22"},
        {"name": "Резервное копирование", "price": "100.75", "quantity": "1", "vat_rate": "22"},
    ])
    lines = [(ln["net"], ln["vat"], ln["gross"]) for ln in doc.data["lines"]]
    assert lines == [("250.63", "55.14", "305.77"), ("100.75", "22.17", "122.92"), ("100.75", "22.17", "122.92")]
    # totals are the sums of the rounded lines: VAT 55.14 + 22.17 + 22.17 = 99.48, not round(452.13 × 0.22) = 99.47
    totals = doc.data["totals"]
    assert (totals["net"], totals["vat"], totals["gross"]) == ("452.13", "99.48", "551.61")
    assert (doc.amount_minor, doc.vat_minor) == (55161, 9948)


def test_a_charge_with_vat_on_top_rounds_its_tie_half_up_on_the_ledger_and_the_invoice(
        clock: FixedClock, actor: Actor, entity: LegalEntity, buyer: Client) -> None:
    billing_settings_update(actor=actor, prices_include_vat=False)  # ОСН: 22 % on top
    at(clock, D(2026, 11, 1))
    make_plan(actor, clock, "tie", base="100.75", seat="0.00")
    subscription_create(actor=actor, client=buyer, plan="tie")
    run = billing_run_execute(actor=actor, run=billing_run_create(actor=actor, billing_date=D(2026, 11, 1),
                                                                  mode=RunMode.AUTO))
    # 100.75 + round(22.165) = 100.75 + 22.17 = 122.92
    [charge] = JournalTransaction.objects.filter(client=buyer, operation="charge")
    assert (charge.amount_minor, charge.vat_minor) == (12292, 2217)
    assert client_balance(buyer).to_str() == "-122.92"
    [invoice] = Document.objects.filter(run=run)
    totals = invoice.data["totals"]
    assert (invoice.amount_minor, invoice.vat_minor) == (12292, 2217)
    assert (totals["net"], totals["vat"], totals["gross"]) == ("100.75", "22.17", "122.92")


def test_a_prorated_first_period_rounds_its_tie_half_up(clock: FixedClock, actor: Actor, buyer: Client) -> None:
    at(clock, D(2027, 2, 15))
    make_plan(actor, clock, "tie", base="1000.01", seat="0.00")
    sub = subscription_create(actor=actor, client=buyer, plan="tie", anchor_kind=AnchorKind.CALENDAR, billing_day=1)
    subscription_bill_due(actor=actor, subscription=sub)
    # [Feb 15, Mar 1) is 14 of February's 28 days: 1000.01 × 14 / 28 = 500.005 → 500.01 (half-even: 500.00)
    [base] = BilledPeriod.objects.filter(subscription=sub, component="base")
    assert (base.period_start, base.period_end, base.amount_minor) == (D(2027, 2, 15), D(2027, 3, 1), 50001)
    assert client_balance(buyer).to_str() == "-500.01"
    # VAT included: 500.01 × 22 / 122 = 90.166… → 90.17
    [charge] = JournalTransaction.objects.filter(client=buyer, operation="charge", amount_minor__gt=0)
    assert (charge.amount_minor, charge.vat_minor) == (50001, 9017)
