"""Writes of rules (create, change, delete — each audited) and the rule test (no side effects)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from kopeck.audit.services import audit_record
from kopeck.common import clock
from kopeck.common.actor import Actor
from kopeck.common.errors import NotFound, ValidationFailed
from kopeck.events.catalog import CATALOG
from kopeck.events.models import Event
from kopeck.rules import actions as rule_actions
from kopeck.rules.conditions import ConditionError, compile_condition, context
from kopeck.rules.context import load_batch, plain
from kopeck.rules.engine import build_rule, evaluate
from kopeck.rules.models import Rule
from kopeck.rules.said import told

FIELDS = ("name", "description", "triggers", "condition", "actions", "priority", "stop_processing", "is_enabled")
GROUPS = {name.split(".", 1)[0] for name in CATALOG}
MAX_ACTIONS = 20


def rule_state(rule: Rule) -> dict[str, Any]:
    return {f: getattr(rule, f) for f in FIELDS} | {"revision": rule.revision}


def trigger_problem(trigger: object) -> str | None:
    if not isinstance(trigger, str):
        return _("An event type is text.")
    if trigger in CATALOG or (trigger.endswith(".*") and trigger[:-2] in GROUPS):
        return None
    return _("Unknown event type '%(type)s'.") % {"type": trigger}


def rule_errors(data: Mapping[str, Any]) -> dict[str, list[str]]:
    """Problems of a rule's attributes, keyed by attribute (``actions.2``…)."""
    errors: dict[str, list[str]] = {}
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = [_("This field is required.")]
    elif len(name) > 200:
        errors["name"] = [_("At most 200 characters.")]
    if not isinstance(data.get("description", ""), str):
        errors["description"] = [_("Enter text.")]
    triggers = data.get("triggers")
    if not isinstance(triggers, list) or not triggers:
        errors["triggers"] = [_("Choose at least one event.")]
    else:
        problems = [p for p in (trigger_problem(t) for t in triggers) if p]
        if problems:
            errors["triggers"] = problems
    try:
        compile_condition(data.get("condition", ""))
    except ConditionError as exc:
        # the condition's reason is kept language-neutral (the execution log stores it): told here
        errors["condition"] = [told(exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc))]
    actions = data.get("actions")
    if not isinstance(actions, list) or not actions:
        errors["actions"] = [_("Add at least one action.")]
    elif len(actions) > MAX_ACTIONS:
        errors["actions"] = [ngettext("At most %(count)d action.", "At most %(count)d actions.", MAX_ACTIONS)
                             % {"count": MAX_ACTIONS}]
    else:
        for i, action in enumerate(actions):
            problems = rule_actions.action_problems(action)
            if problems:
                errors[f"actions.{i}"] = problems
    priority = data.get("priority", 100)
    if isinstance(priority, bool) or not isinstance(priority, int) or not -1_000_000 <= priority <= 1_000_000:
        errors["priority"] = [_("A whole number (lower numbers run first).")]
    for flag in ("stop_processing", "is_enabled"):
        if flag in data and not isinstance(data[flag], bool):
            errors[flag] = [_("Must be true or false.")]
    return errors


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    clean = dict(data)
    clean["name"] = str(clean["name"]).strip()
    clean["condition"] = str(clean.get("condition", "") or "").strip()
    clean["triggers"] = list(dict.fromkeys(clean["triggers"]))
    return clean


def rule_create(*, actor: Actor, **data: Any) -> Rule:
    unknown = sorted(k for k in data if k not in FIELDS)
    errors = {k: [_("Unknown attribute.")] for k in unknown}
    errors.update(rule_errors(data))
    if errors:
        raise ValidationFailed(_("The rule is invalid."), errors=errors)
    now = clock.now()
    with transaction.atomic():
        rule = Rule.objects.create(**_clean(data), created_at=now, updated_at=now)
        audit_record(actor=actor, action="rule.create", object_type="rule", object_id=rule.pk, after=rule_state(rule))
    return rule


def rule_update(*, actor: Actor, rule: Rule, **changes: Any) -> Rule:
    errors = {k: [_("Unknown attribute.")] for k in changes if k not in FIELDS}
    merged = {f: getattr(rule, f) for f in FIELDS} | changes
    errors.update(rule_errors(merged))
    if errors:
        raise ValidationFailed(_("The rule is invalid."), errors=errors)
    with transaction.atomic():
        obj = Rule.objects.select_for_update().filter(pk=rule.pk).first()
        if obj is None:
            raise NotFound(_("Rule %(id)s does not exist.") % {"id": rule.pk})
        before = rule_state(obj)
        for key, value in _clean({f: getattr(obj, f) for f in FIELDS} | changes).items():
            setattr(obj, key, value)
        if {f: getattr(obj, f) for f in FIELDS} != {f: before[f] for f in FIELDS}:
            obj.revision += 1
            obj.updated_at = clock.now()
            obj.save()
            audit_record(actor=actor, action="rule.update", object_type="rule", object_id=obj.pk, before=before,
                         after=rule_state(obj))
    return obj


def rule_delete(*, actor: Actor, rule: Rule) -> None:
    with transaction.atomic():
        audit_record(actor=actor, action="rule.delete", object_type="rule", object_id=rule.pk,
                     before=rule_state(rule), after=None)
        Rule.objects.filter(pk=rule.pk).delete()


# -- the test button ------------------------------------------------------------------------------


def _hand_written_event(spec: Mapping[str, Any]) -> Event:
    errors: dict[str, list[str]] = {}
    name = spec.get("type")
    kind = CATALOG.get(name) if isinstance(name, str) else None
    if kind is None:
        errors["event.type"] = [_("Choose an event type of the catalog.")]
    data = spec.get("data", {})
    if not isinstance(data, Mapping):
        errors["event.data"] = [_("Must be a JSON object.")]
    client_id = spec.get("client_id")
    if client_id is not None and (isinstance(client_id, bool) or not isinstance(client_id, int)):
        errors["event.client_id"] = [_("Must be a whole number.")]
    subject_id = spec.get("subject_id")
    if subject_id is not None and (isinstance(subject_id, bool) or not isinstance(subject_id, int)):
        errors["event.subject_id"] = [_("Must be a whole number.")]
    if errors or kind is None:
        raise ValidationFailed(_("The test event is invalid."), errors=errors)
    if subject_id is None and kind.subject == "client":
        subject_id = client_id
    return Event(pk=None, type=kind.name, version=kind.version, client_id=client_id, sequence=None,
                 subject_type=kind.subject, subject_id=subject_id, data=dict(data), occurred_at=clock.now(),
                 depth=0)


def rule_test(*, actor: Actor, rule: Mapping[str, Any] | Rule, event_id: int | None = None,
              event: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Test a rule (saved, or as a draft of its attributes) against a stored event (``event_id``) or a
    hand-written one (``event``: type, data, client_id, subject_id) — nothing is written: actions are
    described, not done. Returns whether the rule is triggered, what the condition gave (or why it
    failed), what each action would do, and the data the rule saw."""
    if isinstance(rule, Rule):
        compiled = build_rule(rule)
    else:
        draft = {"name": "test", "actions": [], **dict(rule)}
        errors = {k: v for k, v in rule_errors({**draft, "actions": draft["actions"] or [{"type": "block_client"}]})
                  .items()}
        if errors:
            raise ValidationFailed(_("The rule is invalid."), errors=errors)
        compiled = build_rule(Rule(pk=None, revision=0, name=draft["name"], triggers=draft["triggers"],
                                     condition=draft.get("condition", ""), actions=draft["actions"],
                                     stop_processing=bool(draft.get("stop_processing", False))))
    if (event_id is None) == (event is None):
        raise ValidationFailed(_("Give either event_id or event."), errors={"event": [_("Give either event_id or event.")]})
    if event_id is not None:
        stored = Event.objects.filter(pk=event_id).first()
        if stored is None:
            raise ValidationFailed.field("event_id", _("Event %(id)s does not exist.") % {"id": event_id})
        subject = stored
    else:
        subject = _hand_written_event(event or {})
    batch = load_batch([subject])
    ctx = batch.context(subject)
    result: dict[str, Any] = {"triggered": compiled.triggered_by(subject.type), "condition": None, "error": "",
                              "actions": [], "seen": plain(ctx)}
    outcome, error = evaluate(compiled, context(ctx))
    result["condition"], result["error"] = outcome, error
    if outcome:
        for index, action in enumerate(compiled.actions):
            target = rule_actions.target_of(subject, ctx, compiled.id, index)
            try:  # in English, like the execution log: the API shows English, the back office translates it
                with translation.override("en"), transaction.atomic():
                    detail = rule_actions.describe(action, target, actor)
                    transaction.set_rollback(True)  # a describe writes nothing; this makes sure of it
                result["actions"].append({"type": action.get("type"), "would": detail})
            except Exception as exc:
                message = getattr(exc, "detail", None) or (
                    exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc))
                result["actions"].append({"type": action.get("type"), "problem": message})
    return result
