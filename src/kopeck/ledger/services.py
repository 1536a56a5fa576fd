"""The only writers of the ledger: post an operation on a client's account, reverse a transaction.

Each write is one database transaction that locks the client's account row first (``SELECT … FOR
UPDATE``), so concurrent writers on one client queue up while writers on different clients run in
parallel. Balances are never stored: they are sums of postings, hence exact under concurrency.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import transaction

from kopeck.audit.services import audit_record
from kopeck.clients.models import Client
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, NotFound, ValidationFailed
from kopeck.core.ledger import (
    AccountRole,
    Entry,
    LedgerError,
    Leg,
    Operation,
    operation_entry,
    reversal_legs,
)
from kopeck.core.money import Currency, Money, MoneyError
from kopeck.core.vat import VatRate
from kopeck.ledger.amounts import from_minor, to_minor
from kopeck.ledger.models import Account, JournalTransaction, Posting

SYSTEM_ROLES = [r for r in AccountRole if r != AccountRole.CLIENT]


def system_account_code(role: AccountRole, currency: str) -> str:
    return f"{role}:{currency}"


def _client_account_locked(client: Client, currency: str) -> Account:
    account = Account.objects.select_for_update().filter(
        role=AccountRole.CLIENT, client=client, currency=currency).first()
    if account is None:
        account, _created = Account.objects.get_or_create(
            role=AccountRole.CLIENT, client=client, currency=currency,
            defaults={"code": f"client:{client.pk}:{currency}"},
        )
        account = Account.objects.select_for_update().get(pk=account.pk)
    return account


def _system_accounts(roles: set[AccountRole], currency: str) -> dict[AccountRole, Account]:
    codes = {system_account_code(r, currency): r for r in roles}
    found = {codes[a.code]: a for a in Account.objects.filter(code__in=codes)}
    for code, role in codes.items():
        if role not in found:
            found[role], _created = Account.objects.get_or_create(
                code=code, defaults={"role": role, "currency": currency})
    return found


def _write(
    *, client: Client, currency: str, legs: Sequence[Leg], operation: Operation, amount: Money,
    vat_rate: str, vat: Money | None, reason: str, source_ref: str, actor: Actor,
    explanation: Mapping[str, object], reverses: JournalTransaction | None = None,
) -> JournalTransaction:
    client_account = _client_account_locked(client, currency)
    system = _system_accounts({leg.role for leg in legs if leg.role != AccountRole.CLIENT}, currency)
    now = clock.now()
    txn = JournalTransaction.objects.create(
        operation=operation, client=client, currency=currency, amount_minor=to_minor(amount),
        vat_rate=vat_rate, vat_minor=to_minor(vat) if vat is not None else 0, reason=reason,
        source_ref=source_ref, recorded_at=now, actor_kind=str(actor.kind), actor_id=actor.id,
        actor_label=actor.label, reverses=reverses, explanation=dict(explanation),
    )
    Posting.objects.bulk_create([
        Posting(transaction=txn, account=client_account if leg.role == AccountRole.CLIENT else system[leg.role],
                amount_minor=to_minor(leg.amount), currency=currency, recorded_at=now)
        for leg in legs
    ])
    audit_record(actor=actor, action=f"ledger.{operation}", object_type="transaction", object_id=txn.pk,
                 after={"client": client.pk, "operation": str(operation), "amount": amount.to_str(),
                        "currency": currency, "reason": reason, "source_ref": source_ref,
                        "reverses": reverses.pk if reverses else None})
    return txn


def ledger_operation_post(
    *, actor: Actor, client: Client, operation: str, amount: object, reason: str,
    currency: str | None = None, source_ref: str = "", vat_rate: str | None = None, via_gateway: bool = False,
) -> JournalTransaction:
    """Post a credit (payment, bonus, refund reversal, correction) or a debit (charge, one-off charge,
    correction, refund) of ``amount`` (positive, gross) on the client's account."""
    errors: dict[str, list[str]] = {}
    try:
        op = Operation(operation)
        if op == Operation.REVERSAL:
            raise ValueError
    except ValueError:
        op = None
        errors["operation"] = [f"Choose one of: {', '.join(o for o in Operation if o != Operation.REVERSAL)}."]
    currency_code = (currency or client.currency).upper()
    money: Money | None = None
    try:
        Currency.of(currency_code)
        if currency_code != client.currency:
            errors["currency"] = [f"The client's account is in {client.currency}."]
        money = Money(amount, currency_code)
        if not money.is_positive():
            errors["amount"] = ["The amount must be greater than zero."]
        elif not money.is_rounded():
            errors["amount"] = [f"{currency_code} allows {money.currency.minor_units} decimal places."]
        elif abs(money.amount) >= 10**15:
            errors["amount"] = ["The amount is too large."]
    except MoneyError as exc:
        errors.setdefault("currency" if "currency" in str(exc) else "amount", [str(exc)])
    if not str(reason or "").strip():
        errors["reason"] = ["A reason is required."]
    rate: VatRate | None = None
    if vat_rate not in (None, ""):
        try:
            rate = VatRate.parse(str(vat_rate))
        except ValueError as exc:
            errors["vat_rate"] = [str(exc)]
        if op is not None and op not in (Operation.CHARGE, Operation.ONE_OFF_CHARGE):
            errors["vat_rate"] = ["A VAT rate applies to charges only."]
    if via_gateway and op is not None and op != Operation.PAYMENT:
        errors["via_gateway"] = ["Only a payment can come through a gateway."]
    if errors:
        raise ValidationFailed("The operation is invalid.", errors=errors)
    assert op is not None and money is not None
    if op in (Operation.CHARGE, Operation.ONE_OFF_CHARGE) and rate is None:
        from kopeck.configuration.selectors import billing_settings

        rate = VatRate.parse(billing_settings().default_vat_rate)
    try:
        entry: Entry = operation_entry(op, money, vat_rate=rate, via_gateway=via_gateway)
    except (LedgerError, MoneyError) as exc:
        raise ValidationFailed.field("amount", str(exc)) from exc
    with transaction.atomic():
        return _write(
            client=client, currency=currency_code, legs=entry.legs, operation=op, amount=money,
            vat_rate=rate.value if rate else "", vat=entry.vat.vat if entry.vat else None,
            reason=reason.strip(), source_ref=source_ref.strip(), actor=actor,
            explanation=entry.explanation.as_dict(),
        )


def ledger_transaction_reverse(*, actor: Actor, transaction_id: int, reason: str) -> JournalTransaction:
    """Post the exact opposite of a transaction. A transaction is reversed at most once, and a
    reversal is not itself reversed (post the operation again instead)."""
    if not str(reason or "").strip():
        raise ValidationFailed.field("reason", "A reason is required.")
    original = JournalTransaction.objects.filter(pk=transaction_id).select_related("client").first()
    if original is None:
        raise NotFound(f"Transaction {transaction_id} does not exist.")
    if original.operation == Operation.REVERSAL:
        raise Conflict("A reversal cannot be reversed; post the operation again instead.")
    if original.client is None:
        raise Conflict("Only client-account transactions can be reversed here.")
    with transaction.atomic():
        _client_account_locked(original.client, original.currency)
        if JournalTransaction.objects.filter(reverses=original).exists():
            raise Conflict(f"Transaction {original.pk} has already been reversed.")
        postings = list(original.postings.select_related("account"))
        legs = reversal_legs([Leg(AccountRole(p.account.role), from_minor(p.amount_minor, p.currency))
                              for p in postings])
        amount = from_minor(original.amount_minor, original.currency)
        return _write(
            client=original.client, currency=original.currency, legs=legs, operation=Operation.REVERSAL,
            amount=amount, vat_rate=original.vat_rate, vat=from_minor(original.vat_minor, original.currency),
            reason=reason.strip(), source_ref=f"reversal of #{original.pk}", actor=actor,
            explanation={"ru": f"Сторно операции #{original.pk}: {amount.to_str()} {original.currency}",
                         "en": f"Reversal of transaction #{original.pk}: {amount.to_str()} {original.currency}",
                         "formula": "postings = -(original postings)"},
            reverses=original,
        )
