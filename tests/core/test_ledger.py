from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kopeck.core.ledger import (
    AccountRole,
    LedgerError,
    Leg,
    Operation,
    check_balanced,
    client_balance,
    operation_entry,
    reversal_legs,
)
from kopeck.core.money import Money
from kopeck.core.vat import VatRate


def rub(x: str) -> Money:
    return Money(x, "RUB")


def test_payment_credits_the_client_from_cash() -> None:
    entry = operation_entry(Operation.PAYMENT, rub("100.00"))
    assert entry.legs == (Leg(AccountRole.CASH, rub("100.00")), Leg(AccountRole.CLIENT, rub("-100.00")))


def test_gateway_payment_uses_the_clearing_account() -> None:
    entry = operation_entry(Operation.PAYMENT, rub("5.00"), via_gateway=True)
    assert entry.legs[0].role == AccountRole.GATEWAY_CLEARING


def test_charge_splits_revenue_and_vat() -> None:
    # 1220.00 with VAT 22% included: revenue 1000.00, VAT 220.00
    entry = operation_entry(Operation.CHARGE, rub("1220.00"), vat_rate=VatRate.VAT_22)
    assert entry.legs == (
        Leg(AccountRole.CLIENT, rub("1220.00")),
        Leg(AccountRole.REVENUE, rub("-1000.00")),
        Leg(AccountRole.VAT_PAYABLE, rub("-220.00")),
    )
    assert "22/122" in entry.explanation.en


def test_exempt_charge_has_no_vat_leg() -> None:
    entry = operation_entry(Operation.ONE_OFF_CHARGE, rub("50.00"), vat_rate=VatRate.EXEMPT)
    assert [leg.role for leg in entry.legs] == [AccountRole.CLIENT, AccountRole.REVENUE]


@pytest.mark.parametrize(("operation", "counter"), [
    (Operation.BONUS, AccountRole.BONUS), (Operation.REFUND_REVERSAL, AccountRole.CASH),
    (Operation.CORRECTION_CREDIT, AccountRole.CORRECTIONS)])
def test_other_credits(operation: Operation, counter: AccountRole) -> None:
    assert operation_entry(operation, rub("1.00")).legs == (Leg(counter, rub("1.00")),
                                                           Leg(AccountRole.CLIENT, rub("-1.00")))


@pytest.mark.parametrize(("operation", "counter"), [
    (Operation.REFUND, AccountRole.CASH), (Operation.CORRECTION_DEBIT, AccountRole.CORRECTIONS)])
def test_other_debits(operation: Operation, counter: AccountRole) -> None:
    assert operation_entry(operation, rub("1.00")).legs == (Leg(AccountRole.CLIENT, rub("1.00")),
                                                           Leg(counter, rub("-1.00")))


def test_refusals() -> None:
    with pytest.raises(LedgerError):
        operation_entry(Operation.PAYMENT, rub("0"))
    with pytest.raises(LedgerError):
        operation_entry(Operation.PAYMENT, rub("-1"))
    with pytest.raises(ValueError, match="decimals"):
        operation_entry(Operation.PAYMENT, rub("1.001"))
    with pytest.raises(LedgerError):
        operation_entry(Operation.PAYMENT, rub("1"), vat_rate=VatRate.VAT_22)
    with pytest.raises(LedgerError):
        operation_entry(Operation.REVERSAL, rub("1"))
    with pytest.raises(LedgerError, match="sum to zero"):
        check_balanced([Leg(AccountRole.CASH, rub("1")), Leg(AccountRole.CLIENT, rub("-2"))])
    with pytest.raises(LedgerError, match="two postings"):
        check_balanced([Leg(AccountRole.CASH, rub("0"))])


operations = st.sampled_from([o for o in Operation if o != Operation.REVERSAL])
amounts = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("99999999"), places=2)
rates = st.sampled_from(list(VatRate))


@given(st.lists(st.tuples(operations, amounts, rates), min_size=1, max_size=30))
def test_every_entry_balances_and_reversals_restore_the_balance(ops: list[tuple[Operation, Decimal, VatRate]]) -> None:
    client_legs: list[Money] = []
    for operation, amount, rate in ops:
        entry = operation_entry(operation, rub(str(amount)),
                                vat_rate=rate if operation in (Operation.CHARGE, Operation.ONE_OFF_CHARGE) else None)
        check_balanced(entry.legs)
        client_legs += [leg.amount for leg in entry.legs if leg.role == AccountRole.CLIENT]
    before = client_balance(client_legs, "RUB")
    last = operation_entry(ops[-1][0], rub(str(ops[-1][1])),
                           vat_rate=ops[-1][2] if ops[-1][0] in (Operation.CHARGE, Operation.ONE_OFF_CHARGE) else None)
    undo = reversal_legs(last.legs)
    after = client_balance(
        client_legs + [leg.amount for leg in undo if leg.role == AccountRole.CLIENT], "RUB")
    moved = client_balance([leg.amount for leg in last.legs if leg.role == AccountRole.CLIENT], "RUB")
    assert after == before - moved


def test_the_client_balance_is_the_opposite_of_its_legs() -> None:
    # a payment of 100 (credit, −100) and a charge of 30 (debit, +30): 70 prepaid
    assert client_balance([rub("-100.00"), rub("30.00")], "RUB") == rub("70.00")
    assert client_balance([rub("12.50")], "RUB") == rub("-12.50")  # owes
    assert client_balance([], "USD") == Money("0", "USD")


def test_the_refusals_say_exactly_why() -> None:
    def message(call: Callable[[], object]) -> str:
        with pytest.raises(LedgerError) as info:
            call()
        return str(info.value)

    assert message(lambda: operation_entry(Operation.REVERSAL, rub("1"))) == (
        "a reversal is made from the original transaction (reversal_entry)")
    assert message(lambda: operation_entry(Operation.PAYMENT, rub("0"))) == "amount must be positive"
    assert message(lambda: operation_entry(Operation.REFUND, rub("1"), vat_rate=VatRate.VAT_22)) == (
        "a VAT rate applies to charges only, not to refund")
    assert message(lambda: check_balanced([Leg(AccountRole.CASH, rub("0"))])) == (
        "a transaction needs at least two postings")
    assert message(lambda: check_balanced([Leg(AccountRole.CASH, rub("1.005")), Leg(AccountRole.CLIENT, rub("-1.005"))])
                   ) == "cash: 1.005 is not in whole minor units"
    assert message(lambda: check_balanced([
        Leg(AccountRole.CASH, rub("1")), Leg(AccountRole.CLIENT, rub("-2")),
        Leg(AccountRole.CASH, Money("3", "USD")), Leg(AccountRole.CLIENT, Money("-2.50", "USD"))])) == (
        "postings do not sum to zero: -1.00 RUB, 0.50 USD")


def test_legs_balance_in_each_currency_apart() -> None:
    check_balanced([Leg(AccountRole.CASH, rub("1")), Leg(AccountRole.CLIENT, rub("-1")),
                    Leg(AccountRole.CASH, Money("2", "USD")), Leg(AccountRole.CLIENT, Money("-2", "USD"))])
    with pytest.raises(LedgerError, match=r"^postings do not sum to zero: 1.00 RUB, -1.00 USD$"):
        check_balanced([Leg(AccountRole.CASH, rub("1")), Leg(AccountRole.CLIENT, Money("-1", "USD"))])


@pytest.mark.parametrize(("operation", "rate", "vat", "ru", "en", "formula"), [
    (Operation.PAYMENT, None, None, "Оплата: зачислено 122.00 RUB", "Payment: credited 122.00 RUB", ""),
    (Operation.CHARGE, VatRate.VAT_22, "22.00",
     "Списание за услуги: списано 122.00 RUB; НДС 22% в том числе: 122.00 × 22/122 = 22.00; без НДС 100.00",
     "Charge: debited 122.00 RUB; VAT 22% included: 122.00 × 22/122 = 22.00; net 100.00",
     "vat = round(122.00 × 22 / 122) = 22.00"),
    (Operation.REFUND, None, None, "Возврат средств: списано 122.00 RUB", "Refund: debited 122.00 RUB", ""),
    (Operation.SUSPENSE_RECEIPT, None, None, "Невыясненный платёж: 122.00 RUB", "Unidentified payment: 122.00 RUB", ""),
    (Operation.SUSPENSE_RETURN, None, None, "Возврат невыясненного платежа: 122.00 RUB",
     "Unidentified payment returned: 122.00 RUB", ""),
])
def test_each_entry_explains_itself(operation: Operation, rate: VatRate | None, vat: str | None, ru: str, en: str,
                                    formula: str) -> None:
    entry = operation_entry(operation, rub("122.00"), vat_rate=rate)
    assert entry.operation == operation
    assert (entry.vat.vat if entry.vat is not None else None) == (rub(vat) if vat else None)
    assert entry.explanation.as_dict() == {"ru": ru, "en": en, "formula": formula}


@pytest.mark.parametrize(("operation", "via_gateway", "legs"), [
    (Operation.SUSPENSE_RECEIPT, False, ((AccountRole.CASH, "5.00"), (AccountRole.SUSPENSE, "-5.00"))),
    (Operation.SUSPENSE_RETURN, False, ((AccountRole.SUSPENSE, "5.00"), (AccountRole.CASH, "-5.00"))),
    (Operation.SUSPENSE_RECEIPT, True, ((AccountRole.GATEWAY_CLEARING, "5.00"), (AccountRole.SUSPENSE, "-5.00"))),
    (Operation.SUSPENSE_ASSIGN, False, ((AccountRole.SUSPENSE, "5.00"), (AccountRole.CLIENT, "-5.00"))),
])
def test_unidentified_payments_move_through_the_suspense_account(
        operation: Operation, via_gateway: bool, legs: tuple[tuple[AccountRole, str], ...]) -> None:
    entry = operation_entry(operation, rub("5.00"), via_gateway=via_gateway)
    assert entry.legs == tuple(Leg(role, rub(amount)) for role, amount in legs)
