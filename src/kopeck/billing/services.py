"""Writers of billing runs: create a run, execute it (sandbox: compute and store only; auto:
compute, then post; confirm: compute, then exclude / include, confirm or reject), retry its errors;
the daily automatic run; and the readers built on a run's stored result: CSV export and the
comparison of two runs. See docs/billing.md.

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
import hashlib
import io
import json
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import QuerySet

from kopeck.audit.services import audit_record
from kopeck.billing.models import BillingRun, ItemStatus, RunItem, RunMode, RunStatus
from kopeck.catalog.models import Plan
from kopeck.clients.models import Client, Tag
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.configuration.selectors import billing_settings, provider_today, provider_zone
from kopeck.core.calendar import zone
from kopeck.core.money import Currency
from kopeck.subscriptions.models import Subscription, SubscriptionStatus
from kopeck.subscriptions.services import subscription_bill_due

CHUNK = 500
SCOPE_KEYS = ("clients", "plans", "tags")

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
                       scope: Mapping[str, Any] | None = None, scheduled: bool = False) -> BillingRun:
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
    clean = _clean_scope(scope, errors)
    if errors:
        raise ValidationFailed("The billing run is invalid.", errors=errors)
    with transaction.atomic():
        run = BillingRun.objects.create(billing_date=billing_date, mode=mode, scope=clean,
                                        status=RunStatus.PENDING, created_by=str(actor)[:200],
                                        created_at=clock.now(), scheduled=scheduled)
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


def _total_minor(lines: list[dict[str, Any]], currency: str) -> int:
    total = 0
    for line in lines:
        amount = _minor(line["amount"], line.get("currency") or currency)
        total += -amount if line.get("kind") == "credit" else amount
    return total


def _vat_rate(sub: Subscription, default: str) -> str:
    """The VAT rate charges of ``sub`` are posted with: the product's, or the settings' default."""
    return sub.plan.product.vat_rate or default


def _compute(actor: Actor, run: BillingRun, sub: Subscription, default_vat: str) -> RunItem:
    item = RunItem(run=run, client_id=sub.client_id, subscription=sub, currency=sub.currency,
                   vat_rate=_vat_rate(sub, default_vat))
    try:
        with transaction.atomic():  # a database error of one subscription does not poison the run
            result = subscription_bill_due(actor=actor, subscription=sub, on=run.billing_date, preview=True)
        item.status, item.items = ItemStatus.OK, result.items
        item.amount_minor = _total_minor(result.items, sub.currency)
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
    """Compute every subscription in the run's scope not computed yet and store the items; then,
    by mode: ``sandbox`` completes; ``confirm`` waits for a confirmation; ``auto`` applies every
    computed subscription (see :func:`_apply`) and completes. Resumable: executing again skips the
    computed subscriptions and the applied items; executing a completed run changes nothing."""
    run = BillingRun.objects.get(pk=run.pk)
    if run.status in (RunStatus.COMPLETED, RunStatus.AWAITING_CONFIRMATION):
        return run
    if run.status not in (RunStatus.PENDING, RunStatus.COMPUTING, RunStatus.APPLYING, RunStatus.FAILED):
        raise Conflict(f"A run in status {run.status!r} cannot be executed.",
                       errors={"status": [f"Not allowed in {run.status}."]})
    if run.mode == RunMode.CONFIRM and run.decided_at is not None:
        return _apply(actor, run, progress)  # confirmed, then interrupted while applying: resume
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
        if run.mode == RunMode.CONFIRM:
            run.status = RunStatus.AWAITING_CONFIRMATION
        elif run.mode == RunMode.SANDBOX:
            run.status, run.finished_at = RunStatus.COMPLETED, clock.now()
        run.save(update_fields=["summary", "status", "finished_at"])
    except Exception:
        BillingRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, finished_at=clock.now())
        raise
    audit_record(actor=actor, action="billing_run.execute", object_type="billing_run", object_id=run.pk,
                 before=None, after={"status": run.status, "processed": run.processed,
                                     "errors": run.summary.get("errors", 0)})
    if run.mode == RunMode.AUTO:
        return _apply(actor, run, progress)
    return run


# ---------------------------------------------------------------------------------------------
# apply (auto, and confirm once confirmed)


def _to_apply(run: BillingRun) -> QuerySet[RunItem]:
    return RunItem.objects.filter(run=run, status=ItemStatus.OK, excluded=False)


def _already_billed(item: RunItem) -> list[int] | None:
    """When every computed charge of ``item`` is already a billed period with the same amount (an
    earlier attempt posted it and stopped before marking the item, or another billing did), the
    transactions of those periods; otherwise ``None``."""
    from kopeck.subscriptions.models import BilledPeriod

    ids: list[int] = []
    for line in item.items:
        if line.get("kind") == "credit":
            return None
        period = line.get("period") or {}
        row = BilledPeriod.objects.filter(subscription_id=item.subscription_id, component=line.get("component"),
                                          period_start=str(period.get("start")),
                                          period_end=str(period.get("end"))).first()
        if row is None or row.amount_minor != _minor(line["amount"], line.get("currency") or item.currency):
            return None
        if row.transaction_id is not None:
            ids.append(row.transaction_id)
    return ids


def _mark_applied(item: RunItem, posted: list[dict[str, Any]], ids: list[int]) -> None:
    """Record that ``item`` is applied with the ledger transactions ``ids``; when what was posted is
    not what was computed, the posted items replace them and the computed ones are kept."""
    fields = ["applied_at", "transaction_ids"]
    if posted != item.items:
        item.previous_items, item.items, item.changed = item.items, posted, True
        item.amount_minor = _total_minor(posted, item.currency)
        fields += ["previous_items", "items", "changed", "amount_minor"]
    item.applied_at, item.transaction_ids = clock.now(), ids
    item.save(update_fields=fields)


def _apply(actor: Actor, run: BillingRun, progress: Progress | None) -> BillingRun:
    """Post every computed, not excluded, not yet applied subscription of the run with
    ``subscription_bill_due(preview=False)`` on the billing date, one at a time; mark each applied
    with its transactions; then complete and record the ``billing_run.completed`` event."""
    run.status = RunStatus.APPLYING
    run.finished_at = None
    run.apply_total = _to_apply(run).count()
    run.applied = _to_apply(run).filter(applied_at__isnull=False).count()
    run.save(update_fields=["status", "finished_at", "apply_total", "applied"])
    if progress is not None:
        progress(run.applied, run.apply_total)
    try:
        while True:
            chunk = list(_to_apply(run).filter(applied_at__isnull=True).select_related("subscription")
                         .order_by("subscription_id")[:CHUNK])
            if not chunk:
                break
            for item in chunk:
                _apply_item(actor, run, item)
            run.applied = _to_apply(run).filter(applied_at__isnull=False).count()
            run.save(update_fields=["applied"])
            if progress is not None:
                progress(run.applied, run.apply_total)
        run.summary = {**run_summary(run), "events": [*run.summary.get("events", []), _completed_event(run)]}
        run.status, run.finished_at = RunStatus.COMPLETED, clock.now()
        run.save(update_fields=["summary", "status", "finished_at"])
    except Exception:
        BillingRun.objects.filter(pk=run.pk).update(status=RunStatus.FAILED, finished_at=clock.now())
        raise
    audit_record(actor=actor, action="billing_run.apply", object_type="billing_run", object_id=run.pk,
                 before=None, after={"status": run.status, "applied": run.applied,
                                     "changed": run.summary.get("changed", 0)})
    return run


def _apply_item(actor: Actor, run: BillingRun, item: RunItem) -> None:
    try:
        with transaction.atomic():
            result = subscription_bill_due(actor=actor, subscription=item.subscription, on=run.billing_date)
    except Exception as exc:  # one subscription's error never stops the run; nothing of it was posted
        item.status, item.error = ItemStatus.ERROR, f"{type(exc).__name__}: {exc}"[:2000]
        item.save(update_fields=["status", "error"])
        return
    posted, ids = result.items, list(result.transaction_ids)
    if posted != item.items and not posted and item.items:
        earlier = _already_billed(item)
        if earlier is not None:
            posted, ids = item.items, earlier
    _mark_applied(item, posted, ids)


def _completed_event(run: BillingRun) -> dict[str, Any]:
    """The notification event of a completed run (consumed by the notifications issue)."""
    items = RunItem.objects.filter(run=run, applied_at__isnull=False)
    return {"type": "billing_run.completed", "run": run.pk, "mode": run.mode,
            "billing_date": run.billing_date.isoformat(), "at": clock.now().isoformat(),
            "clients": sorted(set(items.exclude(transaction_ids=[]).values_list("client_id", flat=True))),
            "transactions": sum(len(i) for i in items.values_list("transaction_ids", flat=True))}


# ---------------------------------------------------------------------------------------------
# confirm mode: exclude / include, confirm, reject


def _awaiting(run: BillingRun) -> BillingRun:
    run = BillingRun.objects.get(pk=run.pk)
    if run.status != RunStatus.AWAITING_CONFIRMATION:
        raise Conflict(f"The run is {run.status}, not awaiting confirmation.",
                       errors={"status": [f"Is {run.status}."]})
    return run


def _set_excluded(actor: Actor, run: BillingRun, client: Any, item: Any, excluded: bool) -> BillingRun:
    run = _awaiting(run)
    if (client is None) == (item is None):
        raise ValidationFailed("Give a client or an item.", errors={"client": ["Give a client or an item."]})
    qs = RunItem.objects.filter(run=run)
    if client is not None:
        client_id = getattr(client, "pk", client)
        qs = qs.filter(client_id=client_id)
        field = "client"
    else:
        qs = qs.filter(pk=getattr(item, "pk", item))
        field = "item"
    if not qs.exists():
        raise ValidationFailed(f"No such {field} in the run.", errors={field: ["Not in this run."]})
    ids = list(qs.values_list("pk", flat=True))
    qs.update(excluded=excluded)
    audit_record(actor=actor, action="billing_run.exclude" if excluded else "billing_run.include",
                 object_type="billing_run", object_id=run.pk, before=None, after={"items": ids})
    return run


def billing_run_exclude(*, actor: Actor, run: BillingRun, client: Any = None, item: Any = None) -> BillingRun:
    """Exclude a client's subscriptions, or one subscription's item (all its lines), from a run
    awaiting confirmation: they are not posted when the run is confirmed."""
    return _set_excluded(actor, run, client, item, True)


def billing_run_include(*, actor: Actor, run: BillingRun, client: Any = None, item: Any = None) -> BillingRun:
    """Include back what :func:`billing_run_exclude` excluded."""
    return _set_excluded(actor, run, client, item, False)


def run_fingerprint(run: BillingRun) -> str:
    """A digest of what confirming applies: every item's subscription, status, exclusion and
    lines. The reviewer sends it back with the confirmation."""
    digest = hashlib.sha256()
    for row in RunItem.objects.filter(run=run).order_by("subscription_id").values_list(
            "subscription_id", "status", "excluded", "items").iterator(chunk_size=CHUNK):
        digest.update(json.dumps(row, sort_keys=True, default=str).encode())
        digest.update(b"\n")
    return digest.hexdigest()


class RunChanged(Conflict):
    """Confirmation refused: the run is not what was reviewed (nothing was applied)."""


def billing_run_confirm(*, actor: Actor, run: BillingRun, fingerprint: str,
                        progress: Progress | None = None) -> BillingRun:
    """Apply exactly what was reviewed. ``fingerprint`` is :func:`run_fingerprint` as shown to the
    reviewer. Every included subscription is computed again first: if any differs from its
    reviewed item, nothing is applied — the items are updated (marked changed, the reviewed lines
    kept), the run stays awaiting confirmation and :class:`RunChanged` names the subscriptions."""
    run = _awaiting(run)
    if fingerprint != run_fingerprint(run):
        raise RunChanged("The run changed since it was reviewed (another exclusion or a recomputation): "
                         "review it again.", errors={"fingerprint": ["Does not match the run."]})
    default_vat = billing_settings().default_vat_rate
    changed: list[int] = []
    for item in _to_apply(run).select_related("subscription__plan__product").order_by("subscription_id") \
            .iterator(chunk_size=CHUNK):
        fresh = _compute(actor, run, item.subscription, default_vat)
        if (fresh.status, fresh.items) != (item.status, item.items):
            item.previous_items, item.items, item.changed = item.items, fresh.items, True
            item.status, item.error, item.amount_minor = fresh.status, fresh.error, fresh.amount_minor
            item.save(update_fields=["previous_items", "items", "changed", "status", "error", "amount_minor"])
            changed.append(item.subscription_id)
    if changed:
        run.summary = {**run_summary(run), "recomputed": changed}
        run.save(update_fields=["summary"])
        audit_record(actor=actor, action="billing_run.recomputed", object_type="billing_run", object_id=run.pk,
                     before=None, after={"subscriptions": changed})
        raise RunChanged("Subscriptions changed since the run was computed; nothing was applied. Review the "
                         "new items and confirm again.",
                         errors={"subscriptions": [f"#{pk} changed." for pk in changed]})
    updated = BillingRun.objects.filter(pk=run.pk, status=RunStatus.AWAITING_CONFIRMATION).update(
        status=RunStatus.APPLYING, decided_by=str(actor)[:200], decided_at=clock.now())
    if not updated:  # confirmed or rejected concurrently
        raise Conflict("The run is no longer awaiting confirmation.", errors={"status": ["Changed."]})
    run.refresh_from_db()
    audit_record(actor=actor, action="billing_run.confirm", object_type="billing_run", object_id=run.pk,
                 before=None, after={"fingerprint": fingerprint})
    return _apply(actor, run, progress)


def billing_run_reject(*, actor: Actor, run: BillingRun) -> BillingRun:
    """Reject a run awaiting confirmation: nothing is posted, the run is kept as rejected."""
    run = _awaiting(run)
    updated = BillingRun.objects.filter(pk=run.pk, status=RunStatus.AWAITING_CONFIRMATION).update(
        status=RunStatus.REJECTED, decided_by=str(actor)[:200], decided_at=clock.now(), finished_at=clock.now())
    if not updated:
        raise Conflict("The run is no longer awaiting confirmation.", errors={"status": ["Changed."]})
    run.refresh_from_db()
    audit_record(actor=actor, action="billing_run.reject", object_type="billing_run", object_id=run.pk,
                 before=None, after={"status": run.status})
    return run


# ---------------------------------------------------------------------------------------------
# the daily automatic run


def billing_auto_run_due(*, actor: Actor) -> BillingRun | None:
    """Start today's automatic run once the provider-local time has passed the settings'
    ``auto_billing_time`` (off when empty) — at most one per billing date; ``None`` when none is
    due or it already exists (an interrupted one is resumed)."""
    at = billing_settings().auto_billing_time
    if at is None:
        return None
    now = clock.now().astimezone(zone(provider_zone()))
    today = now.date()
    if now.time().replace(tzinfo=None) < at:
        return None
    existing = BillingRun.objects.filter(scheduled=True, billing_date=today).first()
    if existing is not None:
        if existing.status in (RunStatus.PENDING, RunStatus.COMPUTING, RunStatus.APPLYING, RunStatus.FAILED):
            return billing_run_execute(actor=actor, run=existing)
        return None
    try:
        with transaction.atomic():
            run = billing_run_create(actor=actor, billing_date=today, mode=RunMode.AUTO, scheduled=True)
    except IntegrityError:  # started concurrently
        return None
    return billing_run_execute(actor=actor, run=run)


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
