"""Readers of credit control: a client's policy (its overrides over the billing settings' defaults),
its credit state — balance, debt, what is overdue, promised credit — one by one or for a chunk of
clients at once, the daily-cost forecast, blocks and where the client stands on the ladder.

**Debt detection lives here, in :func:`credit_states`.** Until payments allocate money to invoices,
an invoice's unpaid part is read from ``Document.paid_minor`` and bounded by the ledger, oldest first:
what the client owes (minus its balance) beyond the unpaid invoices not yet due is overdue — so a
payment on the ledger clears the debt at once, whether or not it was allocated. When payments'
allocation state is the truth, only ``_invoice_rows`` changes."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from django.db.models import OuterRef, Q, Subquery, Sum

from kopeck.clients.models import Client
from kopeck.configuration.models import BillingSettings
from kopeck.configuration.selectors import billing_settings
from kopeck.core.ledger import AccountRole
from kopeck.core.money import Currency
from kopeck.credit.models import (
    BLOCKING_ACTIONS,
    Block,
    CreditPolicy,
    Debt,
    DebtStatus,
    DunningStep,
    LimitKind,
    Promise,
    PromiseStatus,
    StepAnchor,
    StepRun,
)
from kopeck.documents.models import Document, DocumentStatus, DocumentType
from kopeck.ledger.models import Account, Posting
from kopeck.subscriptions.models import BilledPeriod, SubscriptionStatus

FORECAST_DAYS = 30
_RUNNING = (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIAL, SubscriptionStatus.CANCELLING)


class ClientKey(Protocol):
    """What the credit state needs of a client: a :class:`Client`, or a lighter row with the same two
    attributes (the credit check reads thousands)."""

    @property
    def pk(self) -> Any: ...

    @property
    def currency(self) -> str: ...


def _minor(amount: Decimal | None, currency: str) -> int | None:
    if amount is None:
        return None
    return int((amount * 10 ** Currency.of(currency).minor_units).to_integral_value())


@dataclass(frozen=True)
class Policy:
    """The credit policy in force for a client (amounts in minor units of the client's currency)."""

    mode: str  # prepaid | postpaid
    limit_minor: int | None  # None: no limit
    grace_days: int
    low_balance_minor: int | None
    low_balance_days: int | None


def policy_for(client: ClientKey, override: CreditPolicy | None, defaults: BillingSettings) -> Policy:
    """The client's overrides over the billing settings' defaults. A prepaid client without a limit
    may not go below zero (limit 0); a postpaid one without a limit is dunned by its invoices only."""
    cur = client.currency
    mode = (override.mode if override and override.mode else defaults.credit_mode) or "postpaid"
    if override and override.limit_kind == LimitKind.NONE:
        limit = None
    elif override and override.limit_kind == LimitKind.AMOUNT:
        limit = _minor(override.credit_limit or Decimal(0), cur)
    else:
        limit = _minor(defaults.credit_limit, cur)
    if limit is None and mode == "prepaid":
        limit = 0
    grace = override.grace_days if override and override.grace_days is not None else defaults.credit_grace_days
    low = override.low_balance_amount if override and override.low_balance_amount is not None \
        else defaults.low_balance_amount
    days = override.low_balance_days if override and override.low_balance_days is not None \
        else defaults.low_balance_days
    return Policy(mode, limit, int(grace or 0), _minor(low, cur), days)


@dataclass(frozen=True)
class CreditState:
    """Where a client stands on ``on``. Amounts in minor units of ``currency``; ``balance_minor`` is
    positive when prepaid, negative when the client owes."""

    client_id: int
    currency: str
    on: dt.date
    policy: Policy
    balance_minor: int
    overdue_minor: int  # the part of the debt past an invoice's due date
    oldest_due: dt.date | None  # the due date of the oldest invoice still (partly) unpaid and overdue
    promised_minor: int  # active promised payments
    daily_cost_minor: int | None  # forecast (None: not computed)

    @property
    def owed_minor(self) -> int:
        return max(0, -self.balance_minor)

    @property
    def below_limit(self) -> bool:
        """The balance is below minus the credit limit (promises not counted)."""
        return self.policy.limit_minor is not None and self.owed_minor > self.policy.limit_minor

    @property
    def in_debt(self) -> bool:
        return self.overdue_minor > 0 or self.below_limit

    @property
    def covered(self) -> bool:
        """A promised payment covers the debt: no step blocks anything while it holds."""
        if not self.in_debt or self.promised_minor <= 0:
            return False
        limit_ok = self.policy.limit_minor is None or self.owed_minor <= self.policy.limit_minor + self.promised_minor
        return limit_ok and self.overdue_minor <= self.promised_minor

    @property
    def days_left(self) -> int | None:
        if not self.daily_cost_minor:
            return None
        return max(0, self.balance_minor) // self.daily_cost_minor

    @property
    def low_balance(self) -> bool:
        p = self.policy
        if p.low_balance_minor is not None and self.balance_minor < p.low_balance_minor:
            return True
        days = self.days_left
        return p.low_balance_days is not None and days is not None and days < p.low_balance_days


def balances_minor(clients: Iterable[ClientKey]) -> dict[int, int]:
    """The balance of each client in its own currency (minor units; positive = prepaid)."""
    by_currency: dict[str, list[int]] = defaultdict(list)
    for c in clients:
        by_currency[c.currency].append(c.pk)
    out: dict[int, int] = {}
    # per account, a sum over its own postings (the posting_account_time index): a join of the
    # postings with a thousand accounts led the planner to hash every posting of the ledger
    total = (Posting.objects.filter(account_id=OuterRef("pk")).order_by().values("account_id")
             .annotate(total=Sum("amount_minor")).values("total"))
    for currency, ids in by_currency.items():
        rows = (Account.objects.filter(role=AccountRole.CLIENT, currency=currency, client_id__any_of=ids)
                .annotate(total=Subquery(total)).values_list("client_id", "total"))
        for client_id, amount in rows:
            if client_id is not None:
                out[client_id] = -int(amount or 0)
    return out


def _invoice_rows(client_ids: Sequence[int]) -> Iterable[tuple[int, str, dt.date | None, int]]:
    """(client, currency, due date, unpaid minor) of every issued invoice not fully paid."""
    return (Document.objects.filter(client_id__any_of=client_ids, type=DocumentType.INVOICE,
                                    status__in=(DocumentStatus.ISSUED, DocumentStatus.PARTLY_PAID))
            .filter(amount_minor__gt=0).values_list("client_id", "currency", "due_date", "amount_minor", "paid_minor")
            .iterator(chunk_size=2000))  # type: ignore[return-value]


def daily_costs_minor(clients: Iterable[ClientKey], on: dt.date) -> dict[int, int]:
    """The forecast daily cost of each client: what its running subscriptions cost over the last
    30 days (every billed piece — fixed fees and metered usage — by the days of it inside the window),
    divided by 30, rounded half-up."""
    ids = [c.pk for c in clients]
    start = on - dt.timedelta(days=FORECAST_DAYS)
    totals: dict[int, Decimal] = defaultdict(Decimal)
    rows = (BilledPeriod.objects.filter(subscription__client_id__any_of=ids, subscription__status__in=_RUNNING,
                                        subscription__billing_paused=False, period_end__gt=start,
                                        period_start__lt=on)
            .values_list("subscription__client_id", "period_start", "period_end", "amount_minor", "credited_minor"))
    for client_id, p_start, p_end, amount, credited in rows.iterator(chunk_size=2000):
        days = (p_end - p_start).days
        inside = (min(p_end, on) - max(p_start, start)).days
        if days > 0 and inside > 0:
            totals[client_id] += Decimal(amount - credited) * inside / days
    return {cid: int((total / FORECAST_DAYS).quantize(Decimal(1), rounding="ROUND_HALF_UP"))
            for cid, total in totals.items() if total > 0}


def credit_states(clients: Sequence[ClientKey], on: dt.date, *, defaults: BillingSettings | None = None) -> dict[int, CreditState]:
    """The credit state of each client on ``on`` (a handful of queries for the whole list)."""
    if not clients:
        return {}
    defaults = defaults or billing_settings()
    ids = [c.pk for c in clients]
    overrides = {p.client_id: p for p in CreditPolicy.objects.filter(client_id__any_of=ids)}
    policies = {c.pk: policy_for(c, overrides.get(c.pk), defaults) for c in clients}
    balances = balances_minor(clients)
    currency = {c.pk: c.currency for c in clients}
    overdue_inv: dict[int, list[tuple[dt.date, int]]] = defaultdict(list)
    not_due: dict[int, int] = defaultdict(int)
    for cid, cur, due, amount, paid in _invoice_rows(ids):  # type: ignore[misc]
        if cur != currency[cid]:
            continue
        unpaid = amount - paid
        if unpaid <= 0:
            continue
        if due is not None and due < on:
            overdue_inv[cid].append((due, unpaid))
        else:
            not_due[cid] += unpaid
    promised: dict[int, int] = defaultdict(int)
    for cid, amount in Promise.objects.filter(client_id__any_of=ids, status=PromiseStatus.ACTIVE, until__gte=on) \
            .values_list("client_id", "amount_minor"):
        promised[cid] += amount
    need_forecast = [c for c in clients if policies[c.pk].low_balance_days is not None]
    costs = daily_costs_minor(need_forecast, on) if need_forecast else {}
    out = {}
    for c in clients:
        balance = balances.get(c.pk, 0)
        owed = max(0, -balance)
        overdue_rows = sorted(overdue_inv[c.pk], reverse=True)  # newest first
        overdue = min(max(0, owed - not_due[c.pk]), sum(unpaid for _due, unpaid in overdue_rows))
        out[c.pk] = CreditState(
            client_id=c.pk, currency=c.currency, on=on, policy=policies[c.pk], balance_minor=balance,
            overdue_minor=overdue, oldest_due=_oldest_unpaid(overdue_rows, overdue),
            promised_minor=promised[c.pk],
            daily_cost_minor=costs.get(c.pk) if policies[c.pk].low_balance_days is not None else None)
    return out


def _oldest_unpaid(newest_first: list[tuple[dt.date, int]], overdue: int) -> dt.date | None:
    """The due date of the oldest invoice the overdue amount reaches, paid oldest first: money
    received pays the oldest invoices, so what is overdue is the newest overdue invoices' part."""
    oldest, left = None, overdue
    for due, unpaid in newest_first:
        if left <= 0:
            break
        oldest, left = due, left - unpaid
    return oldest


def credit_state(client: Client, on: dt.date) -> CreditState:
    return credit_states([client], on)[client.pk]


def open_debt(client: Client | int) -> Debt | None:
    return Debt.objects.filter(client=client, status=DebtStatus.OPEN).first()


def holding_blocks(client: Client | int) -> list[Block]:
    """The blocks of the client and its subscriptions that hold now."""
    return list(Block.objects.filter(client=client, lifted_at__isnull=True).order_by("id"))


def client_blocked(client: Client | int) -> bool:
    return Block.objects.filter(client=client, subscription__isnull=True, lifted_at__isnull=True).exists()


def ladder() -> list[DunningStep]:
    return list(DunningStep.objects.filter(is_active=True).order_by("anchor", "offset_days", "id"))


class DebtDates(Protocol):
    """The anchors of a debt's ladder: a :class:`Debt` or a lighter row with the same attributes."""

    @property
    def due_date(self) -> dt.date | None: ...

    @property
    def limit_crossed_on(self) -> dt.date | None: ...


def step_date(step: DunningStep, debt: DebtDates, grace_days: int) -> dt.date | None:
    """The day ``step`` runs for ``debt`` (None: its anchor does not apply to this debt). Grace
    days hold back the steps that block: never before the due date + grace."""
    anchor = debt.due_date if step.anchor == StepAnchor.DUE_DATE else debt.limit_crossed_on
    if anchor is None:
        return None
    day = anchor + dt.timedelta(days=step.offset_days)
    if step.action in BLOCKING_ACTIONS and debt.due_date is not None and step.anchor == StepAnchor.DUE_DATE:
        day = max(day, debt.due_date + dt.timedelta(days=grace_days))
    return day


@dataclass(frozen=True)
class LadderLine:
    step: DunningStep
    date: dt.date | None
    status: str  # done | skipped | next | planned | not_applicable
    ran_on: dt.date | None


def ladder_position(client: Client, on: dt.date, *, steps: list[DunningStep] | None = None) -> list[LadderLine]:
    """Every step of the ladder for the client's open debt: done (when), skipped, the next one and
    those planned after it, with dates — what the client's page shows. Empty without a debt."""
    debt = open_debt(client)
    if debt is None:
        return []
    grace = credit_state(client, on).policy.grace_days
    runs: Mapping[int, StepRun] = {r.step_id: r for r in StepRun.objects.filter(debt=debt)}
    lines: list[LadderLine] = []
    next_given = False
    dated = [(step_date(s, debt, grace), s) for s in (steps if steps is not None else ladder())]
    dated.sort(key=lambda pair: (pair[0] is None, pair[0] or dt.date.max, pair[1].pk))
    for day, step in dated:
        run = runs.get(step.pk)
        if run is not None:
            lines.append(LadderLine(step, day, str(run.status), run.ran_on))
        elif day is None:
            lines.append(LadderLine(step, None, "not_applicable", None))
        else:
            lines.append(LadderLine(step, day, "planned" if next_given else "next", None))
            next_given = True
    return lines


def held_subscriptions_q() -> Q:
    """The subscriptions the billing run leaves out: those of a client, or the subscription itself,
    under a block whose effect pauses billing (with or without proration)."""
    holding = Block.objects.filter(lifted_at__isnull=True, effect__in=("pause", "pause_prorated"))
    return (Q(client_id__in=holding.filter(subscription__isnull=True).values("client_id"))
            | Q(pk__in=holding.filter(subscription__isnull=False).values("subscription_id")))
