"""Posting a quote of one subscription: its charges and credits to the ledger, the billed pieces it
records, and their timeline entries."""

from __future__ import annotations

import datetime as dt
from typing import Any

from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.core.subscriptions import Credit, DueCharge, Quote
from kopeck.ledger.amounts import to_minor
from kopeck.ledger.services import ledger_operation_post
from kopeck.subscriptions.models import BilledPeriod, Subscription
from kopeck.subscriptions.services.common import timeline_add

CREDIT_OPERATION = "correction_credit"
"""How credits of unused prepaid days are posted (a ``refund`` setting may come later)."""


def _vat_rate(sub: Subscription) -> str | None:
    rate = sub.plan.product.vat_rate
    return rate or None


def charge_reason(sub: Subscription, item: DueCharge | Credit) -> str:
    """The ledger reason of a charge or credit of ``sub``, as an accountant reads it: the plan and the
    component by name, the service period in Russian dates ("Подписка #12 (VPS S): Дополнительный
    IPv4, 06.12.2026 – 05.01.2027")."""
    name = _component_name(sub, item.component)
    if isinstance(item, Credit):
        p = item.unused
        return f"Подписка #{sub.pk}: возврат за «{name}», {_day(p.start)} – {_day(p.last_day)}"
    p = item.period
    return f"Подписка #{sub.pk} ({sub.plan.name_ru or item.plan or sub.plan.code}): {name}, {_day(p.start)} – {_day(p.last_day)}"


def _day(day: dt.date) -> str:
    return day.strftime("%d.%m.%Y")


def _component_name(sub: Subscription, code: str) -> str:
    """A component's Russian name from the subscription's plan version (loaded with it by the callers)."""
    if code == "setup_fee":
        return "Плата за подключение"
    for component in (sub.plan_version.spec or {}).get("components", []) if sub.plan_version_id else []:
        if component.get("code") == code:
            return str((component.get("names") or {}).get("ru") or component.get("name") or code)
    return code


def post_quote(actor: Actor, sub: Subscription, quote: Quote) -> list[int]:
    """Post ``quote`` for ``sub`` (locked by the caller, inside its transaction): truncate the
    pieces whose service ends, post credits and charges, record the billed pieces, add carried-over
    markers. Returns the ledger transaction ids, in posting order."""
    now = clock.now()
    on = quote.on
    rows = {(b.component, b.period_start): b for b in BilledPeriod.objects.select_for_update(of=("self",))
            .filter(subscription=sub)}
    for key in quote.truncated:
        row = rows[key]
        if row.credited_from is None or row.credited_from > on:
            row.credited_from = max(on, row.period_start)
            row.save(update_fields=["credited_from"])
    for code, start in quote.carried:
        source = rows[(code, start)]
        if start < on and (code, on) not in rows:
            end = source.credited_from or source.period_end
            rows[(code, on)] = BilledPeriod.objects.create(
                subscription=sub, component=code, period_start=on, period_end=end, amount_minor=0,
                currency=sub.currency, created_at=now, explanation={
                    "ru": f"{code}: без изменений, оплачено в периоде с {start.isoformat()}",
                    "en": f"{code}: unchanged, paid within the piece from {start.isoformat()}",
                    "formula": "carried over = 0", "carried_from": start.isoformat()})
    ids: list[int] = []
    vat = _vat_rate(sub)
    for item in quote.items:
        if isinstance(item, Credit):
            txn = ledger_operation_post(actor=actor, client=sub.client, operation=CREDIT_OPERATION,
                                        amount=item.amount.amount, reason=charge_reason(sub, item),
                                        currency=sub.currency,
                                        source_ref=f"subscription:{sub.pk}:credit:{item.component}:"
                                                   f"{item.slot_start.isoformat()}")
            ids.append(txn.pk)
            row = rows[item.key]
            row.credited_minor += to_minor(item.amount)
            row.save(update_fields=["credited_minor"])
            timeline_add(sub, "credit", on, item.explanation.ru, item.explanation.en, item.as_dict(), txn.pk)
            continue
        existing = rows.get(item.key)
        if existing is not None and (existing.credited_from is None or existing.credited_from > existing.period_start):
            continue  # already billed: never twice
        txn_id: int | None = None
        if item.amount.is_positive():
            txn = ledger_operation_post(actor=actor, client=sub.client, operation="charge",
                                        amount=item.amount.amount, reason=charge_reason(sub, item),
                                        currency=sub.currency, vat_rate=vat,
                                        source_ref=f"subscription:{sub.pk}:{item.component}:"
                                                   f"{item.period.start.isoformat()}")
            txn_id = txn.pk
            ids.append(txn.pk)
        explanation: dict[str, Any] = {**item.explanation.as_dict(), "lines": [ln.as_dict() for ln in item.lines],
                                       "due": item.due.isoformat(),
                                       "billing_period": item.billing_period.to_dict()}
        if existing is not None:
            explanation["replaced"] = [*existing.explanation.get("replaced", []), {
                "amount_minor": existing.amount_minor, "credited_minor": existing.credited_minor,
                "period_end": existing.period_end.isoformat(), "transaction": existing.transaction_id,
                "explanation": {k: v for k, v in existing.explanation.items() if k != "replaced"}}]
            existing.period_end = item.period.end
            existing.amount_minor = to_minor(item.amount)
            existing.transaction_id = txn_id
            existing.explanation = explanation
            existing.credited_from = None
            existing.credited_minor = 0
            existing.save()
        else:
            rows[item.key] = BilledPeriod.objects.create(
                subscription=sub, component=item.component, period_start=item.period.start,
                period_end=item.period.end, amount_minor=to_minor(item.amount), currency=sub.currency,
                transaction_id=txn_id, explanation=explanation, created_at=now)
        if txn_id is not None:
            timeline_add(sub, "charge", on, item.explanation.ru, item.explanation.en, item.as_dict(), txn_id)
    return ids
