"""A billing run's scope and its creation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from kopeck.audit.services import audit_record
from kopeck.billing.models import BillingRun, RunMode, RunStatus
from kopeck.billing.ports import billing_holds
from kopeck.catalog.models import Plan
from kopeck.clients.models import Client, Tag
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import ValidationFailed
from kopeck.configuration.selectors import provider_today
from kopeck.subscriptions.models import Subscription
from kopeck.subscriptions.selectors import subscriptions_to_bill


def chunk_size() -> int:
    """About how many subscriptions a chunk holds (``KOPECK_BILLING_CHUNK``, read when used)."""
    return int(settings.KOPECK_BILLING_CHUNK)

SCOPE_KEYS = ("clients", "plans", "tags")

Progress = Callable[[int, int], None]
"""``progress(processed, total)``, called after each chunk."""


# ---------------------------------------------------------------------------------------------
# scope


def _clean_scope(scope: Any, errors: dict[str, list[str]]) -> dict[str, list[Any]]:
    if scope is None:
        scope = {}
    if not isinstance(scope, Mapping):
        errors["scope"] = [_("Give an object with clients, plans and/or tags (empty: all).")]
        return {}
    unknown = sorted(str(k) for k in scope if k not in SCOPE_KEYS)
    if unknown:
        errors["scope"] = [_("Unknown keys: %(keys)s (allowed: %(allowed)s).")
                           % {"keys": ", ".join(unknown), "allowed": ", ".join(SCOPE_KEYS)}]
    clean: dict[str, list[Any]] = {}
    for key in SCOPE_KEYS:
        values = scope.get(key) or []
        if not isinstance(values, (list, tuple)):
            errors[f"scope.{key}"] = [_("Must be a list.")]
            continue
        if key == "clients":
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
                errors["scope.clients"] = [_("Give client ids (integers).")]
                continue
            ids = sorted(set(values))
            missing = sorted(set(ids) - set(Client.objects.filter(pk__in=ids).values_list("pk", flat=True)))
            if missing:
                errors["scope.clients"] = [_("Unknown clients: %(ids)s.") % {"ids": ", ".join(map(str, missing))}]
            clean[key] = ids
        else:
            if not all(isinstance(v, str) and v.strip() for v in values):
                errors[f"scope.{key}"] = [_("Give non-empty names.")]
                continue
            names = sorted({v.strip() for v in values})
            model: type[Plan] | type[Tag] = Plan if key == "plans" else Tag
            field = "code" if key == "plans" else "name"
            known = set(model.objects.filter(**{f"{field}__in": names}).values_list(field, flat=True))
            missing_names = [n for n in names if n not in known]
            if missing_names:
                unknown_names = _("Unknown plans: %(names)s.") if key == "plans" else _("Unknown tags: %(names)s.")
                errors[f"scope.{key}"] = [unknown_names % {"names": ", ".join(missing_names)}]
            clean[key] = names
    return {k: v for k, v in clean.items() if v}


def run_subscriptions(run: BillingRun) -> QuerySet[Subscription]:
    """The subscriptions in the run's scope: not ended, started on or before the billing date, not
    held by a block that pauses billing."""
    qs = subscriptions_to_bill(run.billing_date)
    held = billing_holds()
    if held is not None:  # blocked where the block pauses billing (kopeck.credit)
        qs = qs.exclude(held)
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
            errors["billing_date"] = [_("Give a date YYYY-MM-DD.")]
    if "billing_date" not in errors:
        if isinstance(billing_date, dt.datetime) or not isinstance(billing_date, dt.date):
            errors["billing_date"] = [_("Give a date YYYY-MM-DD.")]
        elif billing_date > (today := provider_today()):
            errors["billing_date"] = [_("Cannot bill ahead of today (%(today)s).") % {"today": today.isoformat()}]
    if mode not in RunMode.values:
        errors["mode"] = [_("Unknown mode %(mode)r (one of %(choices)s).") % {"mode": mode, "choices": ", ".join(RunMode.values)}]
    clean = _clean_scope(scope, errors)
    if errors:
        raise ValidationFailed(_("The billing run is invalid."), errors=errors)
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


