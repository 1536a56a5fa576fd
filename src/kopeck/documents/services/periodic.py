"""The documents the billing loop issues by itself: a billing run's documents and the monthly acts."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from django.db.models import Max
from django.utils.translation import gettext as _

from kopeck.billing.models import BillingRun, RunItem, RunMode, RunStatus
from kopeck.catalog.models import Product
from kopeck.clients.models import Client
from kopeck.common.actor import Actor
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.configuration.selectors import provider_today, provider_zone, vat_policy
from kopeck.core.calendar import end_of_local_day
from kopeck.core.documents import DEFAULT_UNIT, DocumentCalc, LineSpec, compute_document
from kopeck.core.ledger import LABELS, Operation
from kopeck.core.money import Money, from_minor
from kopeck.core.subscriptions import FIXED_PRICE, SETUP_FEE
from kopeck.core.units import okei_code
from kopeck.core.vat import VatPolicy, VatRate, vat_on_top
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
from kopeck.documents.services.common import ISSUED_STATES, log
from kopeck.documents.services.issuing import _issue_batch, _issue_date
from kopeck.ledger.models import JournalTransaction
from kopeck.subscriptions.models import BilledPeriod, Subscription

CHUNK = 500
# ---------------------------------------------------------------------------------------------
# the billing hook


CLOSING = (DocumentType.ACT, DocumentType.UPD)
"""The documents that close a service period: dated no earlier than its last day."""


def _dates(start: dt.date, end: dt.date) -> str:
    """``01.11.2026–30.11.2026`` for a period (end exclusive), or one date for a single day."""
    last = end - dt.timedelta(days=1)
    first_text, last_text = start.strftime("%d.%m.%Y"), last.strftime("%d.%m.%Y")
    return first_text if last <= start else f"{first_text}–{last_text}"


@dataclass(frozen=True, slots=True)
class _DocLine:
    """A charge as a document line: the line, whether its price includes VAT, its service period."""

    spec: LineSpec
    inclusive: bool
    start: dt.date | None
    end: dt.date | None  # exclusive


def _line_name(product: Product, plan_name: str, component: str, start: dt.date, end: dt.date) -> str:
    return f"{product.name_ru} «{plan_name}»: {component}, {_dates(start, end)}"


def _unit(product: Product | None) -> tuple[str, str]:
    """The product's unit and its ОКЕИ code ("—" when the unit has none)."""
    if product is None or not product.unit:
        return DEFAULT_UNIT
    return product.unit, okei_code(product.unit) or "—"


def _doc_line(name: str, price: Money, rate: VatRate, inclusive: bool, unit: tuple[str, str],
              start: dt.date | None = None, end: dt.date | None = None) -> _DocLine:
    return _DocLine(LineSpec(name[:1000], price, rate, unit=unit[0], unit_code=unit[1],
                             period_start=start.isoformat() if start else "",
                             period_end=end.isoformat() if end else ""), inclusive, start, end)


def _charge_lines(item: RunItem, policy: VatPolicy, closing_on: dt.date | None) -> list[_DocLine]:
    """The document lines of a run item's charges: named by the component, in the product's unit,
    priced as the charge was (before VAT on top, or with VAT); ``closing_on``: only the charges whose
    service period has ended by that date (an act or УПД closes periods)."""
    sub = item.subscription
    plan = sub.plan
    product = plan.product
    unit = _unit(product)
    lines = []
    for line in item.lines:
        if line.is_credit or not line.amount.is_positive():
            continue
        if closing_on is not None and line.period.last_day > closing_on:
            continue
        rate = line.vat_rate or policy.rate_for(product.vat_rate)
        name = _line_name(product, plan.name_ru, line.name_ru, line.period.start, line.period.end)
        price = line.amount if line.prices_include_vat else line.price
        lines.append(_doc_line(name, price, rate, line.prices_include_vat, unit, line.period.start, line.period.end))
    return lines


def _calc(lines: Sequence[_DocLine], currency: str, memo: dict[Any, Any] | None = None) -> DocumentCalc:
    """The document of ``lines``: VAT on top when every price is without VAT (as the catalog states
    them), otherwise prices with VAT (a line priced without VAT enters at its gross amount)."""
    inclusive = any(ln.inclusive for ln in lines)
    specs = [ln.spec if ln.inclusive or not inclusive else replace(ln.spec, price=_gross(ln)) for ln in lines]
    return compute_document(specs, currency=currency, inclusive=inclusive, memo=memo)


def _gross(line: _DocLine) -> Money:
    return vat_on_top(line.spec.price, line.spec.rate).gross


def _period(lines: Sequence[_DocLine]) -> tuple[dt.date | None, dt.date | None]:
    """The period a document covers: its lines' first day to last day (``None``: no periods)."""
    starts = [ln.start for ln in lines if ln.start is not None]
    ends = [ln.end for ln in lines if ln.end is not None]
    return (min(starts) if starts else None, max(ends) - dt.timedelta(days=1) if ends else None)


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
    policy = vat_policy()
    closing_on = issue_date if doc_type in CLOSING else None
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
        all_ids = [t for its in by_client.values() for i in its for t in i.transaction_ids]
        charged = set(JournalTransaction.objects.filter(
            pk__in=all_ids, operation__in=[Operation.CHARGE, Operation.ONE_OFF_CHARGE]).values_list("pk", flat=True))
        pieces = _pieces_of(charged) if closing_on is not None else {}
        batch = []
        for client_id in part:
            client_items = by_client[client_id]
            lines = [ln for item in client_items for ln in _charge_lines(item, policy, closing_on)]
            if not lines:
                continue
            txns = sorted({t for item in client_items for t in item.transaction_ids if t in charged})
            if closing_on is not None:  # only the charges of the periods it closes
                txns = [t for t in txns if t in pieces and pieces[t] <= closing_on]
            first, last = _period(lines)
            batch.append({"client": client_items[0].client, "calc": _calc(lines, client_items[0].currency, memo),
                          "transactions": txns, "run_part": parts.get(client_id, 1),
                          "period_start": first, "period_end": last})
        issued += _issue_batch(actor, doc_type=doc_type, entity=entity, issue_date=issue_date, items=batch,
                               run=run, upd_status=upd_status)
    return issued


def _pieces_of(transaction_ids: Iterable[int]) -> dict[int, dt.date]:
    """The last day of the service period each charge (a transaction of a billed piece) is for."""
    return {txn: end - dt.timedelta(days=1) for txn, end in BilledPeriod.objects.filter(
        transaction_id__in=list(transaction_ids)).values_list("transaction_id", "period_end")}


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
            raise ValidationFailed.field("month", _("Give a month as YYYY-MM (or a date in it).")) from exc
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return first, nxt - dt.timedelta(days=1)


def documents_issue_monthly_acts(*, actor: Actor, month: Any, kind: str = "act",
                                 issue_date: Any = None) -> list[Document]:
    """One act (or УПД) per client closing the month (provider-local): dated the month's last day
    (or today while the month runs, or ``issue_date``), with every charge posted by then that is on
    no act or УПД of that kind yet and whose service period has ended by that date — a period that
    ends later waits for the act of the month it ends in (an act is never dated before the last day
    of the period it closes). One line per charge (the product, plan and component, the period; the
    product's unit), linked to its transaction, with the VAT the ledger booked."""
    if kind not in (DocumentType.ACT, DocumentType.UPD):
        raise ValidationFailed.field("kind", _("Choose act or upd."))
    first, last = _month(month)
    day = _issue_date(issue_date if issue_date is not None else min(last, provider_today()))
    entity = default_legal_entity()
    if entity is None:
        raise Conflict(_("Add the provider's legal entity first (none is the default)."),
                       errors={"legal_entity": [_("No default legal entity.")]})
    tz = provider_zone()
    taken = Document.transactions.through.objects.filter(
        document__type=kind, document__status__in=[*ISSUED_STATES, DocumentStatus.DRAFT]) \
        .values("journaltransaction_id")
    charges = (JournalTransaction.objects.filter(
        operation__in=[Operation.CHARGE, Operation.ONE_OFF_CHARGE], client__isnull=False,
        recorded_at__lt=end_of_local_day(min(last, day), tz))
        .exclude(pk__in=taken).filter(reversed_by__isnull=True).select_related("client").order_by("client_id", "id"))
    by_client: dict[int, list[JournalTransaction]] = defaultdict(list)
    for txn in charges.iterator(chunk_size=CHUNK):
        by_client[txn.client_id].append(txn)  # type: ignore[index]
    upd_status = document_settings().upd_status if kind == DocumentType.UPD else None
    policy = vat_policy()
    issued: list[Document] = []
    ids = sorted(by_client)
    for start in range(0, len(ids), CHUNK):
        part = ids[start:start + CHUNK]
        pieces = _billed_pieces([t.pk for c in part for t in by_client[c]])
        batch = []
        for client_id in part:
            txns = [t for t in by_client[client_id] if t.currency == by_client[client_id][0].currency]
            closed = [(t, pieces.get(t.pk)) for t in txns]
            closed = [(t, p) for t, p in closed if p is None or p.period_end - dt.timedelta(days=1) <= day]
            if not closed:
                continue
            lines = [_act_line(t, p, policy) for t, p in closed]
            begin, end = _period(lines)
            if any(ln.start is None for ln in lines):  # charges by hand: the month's too
                begin, end = min(begin or first, first), max(end or day, min(last, day))
            batch.append({"client": txns[0].client, "calc": _calc(lines, txns[0].currency),
                          "transactions": [t.pk for t, _p in closed], "period_start": begin, "period_end": end})
        issued += _issue_batch(actor, doc_type=kind, entity=entity, issue_date=day, items=batch, run=None,
                               upd_status=upd_status)
    return issued


def _billed_pieces(transaction_ids: Sequence[int]) -> dict[int, BilledPeriod]:
    """The billed pieces of these transactions (with the subscription's plan and product)."""
    return {p.transaction_id: p for p in BilledPeriod.objects.filter(transaction_id__in=list(transaction_ids))
            .select_related("subscription__plan__product", "subscription__plan_version")
            if p.transaction_id is not None}


def _component_name(piece: BilledPeriod) -> str:
    """The component's name as billed (kept with the piece), else as its plan version names it."""
    name = (piece.explanation or {}).get("name") or {}
    if name.get("ru"):
        return str(name["ru"])
    for comp in (piece.subscription.plan_version.spec or {}).get("components", []):
        if isinstance(comp, dict) and comp.get("code") == piece.component and comp.get("name"):
            return str(comp["name"])
    return {SETUP_FEE: "Плата за подключение", FIXED_PRICE: "Фиксированная цена"}.get(piece.component, piece.component)


def _act_line(txn: JournalTransaction, piece: BilledPeriod | None, policy: VatPolicy) -> _DocLine:
    """A charge of the ledger as an act's line: its gross amount and the VAT the ledger booked,
    shown without VAT when catalog prices are (the VAT on top comes out the same)."""
    gross = from_minor(txn.amount_minor, txn.currency)
    rate = policy.rate_for(txn.vat_rate)
    price = gross if policy.prices_include_vat else gross - from_minor(txn.vat_minor, txn.currency)
    if piece is None:
        return _doc_line(txn.reason or LABELS[Operation(txn.operation)][0], price, rate, policy.prices_include_vat,
                         DEFAULT_UNIT)
    plan = piece.subscription.plan
    return _doc_line(_line_name(plan.product, plan.name_ru, _component_name(piece), piece.period_start,
                                piece.period_end), price, rate, policy.prices_include_vat, _unit(plan.product),
                     piece.period_start, piece.period_end)


def documents_monthly_acts_due(*, actor: Actor) -> list[Document]:
    """The periodic job: when the document settings' ``monthly_acts`` is on, issue the acts (or
    УПД) of the month before the provider-local today — every client's charges of that month not on
    such a document yet. Running it again (the job runs several times a day) issues nothing new."""
    kind = document_settings().monthly_acts
    if kind == MonthlyActs.OFF or default_legal_entity() is None:
        return []
    previous = provider_today().replace(day=1) - dt.timedelta(days=1)
    return documents_issue_monthly_acts(actor=actor, month=previous.strftime("%Y-%m"), kind=str(kind))


