"""Rating of the percentage model over a period's transactions.

Per transaction, in timestamp order:

1. the first ``free_transactions`` transactions are free (no rate, no fixed fee, no minimum);
2. then ``free_amount`` is used up: a transaction it covers entirely is free; one it covers partly
   is charged on the rest;
3. a charged transaction costs ``rate % × charged amount + fixed_fee``, kept within
   [``min_per_transaction``, ``max_per_transaction``] (computed exactly, per transaction).

Lines (each rounded once, half-up): the rate on the charged amounts, the fixed fees, and — only
when a limit changed something — one ``limits`` line that brings the charge to exactly
``round(Σ per-transaction fees after limits)``, so the total never goes below zero through rounding.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from kopeck.core.explain import Explanation
from kopeck.core.money import Currency
from kopeck.core.pricing._values import ZERO, fmt, trim
from kopeck.core.pricing.errors import UsageError
from kopeck.core.pricing.lines import ChargeLine, LineKind, line_money, show
from kopeck.core.pricing.models import Percentage
from kopeck.core.words import plural_en, plural_ru

_TX_RU = ("транзакция", "транзакции", "транзакций")
_TX_RU_DATIVE = ("транзакции", "транзакциям", "транзакциям")  # «по 1 транзакции», «по 5 транзакциям»
_TX_EN = ("transaction", "transactions")


def rate_percentage(model: Percentage, transactions: Sequence[Decimal], cur: Currency) -> list[ChargeLine]:
    rate = model.rate.scaleb(-2)
    fee = model.fixed_fee
    lo, hi = model.min_per_transaction, model.max_per_transaction
    limited = lo is not None or hi is not None
    free_n = model.free_transactions
    free_left = model.free_amount
    free_count = 0
    charged = 0
    rated = ZERO
    raised = cut = ZERO
    n_raised = n_cut = 0
    for i, amount in enumerate(transactions):
        if amount < 0:
            raise UsageError("transaction_negative", f"transactions[{i}]", amount=fmt(amount))
        if free_count < free_n:
            free_count += 1
            continue
        if free_left:
            if amount <= free_left:
                free_left -= amount
                free_count += 1
                continue
            amount -= free_left
            free_left = ZERO
        charged += 1
        rated += amount
        if limited:
            each = amount * rate + fee
            if lo is not None and each < lo:
                raised += lo - each
                n_raised += 1
            elif hi is not None and each > hi:
                cut += each - hi
                n_cut += 1
    lines: list[ChargeLine] = []
    if free_count:
        used = model.free_amount - free_left
        zero = line_money(ZERO, cur)
        lines.append(ChargeLine(LineKind.FREE, "free transactions", Decimal(free_count), ZERO, zero, Explanation(
            ru=f"Бесплатно: {free_count} {plural_ru(free_count, _TX_RU)} (бесплатных транзакций по тарифу: "
               f"{free_n}, использовано бесплатной суммы {fmt(used)})",
            en=f"Free: {free_count} {plural_en(free_count, *_TX_EN)} ({free_n} free "
               f"{plural_en(free_n, *_TX_EN)}, free amount used {fmt(used)})",
            formula=f"free transactions = {free_count}; free amount used = {fmt(used)}",
        )))
    if not charged:
        return lines
    r = fmt(model.rate)
    rate_amount = line_money(rated * rate, cur)
    lines.append(ChargeLine(LineKind.PERCENTAGE, f"{r}%", rated, rate, rate_amount, Explanation(
        ru=f"{r}% от {fmt(rated)} по {charged} {plural_ru(charged, _TX_RU_DATIVE)} = {show(rate_amount)}",
        en=f"{r}% of {fmt(rated)} over {charged} {plural_en(charged, *_TX_EN)} = {show(rate_amount)}",
        formula=f"charged amount × rate / 100 = {fmt(rated)} × {r} / 100 = {rate_amount.amount}",
    )))
    fee_amount = line_money(charged * fee, cur)
    if fee:
        lines.append(ChargeLine(LineKind.TRANSACTION_FEE, "fixed fee per transaction", Decimal(charged), fee,
                                fee_amount, Explanation(
            ru=f"Фиксированная комиссия: {charged} × {fmt(fee)} = {show(fee_amount)}",
            en=f"Fixed fee: {charged} {plural_en(charged, *_TX_EN)} × {fmt(fee)} = {show(fee_amount)}",
            formula=f"transactions × fixed fee = {charged} × {fmt(fee)} = {fee_amount.amount}",
        )))
    if n_raised or n_cut:
        exact_total = rated * rate + charged * fee + raised - cut
        target = line_money(exact_total, cur)
        adjust = target - rate_amount - fee_amount
        lines.append(ChargeLine(LineKind.LIMITS, "per-transaction limits", Decimal(n_raised + n_cut), ZERO,
                                adjust, Explanation(
            ru=f"Ограничения на транзакцию: поднято до минимума {lo} — {n_raised} (+{trim(raised)}), "
               f"снижено до максимума {hi} — {n_cut} (−{trim(cut)}); корректировка {show(adjust)}",
            en=f"Per-transaction limits: {n_raised} raised to the minimum {lo} (+{trim(raised)}), "
               f"{n_cut} capped at the maximum {hi} (−{trim(cut)}); adjustment {show(adjust)}",
            formula=(f"adjustment = round(rate part + fees + raises − cuts) − rate line − fee line = "
                     f"round({trim(rated * rate)} + {trim(charged * fee)} + {trim(raised)} − {trim(cut)}) "
                     f"− {rate_amount.amount} − {fee_amount.amount} = {adjust.amount}"),
        )))
    return lines
