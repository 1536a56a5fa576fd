"""The only writers of the ledger: post an operation on a client's account, reverse a transaction.

Each write is one database transaction that locks the client's account row first (``SELECT … FOR
UPDATE``), so concurrent writers on one client queue up while writers on different clients run in
parallel. Balances are never stored: they are sums of postings, hence exact under concurrency.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kopeck.audit.services import audit_insert_sql, audit_record, audit_record_many
from kopeck.clients.models import Client
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.bulk import insert_rows
from kopeck.common.errors import Conflict, NotFound, ValidationFailed
from kopeck.core.ledger import (
    INTERNAL_OPERATIONS,
    SUSPENSE_OPERATIONS,
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


def _client_account_locked(client: Client, currency: str) -> int:
    """Lock the client's account row for this transaction (created on first use); its id."""
    ids = list(Account.objects.select_for_update().filter(
        role=AccountRole.CLIENT, client=client, currency=currency).values_list("id", flat=True))
    if ids:
        return ids[0]
    account, _created = Account.objects.get_or_create(
        role=AccountRole.CLIENT, client=client, currency=currency,
        defaults={"code": f"client:{client.pk}:{currency}"},
    )
    return Account.objects.select_for_update().values_list("id", flat=True).get(pk=account.pk)


# System accounts are created once and never deleted (PROTECT foreign keys, append-only postings), so
# each process remembers their ids.
_system_ids: dict[tuple[str, str], int] = {}


def _system_account_ids(roles: set[AccountRole], currency: str) -> dict[AccountRole, int]:
    alias = connection.alias
    missing = {system_account_code(r, currency): r for r in roles if (alias, system_account_code(r, currency))
               not in _system_ids}
    ids = {code: _system_ids[(alias, code)] for r in roles
           if (alias, code := system_account_code(r, currency)) in _system_ids}
    if missing:
        found = dict(Account.objects.filter(code__in=missing).values_list("code", "id"))
        for code, role in sorted(missing.items()):  # one order for every writer: no deadlock between two
            if code not in found:
                account, _created = Account.objects.get_or_create(
                    code=code, defaults={"role": role, "currency": currency})
                found[code] = account.pk
        ids.update(found)
        # Remember them only once they are committed: a rolled-back first use must not leave an id
        # behind that no row has.
        transaction.on_commit(lambda: _system_ids.update({(alias, c): i for c, i in found.items()}))
    return {r: ids[system_account_code(r, currency)] for r in roles}


def ledger_system_accounts_ensure(*, currencies: Iterable[str]) -> None:
    """Create the system accounts of ``currencies`` that do not exist yet, in a transaction of their
    own (when called outside one) — before work that runs in parallel (billing-run chunks), so that parallel transactions do
    not wait for each other to create them."""
    for currency in sorted(set(currencies)):
        with transaction.atomic():
            _system_account_ids(set(SYSTEM_ROLES), currency)


# The hot path on PostgreSQL: one statement locks the client's account row, inserts the transaction,
# its postings and its audit entry (whose SQL is the audit app's). A single statement is atomic on its
# own, so outside a caller's transaction it needs no BEGIN/COMMIT round trips. It inserts nothing when
# the client has no account in the currency yet; the ORM path then creates it.
_INSERT_PG = """
WITH a AS (
    SELECT id FROM ledger_account WHERE role = 'client' AND client_id = %s AND currency = %s FOR UPDATE
), t AS (
    INSERT INTO ledger_journaltransaction (operation, client_id, currency, amount_minor, vat_rate, vat_minor,
        reason, source_ref, recorded_at, actor_kind, actor_id, actor_label, reverses_id, explanation)
    SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb FROM a
    RETURNING id
), p AS (
    INSERT INTO ledger_posting (transaction_id, account_id, amount_minor, currency, recorded_at)
    SELECT t.id, COALESCE(x.account_id, a.id), x.amount_minor, %s, %s
    FROM t CROSS JOIN a CROSS JOIN unnest(%s::bigint[], %s::bigint[]) AS x(account_id, amount_minor)
)
"""


def _insert_pg(actor: Actor, txn: JournalTransaction, legs: Sequence[Leg], system: Mapping[AccountRole, int],
               amounts: list[int], after: Mapping[str, object]) -> int | None:
    account_ids = [None if leg.role == AccountRole.CLIENT else system[leg.role] for leg in legs]
    audit_sql, audit_params = audit_insert_sql(actor=actor, at=txn.recorded_at, action=f"ledger.{txn.operation}",
                                               object_type="transaction", object_id="t.id::text",
                                               after="%s::jsonb", rows="t")
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_PG + audit_sql + " RETURNING object_id", [
            txn.client_id, txn.currency,
            txn.operation, txn.client_id, txn.currency, txn.amount_minor, txn.vat_rate, txn.vat_minor, txn.reason,
            txn.source_ref, txn.recorded_at, txn.actor_kind, txn.actor_id, txn.actor_label, txn.reverses_id,
            json.dumps(txn.explanation, ensure_ascii=False),
            txn.currency, txn.recorded_at, account_ids, amounts,
            *audit_params, json.dumps(after, ensure_ascii=False),
        ])
        row = cursor.fetchone()
    return None if row is None else int(row[0])


def _remembered_system_ids(roles: set[AccountRole], currency: str) -> dict[AccountRole, int] | None:
    alias = connection.alias
    try:
        return {r: _system_ids[(alias, system_account_code(r, currency))] for r in roles}
    except KeyError:
        return None


def _write(
    *, client: Client | None, currency: str, legs: Sequence[Leg], operation: Operation, amount: Money,
    vat_rate: str, vat: Money | None, reason: str, source_ref: str, actor: Actor,
    explanation: Mapping[str, object], reverses: JournalTransaction | None = None,
) -> JournalTransaction:
    """Insert the transaction, its postings and its audit entry with the client's account locked:
    in one statement on PostgreSQL once the accounts exist, otherwise in a transaction via the ORM."""
    now = clock.now()
    txn = JournalTransaction(
        operation=operation, client=client, currency=currency, amount_minor=to_minor(amount),
        vat_rate=vat_rate, vat_minor=to_minor(vat) if vat is not None else 0, reason=reason,
        source_ref=source_ref, recorded_at=now, actor_kind=str(actor.kind), actor_id=actor.id,
        actor_label=actor.label, reverses=reverses, explanation=dict(explanation),
    )
    amounts = [to_minor(leg.amount) for leg in legs]
    after = {"client": client.pk if client else None, "operation": str(operation), "amount": amount.to_str(), "currency": currency,
             "reason": reason, "source_ref": source_ref, "reverses": reverses.pk if reverses else None}
    roles: set[AccountRole] = {leg.role for leg in legs if leg.role != AccountRole.CLIENT}
    if client is not None and connection.vendor == "postgresql" and (
            system := _remembered_system_ids(roles, currency)) is not None:
        pk = _insert_pg(actor, txn, legs, system, amounts, after)
        if pk is not None:
            txn.pk = pk
            txn._state.adding = False
            return txn
    with transaction.atomic():
        client_account = _client_account_locked(client, currency) if client is not None else 0
        system = _system_account_ids(roles, currency)
        txn.save(force_insert=True)
        Posting.objects.bulk_create([
            Posting(transaction=txn, account_id=client_account if leg.role == AccountRole.CLIENT else system[leg.role],
                    amount_minor=units, currency=currency, recorded_at=now)
            for leg, units in zip(legs, amounts, strict=True)
        ])
        audit_record(actor=actor, action=f"ledger.{operation}", object_type="transaction", object_id=txn.pk,
                     after=after)
    return txn


@dataclass(frozen=True, slots=True)
class BulkCharge:
    """One charge of :func:`ledger_charges_post_bulk`: ``amount`` positive and gross, in the client's
    currency; ``vat_rate`` ``None`` takes the billing settings' default."""

    client_id: int
    currency: str
    amount: Decimal
    reason: str
    source_ref: str
    vat_rate: str | None = None


def _locked_client_accounts(by_currency: dict[str, set[int]]) -> dict[tuple[int, str], int]:
    """The client accounts of these clients in each currency, locked (in id order, currency by
    currency, so concurrent bulk writers cannot deadlock), created first where a client has none yet in
    that currency; ``{(client id, currency): account id}``."""
    accounts: dict[tuple[int, str], int] = {}
    for currency, client_ids in sorted(by_currency.items()):
        if not client_ids:
            continue
        wanted = sorted(client_ids)

        def lock(cur: str = currency, ids: list[int] = wanted) -> dict[int, int]:
            return dict(Account.objects.select_for_update().filter(
                role=AccountRole.CLIENT, client_id__any_of=ids, currency=cur).order_by("pk")
                .values_list("client_id", "pk"))

        found = lock()
        missing = [cid for cid in wanted if cid not in found]
        if missing:  # the first payment of these clients in this currency: their accounts
            Account.objects.bulk_create([
                Account(role=AccountRole.CLIENT, client_id=cid, currency=currency, code=f"client:{cid}:{currency}")
                for cid in missing], ignore_conflicts=True)
            found = lock()
        for cid, pk in found.items():
            accounts[(cid, currency)] = pk
    return accounts


def ledger_charges_post_bulk(*, actor: Actor, charges: Sequence[BulkCharge]) -> list[int]:
    """Post many charges in the caller's transaction (billing runs): the same transactions,
    postings and audit entries as :func:`ledger_operation_post` with ``operation="charge"`` for each,
    written with a few bulk statements. Every client account involved is locked first (in id order,
    so concurrent bulk writers cannot deadlock). All or nothing: the first invalid charge raises
    :class:`ValidationFailed` naming it, before anything is written. Returns the transaction ids in
    the order of ``charges``."""
    if not charges:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger_charges_post_bulk must run inside the caller's transaction")
    from kopeck.configuration.selectors import vat_policy

    default_rate = vat_policy().default_rate
    rates: dict[str | None, VatRate] = {None: default_rate, "": default_rate}
    currencies = {c.pk: c for c in Client.objects.filter(
        pk__in={ch.client_id for ch in charges}).only("pk", "currency")}
    entries: list[Entry] = []
    # the same (amount, currency, rate) gives the same entry: computed once per batch (pure, immutable)
    known: dict[tuple[Decimal, str, str | None], Entry] = {}
    for n, ch in enumerate(charges):
        same = known.get((ch.amount, ch.currency, ch.vat_rate))
        if same is not None and ch.client_id in currencies and ch.currency == currencies[ch.client_id].currency \
                and str(ch.reason).strip():
            entries.append(same)
            continue
        client = currencies.get(ch.client_id)
        try:
            if client is None:
                raise ValueError(_("client %(id)s does not exist") % {"id": ch.client_id})
            if ch.currency != client.currency:
                raise ValueError(_("the client's account is in %(currency)s") % {"currency": client.currency})
            if not str(ch.reason).strip():
                raise ValueError(_("a reason is required"))
            rate = rates.get(ch.vat_rate)
            if rate is None:
                rate = rates[ch.vat_rate] = VatRate.parse(str(ch.vat_rate))
            money = Money(ch.amount, ch.currency)
            if abs(money.amount) >= 10**15:
                raise ValueError(_("the amount is too large"))
            entry = known[(ch.amount, ch.currency, ch.vat_rate)] = operation_entry(Operation.CHARGE, money,
                                                                                    vat_rate=rate)
            entries.append(entry)
        except (ValueError, LedgerError, MoneyError) as exc:
            raise ValidationFailed(_("Charge %(n)d is invalid: %(problem)s") % {"n": n, "problem": exc},
                                   errors={f"charges.{n}": [str(exc)]}) from exc
    now = clock.now()
    by_currency: dict[str, set[int]] = {}
    for ch in charges:
        by_currency.setdefault(ch.currency, set()).add(ch.client_id)
    client_accounts = _locked_client_accounts(by_currency)
    roles: set[AccountRole] = {leg.role for entry in entries for leg in entry.legs if leg.role != AccountRole.CLIENT}
    system = {currency: _system_account_ids(roles, currency) for currency in sorted(by_currency)}
    kind = str(actor.kind)
    ids = insert_rows(JournalTransaction, _TXN_FIELDS, [
        (Operation.CHARGE.value, ch.client_id, ch.currency, to_minor(Money(ch.amount, ch.currency)),
         rates[ch.vat_rate].value, to_minor(entry.vat.vat) if entry.vat else 0, ch.reason.strip(),
         ch.source_ref.strip(), now, kind, actor.id, actor.label, None, entry.explanation.as_dict())
        for ch, entry in zip(charges, entries, strict=True)])
    insert_rows(Posting, ("transaction_id", "account_id", "amount_minor", "currency", "recorded_at"), [
        (txn_id, client_accounts[(ch.client_id, ch.currency)] if leg.role == AccountRole.CLIENT
         else system[ch.currency][leg.role], to_minor(leg.amount), ch.currency, now)
        for ch, entry, txn_id in zip(charges, entries, ids, strict=True) for leg in entry.legs], ids=False)
    audit_record_many(actor=actor, entries=[
        ("ledger.charge", "transaction", txn_id, None,
         {"client": ch.client_id, "operation": Operation.CHARGE.value, "amount": Money(ch.amount, ch.currency).to_str(),
          "currency": ch.currency, "reason": ch.reason.strip(), "source_ref": ch.source_ref.strip(), "reverses": None})
        for ch, entry, txn_id in zip(charges, entries, ids, strict=True)], json_safe=True)
    return ids


@dataclass(frozen=True, slots=True)
class BulkCredit:
    """One credit of :func:`ledger_credits_post_bulk`: a ``payment`` to a client's account, or a
    ``suspense_receipt`` with no client (``client_id`` ``None``); ``amount`` positive. ``via_gateway``:
    money received through a payment gateway (Dr gateway clearing instead of cash)."""

    client_id: int | None
    currency: str
    amount: Decimal
    reason: str
    source_ref: str
    operation: str = Operation.PAYMENT.value
    via_gateway: bool = False


def ledger_credits_post_bulk(*, actor: Actor, credits: Sequence[BulkCredit]) -> list[int]:
    """Post many payments (and unidentified receipts) in the caller's transaction — the same
    transactions, postings and audit entries as :func:`ledger_operation_post` /
    :func:`ledger_suspense_post` for each, in a few bulk statements (bank statement imports, gateway
    notifications settled in batches).
    The client accounts are locked first, in id order. All or nothing: an invalid credit raises
    :class:`ValidationFailed` naming it before anything is written. The ids in ``credits``' order."""
    if not credits:
        return []
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("ledger_credits_post_bulk must run inside the caller's transaction")
    currencies = dict(Client.objects.filter(pk__any_of=sorted({c.client_id for c in credits if c.client_id is not None}))
                      .values_list("pk", "currency"))
    entries: list[Entry] = []
    known: dict[tuple[Decimal, str, str, bool], Entry] = {}
    for n, cr in enumerate(credits):
        try:
            op = Operation(cr.operation)
            if op not in (Operation.PAYMENT, Operation.SUSPENSE_RECEIPT) or (
                    (cr.client_id is None) != (op == Operation.SUSPENSE_RECEIPT)):
                raise ValueError(f"{op} with client {cr.client_id}")
            if cr.client_id is not None and currencies.get(cr.client_id) != cr.currency:
                raise ValueError(f"client {cr.client_id} has no account in {cr.currency}")
            if not str(cr.reason).strip():
                raise ValueError(_("a reason is required"))
            entry = known.get((cr.amount, cr.currency, op, cr.via_gateway))
            if entry is None:
                entry = known[(cr.amount, cr.currency, op, cr.via_gateway)] = operation_entry(
                    op, Money(cr.amount, cr.currency), via_gateway=cr.via_gateway)
            entries.append(entry)
        except (ValueError, LedgerError, MoneyError) as exc:
            raise ValidationFailed(_("Credit %(n)d is invalid: %(problem)s") % {"n": n, "problem": exc},
                                   errors={f"credits.{n}": [str(exc)]}) from exc
    now = clock.now()
    by_currency: dict[str, set[int]] = {}
    for cr in credits:
        by_currency.setdefault(cr.currency, set())
        if cr.client_id is not None:
            by_currency[cr.currency].add(cr.client_id)
    client_accounts = _locked_client_accounts(by_currency)
    roles: set[AccountRole] = {leg.role for entry in entries for leg in entry.legs if leg.role != AccountRole.CLIENT}
    system = {currency: _system_account_ids(roles, currency) for currency in sorted(by_currency)}
    kind = str(actor.kind)
    ids = insert_rows(JournalTransaction, _TXN_FIELDS, [
        (entry.operation.value, cr.client_id, cr.currency, to_minor(Money(cr.amount, cr.currency)), "", 0,
         cr.reason.strip(), cr.source_ref.strip(), now, kind, actor.id, actor.label, None, entry.explanation.as_dict())
        for cr, entry in zip(credits, entries, strict=True)])
    insert_rows(Posting, ("transaction_id", "account_id", "amount_minor", "currency", "recorded_at"), [
        (txn_id, client_accounts[(cr.client_id, cr.currency)] if leg.role == AccountRole.CLIENT and cr.client_id
         else system[cr.currency][leg.role], to_minor(leg.amount), cr.currency, now)
        for cr, entry, txn_id in zip(credits, entries, ids, strict=True) for leg in entry.legs], ids=False)
    audit_record_many(actor=actor, entries=[
        (f"ledger.{entry.operation.value}", "transaction", txn_id, None,
         {"client": cr.client_id, "operation": entry.operation.value, "amount": Money(cr.amount, cr.currency).to_str(),
          "currency": cr.currency, "reason": cr.reason.strip(), "source_ref": cr.source_ref.strip(), "reverses": None})
        for cr, entry, txn_id in zip(credits, entries, ids, strict=True)], json_safe=True)
    return ids


_TXN_FIELDS = ("operation", "client_id", "currency", "amount_minor", "vat_rate", "vat_minor", "reason", "source_ref",
               "recorded_at", "actor_kind", "actor_id", "actor_label", "reverses_id", "explanation")


def forget_system_accounts() -> None:
    """Drop the remembered system-account ids (tests call it after emptying the database)."""
    _system_ids.clear()


def ledger_operation_post(
    *, actor: Actor, client: Client, operation: str, amount: object, reason: str,
    currency: str | None = None, source_ref: str = "", vat_rate: str | None = None, via_gateway: bool = False,
    internal: bool = False,
) -> JournalTransaction:
    """Post a credit (payment, bonus, refund reversal, correction) or a debit (charge, one-off charge,
    correction, refund) of ``amount`` (positive, gross) on the client's account. ``internal``: the
    payments app's own operations (an unidentified payment assigned) are allowed too."""
    errors: dict[str, list[str]] = {}
    try:
        op = Operation(operation)
        if op == Operation.REVERSAL or op in SUSPENSE_OPERATIONS or (op in INTERNAL_OPERATIONS and not internal):
            raise ValueError
    except ValueError:
        op = None
        errors["operation"] = [_("Choose one of: %(choices)s.")
                               % {"choices": ", ".join(o for o in Operation if o not in INTERNAL_OPERATIONS)}]
    currency_code = (currency or client.currency).upper()
    money: Money | None = None
    try:
        Currency.of(currency_code)
        if currency_code != client.currency:
            errors["currency"] = [_("The client's account is in %(currency)s.") % {"currency": client.currency}]
        money = Money(amount, currency_code)
        if not money.is_positive():
            errors["amount"] = [_("The amount must be greater than zero.")]
        elif not money.is_rounded():
            errors["amount"] = [ngettext("%(currency)s allows %(places)d decimal place.",
                                         "%(currency)s allows %(places)d decimal places.", money.currency.minor_units)
                                % {"currency": currency_code, "places": money.currency.minor_units}]
        elif abs(money.amount) >= 10**15:
            errors["amount"] = [_("The amount is too large.")]
    except MoneyError as exc:
        if "currency" in str(exc):
            errors.setdefault("currency", [_("unknown currency %(code)r") % {"code": currency_code}])
        else:
            errors.setdefault("amount", [_("Give the amount as a decimal number.")])
    if not str(reason or "").strip():
        errors["reason"] = [_("A reason is required.")]
    rate: VatRate | None = None
    if vat_rate not in (None, ""):
        try:
            rate = VatRate.parse(str(vat_rate))
        except ValueError:
            errors["vat_rate"] = [_("unknown VAT rate %(rate)r; use one of %(choices)s")
                                  % {"rate": str(vat_rate), "choices": ", ".join(r.value for r in VatRate)}]
        if op is not None and op not in (Operation.CHARGE, Operation.ONE_OFF_CHARGE):
            errors["vat_rate"] = [_("A VAT rate applies to charges only.")]
    if via_gateway and op is not None and op not in (Operation.PAYMENT, Operation.REFUND):
        errors["via_gateway"] = [_("Only a payment or a refund can go through a gateway.")]
    if errors:
        raise ValidationFailed(_("The operation is invalid."), errors=errors)
    assert op is not None and money is not None
    if op in (Operation.CHARGE, Operation.ONE_OFF_CHARGE) and rate is None:
        from kopeck.configuration.selectors import vat_policy

        rate = vat_policy().rate_for(None)
    try:
        entry: Entry = operation_entry(op, money, vat_rate=rate, via_gateway=via_gateway)
    except (LedgerError, MoneyError) as exc:
        raise ValidationFailed.field("amount", str(exc)) from exc
    return _write(
        client=client, currency=currency_code, legs=entry.legs, operation=op, amount=money,
        vat_rate=rate.value if rate else "", vat=entry.vat.vat if entry.vat else None,
        reason=reason.strip(), source_ref=source_ref.strip(), actor=actor,
        explanation=entry.explanation.as_dict(),
    )


def ledger_suspense_post(
    *, actor: Actor, operation: str, amount: Money, reason: str, source_ref: str = "", via_gateway: bool = False,
) -> JournalTransaction:
    """Post an operation of the suspense account, with no client (the payments app's unidentified
    payments): ``suspense_receipt`` (Dr cash / Cr suspense) or ``suspense_return`` (the opposite).
    ``amount`` is positive and in whole minor units (the caller validated it)."""
    op = Operation(operation)
    if op not in SUSPENSE_OPERATIONS:
        raise ValidationFailed.field("operation", _("Choose suspense_receipt or suspense_return."))
    if not str(reason or "").strip():
        raise ValidationFailed.field("reason", _("A reason is required."))
    try:
        entry = operation_entry(op, amount, via_gateway=via_gateway)
    except (LedgerError, MoneyError) as exc:
        raise ValidationFailed.field("amount", str(exc)) from exc
    return _write(client=None, currency=amount.currency.code, legs=entry.legs, operation=op, amount=amount,
                  vat_rate="", vat=None, reason=reason.strip(), source_ref=source_ref.strip(), actor=actor,
                  explanation=entry.explanation.as_dict())


def ledger_transaction_reverse(*, actor: Actor, transaction_id: int, reason: str) -> JournalTransaction:
    """Post the exact opposite of a transaction. A transaction is reversed at most once, and a
    reversal is not itself reversed (post the operation again instead)."""
    if not str(reason or "").strip():
        raise ValidationFailed.field("reason", _("A reason is required."))
    original = JournalTransaction.objects.filter(pk=transaction_id).select_related("client").first()
    if original is None:
        raise NotFound(_("Transaction %(id)s does not exist.") % {"id": transaction_id})
    if original.operation == Operation.REVERSAL:
        raise Conflict(_("A reversal cannot be reversed; post the operation again instead."))
    if original.client is None and original.operation not in SUSPENSE_OPERATIONS:
        raise Conflict(_("Only client-account transactions can be reversed here."))
    with transaction.atomic():
        if original.client is not None:
            _client_account_locked(original.client, original.currency)
        else:  # a suspense-account transaction: its row stands for the lock (one reversal at a time)
            JournalTransaction.objects.select_for_update().filter(pk=original.pk).first()
        if JournalTransaction.objects.filter(reverses=original).exists():
            raise Conflict(_("Transaction %(id)s has already been reversed.") % {"id": original.pk})
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
