"""Writers of billing runs: create a run, execute it (sandbox: compute and store only), retry its
errors; and the readers built on a run's stored result: CSV export and the comparison of two runs.

A sandbox run computes every subscription in scope with
:func:`kopeck.subscriptions.services.subscription_bill_due` in preview mode — exactly the items a
real billing on that date would post — and stores one :class:`RunItem` per subscription. Nothing
reaches the ledger, no billed period is recorded, no subscription changes, no number is consumed.

Execution streams the subscriptions in chunks of :data:`CHUNK` ordered by id; each chunk's items
and the progress are written in one transaction. It is resumable: executing a run again skips the
subscriptions that already have an item, so an interrupted run finishes with the same result.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import QuerySet

from kopeck.audit.services import audit_record
from kopeck.billing.models import BillingRun, ItemStatus, RunItem, RunMode, RunStatus
from kopeck.catalog.models import Plan
from kopeck.clients.models import Client, Tag
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.configuration.selectors import billing_settings, provider_today
from kopeck.core.money import Currency
from kopeck.subscriptions.models import Subscription, SubscriptionStatus
from kopeck.subscriptions.services import subscription_bill_due

CHUNK = 500
SCOPE_KEYS = ("clients", "plans", "tags")
EXECUTABLE_MODES = (RunMode.SANDBOX,)

Progress = Callable[[int, int], None]
"""``progress(processed, total)``, called after each chunk."""


# ---------------------------------------------------------------------------------------------
# scope


def _clean_scope(scope: Any, errors: dict[str, list[str]]) -> dict[str, list[Any]]:
    if scope is None:
        scope = {}
    if not isinstance(scope, Mapping):
        errors["scope"] = ["Give an object with clients, plans and/or tags (empty: all)."]
        return {}
    unknown = sorted(str(k) for k in scope if k not in SCOPE_KEYS)
    if unknown:
        errors["scope"] = [f"Unknown keys: {', '.join(unknown)} (allowed: {', '.join(SCOPE_KEYS)})."]
    clean: dict[str, list[Any]] = {}
    for key in SCOPE_KEYS:
        values = scope.get(key) or []
        if not isinstance(values, (list, tuple)):
            errors[f"scope.{key}"] = ["Must be a list."]
            continue
        if key == "clients":
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                errors["scope.clients"] = ["Give client ids (integers)."]
                continue
            ids = sorted(set(values))
            missing = sorted(set(ids) - set(Client.objects.filter(pk__in=ids).values_list("pk", flat=True)))
            if missing:
                errors["scope.clients"] = [f"Unknown clients: {', '.join(map(str, missing))}."]
            clean[key] = ids
        else:
            if not all(isinstance(v, str) and v.strip() for v in values):
                errors[f"scope.{key}"] = ["Give non-empty names."]
                continue
            names = sorted({v.strip() for v in values})
            model: type[Plan] | type[Tag] = Plan if key == "plans" else Tag
            field = "code" if key == "plans" else "name"
            known = set(model.objects.filter(**{f"{field}__in": names}).values_list(field, flat=True))
            missing_names = [n for n in names if n not in known]
            if missing_names:
                errors[f"scope.{key}"] = [f"Unknown {key}: {', '.join(missing_names)}."]
            clean[key] = names
    return {k: v for k, v in clean.items() if v}


def run_subscriptions(run: BillingRun) -> QuerySet[Subscription]:
    """The subscriptions in the run's scope: not ended, started on or before the billing date."""
    qs = Subscription.objects.exclude(status=SubscriptionStatus.ENDED).filter(start_date__lte=run.billing_date)
    scope = run.scope or {}
    if scope.get("clients"):
        qs = qs.filter(client_id__in=scope["clients"])
    if scope.get("plans"):
        qs = qs.filter(plan__code__in=scope["plans"])
    if scope.get("tags"):
        qs = qs.filter(client__in=Client.objects.filter(tags__name__in=scope["tags"]).values("pk"))
    return qs.order_by("id")


# ---------------------------------------------------------------------------------------------
# create


def billing_run_create(*, actor: Actor, billing_date: Any, mode: str = RunMode.SANDBOX,
                       scope: Mapping[str, Any] | None = None) -> BillingRun:
    """A pending run on ``billing_date`` (on or before today, provider-local) over ``scope``
    (``{"clients": [ids], "plans": [codes], "tags": [names]}``; empty: every subscription)."""
    errors: dict[str, list[str]] = {}
    if isinstance(billing_date, str):
        try:
            billing_date = dt.date.fromisoformat(billing_date)
        except ValueError:
            errors["billing_date"] = ["Give a date YYYY-MM-DD."]
    if "billing_date" not in errors:
        if isinstance(billing_date, dt.datetime) or not isinstance(billing_date, dt.date):
            errors["billing_date"] = ["Give a date YYYY-MM-DD."]
        elif billing_date > (today := provider_today()):
            errors["billing_date"] = [f"Cannot bill ahead of today ({today.isoformat()})."]
    if mode not in RunMode.values:
        errors["mode"] = [f"Unknown mode {mode!r} (one of {', '.join(RunMode.values)})."]
    elif mode not in EXECUTABLE_MODES:
        errors["mode"] = [f"The {mode} mode is not available yet: only sandbox runs can be executed."]
    clean = _clean_scope(scope, errors)
    if errors:
        raise ValidationFailed("The billing run is invalid.", errors=errors)
    with transaction.atomic():
        run = BillingRun.objects.create(billing_date=billing_date, mode=mode, scope=clean,
                                        status=RunStatus.PENDING, created_by=str(actor)[:200],
                                        created_at=clock.now())
        run.total = run_subscriptions(run).count()
        run.save(update_fields=["total"])
        audit_record(actor=actor, action="billing_run.create", object_type="billing_run", object_id=run.pk,
                     before=None, after={"billing_date": run.billing_date, "mode": mode, "scope": clean,
                                         "total": run.total})
    return run


# ---------------------------------------------------------------------------------------------
# execute


def _minor(amount: str, currency: str) -> int:
    return int(Decimal(amount).scaleb(Currency.of(currency).minor_units))


def _vat_rate(sub: Subscription, default: str) -> str:
    """The VAT rate charges of ``sub`` are posted with: the product's, or the settings' default."""
    return sub.plan.product.vat_rate or default


def _compute(actor: Actor, run: BillingRun, sub: Subscription, default_vat: str) -> RunItem:
    item = RunItem(run=run, client_id=sub.client_id, subscription=sub, currency=sub.currency,
                   vat_rate=_vat_rate(sub, default_vat))
    try:
        with transaction.atomic():  # a database error of one subscription does not poison the run
            result = subscription_bill_due(actor=actor, subscription=sub, on=run.billing_date, preview=True)
        total = 0
        for line in result.items:
            amount = _minor(line["amount"], line.get("currency") or sub.currency)
            total += -amount if line.get("kind") == "credit" else amount
        item.status, item.items, item.amount_minor = ItemStatus.OK, result.items, total
    except Exception as exc:  # one subscription's error never stops the run
        item.status, item.items, item.amount_minor = ItemStatus.ERROR, [], 0
        item.error = f"{type(exc).__name__}: {exc}"[:2000]
    return item


def _pending_chunks(run: BillingRun) -> Iterator[list[Subscription]]:
    """The subscriptions in scope without an item yet, ``CHUNK`` at a time by id (keyset paging:
    nothing is loaded beyond one chunk)."""
    last = 0
    base = run_subscriptions(run).exclude(pk__in=RunItem.objects.filter(run=run).values("subscription_id")) \
        .select_related("plan__product")
    while True:
        chunk = list(base.filter(pk__gt=last)[:CHUNK])
        if not chunk:
            return
        yield chunk
        last = chunk[-1].pk


def billing_run_execute(*, actor: Actor, run: BillingRun, progress: Progress | None = None) -> BillingRun:
    """Compute every subscription in the run's scope not computed yet, store the items, then the
    summary. Sandbox only; executing a completed run again changes nothing."""
    run = BillingRun.objects.get(pk=run.pk)
    if run.mode not in EXECUTABLE_MODES:
        raise Conflict(f"The {run.mode} mode is not available yet.", errors={"mode": ["Not available yet."]})
    if run.status == RunStatus.COMPLETED:
        return run
    if run.status not in (RunStatus.PENDING, RunStatus.COMPUTING, RunStatus.FAILED):
        raise Conflict(f"A run in status {run.status!r} cannot be executed.",
                       errors={"status": [f"Not allowed in {run.status}."]})
    run.status = RunStatus.COMPUTING
    run.started_at = run.started_at or clock.now()
    run.finished_at = None
    run.total = RunItem.objects.filter(run=run).count() + _pending_count(run)
    run.processed = RunItem.objects.filter(run=run).count()
    run.save(update_fields=["status", "started_at", "finished_at", "total", "processed"])
    if progress is not None:
        progress(run.processed, run.total)
    default_vat = billing_settings().default_vat_rate
    try:
        for chunk in _pending_chunks(run):
            items = [_compute(actor, run, sub, default_vat) for sub in chunk]
            with transaction.atomic():
                RunItem.objects.bulk_create(items, ignore_conflicts=True)
                run.processed = RunItem.objects.filter(run=run).count()
                run.save(update_fields=["processed"])
            if progress is not None:
                progress(run.processed, run.total)
        run.summary = run_summary(run)
        run.status, run.finished_at = RunStatus.COMPLETED, clock.now()
        run.save(update_fields=["summary", "status", "finished_at"])
    except Exception:
        BillingRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, finished_at=clock.now())
        raise
    audit_record(actor=actor, action="billing_run.execute", object_type="billing_run", object_id=run.pk,
                 before=None, after={"status": run.status, "processed": run.processed,
                                     "errors": run.summary.get("errors", 0)})
    return run


def _pending_count(run: BillingRun) -> int:
    return run_subscriptions(run).exclude(
        pk__in=RunItem.objects.filter(run=run).values("subscription_id")).count()


def billing_run_retry_errors(*, actor: Actor, run: BillingRun) -> BillingRun:
    """Compute again the subscriptions whose item is an error; the summary is recomputed."""
    run = BillingRun.objects.get(pk=run.pk)
    if run.status != RunStatus.COMPLETED:
        raise Conflict("Only a completed run's errors can be retried.", errors={"status": [f"Is {run.status}."]})
    default_vat = billing_settings().default_vat_rate
    retried = 0
    errored = RunItem.objects.filter(run=run, status=ItemStatus.ERROR).select_related(
        "subscription__plan__product").order_by("subscription_id")
    for old in errored.iterator(chunk_size=CHUNK):
        fresh = _compute(actor, run, old.subscription, default_vat)
        old.status, old.error, old.items, old.amount_minor = fresh.status, fresh.error, fresh.items, fresh.amount_minor
        old.vat_rate = fresh.vat_rate
        old.save(update_fields=["status", "error", "items", "amount_minor", "vat_rate"])
        retried += 1
    run.summary = run_summary(run)
    run.save(update_fields=["summary"])
    audit_record(actor=actor, action="billing_run.retry_errors", object_type="billing_run", object_id=run.pk,
                 before=None, after={"retried": retried, "errors": run.summary["errors"]})
    return run


# ---------------------------------------------------------------------------------------------
# summary, export, compare


def run_summary(run: BillingRun) -> dict[str, Any]:
    """Clients, subscriptions, charges and credits, totals by currency and by VAT rate (charges),
    errors — computed from the stored items."""
    clients: set[int] = set()
    subs = charges = credits = errors = 0
    by_currency: dict[str, Decimal] = {}
    by_vat: dict[str, dict[str, Decimal]] = {}
    for item in RunItem.objects.filter(run=run).order_by("id").iterator(chunk_size=CHUNK):
        subs += 1
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
            "errors": errors}


CSV_COLUMNS = ["client_id", "client", "subscription_id", "status", "kind", "component", "period_start",
               "period_end", "amount", "currency", "vat_rate", "explanation_ru", "explanation_en", "error"]


def run_lines(run: BillingRun) -> Iterator[dict[str, Any]]:
    """One row per item line (an errored subscription: one row with its error), by subscription."""
    items = RunItem.objects.filter(run=run).select_related("client").order_by("subscription_id")
    for item in items.iterator(chunk_size=CHUNK):
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
        if n % CHUNK == 0:
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
