"""The actions a rule can take. Each action is a JSON object with a ``type`` and its parameters:

| type | parameters | what it does |
|---|---|---|
| ``notify`` | ``to`` (list: ``"client"`` — the client's e-mail contacts — and/or addresses), ``subject``, ``body`` (templates), ``channel`` (``email``) | queues an e-mail through the outbox |
| ``webhook`` | ``endpoint`` (id) | sends the event to that webhook endpoint (once per endpoint and event) |
| ``block_client`` | ``reason`` (a block reason, default ``non_payment``), ``comment`` (template) | places a block of the client (source "rule"), once per event |
| ``unblock_client`` | ``reason`` (optional), ``comment`` (template) | lifts the client's blocks placed by rules (of that reason) |
| ``add_tag`` / ``remove_tag`` | ``tag`` | adds / removes a tag of the client |
| ``subscription_status`` | ``status``: ``suspended`` (``billing_continues``), ``active`` (resume), ``cancelled`` (``at_period_end``) | changes the event's subscription |
| ``set_client_field`` | ``field`` (code), ``value`` (template) | sets one value of the client's field set |

:func:`action_problems` validates an action when a rule is saved; :func:`describe` says what it would
do (the test button, no side effects); :func:`run` does it (inside a savepoint of the dispatcher's
transaction, as the rule's system actor).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from kopeck.clients.models import Client, ClientFieldDefinition, ClientStatus
from kopeck.clients.services import client_update
from kopeck.common.actor import Actor
from kopeck.credit.models import Block, BlockReason, BlockSource
from kopeck.credit.services import block_lift, block_place
from kopeck.notifications.services import email_enqueue
from kopeck.rules.context import plain, subscription_id_of
from kopeck.rules.said import Said, told
from kopeck.rules.templates import render, template_problems
from kopeck.subscriptions.models import Subscription
from kopeck.subscriptions.services import subscription_cancel, subscription_resume, subscription_suspend

ACTION_TYPES: Final = ("notify", "webhook", "block_client", "unblock_client", "add_tag", "remove_tag",
                       "subscription_status", "set_client_field")
SUBSCRIPTION_STATUSES: Final = ("suspended", "active", "cancelled")


class ActionFailed(Exception):
    """An action could not be done; the message is logged in the rule's execution."""


@dataclass(frozen=True, slots=True)
class Target:
    """What an action acts on: the event and its plain context."""

    event_id: int
    client_id: int | None
    subscription_id: int | None
    context: Mapping[str, Any]
    rule_id: int
    index: int


def _params(action: Mapping[str, Any], allowed: set[str]) -> list[str]:
    extra = sorted(set(action) - allowed - {"type"})
    return [_("Unknown parameter '%(name)s'.") % {"name": extra[0]}] if extra else []


def _template_problems(part: str, source: str) -> list[str]:
    """The problems of the template in the action's parameter ``part``, in the active language (the
    template checks say them language-neutral: a rendering failure is logged)."""
    label = {"subject": pgettext("rule action", "subject"), "body": pgettext("rule action", "body"),
             "comment": pgettext("rule action", "comment"), "value": pgettext("rule action", "value")}[part]
    return [_("%(part)s: %(problem)s") % {"part": label, "problem": told(p)} for p in template_problems(source)]


def action_problems(action: object) -> list[str]:
    """What is wrong with one action (empty: usable), in the active language."""
    if not isinstance(action, Mapping):
        return [_("An action is an object with a type.")]
    kind = action.get("type")
    if kind not in ACTION_TYPES:
        return [_("Choose a type of: %(types)s.") % {"types": ", ".join(ACTION_TYPES)}]
    if kind == "notify":
        problems = _params(action, {"to", "subject", "body", "channel"})
        if action.get("channel", "email") != "email":
            problems.append(_("Only the e-mail channel is available."))
        to = action.get("to")
        if not isinstance(to, list) or not to or not all(isinstance(t, str) for t in to):
            problems.append(_("Give recipients: a list of \"client\" and/or e-mail addresses."))
        else:
            for address in to:
                if address != "client":
                    try:
                        validate_email(address)
                    except DjangoValidationError:
                        problems.append(_("Not an e-mail address: '%(address)s'.") % {"address": address})
        for part in ("subject", "body"):
            value = action.get(part)
            if not isinstance(value, str) or not value.strip():
                problems.append(_("Give the subject.") if part == "subject" else _("Give the body."))
            else:
                problems += _template_problems(part, value)
        return problems
    if kind == "webhook":
        from kopeck.webhooks.models import Endpoint

        problems = _params(action, {"endpoint"})
        endpoint = action.get("endpoint")
        if isinstance(endpoint, bool) or not isinstance(endpoint, int) or not Endpoint.objects.filter(
                pk=endpoint).exists():
            problems.append(_("Give the id of an existing webhook endpoint."))
        return problems
    if kind in ("block_client", "unblock_client"):
        problems = _params(action, {"reason", "comment"})
        if "reason" in action and action["reason"] not in BlockReason.values:
            problems.append(_("Choose a reason of: %(reasons)s.") % {"reasons": ", ".join(BlockReason.values)})
        comment = action.get("comment")
        if comment is not None:
            if not isinstance(comment, str) or len(comment) > 500:
                problems.append(_("The comment is a text of at most 500 characters."))
            else:
                problems += _template_problems("comment", comment)
        return problems
    if kind in ("add_tag", "remove_tag"):
        problems = _params(action, {"tag"})
        tag = action.get("tag")
        if not isinstance(tag, str) or not tag.strip() or len(tag) > 100:
            problems.append(_("A tag is 1 to 100 characters."))
        return problems
    if kind == "subscription_status":
        problems = _params(action, {"status", "billing_continues", "at_period_end"})
        if action.get("status") not in SUBSCRIPTION_STATUSES:
            problems.append(_("Choose a status of: %(statuses)s.") % {"statuses": ", ".join(SUBSCRIPTION_STATUSES)})
        for flag in ("billing_continues", "at_period_end"):
            if flag in action and not isinstance(action[flag], bool):
                problems.append(_("%(flag)s must be true or false.") % {"flag": flag})
        return problems
    problems = _params(action, {"field", "value"})  # set_client_field
    code = action.get("field")
    if not isinstance(code, str) or not ClientFieldDefinition.objects.filter(code=code, is_active=True).exists():
        problems.append(_("Give the code of an active client field."))
    value = action.get("value")
    if not isinstance(value, str):
        problems.append(_("Give the value (text; a template)."))
    else:
        problems += _template_problems("value", value)
    return problems


def _template_context(target: Target) -> dict[str, Any]:
    return dict(plain(dict(target.context)))


def _client(target: Target, *, lock: bool = False) -> Client:
    if target.client_id is None:
        raise ActionFailed(Said("The event belongs to no client."))
    client = Client.objects.filter(pk=target.client_id).first()
    if client is None:
        raise ActionFailed(Said("Client %(client)s does not exist.", client=target.client_id))
    return client


def _subscription(target: Target) -> Subscription:
    if target.subscription_id is None:
        raise ActionFailed(Said("The event is not about a subscription."))
    sub = Subscription.objects.filter(pk=target.subscription_id).first()
    if sub is None:
        raise ActionFailed(Said("Subscription %(subscription)s does not exist.", subscription=target.subscription_id))
    return sub


def _recipients(action: Mapping[str, Any], target: Target) -> list[str]:
    addresses: list[str] = []
    for entry in action["to"]:
        if entry == "client":
            from kopeck.clients.models import Contact, ContactKind

            emails = list(Contact.objects.filter(client_id=target.client_id, kind=ContactKind.EMAIL).order_by("id")
                          .values_list("value", flat=True)) if target.client_id is not None else []
            if not emails:
                raise ActionFailed(Said("The client has no e-mail contact."))
            addresses += emails
        else:
            addresses.append(entry)
    return list(dict.fromkeys(addresses))


def _notify(action: Mapping[str, Any], target: Target, actor: Actor, dry: bool) -> str:
    to = _recipients(action, target)
    ctx = _template_context(target)
    try:
        subject = render(action["subject"], ctx).strip().replace("\n", " ")
        body = render(action["body"], ctx)
    except ValueError as exc:
        raise ActionFailed(str(exc)) from None
    if not dry:
        email_enqueue(to=to, subject=subject, body=body,
                      key=f"rule-{target.rule_id}-event-{target.event_id}-action-{target.index}")
    return Said("E-mail to %(to)s: «%(subject)s»", to=", ".join(to), subject=subject)


def _webhook(action: Mapping[str, Any], target: Target, actor: Actor, dry: bool) -> str:
    from kopeck.webhooks.models import Endpoint
    from kopeck.webhooks.services import delivery_for_event

    endpoint = Endpoint.objects.filter(pk=action["endpoint"]).first()
    if endpoint is None:
        raise ActionFailed(Said("Webhook endpoint %(endpoint)s does not exist.", endpoint=action["endpoint"]))
    if not dry:
        delivery_for_event(endpoint=endpoint, event_id=target.event_id)
    return Said("Webhook to %(url)s", url=endpoint.url)


DEFAULT_BLOCK_REASON: Final = BlockReason.NON_PAYMENT


def _comment(action: Mapping[str, Any], target: Target) -> str:
    try:
        return render(action["comment"], _template_context(target)).strip()[:500] if action.get("comment") else ""
    except ValueError as exc:
        raise ActionFailed(str(exc)) from None


def _block(action: Mapping[str, Any], target: Target, actor: Actor, dry: bool) -> str:
    """A real block of the client (kopeck.credit), source "rule", not automatic: credit control
    does not lift it; an ``unblock_client`` action or the operator does. Once per event: the block
    carries the key of the rule's action for the event, so the event dispatched again (redispatch)
    places nothing; nor does a rule when a rule's block for the same reason holds already."""
    client = _client(target)
    reason = str(action.get("reason") or DEFAULT_BLOCK_REASON)
    key = f"rule-{target.rule_id}-event-{target.event_id}-action-{target.index}" if target.event_id else None
    placed = Block.objects.filter(key=key).first() if key is not None else None
    if placed is not None:
        return Said("Block client %(client)s: placed for this event already (block %(block)s), nothing to do",
                    client=client.pk, block=placed.pk)
    held = Block.objects.filter(client=client, subscription__isnull=True, lifted_at__isnull=True,
                                source=BlockSource.RULE, reason=reason).order_by("id").first()
    if held is not None:
        return Said("Block client %(client)s for «%(block_reason)s»: a rule's block for it holds already (block "
                    "%(block)s), nothing to do", client=client.pk, block_reason=reason, block=held.pk)
    if client.status == ClientStatus.CLOSED:
        raise ActionFailed(Said("Client %(client)s is closed: it cannot be blocked.", client=client.pk))
    comment = _comment(action, target)
    if not dry:
        block_place(actor=actor, client=client, reason=reason, comment=comment, source=BlockSource.RULE, key=key)
    return Said("Block client %(client)s for «%(block_reason)s» (%(client_status)s → %(client_status_to)s)",
                client=client.pk, block_reason=reason, client_status=client.status,
                client_status_to=str(ClientStatus.BLOCKED))


def _unblock(action: Mapping[str, Any], target: Target, actor: Actor, dry: bool) -> str:
    """Lift the client's blocks that rules placed (of ``reason`` when given) — never an operator's,
    an API's or credit control's. The client is active again when no other block holds."""
    client = _client(target)
    holding = Block.objects.filter(client=client, subscription__isnull=True, lifted_at__isnull=True)
    mine = holding.filter(source=BlockSource.RULE)
    if action.get("reason"):
        mine = mine.filter(reason=action["reason"])
    blocks = list(mine.order_by("id"))
    if not blocks:
        return Said("Unblock client %(client)s: no block placed by a rule holds, nothing to do", client=client.pk)
    others = holding.exclude(pk__in=[b.pk for b in blocks]).exists()
    comment = _comment(action, target)
    if not dry:
        for block in blocks:
            block_lift(actor=actor, block=block, comment=comment)
    return Said("Unblock client %(client)s: lift the rules' blocks %(blocks)s (%(client_status)s → "
                "%(client_status_to)s)", client=client.pk, blocks=", ".join(f"#{b.pk}" for b in blocks),
                client_status=client.status,
                client_status_to=str(ClientStatus.BLOCKED if others else ClientStatus.ACTIVE))


def _tag(add: bool) -> Callable[[Mapping[str, Any], Target, Actor, bool], str]:
    def act(action: Mapping[str, Any], target: Target, actor: Actor, dry: bool) -> str:
        client = _client(target)
        tag = action["tag"].strip()
        tags = sorted(t.name for t in client.tags.all())
        if (tag in tags) == add:
            return Said("Tag «%(tag)s» of client %(client)s: present already, nothing to do" if add else
                        "Tag «%(tag)s» of client %(client)s: absent already, nothing to do", tag=tag, client=client.pk)
        new = sorted({*tags, tag}) if add else [t for t in tags if t != tag]
        if not dry:
            client_update(actor=actor, client=client, tags=new)
        return Said("Add tag «%(tag)s» to client %(client)s" if add else "Remove tag «%(tag)s» of client %(client)s",
                    tag=tag, client=client.pk)

    return act


def _subscription_status(action: Mapping[str, Any], target: Target, actor: Actor, dry: bool) -> str:
    sub = _subscription(target)
    status = action["status"]
    key = f"rule-{target.rule_id}-event-{target.event_id}-action-{target.index}"
    if status == "suspended":
        continues = bool(action.get("billing_continues", False))
        result = subscription_suspend(actor=actor, subscription=sub, billing_continues=continues, preview=dry,
                                      idempotency_key=None if dry else key)
    elif status == "active":
        result = subscription_resume(actor=actor, subscription=sub, preview=dry, idempotency_key=None if dry else key)
    else:
        at_end = bool(action.get("at_period_end", True))
        result = subscription_cancel(actor=actor, subscription=sub, at_period_end=at_end, preview=dry,
                                     idempotency_key=None if dry else key)
    return Said("Subscription %(subscription)s: %(sub_status)s → %(sub_status_to)s (on %(date)s)", subscription=sub.pk,
                sub_status=str(sub.status), sub_status_to=str(result.status), date=result.effective_date.isoformat())


def _set_field(action: Mapping[str, Any], target: Target, actor: Actor, dry: bool) -> str:
    client = _client(target)
    code = action["field"]
    if not ClientFieldDefinition.objects.filter(client_type=client.type, code=code, is_active=True).exists():
        raise ActionFailed(Said("The client's type has no active field %(field)s.", field=code))
    try:
        value = render(action["value"], _template_context(target))
    except ValueError as exc:
        raise ActionFailed(str(exc)) from None
    if client.fields.get(code) == value:
        return Said("Field %(field)s of client %(client)s is «%(value)s» already, nothing to do", field=code,
                    client=client.pk, value=value)
    if not dry:
        client_update(actor=actor, client=client, fields={**client.fields, code: value})
    return Said("Set field %(field)s of client %(client)s to «%(value)s»", field=code, client=client.pk, value=value)


RUNNERS: Final[dict[str, Callable[[Mapping[str, Any], Target, Actor, bool], str]]] = {
    "notify": _notify,
    "webhook": _webhook,
    "block_client": _block,
    "unblock_client": _unblock,
    "add_tag": _tag(True),
    "remove_tag": _tag(False),
    "subscription_status": _subscription_status,
    "set_client_field": _set_field,
}


def target_of(event: Any, context: Mapping[str, Any], rule_id: int, index: int) -> Target:
    return Target(event.pk or 0, event.client_id, subscription_id_of(event), context, rule_id, index)


def run(action: Mapping[str, Any], target: Target, actor: Actor) -> str:
    """Do ``action``; what was done. Raises ActionFailed (or a service's KopeckError) when it cannot."""
    return RUNNERS[action["type"]](action, target, actor, False)


def describe(action: Mapping[str, Any], target: Target, actor: Actor) -> str:
    """What ``action`` would do now — nothing is written."""
    return RUNNERS[action["type"]](action, target, actor, True)
