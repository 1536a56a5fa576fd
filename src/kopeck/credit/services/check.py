"""The periodic credit check (``kopeck credit check``, the job ``kopeck.credit.check``).

Every client is evaluated in chunks: its credit state (balance, overdue debt, promised credit) and a
**plan** of what should change — a debt to open or close, the ladder's steps now due, automatic blocks
to place or lift, promised payments whose term ended, crossings to announce. The plan is computed
from the database as it is, so running the check again the same day finds nothing to do.

Clients with something to do are processed in small transactions that first **lock their ledger
accounts** (the row every payment locks to post) and then compute the plan again from fresh data: a
payment that committed before the lock is seen; one that arrives later waits for the lock and is
seen by the next check. So a payment is never followed by a block for the debt it paid."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum

from kopeck.clients.models import Client
from kopeck.clients.services import client_tags_of
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.bulk import insert_rows, update_rows
from kopeck.configuration.models import BillingSettings
from kopeck.configuration.selectors import billing_settings, provider_today
from kopeck.core.ledger import AccountRole
from kopeck.core.money import Currency
from kopeck.credit.models import (
    Block,
    BlockReason,
    BlockSource,
    CreditFlag,
    CreditPolicy,
    Debt,
    DebtStatus,
    DunningStep,
    FlagKind,
    Promise,
    PromiseStatus,
    StepAction,
    StepRun,
    StepRunStatus,
)
from kopeck.credit.selectors import ClientKey, CreditState, credit_states, ladder, step_date
from kopeck.credit.services import notices
from kopeck.credit.services.blocks import (
    RUNNING,
    block_lift,
    block_place,
    blocks_lift_automatic_many,
    blocks_place_automatic_many,
    bulk_eligible,
    effects_of,
)
from kopeck.events.services import NewEvent, event_record_many
from kopeck.ledger.models import Account, Posting
from kopeck.subscriptions.models import Subscription
from kopeck.subscriptions.services import subscription_cancel

log = logging.getLogger(__name__)

NOTICE_ACTIONS = (StepAction.REMIND, StepAction.WARN)
ACTOR = Actor.system("credit control")


def decimal_text(minor: int, currency: str) -> str:
    units = Currency.of(currency).minor_units
    return f"{Decimal(minor).scaleb(-units):.{units}f}"


@dataclass(slots=True)
class DebtRow:
    """An open debt as the check reads and writes it (no model instance)."""

    pk: int
    opened_on: dt.date
    due_date: dt.date | None
    limit_crossed_on: dt.date | None


@dataclass(frozen=True, slots=True)
class RunRow:
    """A step run of the open debt: what the plan needs of it."""

    status: str
    action: str


@dataclass
class Facts:
    """What the plan of one client is computed from."""

    state: CreditState
    debt: DebtRow | None
    runs: dict[int, RunRow]  # by step
    auto_blocks: list[Block]
    flags: set[str]
    ending_promises: list[Promise]
    running_subs: set[int]


@dataclass
class Plan:
    open_debt: bool = False
    close_debt: bool = False
    limit_crossed: bool = False
    due_set: bool = False
    runs: list[tuple[DunningStep, str, dt.date]] = field(default_factory=list)
    place_client: bool = False
    place_subs: list[int] = field(default_factory=list)
    terminate: bool = False
    lift: list[Block] = field(default_factory=list)
    flags_add: list[str] = field(default_factory=list)
    flags_remove: list[str] = field(default_factory=list)
    expire: list[Promise] = field(default_factory=list)

    def __bool__(self) -> bool:
        return any((self.open_debt, self.close_debt, self.limit_crossed, self.due_set, self.runs, self.place_client,
                    self.place_subs, self.terminate, self.lift, self.flags_add, self.flags_remove, self.expire))


class LadderDates:
    """The days of the ladder's steps for a debt's anchors (due date, limit crossed, grace days), in
    the order they run — computed once per anchors in a check: the debts of a day share them."""

    def __init__(self, steps: Sequence[DunningStep]) -> None:
        self.steps = steps
        self._known: dict[tuple[dt.date | None, dt.date | None, int], list[tuple[dt.date, DunningStep]]] = {}

    def of(self, debt: DebtRow, grace_days: int) -> list[tuple[dt.date, DunningStep]]:
        key = (debt.due_date, debt.limit_crossed_on, grace_days)
        found = self._known.get(key)
        if found is None:
            found = sorted(((d, st) for st in self.steps if (d := step_date(st, debt, grace_days)) is not None),
                           key=lambda pair: (pair[0], pair[1].offset_days, pair[1].pk))
            self._known[key] = found
        return found


def plan_for(facts: Facts, steps: Sequence[DunningStep], on: dt.date, dates: LadderDates | None = None) -> Plan:
    """What should change for one client on ``on`` — a pure function of the facts (``dates``: the
    ladder's days memoized over a check; same result)."""
    s, plan = facts.state, Plan(expire=list(facts.ending_promises))
    if not s.in_debt:
        plan.close_debt = facts.debt is not None
        plan.lift = list(facts.auto_blocks)
    else:
        debt = facts.debt
        if debt is None:
            plan.open_debt = True
            debt = DebtRow(0, on, s.oldest_due, on if s.below_limit else None)
        else:
            if s.below_limit and debt.limit_crossed_on is None:
                plan.limit_crossed = True
            if debt.due_date is None and s.oldest_due is not None:
                plan.due_set = True
            debt = DebtRow(debt.pk, debt.opened_on, debt.due_date or s.oldest_due,
                           debt.limit_crossed_on or (on if s.below_limit else None))
        done_actions = {r.action for r in facts.runs.values() if r.status == StepRunStatus.DONE}
        if not s.covered:
            dated = (dates or LadderDates(steps)).of(debt, s.policy.grace_days)
            due = [(d, st) for d, st in dated if d <= on and st.pk not in facts.runs]
            notice = [pair for pair in due if pair[1].action in NOTICE_ACTIONS]
            last_notice = notice[-1][1].pk if notice else None
            for day, st in due:
                late = st.action in NOTICE_ACTIONS and st.pk != last_notice
                plan.runs.append((st, StepRunStatus.SKIPPED if late else StepRunStatus.DONE, day))
                if not late:
                    done_actions.add(st.action)
            plan.terminate = any(st.action == StepAction.TERMINATE and status == StepRunStatus.DONE
                                 for st, status, _day in plan.runs)
        want_client = not s.covered and StepAction.BLOCK_CLIENT in done_actions
        want_subs = not s.covered and StepAction.BLOCK_SUBSCRIPTIONS in done_actions
        has_client = any(b.subscription_id is None for b in facts.auto_blocks)
        blocked_subs = {b.subscription_id for b in facts.auto_blocks if b.subscription_id is not None}
        plan.place_client = want_client and not has_client
        if want_subs and not plan.terminate:
            plan.place_subs = sorted(facts.running_subs - blocked_subs)
        plan.lift = [b for b in facts.auto_blocks
                     if (b.subscription_id is None and not want_client)
                     or (b.subscription_id is not None and (not want_subs or b.subscription_id not in facts.running_subs))]
    want_flags: set[str] = set()
    if s.low_balance and not s.in_debt:
        want_flags.add(FlagKind.LOW_BALANCE)
    if s.below_limit:
        want_flags.add(FlagKind.BELOW_LIMIT)
    plan.flags_add = sorted(want_flags - facts.flags)
    plan.flags_remove = sorted(facts.flags - want_flags)
    return plan


# ---------------------------------------------------------------------------------------------
# facts for a list of clients (a handful of queries, each with the ids as one array parameter)


@dataclass(frozen=True, slots=True)
class Ref:
    """A client as the unlocked evaluation reads it: its id and currency, no model instance."""

    pk: int
    currency: str


def _facts(clients: Sequence[ClientKey], on: dt.date, defaults: BillingSettings) -> dict[int, Facts]:
    ids = [c.pk for c in clients]
    states = credit_states(clients, on, defaults=defaults)
    debts = {cid: DebtRow(pk, opened, due, crossed) for pk, cid, opened, due, crossed in Debt.objects.filter(
        client_id__any_of=ids, status=DebtStatus.OPEN).values_list("pk", "client_id", "opened_on", "due_date",
                                                                   "limit_crossed_on")}
    runs: dict[int, dict[int, RunRow]] = defaultdict(dict)
    if debts:
        for debt_id, step_id, status, action in StepRun.objects.filter(
                debt_id__any_of=[d.pk for d in debts.values()]).values_list("debt_id", "step_id", "status", "action"):
            runs[debt_id][step_id] = RunRow(status, action)
    blocks: dict[int, list[Block]] = defaultdict(list)
    for b in Block.objects.filter(client_id__any_of=ids, lifted_at__isnull=True, automatic=True,
                                  source=BlockSource.CREDIT_CONTROL, reason=BlockReason.NON_PAYMENT).order_by("id"):
        blocks[b.client_id].append(b)
    flags: dict[int, set[str]] = defaultdict(set)
    for cid, kind in CreditFlag.objects.filter(client_id__any_of=ids).values_list("client_id", "kind"):
        flags[cid].add(kind)
    ending: dict[int, list[Promise]] = defaultdict(list)
    for p in Promise.objects.filter(client_id__any_of=ids, status=PromiseStatus.ACTIVE, until__lt=on):
        ending[p.client_id].append(p)
    subs: dict[int, set[int]] = defaultdict(set)
    with_blocks = [cid for cid in ids if cid in debts or blocks.get(cid)]
    if with_blocks:
        for cid, sid in Subscription.objects.filter(client_id__any_of=with_blocks, status__in=RUNNING) \
                .values_list("client_id", "pk"):
            subs[cid].add(sid)
    return {cid: Facts(states[cid], debts.get(cid), runs[debts[cid].pk] if cid in debts else {}, blocks[cid],
                       flags[cid], ending[cid], subs[cid]) for cid in ids}


# ---------------------------------------------------------------------------------------------
# applying plans


@dataclass
class Tally:
    clients: int = 0
    changed: int = 0
    debts_opened: int = 0
    debts_closed: int = 0
    steps: int = 0
    notices: int = 0
    blocked: int = 0
    unblocked: int = 0
    promises_ended: int = 0
    errors: int = 0

    def add(self, other: Tally) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def as_dict(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _next_blocking(steps: Sequence[DunningStep], debt: DebtRow, runs: set[int], grace: int) -> dt.date | None:
    days = [d for st in steps if st.pk not in runs and st.action not in NOTICE_ACTIONS
            and (d := step_date(st, debt, grace)) is not None]
    return min(days) if days else None


Mail = tuple[list[str], str, str, str]


@dataclass
class Batch:
    """What a group's clients write together, in a few statements, at the end of its transaction."""

    events: list[NewEvent] = field(default_factory=list)
    step_mails: list[Mail] = field(default_factory=list)  # keyed by a step run made now: new keys
    mails: list[Mail] = field(default_factory=list)
    place: list[tuple[Client, int | None]] = field(default_factory=list)  # (client, debt id)
    runs: list[tuple[int, int, str, str, dt.date, dt.date, dt.datetime]] = field(default_factory=list)
    lift: list[tuple[Block, str]] = field(default_factory=list)
    promises: list[tuple[int, str, dt.date]] = field(default_factory=list)
    debt_anchors: list[tuple[int, dt.date | None, dt.date | None]] = field(default_factory=list)
    debts_paid: list[tuple[int, str, dt.date]] = field(default_factory=list)
    flags_add: list[tuple[int, str, dt.date]] = field(default_factory=list)
    flags_remove: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))


STEP_COMMENT = "Шаг лестницы взыскания"


@dataclass(frozen=True)
class Context:
    """What every client of a group shares."""

    actor: Actor
    on: dt.date
    steps: Sequence[DunningStep]
    effects: Mapping[str, str]
    emails: Mapping[int, list[str]]
    now: dt.datetime


def _apply(ctx: Context, client: Client, facts: Facts, plan: Plan, batch: Batch, tally: Tally) -> None:
    """Collect what the plan of one client writes into ``batch``; only what cannot be written in bulk
    (terminating, blocks that suspend subscriptions) is done here, after the events collected so far."""
    events, on = batch.events, ctx.on
    s = facts.state
    for p in plan.expire:
        ended = PromiseStatus.EXPIRED if s.in_debt else PromiseStatus.KEPT
        batch.promises.append((p.pk, ended, on))
        events.append(NewEvent("promise.expired", client_id=client.pk, data={"promise": {
            "id": p.pk, "amount": decimal_text(p.amount_minor, p.currency), "currency": p.currency,
            "until": p.until.isoformat(), "granted_by": p.granted_by}, "paid": ended == PromiseStatus.KEPT},
            subject_id=p.pk))
        tally.promises_ended += 1
    debt = facts.debt  # opened by the caller in bulk when the plan opened one
    if plan.open_debt:
        tally.debts_opened += 1
    elif debt is not None and (plan.limit_crossed or plan.due_set):
        debt.limit_crossed_on = debt.limit_crossed_on or (on if plan.limit_crossed else None)
        debt.due_date = debt.due_date or s.oldest_due
        batch.debt_anchors.append((debt.pk, debt.limit_crossed_on, debt.due_date))
    if plan.close_debt and debt is not None:
        batch.debts_paid.append((debt.pk, DebtStatus.PAID, on))
        tally.debts_closed += 1
    to = ctx.emails.get(client.pk, [])
    if plan.runs:
        assert debt is not None
        batch.runs += [(debt.pk, st.pk, status, st.action, on, day, ctx.now) for st, status, day in plan.runs]
        ran = {st.pk for st, _s, _d in plan.runs} | set(facts.runs)
        next_day = _next_blocking(ctx.steps, debt, ran, s.policy.grace_days)
        for st, status, _day in plan.runs:
            if status != StepRunStatus.DONE:
                continue
            tally.steps += 1
            events.append(NewEvent("dunning.step_reached", client_id=client.pk, data={
                "step": {"id": st.pk, "action": st.action, "name": st.name, "offset_days": st.offset_days},
                "debt": decimal_text(s.owed_minor, s.currency), "currency": s.currency, "document_id": None,
                "next_step": {"date": next_day.isoformat()} if next_day else None}))
            text = notices.step_notice(client, st.action, s.owed_minor, s.currency, debt.due_date, next_day) \
                if st.notify else None
            if text is not None and to:
                batch.step_mails.append((to, text[0], text[1], f"credit-step-{debt.pk}-{st.pk}"))
                tally.notices += 1
    why = "Долг оплачен" if not s.in_debt else "Обещанный платёж"
    bulk_lift = [b for b in plan.lift if bulk_eligible(b)]
    one_lift = [b for b in plan.lift if not bulk_eligible(b)]
    bulk_place = plan.place_client and bulk_eligible(BlockReason.NON_PAYMENT, ctx.effects)
    batch.lift += [(b, why) for b in bulk_lift]
    if bulk_place:
        batch.place.append((client, debt.pk if debt is not None else None))
    tally.unblocked += len(plan.lift)
    tally.blocked += int(plan.place_client) + len(plan.place_subs)
    rare = plan.terminate or one_lift or (plan.place_client and not bulk_place) or plan.place_subs
    if rare:
        event_record_many(events, actor=ctx.actor)  # the step's event before the blocks it causes
        events.clear()
    debt_obj = Debt.objects.get(pk=debt.pk) if rare and debt is not None else None
    if plan.terminate:
        for sub in Subscription.objects.filter(client=client, status__in=RUNNING).order_by("id"):
            subscription_cancel(actor=ctx.actor, subscription=sub, at_period_end=False)
    for block in one_lift:
        block_lift(actor=ctx.actor, block=block, comment=why)
    if plan.place_client and not bulk_place:
        block_place(actor=ctx.actor, client=client, reason=BlockReason.NON_PAYMENT, automatic=True, debt=debt_obj,
                    source=BlockSource.CREDIT_CONTROL, comment=STEP_COMMENT)
    for sub in (Subscription.objects.filter(pk__in=plan.place_subs).order_by("id") if plan.place_subs else ()):
        block_place(actor=ctx.actor, client=client, subscription=sub, reason=BlockReason.NON_PAYMENT, automatic=True,
                    debt=debt_obj, source=BlockSource.CREDIT_CONTROL, comment=STEP_COMMENT)
    for kind in plan.flags_remove:
        batch.flags_remove[kind].append(client.pk)
    for kind in plan.flags_add:
        batch.flags_add.append((client.pk, kind, on))
        if kind == FlagKind.BELOW_LIMIT:
            events.append(NewEvent("balance.below_credit_limit", client_id=client.pk, data={
                "balance": decimal_text(s.balance_minor, s.currency), "currency": s.currency,
                "credit_limit": decimal_text(s.policy.limit_minor or 0, s.currency)}))
        else:
            threshold = s.policy.low_balance_minor if s.policy.low_balance_minor is not None \
                else (s.daily_cost_minor or 0) * (s.policy.low_balance_days or 0)
            events.append(NewEvent("balance.low", client_id=client.pk, data={
                "balance": decimal_text(s.balance_minor, s.currency), "currency": s.currency,
                "threshold": decimal_text(threshold, s.currency), "days_left": s.days_left}))
            if to:
                subject, body = notices.low_balance_notice(client, s.balance_minor, s.currency, s.days_left)
                batch.mails.append((to, subject, body, f"credit-low-{client.pk}-{on.isoformat()}"))
                tally.notices += 1
    tally.changed += 1


def _open_debts(clients: list[Client], facts: dict[int, Facts], plans: dict[int, Plan], on: dt.date,
                now: dt.datetime) -> None:
    """Open the debts the plans open, in one statement; each client's facts then hold its new debt."""
    opening = [facts[c.pk].state for c in clients if plans[c.pk].open_debt]
    rows = [(s.client_id, s.currency, DebtStatus.OPEN, on, s.oldest_due, on if s.below_limit else None, s.owed_minor,
             now) for s in opening]
    ids = insert_rows(Debt, ("client_id", "currency", "status", "opened_on", "due_date", "limit_crossed_on",
                             "amount_minor", "created_at"), rows)
    for (cid, _cur, _st, _on, due, crossed, _owed, _now), pk in zip(rows, ids, strict=True):
        facts[cid].debt = DebtRow(pk, on, due, crossed)


def _write(ctx: Context, clients: list[Client], batch: Batch) -> None:
    """Write what the group's plans collected: a few statements, whatever the number of clients."""
    update_rows(Promise, ("status", "ended_on"), batch.promises)
    update_rows(Debt, ("limit_crossed_on", "due_date"), batch.debt_anchors)
    update_rows(Debt, ("status", "closed_on"), batch.debts_paid)
    insert_rows(StepRun, ("debt_id", "step_id", "status", "action", "ran_on", "due_on", "created_at"), batch.runs,
                ids=False)
    for kind, ids in sorted(batch.flags_remove.items()):
        CreditFlag.objects.filter(kind=kind, client_id__any_of=ids).delete()
    insert_rows(CreditFlag, ("client_id", "kind", "since"), batch.flags_add, ids=False)
    event_record_many(batch.events, actor=ctx.actor)  # the steps' events before the blocks they cause
    if batch.lift or batch.place:
        by_id = {c.pk: c for c in clients}
        tags = client_tags_of(sorted({b.client_id for b, _w in batch.lift} | {c.pk for c, _d in batch.place}))
        for why in sorted({w for _b, w in batch.lift}):
            blocks_lift_automatic_many(actor=ctx.actor, blocks=[b for b, w in batch.lift if w == why], clients=by_id,
                                       comment=why, tags=tags)
        blocks_place_automatic_many(actor=ctx.actor, items=batch.place, comment=STEP_COMMENT,
                                    effect=ctx.effects[BlockReason.NON_PAYMENT], tags=tags)
    notices.enqueue(batch.step_mails, new=True)
    notices.enqueue(batch.mails)


def _lock_accounts(client_ids: Sequence[int]) -> None:
    """Lock the clients' ledger accounts (the rows a payment locks to post), in id order."""
    list(Account.objects.select_for_update().filter(role=AccountRole.CLIENT, client_id__any_of=client_ids)
         .order_by("pk").values_list("pk", flat=True))


def credit_check_clients(*, actor: Actor = ACTOR, client_ids: list[int], on: dt.date,
                         steps: Sequence[DunningStep] | None = None, defaults: BillingSettings | None = None) -> Tally:
    """Evaluate and apply the plans of these clients in one transaction, under their accounts' locks."""
    steps = list(steps) if steps is not None else ladder()
    defaults = defaults or billing_settings()
    tally = Tally()
    with transaction.atomic():
        ids = sorted(set(client_ids))
        _lock_accounts(ids)
        clients = list(Client.objects.filter(pk__any_of=ids).order_by("pk"))
        facts = _facts(clients, on, defaults)  # fresh, under the locks
        dates = LadderDates(steps)
        plans = {c.pk: plan_for(facts[c.pk], steps, on, dates) for c in clients}
        tally.clients = len(clients)
        changing = [c for c in clients if plans[c.pk]]
        if not changing:
            return tally
        now = clock.now()
        _open_debts(changing, facts, plans, on, now)
        writing = [c.pk for c in changing if plans[c.pk].runs or plans[c.pk].flags_add]
        ctx = Context(actor, on, steps, effects_of(defaults), notices.recipients_of(writing) if writing else {}, now)
        batch = Batch()
        for client in changing:
            _apply(ctx, client, facts[client.pk], plans[client.pk], batch, tally)
        _write(ctx, changing, batch)
    return tally


GROUP = 500  # clients per locked transaction: payments of these clients wait for it (well under a second)


def candidates(defaults: BillingSettings) -> list[int]:
    """The clients the check must look at, by id. Without low-balance thresholds (in the settings or
    any client's policy) a client can need something only if it owes (its balance is below zero) or
    credit control holds something of it (an open debt, an automatic block, a flag, a promise);
    otherwise every client."""
    if defaults.low_balance_amount is not None or defaults.low_balance_days is not None or \
            CreditPolicy.objects.filter(Q(low_balance_amount__isnull=False) | Q(low_balance_days__isnull=False)).exists():
        return list(Client.objects.order_by("pk").values_list("pk", flat=True))
    owing = (Posting.objects.filter(account__role=AccountRole.CLIENT).order_by().values("account__client_id")
             .annotate(total=Sum("amount_minor")).filter(total__gt=0).values_list("account__client_id", flat=True))
    ids = set(owing)
    ids.update(Debt.objects.filter(status=DebtStatus.OPEN).values_list("client_id", flat=True))
    ids.update(Block.objects.filter(lifted_at__isnull=True, automatic=True).values_list("client_id", flat=True))
    ids.update(CreditFlag.objects.values_list("client_id", flat=True))
    ids.update(Promise.objects.filter(status=PromiseStatus.ACTIVE).values_list("client_id", flat=True))
    return sorted(ids)


def chunk_size() -> int:
    return int(getattr(settings, "KOPECK_CREDIT_CHUNK", 1000))


def credit_check(*, actor: Actor = ACTOR, on: dt.date | None = None, client_ids: list[int] | None = None,
                 progress: Any = None) -> dict[str, int]:
    """Run the credit check over every client that may need it (:func:`candidates`; or ``client_ids``)
    on ``on`` (default today): chunks of clients by id are evaluated without locks; those with something to do are processed in small
    locked transactions (:func:`credit_check_clients`). Returns the tally."""
    on = on or provider_today()
    steps, defaults = ladder(), billing_settings()
    total = Tally()
    dates = LadderDates(steps)
    ids = candidates(defaults) if client_ids is None else sorted(set(client_ids))
    size = chunk_size()
    for offset in range(0, len(ids), size):
        clients = [Ref(pk, currency) for pk, currency in Client.objects.filter(pk__any_of=ids[offset:offset + size])
                   .order_by("pk").values_list("pk", "currency")]
        facts = _facts(clients, on, defaults)  # no locks: which clients have something to do
        todo = [c.pk for c in clients if plan_for(facts[c.pk], steps, on, dates)]
        total.clients += len(clients)
        for start in range(0, len(todo), GROUP):
            part = todo[start:start + GROUP]
            try:
                t = credit_check_clients(actor=actor, client_ids=part, on=on, steps=steps, defaults=defaults)
            except Exception:  # one failing group must not stop the others
                log.exception("credit check failed for clients %s", part)
                total.errors += len(part)
                continue
            t.clients = 0
            total.add(t)
        if progress is not None:
            progress(len(clients))
    return total.as_dict()
