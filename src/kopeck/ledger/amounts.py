"""Conversion between Money and the integer minor units stored in the ledger."""

from __future__ import annotations

from decimal import Decimal

from kopeck.core.money import Currency, Money


def to_minor(money: Money) -> int:
    money.require_rounded()
    return int(money.amount.scaleb(money.currency.minor_units))


def from_minor(units: int, currency: str) -> Money:
    cur = Currency.of(currency)
    return Money(Decimal(units).scaleb(-cur.minor_units), cur)
