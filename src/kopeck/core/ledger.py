"""Ledger rules: which accounts an operation on a client's account moves, and by how much.

Double entry with signed amounts: a positive leg is a debit, a negative leg a credit; the legs of a
transaction sum to zero in each currency. The client's account is credit-normal (it holds the
client's money), so the balance shown to people is ``-(sum of its legs)``: positive means prepaid,
negative means the client owes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from kopeck.core.explain import Explanation
from kopeck.core.money import Money, MoneyError
from kopeck.core.vat import VatLine, VatRate, vat_inclusive


class LedgerError(ValueError):
    pass


class AccountRole(StrEnum):
    CLIENT = "client"
    REVENUE = "revenue"
    VAT_PAYABLE = "vat_payable"
    CASH = "cash"
    GATEWAY_CLEARING = "gateway_clearing"
    BONUS = "bonus"
    CORRECTIONS = "corrections"
    SUSPENSE = "suspense"  # money received from an unknown payer, waiting to be assigned to a client


class Operation(StrEnum):
    # credits (зачисления)
    PAYMENT = "payment"
    BONUS = "bonus"
    REFUND_REVERSAL = "refund_reversal"
    CORRECTION_CREDIT = "correction_credit"
    # debits (списания)
    CHARGE = "charge"
    ONE_OFF_CHARGE = "one_off_charge"
    CORRECTION_DEBIT = "correction_debit"
    REFUND = "refund"
    # a reversal of an earlier transaction
    REVERSAL = "reversal"
    # unidentified payments (the payments app): received onto the suspense account with no client,
    # assigned to a client later, or returned to the payer
    SUSPENSE_RECEIPT = "suspense_receipt"
    SUSPENSE_ASSIGN = "suspense_assign"
    SUSPENSE_RETURN = "suspense_return"


CREDIT_OPERATIONS = frozenset({Operation.PAYMENT, Operation.BONUS, Operation.REFUND_REVERSAL,
                               Operation.CORRECTION_CREDIT, Operation.SUSPENSE_ASSIGN})
DEBIT_OPERATIONS = frozenset({Operation.CHARGE, Operation.ONE_OFF_CHARGE, Operation.CORRECTION_DEBIT,
                              Operation.REFUND})
VAT_OPERATIONS = frozenset({Operation.CHARGE, Operation.ONE_OFF_CHARGE})
# Operations on the suspense account alone, with no client (the payments app's unidentified payments).
SUSPENSE_OPERATIONS = frozenset({Operation.SUSPENSE_RECEIPT, Operation.SUSPENSE_RETURN})
# Operations that only the payments app posts (not offered to people posting by hand).
INTERNAL_OPERATIONS = frozenset({Operation.REVERSAL, Operation.SUSPENSE_RECEIPT, Operation.SUSPENSE_ASSIGN,
                                 Operation.SUSPENSE_RETURN})

LABELS: dict[Operation, tuple[str, str]] = {
    Operation.PAYMENT: ("Оплата", "Payment"),
    Operation.BONUS: ("Бонус", "Bonus"),
    Operation.REFUND_REVERSAL: ("Отмена возврата", "Refund reversal"),
    Operation.CORRECTION_CREDIT: ("Корректировка (зачисление)", "Correction (credit)"),
    Operation.CHARGE: ("Списание за услуги", "Charge"),
    Operation.ONE_OFF_CHARGE: ("Разовое списание", "One-off charge"),
    Operation.CORRECTION_DEBIT: ("Корректировка (списание)", "Correction (debit)"),
    Operation.REFUND: ("Возврат средств", "Refund"),
    Operation.REVERSAL: ("Сторно", "Reversal"),
    Operation.SUSPENSE_RECEIPT: ("Невыясненный платёж", "Unidentified payment"),
    Operation.SUSPENSE_ASSIGN: ("Зачисление невыясненного платежа", "Unidentified payment assigned"),
    Operation.SUSPENSE_RETURN: ("Возврат невыясненного платежа", "Unidentified payment returned"),
}


@dataclass(frozen=True, slots=True)
class Leg:
    role: AccountRole
    amount: Money  # debit positive, credit negative


@dataclass(frozen=True, slots=True)
class Entry:
    operation: Operation
    legs: tuple[Leg, ...]
    vat: VatLine | None
    explanation: Explanation


def check_balanced(legs: Iterable[Leg]) -> None:
    """Every currency's legs must sum to exactly zero, and every amount must be in minor units."""
    totals: dict[str, Money] = {}
    count = 0
    for leg in legs:
        count += 1
        if not leg.amount.is_rounded():
            raise LedgerError(f"{leg.role}: {leg.amount.amount} is not in whole minor units")
        code = leg.amount.currency.code
        totals[code] = totals[code] + leg.amount if code in totals else leg.amount
    if count < 2:
        raise LedgerError("a transaction needs at least two postings")
    unbalanced = {c: t for c, t in totals.items() if not t.is_zero()}
    if unbalanced:
        raise LedgerError(f"postings do not sum to zero: {', '.join(str(t) for t in unbalanced.values())}")


def operation_entry(
    operation: Operation, amount: Money, *, vat_rate: VatRate | None = None, via_gateway: bool = False
) -> Entry:
    """The legs of an operation of ``amount`` (positive, gross) on a client's account.

    * payment: Dr cash (or gateway clearing) / Cr client
    * suspense receipt (no client): Dr cash / Cr suspense; suspense return: the opposite
    * suspense assign: Dr suspense / Cr client (an unidentified payment assigned to its client)
    * bonus: Dr bonus expense / Cr client
    * refund reversal: Dr cash / Cr client
    * correction credit: Dr corrections / Cr client; correction debit: the opposite
    * refund: Dr client / Cr cash (or gateway clearing)
    * charge, one-off charge: Dr client (gross) / Cr revenue (net) / Cr VAT payable (VAT, inclusive)
    """
    if operation == Operation.REVERSAL:
        raise LedgerError("a reversal is made from the original transaction (reversal_entry)")
    if not amount.is_positive():
        raise LedgerError("amount must be positive")
    if not amount.is_rounded():
        raise MoneyError(f"amount {amount.amount} has more decimals than {amount.currency} allows")
    if vat_rate is not None and operation not in VAT_OPERATIONS:
        raise LedgerError(f"a VAT rate applies to charges only, not to {operation}")
    ru, en = LABELS[operation]
    vat: VatLine | None = None
    cash = AccountRole.GATEWAY_CLEARING if via_gateway else AccountRole.CASH
    if operation in SUSPENSE_OPERATIONS:
        # no client: money in onto the suspense account, or back out of it to the payer
        legs: tuple[Leg, ...] = ((Leg(cash, amount), Leg(AccountRole.SUSPENSE, -amount))
                                 if operation == Operation.SUSPENSE_RECEIPT
                                 else (Leg(AccountRole.SUSPENSE, amount), Leg(cash, -amount)))
        text = Explanation(ru=f"{ru}: {amount.to_str()} {amount.currency}",
                           en=f"{en}: {amount.to_str()} {amount.currency}")
        check_balanced(legs)
        return Entry(operation, legs, None, text)
    if operation in CREDIT_OPERATIONS:
        counter = {
            Operation.PAYMENT: cash,
            Operation.BONUS: AccountRole.BONUS,
            Operation.REFUND_REVERSAL: AccountRole.CASH,
            Operation.CORRECTION_CREDIT: AccountRole.CORRECTIONS,
            Operation.SUSPENSE_ASSIGN: AccountRole.SUSPENSE,
        }[operation]
        legs = (Leg(counter, amount), Leg(AccountRole.CLIENT, -amount))
        text = Explanation(ru=f"{ru}: зачислено {amount.to_str()} {amount.currency}",
                           en=f"{en}: credited {amount.to_str()} {amount.currency}")
    elif operation in VAT_OPERATIONS:
        vat = vat_inclusive(amount, vat_rate or VatRate.EXEMPT)
        legs = (Leg(AccountRole.CLIENT, amount), Leg(AccountRole.REVENUE, -vat.net))
        if not vat.vat.is_zero():
            legs += (Leg(AccountRole.VAT_PAYABLE, -vat.vat),)
        text = Explanation(ru=f"{ru}: списано {amount.to_str()} {amount.currency}; {vat.explanation.ru}",
                           en=f"{en}: debited {amount.to_str()} {amount.currency}; {vat.explanation.en}",
                           formula=vat.explanation.formula)
    else:
        counter = cash if operation == Operation.REFUND else AccountRole.CORRECTIONS
        legs = (Leg(AccountRole.CLIENT, amount), Leg(counter, -amount))
        text = Explanation(ru=f"{ru}: списано {amount.to_str()} {amount.currency}",
                           en=f"{en}: debited {amount.to_str()} {amount.currency}")
    check_balanced(legs)
    return Entry(operation, legs, vat, text)


def reversal_legs(legs: Sequence[Leg]) -> tuple[Leg, ...]:
    """The legs that undo ``legs`` exactly."""
    reversed_legs = tuple(Leg(leg.role, -leg.amount) for leg in legs)
    check_balanced(reversed_legs)
    return reversed_legs


def client_balance(client_leg_amounts: Iterable[Money], currency: str) -> Money:
    """The client's balance (positive = prepaid) from the legs posted to its account."""
    total = Money.zero(currency)
    for amount in client_leg_amounts:
        total = total + amount
    return -total
