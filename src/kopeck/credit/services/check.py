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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum

from kopeck.clients.models import Client
from kopeck.common import clock
from kopeck.common.actor import Actor
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
from kopeck.credit.selectors import CreditState, credit_states, ladder, step_date
from kopeck.credit.services import notices
from kopeck.credit.services.blocks import (
    RUNNING,
    block_lift,
    block_place,
    blocks_lift_automatic_many,
    blocks_place_automatic_many,
    bulk_eligible,
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


@dataclass
class Facts:
    """What the plan of one client is computed from."""

    state: CreditState
    debt: Debt | None
    runs: dict[int, StepRun]
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


def plan_for(facts: Facts, steps: Sequence[DunningStep], on: dt.date) -> Plan:
    """What should change for one client on ``on`` — a pure function of the facts."""
    s, plan = facts.state, Plan(expire=list(facts.ending_promises))
    if not s.in_debt:
        plan.close_debt = facts.debt is not None
        plan.lift = list(facts.auto_blocks)
    else:
        debt = facts.debt
        if debt is None:
            plan.open_debt = True
            debt = Debt(client_id=s.client_id, opened_on=on, due_date=s.oldest_due,
                        limit_crossed_on=on if s.below_limit else None)
        else:
            if s.below_limit and debt.limit_crossed_on is None:
                plan.limit_crossed = True
            if debt.due_date is None and s.oldest_due is not None:
                plan.due_set = True
            debt = Debt(client_id=s.client_id, opened_on=debt.opened_on, due_date=debt.due_date or s.oldest_due,
                        limit_crossed_on=debt.limit_crossed_on or (on if s.below_limit else None))
        done_actions = {r.action for r in facts.runs.values() if r.status == StepRunStatus.DONE}
        if not s.covered:
            due = [(d, st) for st in steps if st.pk not in facts.runs
                   and (d := step_date(st, debt, s.policy.grace_days)) is not None and d <= on]
            due.sort(key=lambda pair: (pair[0], pair[1].offset_days, pair[1].pk))
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
# facts for a list of clients (a handful of queries)


def _facts(clients: list[Client], on: dt.date, defaults: BillingSettings) -> dict[int, Facts]:
    ids = [c.pk for c in clients]
    states = credit_states(clients, on, defaults=defaults)
    debts = {d.client_id: d for d in Debt.objects.filter(client_id__in=ids, status=DebtStatus.OPEN)}
    runs: dict[int, dict[int, StepRun]] = defaultdict(dict)
    if debts:
        for r in StepRun.objects.filter(debt_id__in=[d.pk for d in debts.values()]):
            runs[r.debt_id][r.step_id] = r
    blocks: dict[int, list[Block]] = defaultdict(list)
    for b in Block.objects.filter(client_id__in=ids, lifted_at__isnull=True, automatic=True,
                                  source=BlockSource.CREDIT_CONTROL, reason=BlockReason.NON_PAYMENT).order_by("id"):
        blocks[b.client_id].append(b)
    flags: dict[int, set[str]] = defaultdict(set)
    for cid, kind in CreditFlag.objects.filter(client_id__in=ids).values_list("client_id", "kind"):
        flags[cid].add(kind)
    ending: dict[int, list[Promise]] = defaultdict(list)
    for p in Promise.objects.filter(client_id__in=ids, status=PromiseStatus.ACTIVE, until__lt=on):
        ending[p.client_id].append(p)
    subs: dict[int, set[int]] = defaultdict(set)
    with_blocks = [cid for cid in ids if cid in debts or blocks.get(cid)]
    if with_blocks:
        for cid, sid in Subscription.objects.filter(client_id__in=with_blocks, status__in=RUNNING) \
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


def _next_blocking(steps: Sequence[DunningStep], debt: Debt, runs: set[int], grace: int) -> dt.date | None:
    days = [d for st in steps if st.pk not in runs and st.action not in NOTICE_ACTIONS
            and (d := step_date(st, debt, grace)) is not None]
    return min(days) if days else None


@dataclass
class Batch:
    """What a group's clients do together at the end of its transaction (the bulk path)."""

    events: list[NewEvent] = field(default_factory=list)
    mails: list[tuple[list[str], str, str, str]] = field(default_factory=list)
    place: list[tuple[Client, Debt | None]] = field(default_factory=list)
    runs: list[StepRun] = field(default_factory=list)
    lift: list[tuple[Block, str]] = field(default_factory=list)


STEP_COMMENT = "Шаг лестницы взыскания"


def _apply(client: Client, facts: Facts, plan: Plan, steps: Sequence[DunningStep], on: dt.date, batch: Batch,
           tally: Tally) -> None:
    events, mails = batch.events, batch.mails
    s = facts.state
    now = clock.now()
    for p in plan.expire:
        p.status = PromiseStatus.EXPIRED if s.in_debt else PromiseStatus.KEPT
        p.ended_on = on
        p.save(update_fields=["status", "ended_on"])
        events.append(NewEvent("promise.expired", client_id=client.pk, data={"promise": {
            "id": p.pk, "amount": decimal_text(p.amount_minor, p.currency), "currency": p.currency,
            "until": p.until.isoformat(), "granted_by": p.granted_by}, "paid": p.status == PromiseStatus.KEPT},
            subject_id=p.pk))
        tally.promises_ended += 1
    debt = facts.debt  # opened by the caller in bulk when the plan opened one
    if plan.open_debt:
        tally.debts_opened += 1
    elif debt is not None and (plan.limit_crossed or plan.due_set):
        debt.limit_crossed_on = debt.limit_crossed_on or (on if plan.limit_crossed else None)
        debt.due_date = debt.due_date or s.oldest_due
        debt.save(update_fields=["limit_crossed_on", "due_date"])
    if plan.close_debt and debt is not None:
        debt.status, debt.closed_on = DebtStatus.PAID, on
        debt.save(update_fields=["status", "closed_on"])
        tally.debts_closed += 1
    if plan.runs:
        assert debt is not None
        batch.runs += [StepRun(debt=debt, step=st, status=status, action=st.action, ran_on=on, due_on=day,
                               created_at=now) for st, status, day in plan.runs]
        ran = {st.pk for st, _s, _d in plan.runs} | set(facts.runs)
        next_day = _next_blocking(steps, debt, ran, s.policy.grace_days)
        to = notices.recipients(client)
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
                mails.append((to, text[0], text[1], f"credit-step-{debt.pk}-{st.pk}"))
                tally.notices += 1
    why = "Долг оплачен" if not s.in_debt else "Обещанный платёж"
    bulk_lift = [b for b in plan.lift if bulk_eligible(b)]
    one_lift = [b for b in plan.lift if not bulk_eligible(b)]
    bulk_place = plan.place_client and bulk_eligible(BlockReason.NON_PAYMENT)
    batch.lift += [(b, why) for b in bulk_lift]
    if bulk_place:
        batch.place.append((client, debt))
    tally.unblocked += len(plan.lift)
    tally.blocked += int(plan.place_client) + len(plan.place_subs)
    if plan.terminate or one_lift or (plan.place_client and not bulk_place) or plan.place_subs:
        event_record_many(events, actor=ACTOR)  # the step's event before the blocks it causes
        events.clear()
    if plan.terminate:
        for sub in Subscription.objects.filter(client=client, status__in=RUNNING).order_by("id"):
            subscription_cancel(actor=ACTOR, subscription=sub, at_period_end=False)
    for block in one_lift:
        block_lift(actor=ACTOR, block=block, comment=why)
    if plan.place_client and not bulk_place:
        block_place(actor=ACTOR, client=client, reason=BlockReason.NON_PAYMENT, automatic=True, debt=debt,
                    source=BlockSource.CREDIT_CONTROL, comment=STEP_COMMENT)
    for sub in (Subscription.objects.filter(pk__in=plan.place_subs).order_by("id") if plan.place_subs else ()):
        block_place(actor=ACTOR, client=client, subscription=sub, reason=BlockReason.NON_PAYMENT, automatic=True,
                    debt=debt, source=BlockSource.CREDIT_CONTROL, comment=STEP_COMMENT)
    if plan.flags_remove:
        CreditFlag.objects.filter(client=client, kind__in=plan.flags_remove).delete()
    for kind in plan.flags_add:
        CreditFlag.objects.create(client=client, kind=kind, since=on)
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
            to = notices.recipients(client)
            if to:
                subject, body = notices.low_balance_notice(client, s.balance_minor, s.currency, s.days_left)
                mails.append((to, subject, body, f"credit-low-{client.pk}-{on.isoformat()}"))
                tally.notices += 1
    tally.changed += 1


def _open_debts(clients: list[Client], facts: dict[int, Facts], plans: dict[int, Plan], on: dt.date) -> None:
    """Open the debts the plans open, in one statement; each client's facts then hold its new debt."""
    now = clock.now()
    opening = [c for c in clients if plans[c.pk].open_debt]
    debts = Debt.objects.bulk_create([
        Debt(client=c, currency=(s := facts[c.pk].state).currency, opened_on=on, due_date=s.oldest_due,
             limit_crossed_on=on if s.below_limit else None, amount_minor=s.owed_minor, created_at=now)
        for c in opening])
    for client, debt in zip(opening, debts, strict=True):
        facts[client.pk].debt = debt


def _lock_accounts(clients: Iterable[Client]) -> None:
    """Lock the clients' ledger accounts (the rows a payment locks to post), in id order."""
    by_currency: dict[str, list[int]] = defaultdict(list)
    for c in clients:
        by_currency[c.currency].append(c.pk)
    ids: list[int] = []
    for currency, client_ids in by_currency.items():
        ids += Account.objects.filter(role=AccountRole.CLIENT, currency=currency,
                                      client_id__in=client_ids).values_list("pk", flat=True)
    list(Account.objects.select_for_update().filter(pk__in=ids).order_by("pk").values_list("pk", flat=True))


def credit_check_clients(*, actor: Actor = ACTOR, client_ids: list[int], on: dt.date,
                         steps: Sequence[DunningStep] | None = None, defaults: BillingSettings | None = None) -> Tally:
    """Evaluate and apply the plans of these clients in one transaction, under their accounts' locks."""
    steps = list(steps) if steps is not None else ladder()
    defaults = defaults or billing_settings()
    tally = Tally()
    with transaction.atomic():
        clients = list(Client.objects.filter(pk__in=client_ids).prefetch_related("contacts", "tags")
                       .order_by("pk"))
        _lock_accounts(clients)
        facts = _facts(clients, on, defaults)  # fresh, under the locks
        batch = Batch()
        plans = {c.pk: plan_for(facts[c.pk], steps, on) for c in clients}
        _open_debts(clients, facts, plans, on)
        for client in clients:
            tally.clients += 1
            if plans[client.pk]:
                _apply(client, facts[client.pk], plans[client.pk], steps, on, batch, tally)
        StepRun.objects.bulk_create(batch.runs)
        event_record_many(batch.events, actor=actor)  # the steps' events before the blocks they cause
        by_id = {c.pk: c for c in clients}
        for why in sorted({w for _b, w in batch.lift}):
            blocks_lift_automatic_many(actor=actor, blocks=[b for b, w in batch.lift if w == why], clients=by_id,
                                       comment=why)
        blocks_place_automatic_many(actor=actor, items=batch.place, comment=STEP_COMMENT)
        notices.enqueue(batch.mails)
    return tally


GROUP = 250  # clients per locked transaction: payments of these clients wait for it (well under a second)


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
    ids = candidates(defaults) if client_ids is None else sorted(set(client_ids))
    size = chunk_size()
    for offset in range(0, len(ids), size):
        clients = list(Client.objects.filter(pk__in=ids[offset:offset + size]).order_by("pk"))
        facts = _facts(clients, on, defaults)
        todo = [c.pk for c in clients if plan_for(facts[c.pk], steps, on)]
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
