"""Blocks of clients and subscriptions: placing and lifting, their effect on billing, their events.

A client's status follows its client-level blocks (blocked while any holds). A subscription under
a block is suspended (billing continues or pauses as the block's effect says) and resumed when the
last block holding it is lifted — unless it was suspended before the block, by hand."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from kopeck.audit.services import audit_record, audit_record_many
from kopeck.clients.models import Client, ClientStatus
from kopeck.clients.services import client_block_status_set, clients_block_status_set_many
from kopeck.common import clock
from kopeck.common.actor import Actor, ActorKind
from kopeck.common.bulk import bulk_insert
from kopeck.common.errors import Conflict, ValidationFailed
from kopeck.configuration.models import BillingSettings, BlockEffect
from kopeck.configuration.selectors import billing_settings
from kopeck.credit.models import Block, BlockReason, BlockSource, Debt
from kopeck.events.services import event_record
from kopeck.subscriptions.events import subscription_event_data
from kopeck.subscriptions.models import Subscription, SubscriptionStatus
from kopeck.subscriptions.services import subscription_resume, subscription_suspend

RUNNING = (SubscriptionStatus.ACTIVE, SubscriptionStatus.TRIAL, SubscriptionStatus.CANCELLING)


def effect_of(reason: str) -> str:
    """The billing effect of a block for ``reason`` (billing settings)."""
    return str(getattr(billing_settings(), f"effect_{reason}", BlockEffect.CONTINUE))


def source_of(actor: Actor) -> str:
    if actor.kind == ActorKind.OPERATOR:
        return BlockSource.OPERATOR
    if actor.kind == ActorKind.API_KEY:
        return BlockSource.API
    return BlockSource.CREDIT_CONTROL if actor.label.startswith("credit") else BlockSource.RULE


def _event_block(block: Block) -> dict[str, Any]:
    return {"reason": block.reason, "source": block.source, "block_id": block.pk, "comment": block.comment}


def _holding(**filters: Any) -> Any:
    return Block.objects.filter(lifted_at__isnull=True, **filters)


def _suspend(actor: Actor, sub: Subscription, effect: str) -> bool:
    """Suspend a running subscription for a block; whether it was suspended."""
    if sub.status not in RUNNING:
        return False
    subscription_suspend(actor=actor, subscription=sub, billing_continues=effect != BlockEffect.PAUSE_PRORATED)
    return True


def block_place(*, actor: Actor, client: Client, reason: str, subscription: Subscription | None = None,
                comment: str = "", automatic: bool = False, debt: Debt | None = None,
                source: str | None = None, key: str | None = None) -> Block:
    """Place a block on the client (or on one of its subscriptions). Several blocks may hold at
    once; the first one blocks (client.blocked / subscription.blocked). ``key``: what places it (a
    rule's action for one event, ``rule-<rule>-event-<event>-action-<n>``) — a block placed with
    the same key before is returned as it is, and nothing is written."""
    errors: dict[str, list[str]] = {}
    if reason not in BlockReason.values:
        errors["reason"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(BlockReason.values)}]
    if subscription is not None and subscription.client_id != client.pk:
        errors["subscription"] = [_("The subscription belongs to another client.")]
    if subscription is not None and subscription.status == SubscriptionStatus.ENDED:
        errors["subscription"] = [_("The subscription has ended.")]
    if len(comment or "") > 500:
        errors["comment"] = [_("At most 500 characters.")]
    if source is not None and source not in BlockSource.values:
        errors["source"] = [_("Choose one of: %(choices)s.") % {"choices": ", ".join(BlockSource.values)}]
    if key is not None and not 0 < len(key) <= 200:
        errors["key"] = [_("1 to 200 characters.")]
    if errors:
        raise ValidationFailed(_("The block is invalid."), errors=errors)
    if client.status == ClientStatus.CLOSED:
        raise Conflict(_("A closed client cannot be blocked."), errors={"client": [_("The client is closed.")]})
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=client.pk)
        if key is not None and (placed := Block.objects.filter(key=key).first()) is not None:
            return placed
        effect = effect_of(reason)
        first = not _holding(client=client, subscription=subscription).exists() if subscription is not None \
            else not _holding(client=client, subscription__isnull=True).exists()
        block = Block.objects.create(
            client=client, subscription=subscription, reason=reason, source=source or source_of(actor),
            automatic=automatic, effect=effect, debt=debt, comment=(comment or "").strip(), created_at=clock.now(),
            created_by=actor.label[:200], key=key)
        suspended: list[int] = []
        if subscription is not None:
            sub = Subscription.objects.get(pk=subscription.pk)
            if _suspend(actor, sub, effect):
                suspended.append(sub.pk)
            if first:
                event_record("subscription.blocked", actor=actor, client_id=client.pk, subject_id=sub.pk,
                             data={"subscription": subscription_event_data(Subscription.objects.get(pk=sub.pk)),
                                   **_event_block(block)})
        else:
            if effect == BlockEffect.PAUSE_PRORATED:
                for sub in Subscription.objects.filter(client=client, status__in=RUNNING).order_by("id"):
                    if _suspend(actor, sub, effect):
                        suspended.append(sub.pk)
            client_block_status_set(actor=actor, client=client, blocked=True, block=_event_block(block))
        if suspended:
            block.suspended = suspended
            block.save(update_fields=["suspended"])
        audit_record(actor=actor, action="block.place", object_type="client", object_id=client.pk,
                     after=block_state(block))
    return block


def block_state(block: Block) -> dict[str, Any]:
    return {"block_id": block.pk, "subscription_id": block.subscription_id, "reason": block.reason,
            "source": block.source, "automatic": block.automatic, "effect": block.effect, "comment": block.comment,
            "suspended": list(block.suspended), "lifted": block.lifted_at is not None,
            "lift_comment": block.lift_comment}


def _still_held(sub_id: int, client_id: int) -> bool:
    """Another block still keeps the subscription suspended."""
    return _holding(subscription_id=sub_id).exists() or any(
        sub_id in (b.suspended or []) for b in _holding(client_id=client_id, subscription__isnull=True))


def block_lift(*, actor: Actor, block: Block, comment: str = "") -> Block:
    """Lift one block (by hand — any block —, or credit control — its automatic blocks). The last
    block lifted unblocks (client.unblocked / subscription.unblocked) and resumes what the block
    suspended."""
    if len(comment or "") > 500:
        raise ValidationFailed.field("comment", _("At most 500 characters."))
    with transaction.atomic():
        client = Client.objects.select_for_update().get(pk=block.client_id)
        block = Block.objects.select_for_update().get(pk=block.pk)
        if block.lifted_at is not None:
            raise Conflict(_("The block is lifted already."), errors={"block": [_("Lifted already.")]})
        before = block_state(block)
        block.lifted_at = clock.now()
        block.lifted_by = actor.label[:200]
        block.lift_comment = (comment or "").strip()
        block.save(update_fields=["lifted_at", "lifted_by", "lift_comment"])
        ever = {i for ids in Block.objects.filter(client=client).values_list("suspended", flat=True) for i in ids or []}
        if block.subscription_id is not None:
            touched = {block.subscription_id} & ever
        else:
            touched = set(block.suspended or []) | (ever if block.effect == BlockEffect.PAUSE_PRORATED else set())
        for sub_id in sorted(touched):
            sub = Subscription.objects.filter(pk=sub_id).first()
            if sub is not None and sub.status == SubscriptionStatus.SUSPENDED and not _still_held(sub_id, client.pk):
                subscription_resume(actor=actor, subscription=sub)
        if block.subscription_id is not None:
            if not _holding(subscription_id=block.subscription_id).exists():
                sub = Subscription.objects.get(pk=block.subscription_id)
                event_record("subscription.unblocked", actor=actor, client_id=client.pk, subject_id=sub.pk,
                             data={"subscription": subscription_event_data(sub), **_event_block(block)})
        elif not _holding(client=client, subscription__isnull=True).exists():
            client_block_status_set(actor=actor, client=client, blocked=False, block=_event_block(block))
        audit_record(actor=actor, action="block.lift", object_type="client", object_id=client.pk,
                     before=before, after=block_state(block))
    return block


def effects_of(defaults: BillingSettings) -> dict[str, str]:
    """The billing effect of a block for each reason, from settings read once (bulk callers)."""
    return {reason: str(getattr(defaults, f"effect_{reason}", BlockEffect.CONTINUE)) for reason in BlockReason.values}


def bulk_eligible(block_or_reason: Block | str, effects: Mapping[str, str] | None = None) -> bool:
    """A client-level block that suspends nothing: placed and lifted in bulk by the credit check.
    ``effects``: :func:`effects_of`, when the caller read the settings already."""
    if isinstance(block_or_reason, Block):
        return block_or_reason.subscription_id is None and not block_or_reason.suspended
    effect = effects[block_or_reason] if effects is not None else effect_of(block_or_reason)
    return effect != BlockEffect.PAUSE_PRORATED


def blocks_place_automatic_many(*, actor: Actor, items: list[tuple[Client, int | None]], comment: str,
                                effect: str | None = None, tags: Mapping[int, Iterable[str]] | None = None) -> list[Block]:
    """Credit control's automatic non-payment blocks of many clients at once (the effect suspends no
    subscription — :func:`bulk_eligible`), in the caller's transaction: the same rows, status changes,
    audit entries and events as :func:`block_place` for each. ``items``: (client, its debt's id). ``effect``: the non-payment effect when
    the caller read it already; ``tags``: the clients' tag names (else read per client)."""
    if not items:
        return []
    effect, now = effect or effect_of(BlockReason.NON_PAYMENT), clock.now()
    held = set(_holding(client_id__any_of=[c.pk for c, _d in items], subscription__isnull=True)
               .values_list("client_id", flat=True))
    blocks = [Block(client_id=c.pk, reason=BlockReason.NON_PAYMENT, source=BlockSource.CREDIT_CONTROL, automatic=True,
                    effect=effect, debt_id=d, comment=comment, suspended=[],
                    created_at=now, created_by=actor.label[:200]) for c, d in items]
    bulk_insert(Block, blocks)
    clients_block_status_set_many(actor=actor, changes=[(c, True, _event_block(b)) for (c, _d), b
                                                        in zip(items, blocks, strict=True) if c.pk not in held],
                                  tags=tags)
    audit_record_many(actor=actor, entries=[("block.place", "client", b.client_id, None, block_state(b))
                                            for b in blocks], json_safe=True)
    return blocks


def blocks_lift_automatic_many(*, actor: Actor, blocks: list[Block], clients: Mapping[int, Client], comment: str,
                               tags: Mapping[int, Iterable[str]] | None = None) -> None:
    """Lift many client-level blocks that suspended nothing (:func:`bulk_eligible`) at once, in the
    caller's transaction — as :func:`block_lift` does for each. ``tags``: the clients' tag names."""
    if not blocks:
        return
    now = clock.now()
    ids = [b.pk for b in blocks]
    Block.objects.filter(pk__any_of=ids, lifted_at__isnull=True).update(
        lifted_at=now, lifted_by=actor.label[:200], lift_comment=comment)
    before = {b.pk: block_state(b) for b in blocks}
    for b in blocks:
        b.lifted_at, b.lifted_by, b.lift_comment = now, actor.label[:200], comment
    still = set(_holding(client_id__any_of=[b.client_id for b in blocks], subscription__isnull=True)
                .values_list("client_id", flat=True))
    last: dict[int, Block] = {}
    for b in blocks:
        if b.client_id not in still:
            last[b.client_id] = b
    clients_block_status_set_many(actor=actor, changes=[(clients[cid], False, _event_block(b)) for cid, b in last.items()],
                                  tags=tags)
    audit_record_many(actor=actor, entries=[("block.lift", "client", b.client_id, before[b.pk], block_state(b))
                                            for b in blocks], json_safe=True)
