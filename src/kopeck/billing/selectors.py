"""Readers of billing runs. :func:`run_progress` is the one place the progress of a run (phase,
done / total, percent, rate, seconds left) is computed: the admin's live progress bar and the API
show the same figures."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import Any, NamedTuple

import orjson
from django.db.models import Q, QuerySet

from kopeck.billing.models import BillingRun, ItemStatus, RunItem, RunStatus
from kopeck.clients.models import Client
from kopeck.clients.selectors import client_list
from kopeck.common import clock

LIVE = (RunStatus.PENDING, RunStatus.COMPUTING, RunStatus.APPLYING)
COMPUTING, APPLYING = "computing", "applying"


def run_phase(run: BillingRun) -> str:
    """``applying`` while the run posts (and once it has posted: its last phase), else ``computing``."""
    if run.status == RunStatus.APPLYING:
        return APPLYING
    if run.status not in (RunStatus.PENDING, RunStatus.COMPUTING) and run.apply_total:
        return APPLYING
    return COMPUTING


def run_progress(run: BillingRun) -> dict[str, Any]:
    """The progress of ``run`` at the clock's instant (:func:`kopeck.common.clock.now`):

    * ``status``; ``phase`` — ``computing`` or ``applying``;
    * ``done`` / ``total`` — ``processed`` / ``total`` while computing, ``applied`` / ``apply_total``
      while applying; ``percent`` (0–100, one decimal; an empty phase of a finished run is 100);
    * ``rate`` — subscriptions per second since the phase started: computing since ``started_at``;
      applying a confirmed run since its confirmation (``decided_at``); applying an auto run since
      ``started_at``, counting the computed and the applied subscriptions (both phases ran since);
      up to ``finished_at`` for a finished run; ``None`` before anything was done, and for a run
      that stopped without a finish time (awaiting confirmation);
    * ``seconds_left`` — what is left of the phase at that rate (``None`` when the rate is unknown,
      for a pending run, and for a failed, rejected or cancelled run with work left); 0 when nothing
      is left.
    """
    phase = run_phase(run)
    if phase == APPLYING:
        done, total = run.applied, run.apply_total
        if run.decided_at is not None:  # confirm mode: applying began at the confirmation
            since: dt.datetime | None = run.decided_at
            work = run.applied
        else:
            since, work = run.started_at, run.processed + run.applied
    else:
        done, total = run.processed, run.total
        since, work = run.started_at, run.processed
    live = run.status in LIVE
    end = clock.now() if live else run.finished_at
    rate: float | None = None
    if since is not None and end is not None and work > 0:
        seconds = (end - since).total_seconds()
        if seconds > 0:
            rate = round(work / seconds, 2)
    left = max(total - done, 0)
    seconds_left: float | None
    if left == 0:
        seconds_left = None if run.status == RunStatus.PENDING else 0.0
    elif live and rate:
        seconds_left = round(left / rate, 1)
    else:
        seconds_left = None
    empty = 0.0 if live else 100.0  # an empty phase: nothing done yet, or nothing to do
    percent = round(100 * min(done, total) / total, 1) if total else empty
    return {"status": run.status, "phase": phase, "done": done, "total": total, "percent": percent,
            "rate": rate, "seconds_left": seconds_left}


class RunReview(NamedTuple):
    fingerprint: str
    """A digest of what confirming applies: every item's subscription, status, exclusions and lines.
    The reviewer sends it back with the confirmation."""
    to_post: dict[str, Any]
    """What confirming would post as the run stands now: the included lines (items neither errored
    nor excluded, lines not excluded) — their count and their total by currency (credits
    subtracted). The summary keeps the totals as computed; this follows the exclusions."""


def _row_bytes(row: tuple[Any, ...]) -> bytes:
    try:
        return orjson.dumps(row, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # what orjson refuses (integers beyond 64 bits)
        return json.dumps(row, sort_keys=True, default=str, separators=(",", ":")).encode()


def run_review(run: BillingRun) -> RunReview:
    """The fingerprint and the to-be-posted totals of ``run``, in one pass over its items (a run
    awaiting confirmation may hold a hundred thousand)."""
    digest = hashlib.sha256()
    lines = 0
    totals: dict[str, Decimal] = {}
    for sub_id, status, excluded, excluded_lines, items, currency in RunItem.objects.filter(run=run).order_by(
            "subscription_id").values_list("subscription_id", "status", "excluded", "excluded_lines", "items",
                                           "currency").iterator(chunk_size=500):
        digest.update(_row_bytes((sub_id, status, excluded, excluded_lines, items)))
        digest.update(b"\n")
        if status != ItemStatus.OK or excluded:
            continue
        skipped = {(str(c), str(d)) for c, d in excluded_lines}
        for line in items:
            if (str(line.get("component", "")), str((line.get("period") or {}).get("start", ""))) in skipped:
                continue
            lines += 1
            cur = line.get("currency") or currency
            amount = Decimal(line["amount"])
            totals[cur] = totals.get(cur, Decimal(0)) + (-amount if line.get("kind") == "credit" else amount)
    return RunReview(digest.hexdigest(),
                     {"lines": lines, "totals_by_currency": {c: str(v) for c, v in sorted(totals.items())}})


def run_fingerprint(run: BillingRun) -> str:
    return run_review(run).fingerprint


def run_to_post(run: BillingRun) -> dict[str, Any]:
    return run_review(run).to_post


RUN_ITEM_FILTERS = ("", "charged", "errors", "changed", "excluded")
"""What the run page may show: every client, or those with an item that has lines, an error,
changed since computing, or excluded (wholly or a line)."""


def run_client_ids(run: BillingRun, *, search: str = "", show: str = "") -> QuerySet[Client, int]:
    """The ids of the run's clients (ordered by name) that have items matching ``show`` (one of
    :data:`RUN_ITEM_FILTERS`) and match ``search`` (as in the client list: name, external id, INN)."""
    items = RunItem.objects.filter(run=run)
    if show == "charged":
        items = items.exclude(items=[])
    elif show == "errors":
        items = items.filter(status=ItemStatus.ERROR)
    elif show == "changed":
        items = items.filter(changed=True)
    elif show == "excluded":
        items = items.filter(Q(excluded=True) | ~Q(excluded_lines=[]))
    term = search.strip()
    clients = Client.objects.all()
    if term:
        found = Q(pk__in=client_list(search=term).values("pk"))
        clients = clients.filter(found | Q(pk=int(term)) if term.isdigit() else found)
    return clients.filter(pk__in=items.values("client_id")).order_by("name", "pk").values_list("pk", flat=True)
