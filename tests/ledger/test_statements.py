"""``client_statement``: the opening balance, the lines of the period only, in the order they were
recorded (not the order they were written), and the statement's own fields; read in a fixed number of
queries whatever its length."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.core.clock import FixedClock
from kopeck.core.money import Money
from kopeck.ledger.selectors import client_statement
from kopeck.ledger.services import ledger_operation_post
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
NOV, DEC = dt.date(2026, 11, 1), dt.date(2026, 12, 1)


def rub(x: str) -> Money:
    return Money(x, "RUB")


def at(clock: FixedClock, day: int, month: int = 11, hour: int = 9) -> None:
    clock.set(dt.datetime(2026, month, day, hour, 0, tzinfo=dt.UTC))


def post(client: Client, operation: str, amount: str, reason: str) -> None:
    ledger_operation_post(actor=ACTOR, client=client, operation=operation, amount=amount, reason=reason,
                          vat_rate="exempt" if "charge" in operation else None)


def test_a_first_statement_opens_at_zero_and_stops_at_its_last_day(clock: FixedClock) -> None:
    client = ClientFactory()
    at(clock, 5)
    post(client, "payment", "100.00", "November")
    at(clock, 2, month=12)
    post(client, "charge", "40.00", "December")  # after the period: not in November's statement
    st = client_statement(client, date_from=NOV, date_to=dt.date(2026, 11, 30))
    assert (st.client, st.currency, st.date_from, st.date_to) == (client, "RUB", NOV, dt.date(2026, 11, 30))
    assert st.opening == rub("0")
    assert [(ln.transaction.reason, ln.credit, ln.debit, ln.balance) for ln in st.lines] == [
        ("November", rub("100.00"), rub("0"), rub("100.00"))]
    assert (st.total_credit, st.total_debit, st.closing) == (rub("100.00"), rub("0"), rub("100.00"))


def test_lines_follow_the_time_recorded(clock: FixedClock) -> None:
    """A transaction written later may be recorded earlier (the clock of the writer): the statement
    runs its balance in the time order, and transactions of the same time in the order written."""
    client = ClientFactory()
    at(clock, 20)
    post(client, "charge", "30.00", "written first, recorded 20th")
    at(clock, 10)
    post(client, "payment", "100.00", "written second, recorded 10th")
    post(client, "charge", "70.00", "written third, recorded 10th")
    post(client, "bonus", "5.00", "written fourth, recorded 10th")
    st = client_statement(client, date_from=NOV, date_to=dt.date(2026, 11, 30))
    assert [(ln.transaction.reason, ln.balance) for ln in st.lines] == [
        ("written second, recorded 10th", rub("100.00")),
        ("written third, recorded 10th", rub("30.00")),
        ("written fourth, recorded 10th", rub("35.00")),
        ("written first, recorded 20th", rub("5.00")),
    ]
    assert (st.opening, st.total_credit, st.total_debit, st.closing) == (
        rub("0"), rub("105.00"), rub("100.00"), rub("5.00"))


@pytest.mark.parametrize("lines", [2, 6])
def test_a_statement_is_read_in_the_same_number_of_queries_whatever_its_length(
        clock: FixedClock, lines: int) -> None:
    client = ClientFactory()
    at(clock, 10)
    for n in range(lines):
        post(client, "payment", "1.00", f"p{n}")
    with CaptureQueriesContext(connection) as queries:
        st = client_statement(client, date_from=NOV, date_to=DEC)
        reasons = [ln.transaction.reason for ln in st.lines]
    assert reasons == [f"p{n}" for n in range(lines)]
    # the provider's time zone, the opening balance, the lines with their transactions
    assert len(queries.captured_queries) == 3
