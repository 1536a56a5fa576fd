"""What is read from a run's stored items: the summary, the CSV lines, the comparison of two runs."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from kopeck.billing.models import BillingRun, ItemStatus, RunItem
from kopeck.billing.services.runs import chunk_size

# ---------------------------------------------------------------------------------------------
# summary, export, compare


def run_summary(run: BillingRun) -> dict[str, Any]:
    """Clients, subscriptions, charges and credits, totals by currency and by VAT rate (charges),
    errors — computed from the stored items."""
    return _public(_tally(RunItem.objects.filter(run=run).order_by("id").iterator(chunk_size=chunk_size())))


def _tally(items: Iterable[RunItem]) -> dict[str, Any]:
    clients: set[int] = set()
    posted: set[int] = set()
    subs = charges = credits = errors = transactions = 0
    by_currency: dict[str, Decimal] = {}
    by_vat: dict[str, dict[str, Decimal]] = {}
    for item in items:
        subs += 1
        if item.transaction_ids:
            posted.add(item.client_id)
            transactions += len(item.transaction_ids)
        clients.add(item.client_id)
        if item.status == ItemStatus.ERROR:
            errors += 1
            continue
        for line in item.items:
            amount = Decimal(line["amount"])
            cur = line.get("currency") or item.currency
            if line.get("kind") == "credit":
                credits += 1
                by_currency[cur] = by_currency.get(cur, Decimal(0)) - amount
                continue
            charges += 1
            by_currency[cur] = by_currency.get(cur, Decimal(0)) + amount
            rates = by_vat.setdefault(cur, {})
            rates[item.vat_rate] = rates.get(item.vat_rate, Decimal(0)) + amount
    return {"clients": len(clients), "subscriptions": subs, "charges": charges, "credits": credits,
            "totals_by_currency": {c: str(v) for c, v in sorted(by_currency.items())},
            "totals_by_vat_rate": {c: {r: str(v) for r, v in sorted(rates.items())}
                                   for c, rates in sorted(by_vat.items())},
            "errors": errors, "_posted_clients": sorted(posted), "_transactions": transactions}


def _merged(parts: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The tallies of chunks added up (chunks hold disjoint clients, so client counts add up)."""
    total: dict[str, Any] = {"clients": 0, "subscriptions": 0, "charges": 0, "credits": 0, "errors": 0,
                             "_transactions": 0}
    posted: list[int] = []
    by_currency: dict[str, Decimal] = {}
    by_vat: dict[str, dict[str, Decimal]] = {}
    for part in parts:
        for key in ("clients", "subscriptions", "charges", "credits", "errors", "_transactions"):
            total[key] += part.get(key, 0)
        posted += part.get("_posted_clients", [])
        for cur, amount in part.get("totals_by_currency", {}).items():
            by_currency[cur] = by_currency.get(cur, Decimal(0)) + Decimal(amount)
        for cur, rates in part.get("totals_by_vat_rate", {}).items():
            into = by_vat.setdefault(cur, {})
            for rate, amount in rates.items():
                into[rate] = into.get(rate, Decimal(0)) + Decimal(amount)
    total["totals_by_currency"] = {c: str(v) for c, v in sorted(by_currency.items())}
    total["totals_by_vat_rate"] = {c: {r: str(v) for r, v in sorted(rates.items())} for c, rates in sorted(by_vat.items())}
    total["_posted_clients"] = sorted(posted)
    return total


def _public(summary: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in summary.items() if not k.startswith("_")}


CSV_COLUMNS = ["client_id", "client", "subscription_id", "status", "kind", "component", "period_start",
               "period_end", "amount", "currency", "vat_rate", "explanation_ru", "explanation_en", "error"]


def run_lines(run: BillingRun) -> Iterator[dict[str, Any]]:
    """One row per item line (an errored subscription: one row with its error), by subscription."""
    items = RunItem.objects.filter(run=run).select_related("client").order_by("subscription_id")
    for item in items.iterator(chunk_size=chunk_size()):
        base = {"client_id": item.client_id, "client": item.client.name, "subscription_id": item.subscription_id,
                "status": item.status, "currency": item.currency, "vat_rate": item.vat_rate, "error": item.error}
        if item.status == ItemStatus.ERROR:
            yield {**base, "kind": "", "component": "", "period_start": "", "period_end": "", "amount": "",
                   "explanation_ru": "", "explanation_en": ""}
            continue
        for line in item.items:
            period = line.get("period") or {}
            explanation = line.get("explanation") or {}
            yield {**base, "kind": line.get("kind", ""), "component": line.get("component", ""),
                   "period_start": period.get("start", ""), "period_end": period.get("end", ""),
                   "amount": line.get("amount", ""), "currency": line.get("currency") or item.currency,
                   "explanation_ru": explanation.get("ru", ""), "explanation_en": explanation.get("en", "")}


def run_export_csv(run: BillingRun) -> Iterator[str]:
    """The run's lines as CSV (header first), chunk by chunk. Period end is exclusive."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for n, row in enumerate(run_lines(run), 1):
        writer.writerow(row)
        if n % chunk_size() == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _line_key(line: Mapping[str, Any]) -> tuple[str, str, str, str]:
    return (str(line["subscription_id"]), str(line["kind"]), str(line["component"]), str(line["period_start"]))


def billing_runs_compare(a: BillingRun, b: BillingRun) -> dict[str, Any]:
    """What changed from run ``a`` to run ``b``, per client and line (a line is a subscription's
    kind, component and period start): ``added`` (only in b), ``removed`` (only in a), ``changed``
    (another amount or period end), with the totals of each run by currency."""

    def lines(run: BillingRun) -> dict[tuple[str, str, str, str], dict[str, Any]]:
        return {_line_key(row): row for row in run_lines(run) if row["status"] == ItemStatus.OK}

    left, right = lines(a), lines(b)
    clients: dict[int, dict[str, Any]] = {}

    def bucket(row: Mapping[str, Any]) -> dict[str, Any]:
        return clients.setdefault(row["client_id"], {"client_id": row["client_id"], "client": row["client"],
                                                     "added": [], "removed": [], "changed": []})

    def brief(row: Mapping[str, Any]) -> dict[str, Any]:
        return {k: row[k] for k in ("subscription_id", "kind", "component", "period_start", "period_end",
                                    "amount", "currency")}

    for key in sorted(set(left) | set(right)):
        old, new = left.get(key), right.get(key)
        if old is None:
            assert new is not None
            bucket(new)["added"].append(brief(new))
        elif new is None:
            bucket(old)["removed"].append(brief(old))
        elif Decimal(old["amount"]) != Decimal(new["amount"]) or old["period_end"] != new["period_end"]:
            bucket(new)["changed"].append({**brief(new), "amount_a": old["amount"], "amount_b": new["amount"],
                                           "difference": str(Decimal(new["amount"]) - Decimal(old["amount"]))})
    changed = [c for _, c in sorted(clients.items())]
    return {"a": a.pk, "b": b.pk, "clients": changed,
            "counts": {k: sum(len(c[k]) for c in changed) for k in ("added", "removed", "changed")},
            "totals_a": a.summary.get("totals_by_currency", {}), "totals_b": b.summary.get("totals_by_currency", {})}
