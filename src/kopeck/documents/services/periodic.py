"""The documents the billing loop issues by itself: a billing run's documents and the monthly acts."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from django.db.models import Max

from kopeck.billing.models import BillingRun, RunItem, RunMode, RunStatus
from kopeck.catalog.models import PlanVersion
from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.configuration.selectors import billing_settings, provider_today, provider_zone
from kopeck.core.calendar import end_of_local_day, start_of_local_day
from kopeck.core.documents import LineSpec, compute_document
from kopeck.core.ledger import LABELS, Operation
from kopeck.core.money import Money
from kopeck.core.vat import VatRate
from kopeck.documents.models import (
    Document,
    DocumentStatus,
    DocumentType,
    LegalEntity,
    MonthlyActs,
    NumberCounter,
    RunDocument,
)
from kopeck.documents.numbering import (
    SEQUENCE_OF_TYPE,
    period_key,
    rule_for,
)
from kopeck.documents.selectors import (
    default_legal_entity,
    document_settings,
)
from kopeck.documents.services.common import ISSUED_STATES, _from_minor, log
from kopeck.documents.services.issuing import _issue_batch, _issue_date
from kopeck.ledger.models import JournalTransaction
from kopeck.subscriptions.models import Subscription

CHUNK = 500
# ---------------------------------------------------------------------------------------------
# the billing hook


def _component_names(spec: Any) -> dict[str, str]:
    spec = spec or {}
    return {str(c.get("code")): str(c.get("name") or c.get("code")) for c in spec.get("components", [])
            if isinstance(c, dict)}


def _charge_lines(item: RunItem, default_rate: str, names_of: Mapping[int, dict[str, str]] | None = None
                  ) -> list[LineSpec]:
    sub = item.subscription
    names = names_of[sub.plan_version_id] if names_of is not None else _component_names(
        getattr(sub.plan_version, "spec", None))
    plan = sub.plan
    product = plan.product.name_ru if plan.product_id else ""
    specs = []
    rate = VatRate.parse(item.vat_rate or default_rate)
    for line in item.items:
        if line.get("kind") == "credit":
            continue
        amount = Money(line["amount"], line.get("currency") or item.currency)
        if not amount.is_positive():
            continue
        period = line.get("period") or {}
        start, end = str(period.get("start") or ""), str(period.get("end") or "")
        last = (dt.date.fromisoformat(end) - dt.timedelta(days=1)).strftime("%d.%m.%Y") if end else ""
        first = dt.date.fromisoformat(start).strftime("%d.%m.%Y") if start else ""
        component = names.get(line.get("component"), line.get("component") or "")
        name = f"{product} «{plan.name_ru}»: {component}" + (f", {first}–{last}" if first else "")
        specs.append(LineSpec(name.strip(), amount, rate, period_start=start, period_end=end))
    return specs


def run_is_applied(run: BillingRun) -> bool:
    """Whether a run posted to the ledger: automatic, or confirmed (not sandbox, not rejected)."""
    if run.mode == RunMode.SANDBOX or run.status in (RunStatus.REJECTED, RunStatus.CANCELLED):
        return False
    if run.mode == RunMode.CONFIRM and run.decided_at is None:
        return False
    if run.mode == RunMode.AUTO and run.status == RunStatus.COMPUTING:
        return True  # an automatic run posts while it computes, chunk by chunk
    return run.status in (RunStatus.APPLYING, RunStatus.COMPLETED, RunStatus.FAILED)


def documents_issue_for_run(*, actor: Actor, run: BillingRun, clients: Sequence[int] | None = None,
                            items: Sequence[RunItem] | None = None, supplementary: bool = False) -> list[Document]:
    """Issue the run's document (DocumentSettings.run_document: invoice, act, УПД, or none) for every
    client with applied items (``applied_at`` set, ledger transactions posted), with one line per
    charge and links to the transactions. Idempotent and resumable: clients that already have the
    run's document are skipped (a unique constraint backs it), chunks of :data:`CHUNK` clients are
    issued in one transaction each (numbers under one counter lock per chunk). No PDF is rendered
    here (the outbox does it). Sandbox, unconfirmed and rejected runs issue nothing; without a
    default legal entity nothing is issued (logged). ``clients``: only these; ``items``: the run's
    items of those clients, already in memory (a run issues each chunk's documents in the chunk's
    transaction, from the items it has just written). ``supplementary`` (with ``items``: the items of
    errored subscriptions just billed on a retry): a client that already has the run's document gets
    a further one (``run_part`` 2, 3…) for these items only; items whose transactions are already
    on a document of the run are left out."""
    run = BillingRun.objects.get(pk=run.pk)
    settings = document_settings()
    if not run_is_applied(run) or settings.run_document == RunDocument.NONE:
        return []
    entity = default_legal_entity()
    if entity is None:
        log.warning("billing run %s: no default legal entity, no documents issued", run.pk)
        return []
    doc_type = str(settings.run_document)
    upd_status = settings.upd_status if doc_type == DocumentType.UPD else None
    issue_date = _run_issue_date(run, doc_type, entity)
    done_qs = Document.objects.filter(run=run, type=doc_type)
    if clients is not None:
        done_qs = done_qs.filter(client_id__in=list(clients))
    parts: dict[int, int] = {}  # the part each client's document takes
    if supplementary:
        if items is None:
            raise ValueError("supplementary documents are issued from the items given")
        parts = {c: n + 1 for c, n in done_qs.values("client_id").annotate(n=Max("run_part"))
                 .values_list("client_id", "n")}
        documented = set(Document.transactions.through.objects.filter(
            document__run=run, document__type=doc_type,
            journaltransaction_id__in=[t for i in items for t in i.transaction_ids])
            .values_list("journaltransaction_id", flat=True))
        items = [i for i in items if not set(i.transaction_ids) <= documented]
        done: set[int] = set()
    else:
        done = set(done_qs.values_list("client_id", flat=True))
    applied = RunItem.objects.filter(run=run, applied_at__isnull=False).exclude(transaction_ids=[])
    if clients is not None:
        applied = applied.filter(client_id__in=list(clients))
    if items is not None:
        client_ids = sorted({i.client_id for i in items if i.applied_at is not None and i.transaction_ids} - done)
    else:
        client_ids = sorted(set(applied.values_list("client_id", flat=True)) - done)
    default_rate = billing_settings().default_vat_rate
    issued: list[Document] = []
    given: dict[int, list[RunItem]] = defaultdict(list)
    if items is not None:
        for item in items:
            if item.applied_at is not None and item.transaction_ids:
                given[item.client_id].append(item)
    memo: dict[Any, Any] = {}  # equal lines (same plan, period, price) are computed once
    # CHUNK clients at a time: memory stays flat however large the run
    for start in range(0, len(client_ids), CHUNK):
        part = client_ids[start:start + CHUNK]
        by_client: dict[int, list[RunItem]] = defaultdict(list)
        if items is not None:
            mine = [i for c in part for i in sorted(given[c], key=lambda i: i.subscription_id)]
            missing = {i.subscription_id for i in mine if not RunItem.subscription.is_cached(i)}
            subs = Subscription.objects.select_related("plan__product").in_bulk(missing) if missing else {}
            people = Client.objects.in_bulk(set(part))
            for item in mine:
                if item.subscription_id in subs:
                    item.subscription = subs[item.subscription_id]
                item.client = people[item.client_id]
                by_client[item.client_id].append(item)
        else:
            for item in (applied.filter(client_id__in=part)
                         .select_related("client", "subscription__plan__product")
                         .order_by("client_id", "subscription_id")):
                by_client[item.client_id].append(item)
        versions = {i.subscription.plan_version_id for its in by_client.values() for i in its}
        names_of = {pk: _component_names(spec) for pk, spec in
                    PlanVersion.objects.filter(pk__in=versions).values_list("pk", "spec")}
        all_ids = [t for its in by_client.values() for i in its for t in i.transaction_ids]
        txn_ops = dict(JournalTransaction.objects.filter(pk__in=all_ids).values_list("pk", "operation"))
        batch = []
        for client_id in part:
            client_items = by_client[client_id]
            specs = [s for item in client_items for s in _charge_lines(item, default_rate, names_of)]
            if not specs:
                continue
            currency = client_items[0].currency
            calc = compute_document(specs, currency=currency, inclusive=True, memo=memo)
            txns = sorted({t for item in client_items for t in item.transaction_ids
                           if txn_ops.get(t) in (Operation.CHARGE, Operation.ONE_OFF_CHARGE)})
            starts = [s.period_start for s in specs if s.period_start]
            ends = [s.period_end for s in specs if s.period_end]
            batch.append({"client": client_items[0].client, "calc": calc, "transactions": txns,
                          "run_part": parts.get(client_id, 1),
                          "period_start": dt.date.fromisoformat(min(starts)) if starts else None,
                          "period_end": (dt.date.fromisoformat(max(ends)) - dt.timedelta(days=1)) if ends else None})
        issued += _issue_batch(actor, doc_type=doc_type, entity=entity, issue_date=issue_date, items=batch,
                               run=run, upd_status=upd_status)
    return issued


def _run_issue_date(run: BillingRun, doc_type: str, entity: LegalEntity) -> dt.date:
    """The run's billing date — unless the sequence already has a document dated later (numbers
    follow the issue dates), as when a past date is billed: then the day of issue (provider-local)."""
    sequence = SEQUENCE_OF_TYPE[doc_type]
    assert sequence is not None
    rule = rule_for(sequence, entity)
    latest = NumberCounter.objects.filter(rule=rule, period_key=period_key(rule.reset, run.billing_date)) \
        .values_list("last_issue_date", flat=True).first()
    if latest is not None and latest > run.billing_date:
        return provider_today()
    return run.billing_date


# ---------------------------------------------------------------------------------------------
# monthly acts, reconciliation


def _month(value: Any) -> tuple[dt.date, dt.date]:
    if isinstance(value, dt.date):
        first = value.replace(day=1)
    else:
        try:
            first = dt.date.fromisoformat(f"{str(value)[:7]}-01")
        except ValueError as exc:
            raise ValidationFailed.field("month", "Give a month as YYYY-MM (or a date in it).") from exc
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, nxt - dt.timedelta(days=1)


def documents_issue_monthly_acts(*, actor: Actor, month: Any, kind: str = "act",
                                 issue_date: Any = None) -> list[Document]:
    """One act (or УПД) per client for the month's charges (provider-local month) not yet on an act
    or УПД of that kind; one line per charge, linked to its transaction. Dated the month's last day
    (or today while the month runs, or ``issue_date``)."""
    if kind not in (DocumentType.ACT, DocumentType.UPD):
        raise ValidationFailed.field("kind", "Choose act or upd.")
    first, last = _month(month)
    day = _issue_date(issue_date if issue_date is not None else min(last, provider_today()))
    entity = default_legal_entity()
    if entity is None:
        raise Conflict("Add the provider's legal entity first (none is the default).",
                       errors={"legal_entity": ["No default legal entity."]})
    tz = provider_zone()
    taken = Document.transactions.through.objects.filter(
        document__type=kind, document__status__in=[*ISSUED_STATES, DocumentStatus.DRAFT]) \
        .values("journaltransaction_id")
    charges = (JournalTransaction.objects.filter(
        operation__in=[Operation.CHARGE, Operation.ONE_OFF_CHARGE], client__isnull=False,
        recorded_at__gte=start_of_local_day(first, tz), recorded_at__lt=end_of_local_day(last, tz))
        .exclude(pk__in=taken).filter(reversed_by__isnull=True).select_related("client").order_by("client_id", "id"))
    by_client: dict[int, list[JournalTransaction]] = defaultdict(list)
    for txn in charges.iterator(chunk_size=CHUNK):
        by_client[txn.client_id].append(txn)  # type: ignore[index]
    upd_status = document_settings().upd_status if kind == DocumentType.UPD else None
    issued: list[Document] = []
    ids = sorted(by_client)
    for start in range(0, len(ids), CHUNK):
        batch = []
        for client_id in ids[start:start + CHUNK]:
            txns = by_client[client_id]
            currency = txns[0].currency
            specs = [LineSpec(t.reason[:1000] or LABELS[Operation(t.operation)][0], _from_minor(t.amount_minor, currency),
                              VatRate.parse(t.vat_rate or "exempt")) for t in txns if t.currency == currency]
            calc = compute_document(specs, currency=currency, inclusive=True)
            batch.append({"client": txns[0].client, "calc": calc,
                          "transactions": [t.pk for t in txns if t.currency == currency],
                          "period_start": first, "period_end": last})
        issued += _issue_batch(actor, doc_type=kind, entity=entity, issue_date=day, items=batch, run=None,
                               upd_status=upd_status)
    return issued


def documents_monthly_acts_due(*, actor: Actor) -> list[Document]:
    """The periodic job: when the document settings' ``monthly_acts`` is on, issue the acts (or
    УПД) of the month before the provider-local today — every client's charges of that month not on
    such a document yet. Running it again (the job runs several times a day) issues nothing new."""
    kind = document_settings().monthly_acts
    if kind == MonthlyActs.OFF or default_legal_entity() is None:
        return []
    previous = provider_today().replace(day=1) - dt.timedelta(days=1)
    return documents_issue_monthly_acts(actor=actor, month=previous.strftime("%Y-%m"), kind=str(kind))


