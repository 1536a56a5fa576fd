"""The confirmation mode: exclude and include, the check before applying, confirm, reject."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kopeck.audit.services import audit_record
from kopeck.billing.models import BillingRun, ItemStatus, RunItem, RunStatus
from kopeck.billing.selectors import run_fingerprint
from kopeck.billing.services.engine import _to_apply, total_minor
from kopeck.billing.services.reports import run_summary
from kopeck.billing.services.runs import chunk_size
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.subscriptions.batch import LineKey, line_key, subscriptions_bill_batch

# ---------------------------------------------------------------------------------------------
# confirm mode: exclude / include, confirm, reject


def _awaiting(run: BillingRun) -> BillingRun:
    run = BillingRun.objects.get(pk=run.pk)
    if run.status != RunStatus.AWAITING_CONFIRMATION:
        status = {"status": run.status, "label": run.get_status_display()}
        raise Conflict(_("The run is %(status)s, not awaiting confirmation.") % status,
                       errors={"status": [_("Is %(status)s.") % status]})
    return run


def _set_excluded(actor: Actor, run: BillingRun, client: Any, item: Any, line: Any, excluded: bool) -> BillingRun:
    run = _awaiting(run)
    if sum(x is not None for x in (client, item)) != 1:
        raise ValidationFailed(_("Give a client or an item."), errors={"client": [_("Give a client or an item.")]})
    qs = RunItem.objects.filter(run=run)
    if client is not None:
        qs = qs.filter(client_id=getattr(client, "pk", client))
        field = "client"
    else:
        qs = qs.filter(pk=getattr(item, "pk", item))
        field = "item"
    if not qs.exists():
        raise ValidationFailed(_("No such client in the run.") if field == "client" else _("No such item in the run."),
                               errors={field: [_("Not in this run.")]})
    with transaction.atomic():
        if line is not None:
            if client is not None:
                raise ValidationFailed(_("A line is chosen within an item."), errors={"line": [_("Give an item.")]})
            target = qs.select_for_update().get()
            key = _clean_line(target, line)
            keys = [k for k in ((str(c), str(d)) for c, d in target.excluded_lines) if k != key]
            target.excluded_lines = sorted([*keys, key] if excluded else keys)
            target.save(update_fields=["excluded_lines"])
            after: dict[str, Any] = {"item": target.pk, "line": list(key)}
        else:
            ids = list(qs.values_list("pk", flat=True))
            qs.update(excluded=excluded)
            after = {"items": ids}
        audit_record(actor=actor, action="billing_run.exclude" if excluded else "billing_run.include",
                     object_type="billing_run", object_id=run.pk, before=None, after=after)
    return run


def _clean_line(item: RunItem, line: Any) -> LineKey:
    """``line``: a {component, period_start} object or a [component, period start] pair of one of
    the item's lines."""
    if isinstance(line, Mapping):
        key = (str(line.get("component", "")), str(line.get("period_start", "")))
    elif isinstance(line, (list, tuple)) and len(line) == 2:
        key = (str(line[0]), str(line[1]))
    else:
        raise ValidationFailed(_("Give the line as {component, period_start}."),
                               errors={"line": [_("Give component and period_start.")]})
    if key not in {line_key(ln) for ln in item.items if ln.get("kind") != "credit"}:
        raise ValidationFailed(_("The item has no such line."),
                               errors={"line": [_("No line %(component)s from %(start)s in this item.")
                                                % {"component": key[0], "start": key[1]}]})
    return key


def billing_run_exclude(*, actor: Actor, run: BillingRun, client: Any = None, item: Any = None,
                        line: Any = None) -> BillingRun:
    """Exclude from a run awaiting confirmation a client's subscriptions, one subscription's item,
    or one ``line`` of an item (``{"component", "period_start"}``): they are not posted when the run
    is confirmed. An excluded line stays due: a later billing posts it."""
    return _set_excluded(actor, run, client, item, line, True)


def billing_run_include(*, actor: Actor, run: BillingRun, client: Any = None, item: Any = None,
                        line: Any = None) -> BillingRun:
    """Include back what :func:`billing_run_exclude` excluded."""
    return _set_excluded(actor, run, client, item, line, False)


class RunChanged(Conflict):
    """Confirmation refused: the run is not what was reviewed (nothing was applied)."""


def _recheck(actor: Actor, run: BillingRun) -> list[int]:
    """Compute every included subscription again; update the items that differ (marked changed, the
    reviewed lines kept); the ids of the changed subscriptions."""
    changed: list[int] = []
    ids = list(_to_apply(run).order_by("subscription_id").values_list("subscription_id", flat=True))
    for start in range(0, len(ids), chunk_size()):
        part = ids[start:start + chunk_size()]
        fresh = {o.subscription_id: o for o in subscriptions_bill_batch(
            actor=actor, subscription_ids=part, on=run.billing_date, preview=True)}
        for item in _to_apply(run).filter(subscription_id__in=part):
            out = fresh[item.subscription_id]
            status = ItemStatus.ERROR if out.error else ItemStatus.OK
            if (status, out.items) != (item.status, item.items):
                item.previous_items, item.items, item.changed = item.items, out.items, True
                item.status, item.error = status, out.error
                item.amount_minor = total_minor(out.lines)
                valid = {line_key(ln) for ln in out.items}
                item.excluded_lines = [k for k in item.excluded_lines if (str(k[0]), str(k[1])) in valid]
                item.save(update_fields=["previous_items", "items", "changed", "status", "error", "amount_minor",
                                         "excluded_lines"])
                changed.append(item.subscription_id)
    return sorted(changed)


def _confirm(actor: Actor, run: BillingRun, fingerprint: str) -> BillingRun:
    run = _awaiting(run)
    if fingerprint != run_fingerprint(run):
        raise RunChanged("The run changed since it was reviewed (another exclusion or a recomputation): "
                         "review it again.", errors={"fingerprint": ["Does not match the run."]})
    changed = _recheck(actor, run)
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
        raise Conflict(_("The run is no longer awaiting confirmation."), errors={"status": [_("Changed.")]})
    run.refresh_from_db()
    audit_record(actor=actor, action="billing_run.confirm", object_type="billing_run", object_id=run.pk,
                 before=None, after={"fingerprint": fingerprint})
    return run


def billing_run_reject(*, actor: Actor, run: BillingRun) -> BillingRun:
    """Reject a run awaiting confirmation: nothing is posted, the run is kept as rejected."""
    run = _awaiting(run)
    updated = BillingRun.objects.filter(pk=run.pk, status=RunStatus.AWAITING_CONFIRMATION).update(
        status=RunStatus.REJECTED, decided_by=str(actor)[:200], decided_at=clock.now(), finished_at=clock.now())
    if not updated:
        raise Conflict(_("The run is no longer awaiting confirmation."), errors={"status": [_("Changed.")]})
    run.refresh_from_db()
    audit_record(actor=actor, action="billing_run.reject", object_type="billing_run", object_id=run.pk,
                 before=None, after={"status": run.status})
    return run


