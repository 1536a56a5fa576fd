"""Where gateways meet kopeck.payments: the credit of a paid online payment and the refund of one.

:func:`credit` is the one place a gateway payment becomes money on the client's account: a verified
notification or an API fetch reaches it inside the transaction that marks the GatewayPayment paid (the
row is locked, so it runs once per payment). The money is a payment of kopeck.payments with method =
the provider (Dr gateway clearing / Cr client), allocated to the invoice it was made for (or, for a
top-up, as the payments settings say). Its external id ``<provider>:<order id>`` is unique in
kopeck.payments: the locked, not yet credited order is what makes it unused here (``new=True``: no
lookup, no savepoint), and the unique constraint refuses a second credit whatever happens.

:func:`credit_many` does the same for many top-ups at once (the settlement worker's batches): the same
payments, ledger transactions (the ledger's bulk credit writer), audit entries, allocations and events,
in a few bulk statements.

:func:`refund` is the refund handler of every gateway's payment method: a refund asked of
kopeck.payments (its API, its back office) goes back to the card through the provider."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from django.db import transaction
from django.utils.translation import gettext as _

from kopeck.common.actor import Actor
from kopeck.common.clock import now
from kopeck.common.errors import Conflict
from kopeck.core.money import from_minor
from kopeck.gateways.models import GatewayPayment

if TYPE_CHECKING:
    from kopeck.payments.models import Payment, Refund

OPEN_INVOICE = ("issued", "partly_paid", "overdue")


def credit(payment: GatewayPayment, *, actor: Actor) -> str:
    """Record the payment in kopeck.payments (method = the gateway); returns ``payment:<id>``."""
    from kopeck.documents.models import Document
    from kopeck.payments.services import payment_record

    money = from_minor(payment.amount_minor, payment.currency)
    invoice = None
    if payment.invoice_id is not None:
        invoice = Document.objects.filter(pk=payment.invoice_id, status__in=OPEN_INVOICE).first()
    provider = str(payment.setting.get_provider_display())
    pay = payment_record(
        actor=actor, amount=money.amount, client=payment.client, currency=payment.currency,
        method=payment.setting.provider, external_id=f"{payment.setting.provider}:{payment.order_id}",
        invoice=invoice, allocate=None if invoice is None else False,
        purpose=f"{provider}: {payment.description}"[:2000], payer_name=payment.client.name[:500], new=True)
    return f"payment:{pay.pk}"


def bulk_creditable(payment: GatewayPayment) -> bool:
    """A payment :func:`credit_many` can credit: a top-up (no invoice to pay) that no autopayment
    waits for (those are credited one by one through :func:`credit`)."""
    return payment.invoice_id is None and not getattr(payment, "autopay", True)


def credit_many(payments: Sequence[GatewayPayment], *, actor: Actor) -> dict[int, str]:
    """:func:`credit` of many locked, not yet credited top-ups in the caller's transaction; returns
    ``{GatewayPayment id: "payment:<id>"}``. The payments' external ids ``<provider>:<order id>`` are
    unused (the orders are locked and not credited); the unique constraint refuses a second credit."""
    from kopeck.audit.services import audit_record_many
    from kopeck.common.bulk import insert_rows, reserve_ids, update_rows
    from kopeck.configuration.selectors import provider_today
    from kopeck.events.services import NewEvent, event_record_many
    from kopeck.ledger.services import BulkCredit, ledger_credits_post_bulk
    from kopeck.payments.models import Payment
    from kopeck.payments.models import PaymentStatus as Booked
    from kopeck.payments.selectors import payment_settings
    from kopeck.payments.statements.apply import payments_allocate_bulk

    if not payments:
        return {}
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("credit_many must run inside the caller's transaction")
    day, at = provider_today(), now()
    fields = ("client_id", "amount_minor", "currency", "date", "method", "status", "match_rule", "payer_name",
              "purpose", "external_id", "created_by", "created_at")
    settings_of = {p.setting_id: p.setting for p in payments}  # a label per gateway, not per payment
    names = {pk: str(setting.get_provider_display()) for pk, setting in settings_of.items()}
    rows = [(p.client_id, p.amount_minor, p.currency, day, p.setting.provider, Booked.CREDITED, "given",
             " ".join(p.client.name.split())[:500],
             " ".join(f"{names[p.setting_id]}: {p.description}".split())[:2000],
             f"{p.setting.provider}:{p.order_id}", actor.label, at) for p in payments]
    amounts = [from_minor(p.amount_minor, p.currency) for p in payments]

    def credits(ids: Sequence[int]) -> list[BulkCredit]:
        return [BulkCredit(client_id=p.client_id, currency=p.currency, amount=amount.amount,
                           reason=f"Платёж № {pk} от {day:%d.%m.%Y}", source_ref=f"payment:{pk}", via_gateway=True)
                for p, pk, amount in zip(payments, ids, amounts, strict=True)]

    ids = reserve_ids(Payment, len(payments))
    if ids:  # PostgreSQL: the ledger first, then the payments naming their transactions (no update)
        txn_ids = ledger_credits_post_bulk(actor=actor, credits=credits(ids))
        insert_rows(Payment, (*fields, "transaction_id"), [(*r, t) for r, t in zip(rows, txn_ids, strict=True)],
                    keys=ids)
    else:
        ids = insert_rows(Payment, fields, rows)
        txn_ids = ledger_credits_post_bulk(actor=actor, credits=credits(ids))
        update_rows(Payment, ("transaction_id",), list(zip(ids, txn_ids, strict=True)))
    texts = [amount.to_str() for amount in amounts]
    zero = {cur: from_minor(0, cur).to_str() for cur in {p.currency for p in payments}}
    audit_record_many(actor=actor, json_safe=True, entries=[
        ("payment.record", "payment", pk, None, {
            "client": p.client_id, "amount": text, "currency": p.currency, "date": day.isoformat(),
            "method": row[4], "status": Booked.CREDITED.value, "match_rule": "given", "external_id": row[9],
            "refunded": zero[p.currency], "allocated": zero[p.currency]})
        for p, pk, text, row in zip(payments, ids, texts, rows, strict=True)])
    allocated = payments_allocate_bulk(actor, [(pk, p.client_id, p.currency, p.amount_minor, row[8])
                                       for p, pk, row in zip(payments, ids, rows, strict=True)]) \
        if payment_settings().auto_allocate else {}
    event_record_many([
        NewEvent("payment.received", {"payment": {
            "id": pk, "amount": text, "currency": p.currency, "date": day.isoformat(), "method": row[4],
            "status": Booked.CREDITED.value, "client_id": p.client_id, "payer_name": row[7], "payer_inn": "",
            "purpose": row[8], "external_id": row[9], "invoice_ids": allocated.get(pk, [])}},
            client_id=p.client_id, subject_id=pk)
        for p, pk, text, row in zip(payments, ids, texts, rows, strict=True)], actor=actor)
    refs = {p.pk: f"payment:{pk}" for p, pk in zip(payments, ids, strict=True)}
    update_rows(GatewayPayment, ("status", "provider_payment_id", "credited_at", "credit_ref", "updated_at"), [
        (p.pk, p.status, p.provider_payment_id, p.credited_at, refs[p.pk], at) for p in payments])
    for p in payments:
        p.credit_ref, p.updated_at = refs[p.pk], at
    return refs


def refund(*, actor: Actor, payment: Payment, amount: object, reason: str, date: dt.date | None) -> Refund:
    """kopeck.payments' refund of a payment that came through a gateway (the refund handler of each
    gateway's payment method): the money goes back through the provider (``online_refund``), and the
    refund is recorded in the books only when the provider accepted it."""
    from kopeck.gateways.services import online_refund_recorded

    code, _sep, order_id = payment.external_id.partition(":")
    online = GatewayPayment.objects.select_related("setting", "client").filter(
        order_id=order_id, setting__provider=payment.method, credit_ref=f"payment:{payment.pk}").first() \
        if order_id and code == payment.method else None
    if online is None:
        raise Conflict(_("Payment %(id)s is not an online payment Kopeck took through %(method)s, so Kopeck cannot "
                         "return it through the provider: make the refund in the provider's dashboard, then record "
                         "it here with the provider's refund id as external_id.")
                       % {"id": payment.pk, "method": payment.method},
                       errors={"external_id": [_("The provider's refund id of a refund made in its dashboard.")]})
    if amount in (None, ""):
        amount = from_minor(payment.amount_minor - payment.refunded_minor, payment.currency).amount
    _made, booked = online_refund_recorded(actor=actor, payment=online, amount=amount, reason=reason, date=date)
    return cast("Refund", booked)
