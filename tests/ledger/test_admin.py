"""The ledger's admin pages: posting an operation, reversing one transaction or several, the
statement — and who may do what (ledger write for posting and reversing)."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from django.test import Client as HttpClient

from kopeck.audit.models import AuditEntry
from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.core.money import Money
from kopeck.ledger.models import Account, JournalTransaction, Posting
from kopeck.ledger.selectors import client_balance
from kopeck.ledger.services import ledger_operation_post, ledger_transaction_reverse
from kopeck.operators.models import Operator
from kopeck.operators.roles import Role
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
BASE = "/en/admin/ledger/journaltransaction/"
POST_URL = f"{BASE}post/"
ACTOR = Actor.system("tests")


def http_as(role: str) -> HttpClient:
    http = HttpClient()
    http.force_login(Operator.objects.create(username=f"op-{role}", role=role, is_staff=True))
    return http


@pytest.fixture
def accountant(db: Any) -> HttpClient:
    return http_as(Role.ACCOUNTANT)


@pytest.fixture
def customer(db: Any, clock: FixedClock) -> Client:
    return ClientFactory(name="ООО «Ромашка»")


def counts() -> tuple[int, int, int, int]:
    return (JournalTransaction.objects.count(), Posting.objects.count(), Account.objects.count(),
            AuditEntry.objects.count())


def text(response: Any) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def field_errors(response: Any) -> list[str]:
    page = response.content.decode()
    return [html.unescape(re.sub(r"<[^>]+>", "", li)).strip()
            for ul in re.findall(r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', page, re.S)
            for li in re.findall(r"<li>(.*?)</li>", ul, re.S)]


def messages_of(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def form(who: Client, **overrides: str) -> dict[str, str]:
    return {"client": str(who.pk), "operation": "payment", "amount": "1000.00", "reason": "Оплата",
            "source_ref": "п/п 15", "vat_rate": "", **overrides}


# -- posting -------------------------------------------------------------------------------------------


def test_the_post_form_preselects_the_client_of_the_link(accountant: HttpClient, customer: Client) -> None:
    page = accountant.get(f"{POST_URL}?client={customer.pk}")
    assert page.status_code == 200
    assert re.search(rf'<option value="{customer.pk}" selected>', page.content.decode())
    assert "reversal" not in re.findall(r'<option value="([a-z_]+)"', page.content.decode())


def test_posting_a_payment_and_a_charge(accountant: HttpClient, customer: Client, clock: FixedClock) -> None:
    reply = accountant.post(POST_URL, form(customer))
    payment = JournalTransaction.objects.get(operation="payment")
    assert reply.status_code == 302 and reply["Location"] == f"{BASE}{payment.pk}/change/"
    assert (payment.client_id, payment.amount_minor, payment.reason, payment.source_ref) == (
        customer.pk, 100000, "Оплата", "п/п 15")
    assert (payment.actor_kind, payment.actor_label) == ("operator", "op-accountant")
    reply = accountant.post(POST_URL, form(customer, operation="charge", amount="122.00", vat_rate="22",
                                           reason="VPS", source_ref=""))
    charge = JournalTransaction.objects.get(operation="charge")
    assert reply.status_code == 302 and (charge.amount_minor, charge.vat_rate, charge.vat_minor) == (12200, "22", 2200)
    assert client_balance(customer) == Money("878.00", "RUB")
    follow = accountant.get(reply["Location"])
    assert f"Transaction #{charge.pk} posted." in messages_of(follow)


@pytest.mark.parametrize(("overrides", "errors"), [
    ({"vat_rate": "22"}, ["A VAT rate applies to charges only."]),  # a payment
    ({"amount": "1.005"}, ["RUB allows 2 decimal places."]),
    ({"amount": "0"}, ["The amount must be greater than zero."]),
    ({"amount": "1000000000000000"}, ["The amount is too large."]),
    ({"reason": ""}, ["This field is required."]),
    ({"operation": "reversal"}, ["Select a valid choice. reversal is not one of the available choices."]),
    ({"client": "999999"}, ["Select a valid choice. That choice is not one of the available choices."]),
])
def test_a_refused_operation_shows_why_and_writes_nothing(accountant: HttpClient, customer: Client,
                                                          overrides: dict[str, str], errors: list[str]) -> None:
    before = counts()
    reply = accountant.post(POST_URL, form(customer, **overrides))
    assert reply.status_code == 200
    assert field_errors(reply) == errors
    assert counts() == before


# -- permissions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.MANAGER, Role.READ_ONLY])
def test_only_ledger_writers_post_and_reverse(customer: Client, role: str) -> None:
    txn = ledger_operation_post(actor=ACTOR, client=customer, operation="payment", amount="100.00", reason="x")
    reader = http_as(role)
    before = counts()
    assert reader.get(POST_URL).status_code == 403
    assert reader.post(POST_URL, form(customer)).status_code == 403
    assert reader.get(f"{BASE}{txn.pk}/reverse/").status_code == 403
    assert reader.post(f"{BASE}{txn.pk}/reverse/", {"reason": "ошибка"}).status_code == 403
    reader.post(BASE, {"action": "reverse_selected", "_selected_action": [txn.pk]})
    assert counts() == before
    # reading stays allowed
    assert reader.get(BASE).status_code == 200
    assert reader.get(f"{BASE}statement/{customer.pk}/").status_code == 200
    assert "reverse_selected" not in reader.get(BASE).content.decode()


def test_a_ledger_writer_sees_the_bulk_reversal(accountant: HttpClient, customer: Client) -> None:
    ledger_operation_post(actor=ACTOR, client=customer, operation="payment", amount="100.00", reason="x")
    assert 'value="reverse_selected"' in accountant.get(BASE).content.decode()


# -- reversing -----------------------------------------------------------------------------------------


def test_reversing_a_transaction_once(accountant: HttpClient, customer: Client) -> None:
    ledger_operation_post(actor=ACTOR, client=customer, operation="payment", amount="500.00", reason="x")
    charge = ledger_operation_post(actor=ACTOR, client=customer, operation="charge", amount="244.00", reason="VPS",
                                   vat_rate="22")
    url = f"{BASE}{charge.pk}/reverse/"
    page = accountant.get(url)
    assert page.status_code == 200 and f"Reverse transaction #{charge.pk}" in text(page)
    before = counts()
    assert field_errors(accountant.post(url, {"reason": ""})) == ["This field is required."]
    assert counts() == before
    reply = accountant.post(url, {"reason": "ошибка"})
    rev = JournalTransaction.objects.get(operation="reversal")
    assert reply.status_code == 302 and reply["Location"] == f"{BASE}{rev.pk}/change/"
    assert messages_of(accountant.get(reply["Location"])) == [f"Transaction #{rev.pk} posted."]
    assert (rev.reverses_id, rev.reason, rev.actor_label) == (charge.pk, "ошибка", "op-accountant")
    assert client_balance(customer) == Money("500.00", "RUB")
    before = counts()
    again = accountant.post(url, {"reason": "ещё раз"})
    assert again.status_code == 200
    assert messages_of(again) == [f"Transaction {charge.pk} has already been reversed."]
    assert counts() == before
    assert accountant.get(f"{BASE}999999/reverse/").status_code == 404


def test_the_bulk_reversal_reverses_each_it_can(accountant: HttpClient, customer: Client) -> None:
    pay = ledger_operation_post(actor=ACTOR, client=customer, operation="payment", amount="500.00", reason="x")
    charge = ledger_operation_post(actor=ACTOR, client=customer, operation="charge", amount="100.00", reason="y",
                                   vat_rate="exempt")
    bonus = ledger_operation_post(actor=ACTOR, client=customer, operation="bonus", amount="7.00", reason="z")
    done = ledger_transaction_reverse(actor=ACTOR, transaction_id=bonus.pk, reason="earlier")
    assert client_balance(customer) == Money("400.00", "RUB")
    reply = accountant.post(BASE, {"action": "reverse_selected",
                                   "_selected_action": [pay.pk, charge.pk, bonus.pk, done.pk]}, follow=True)
    assert reply.status_code == 200
    assert sorted(messages_of(reply)) == sorted([
        f"Transaction {bonus.pk} has already been reversed.",
        "A reversal cannot be reversed; post the operation again instead."])
    reversed_ids = set(JournalTransaction.objects.filter(operation="reversal").values_list("reverses_id", flat=True))
    assert reversed_ids == {pay.pk, charge.pk, bonus.pk}
    assert JournalTransaction.objects.filter(operation="reversal").count() == 3
    assert client_balance(customer) == Money("0.00", "RUB")
    reasons = set(JournalTransaction.objects.filter(reverses__in=[pay, charge]).values_list("reason", flat=True))
    assert reasons == {"Reversed from the admin"}


# -- statement -----------------------------------------------------------------------------------------


def statement_rows(response: Any) -> list[list[str]]:
    body = response.content.decode().split("<tbody>")[1].split("</tbody>")[0]
    return [[html.unescape(re.sub(r"<[^>]+>", "", td)).strip() for td in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
            for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)]


def test_the_statement_of_a_period(customer: Client, clock: FixedClock) -> None:
    reader = http_as(Role.READ_ONLY)
    clock.set(dt.datetime(2026, 10, 20, 9, tzinfo=dt.UTC))
    ledger_operation_post(actor=ACTOR, client=customer, operation="payment", amount="1000.00", reason="Октябрь")
    clock.set(dt.datetime(2026, 11, 10, 9, tzinfo=dt.UTC))
    charge = ledger_operation_post(actor=ACTOR, client=customer, operation="charge", amount="300.00",
                                   reason="Ноябрь", vat_rate="exempt")
    clock.set(dt.datetime(2026, 11, 25, 9, tzinfo=dt.UTC))
    bonus = ledger_operation_post(actor=ACTOR, client=customer, operation="bonus", amount="50.00", reason="Бонус")
    url = f"{BASE}statement/{customer.pk}/"
    page = reader.get(url, {"date_from": "2026-11-01", "date_to": "2026-11-30"})
    assert page.status_code == 200 and "Statement of ООО «Ромашка»" in text(page)
    rows = statement_rows(page)
    # amounts as the English page writes them; a zero credit or debit is left blank
    assert rows[0] == ["Opening balance", "RUB\u00a01,000.00"]
    assert [r[1:] for r in rows[1:-1]] == [
        [str(charge.pk), "Charge", "Ноябрь", "", "RUB\u00a0300.00", "RUB\u00a0700.00"],
        [str(bonus.pk), "Bonus", "Бонус", "RUB\u00a050.00", "", "RUB\u00a0750.00"]]
    assert rows[-1] == ["Closing balance", "RUB\u00a050.00", "RUB\u00a0300.00", "RUB\u00a0750.00"]
    # no dates (or bad ones): this month up to today
    default = statement_rows(reader.get(url, {"date_from": "bad"}))
    assert default[0] == ["Opening balance", "RUB\u00a01,000.00"] and len(default) == 4
    assert statement_rows(reader.get(url, {"date_from": "2026-10-01", "date_to": "2026-10-31"}))[-1] == [
        "Closing balance", "RUB\u00a01,000.00", "RUB\u00a00.00", "RUB\u00a01,000.00"]
    assert reader.get(f"{BASE}statement/999999/").status_code == 404
