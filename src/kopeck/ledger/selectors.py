"""Readers of the ledger: balances (now and as of a date) and statements for a period."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import QuerySet, Sum

from kopeck.clients.models import Client
from kopeck.configuration.selectors import provider_zone
from kopeck.core.calendar import end_of_local_day, start_of_local_day
from kopeck.core.ledger import AccountRole
from kopeck.core.money import Money
from kopeck.ledger.amounts import from_minor
from kopeck.ledger.models import JournalTransaction, Posting


def _client_postings(client: Client, currency: str) -> QuerySet[Posting]:
    return Posting.objects.filter(account__role=AccountRole.CLIENT, account__client=client, currency=currency)


def client_balance(client: Client, *, currency: str | None = None, as_of: dt.date | None = None) -> Money:
    """The client's balance (positive = prepaid, negative = owes), at the end of the provider-local
    day ``as_of`` or now."""
    cur = (currency or client.currency).upper()
    qs = _client_postings(client, cur)
    if as_of is not None:
        qs = qs.filter(recorded_at__lt=end_of_local_day(as_of, provider_zone()))
    total = qs.aggregate(total=Sum("amount_minor"))["total"] or 0
    return -from_minor(total, cur)


@dataclass(frozen=True)
class StatementLine:
    transaction: JournalTransaction
    credit: Money  # money added to the client's account
    debit: Money  # money taken from it
    balance: Money  # running balance after this line


@dataclass(frozen=True)
class Statement:
    client: Client
    currency: str
    date_from: dt.date
    date_to: dt.date
    opening: Money
    lines: list[StatementLine]
    total_credit: Money
    total_debit: Money
    closing: Money


def client_statement(client: Client, *, date_from: dt.date, date_to: dt.date, currency: str | None = None) -> Statement:
    """Opening balance at the start of ``date_from``, every operation up to the end of ``date_to``
    (provider-local dates) with a running balance, and the closing balance."""
    cur = (currency or client.currency).upper()
    tz = provider_zone()
    start, end = start_of_local_day(date_from, tz), end_of_local_day(date_to, tz)
    opening = -from_minor(
        _client_postings(client, cur).filter(recorded_at__lt=start).aggregate(t=Sum("amount_minor"))["t"] or 0, cur
    )
    postings = (
        _client_postings(client, cur)
        .filter(recorded_at__gte=start, recorded_at__lt=end)
        .select_related("transaction")
        .order_by("recorded_at", "id")
    )
    zero = Money.zero(cur)
    balance, credit_total, debit_total = opening, zero, zero
    lines = []
    for p in postings:
        change = -from_minor(p.amount_minor, cur)
        balance = balance + change
        credit = change if change.is_positive() else zero
        debit = -change if change.is_negative() else zero
        credit_total, debit_total = credit_total + credit, debit_total + debit
        lines.append(StatementLine(p.transaction, credit, debit, balance))
    return Statement(client, cur, date_from, date_to, opening, lines, credit_total, debit_total, balance)


def client_transactions(client: Client) -> QuerySet[JournalTransaction]:
    return JournalTransaction.objects.filter(client=client).order_by("-recorded_at", "-id")


def transaction_get(transaction_id: int) -> JournalTransaction | None:
    return JournalTransaction.objects.filter(pk=transaction_id).select_related("client", "reverses").first()
