"""The exact refusals of ledger_operation_post and ledger_transaction_reverse (the admin's form and the
API show them by field), the limit just below "too large", a gateway payment and a reversal's record."""

from __future__ import annotations

from typing import Any

import pytest

from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, NotFound, ValidationFailed
from kopeck.core.clock import FixedClock
from kopeck.ledger.models import JournalTransaction, Posting
from kopeck.ledger.selectors import client_balance
from kopeck.ledger.services import ledger_operation_post, ledger_transaction_reverse
from tests.factories import ClientFactory

pytestmark = pytest.mark.django_db
ACTOR = Actor.system("tests")
OPERATIONS = "payment, bonus, refund_reversal, correction_credit, charge, one_off_charge, correction_debit, refund"


@pytest.mark.parametrize(("kwargs", "errors"), [
    ({"operation": "gift"}, {"operation": [f"Choose one of: {OPERATIONS}."]}),
    ({"operation": "reversal"}, {"operation": [f"Choose one of: {OPERATIONS}."]}),
    ({"amount": "0"}, {"amount": ["The amount must be greater than zero."]}),
    ({"amount": "1.005"}, {"amount": ["RUB allows 2 decimal places."]}),
    ({"amount": "1000000000000000"}, {"amount": ["The amount is too large."]}),
    ({"amount": "abc"}, {"amount": ["Give the amount as a decimal number."]}),
    ({"currency": "USD"}, {"currency": ["The client's account is in RUB."]}),
    ({"currency": "XYZ"}, {"currency": ["unknown currency 'XYZ'"]}),
    ({"reason": " "}, {"reason": ["A reason is required."]}),
    ({"vat_rate": "22"}, {"vat_rate": ["A VAT rate applies to charges only."]}),
    ({"operation": "charge", "vat_rate": "18"}, {"vat_rate": ["unknown VAT rate '18'; use one of 22, 10, 0, 5, 7, exempt"]}),
    ({"operation": "charge", "via_gateway": True}, {"via_gateway": ["Only a payment or a refund can go through a gateway."]}),
    ({"operation": "gift", "amount": "-1", "reason": ""}, {
        "operation": [f"Choose one of: {OPERATIONS}."], "amount": ["The amount must be greater than zero."],
        "reason": ["A reason is required."]}),
])
def test_each_refusal_says_why_and_writes_nothing(clock: FixedClock, kwargs: dict[str, Any],
                                                  errors: dict[str, list[str]]) -> None:
    client = ClientFactory()
    call: dict[str, Any] = {"operation": "payment", "amount": "1.00", "reason": "r", **kwargs}
    with pytest.raises(ValidationFailed) as info:
        ledger_operation_post(actor=ACTOR, client=client, **call)
    assert (str(info.value), info.value.errors) == ("The operation is invalid.", errors)
    assert (JournalTransaction.objects.count(), Posting.objects.count()) == (0, 0)


def test_the_largest_amount_and_a_gateway_payment(clock: FixedClock) -> None:
    client = ClientFactory()
    txn = ledger_operation_post(actor=ACTOR, client=client, operation="payment", amount="999999999999999.99",
                                reason=" Оплата ", source_ref=" п/п 7 ", via_gateway=True, currency="rub")
    assert (txn.amount_minor, txn.currency, txn.reason, txn.source_ref) == (99999999999999999, "RUB", "Оплата",
                                                                           "п/п 7")
    assert {p.account.code for p in txn.postings.select_related("account")} == {f"client:{client.pk}:RUB",
                                                                                "gateway_clearing:RUB"}
    assert client_balance(client).to_str() == "999999999999999.99"


def test_reversal_refusals_and_record(clock: FixedClock) -> None:
    client = ClientFactory()
    charge = ledger_operation_post(actor=ACTOR, client=client, operation="charge", amount="122.00", reason="r",
                                   vat_rate="22")
    with pytest.raises(ValidationFailed) as refused:
        ledger_transaction_reverse(actor=ACTOR, transaction_id=charge.pk, reason=" ")
    assert refused.value.errors == {"reason": ["A reason is required."]}
    with pytest.raises(NotFound) as missing:
        ledger_transaction_reverse(actor=ACTOR, transaction_id=charge.pk + 1000, reason="x")
    assert str(missing.value) == f"Transaction {charge.pk + 1000} does not exist."
    rev = ledger_transaction_reverse(actor=ACTOR, transaction_id=charge.pk, reason=" ошибка ")
    assert (rev.operation, rev.amount_minor, rev.vat_rate, rev.vat_minor, rev.reason, rev.source_ref) == (
        "reversal", 12200, "22", 2200, "ошибка", f"reversal of #{charge.pk}")
    assert rev.explanation == {"ru": f"Сторно операции #{charge.pk}: 122.00 RUB",
                               "en": f"Reversal of transaction #{charge.pk}: 122.00 RUB",
                               "formula": "postings = -(original postings)"}
    with pytest.raises(Conflict) as twice:
        ledger_transaction_reverse(actor=ACTOR, transaction_id=charge.pk, reason="x")
    assert str(twice.value) == f"Transaction {charge.pk} has already been reversed."
    with pytest.raises(Conflict) as of_reversal:
        ledger_transaction_reverse(actor=ACTOR, transaction_id=rev.pk, reason="x")
    assert str(of_reversal.value) == "A reversal cannot be reversed; post the operation again instead."
    assert client_balance(client).to_str() == "0.00"
