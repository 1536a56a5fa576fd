"""The rules engine: the consumer of the event log that runs the enabled rules for each event.

For each event, in the order the dispatcher gives them: the enabled rules whose triggers name the
event's type (or its group, ``subscription.*``) run in ascending priority, then id — so the same event
always runs the same rules in the same order. A rule whose condition holds runs its actions in order,
each in a savepoint and as the rule's own actor (``system``, ``rule:<id>``); a failed action is rolled
back and logged, and the next action still runs. A matching rule with "stop processing further rules"
ends the run. Events that the actions cause are recorded one level deeper (``caused_by``); an event at
depth ``KOPECK_RULES_MAX_DEPTH`` (5) runs no rules — the loop protection — and the execution says so.

Conditions are compiled once (a process-wide cache by their text). Every event that triggers at
least one rule gets one :class:`~kopeck.rules.models.RuleExecution` row (written in bulk).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from kopeck.common import clock
from kopeck.common.actor import Actor, ActorKind
from kopeck.common.bulk import insert_rows
from kopeck.common.errors import KopeckError
from kopeck.events.models import Event
from kopeck.events.services import caused_by
from kopeck.rules import actions as rule_actions
from kopeck.rules.conditions import Condition, ConditionError, compile_condition, context
from kopeck.rules.context import BatchData, load_batch
from kopeck.rules.models import ExecutionStatus, Rule, RuleExecution

log = logging.getLogger("kopeck.rules")


@dataclass(frozen=True)
class CompiledRule:
    id: int
    revision: int
    name: str
    triggers: frozenset[str]
    condition: Condition | None
    condition_error: str
    actions: tuple[Mapping[str, Any], ...]
    stop: bool

    def triggered_by(self, event_type: str) -> bool:
        return event_type in self.triggers or f"{event_type.split('.', 1)[0]}.*" in self.triggers

    @property
    def actor(self) -> Actor:
        return Actor(ActorKind.SYSTEM, str(self.id), f"rule:{self.id}")


_programs: dict[str, tuple[Condition | None, str]] = {}
MAX_CACHED = 10_000


def _program(source: str) -> tuple[Condition | None, str]:
    """The compiled condition of ``source`` (compiled once per process; a cache by the text)."""
    found = _programs.get(source)
    if found is None:
        try:
            found = (compile_condition(source), "")
        except ConditionError as exc:
            found = (None, str(exc))
        if len(_programs) >= MAX_CACHED:
            _programs.clear()
        _programs[source] = found
    return found


def build_rule(rule: Rule) -> CompiledRule:
    """``rule`` (saved or not) ready to run; its condition comes from the cache of compiled ones."""
    condition, error = _program(rule.condition or "")
    return CompiledRule(rule.pk or 0, rule.revision, rule.name, frozenset(rule.triggers or []), condition, error,
                        tuple(rule.actions or []), rule.stop_processing)


def enabled_rules() -> list[CompiledRule]:
    """The enabled rules in the order they run, compiled (once per revision)."""
    return [build_rule(rule) for rule in Rule.objects.filter(is_enabled=True).order_by("priority", "id")]


_lists: dict[tuple[str, ...], Any] = {}


def combined_program(rules: Sequence[CompiledRule]) -> Any | None:
    """One CEL program giving the list of all ``rules``' conditions at once (``[c1, c2, …]``; an empty
    condition is ``true``), compiled once per list of conditions — one call per event instead of one
    per rule. None when a condition does not compile (each is then evaluated alone)."""
    if len(rules) < 2 or any(r.condition is None for r in rules):
        return None
    sources = tuple(r.condition.source if r.condition is not None else "" for r in rules)
    program = _lists.get(sources)
    if program is None:
        import cel

        program = cel.compile("[" + ", ".join(f"({s})" if s else "true" for s in sources) + "]")
        if len(_lists) >= 1000:
            _lists.clear()
        _lists[sources] = program
    return program


def evaluate_all(rules: Sequence[CompiledRule], program: Any | None, cel_context: Any) -> list[tuple[bool | None, str]]:
    """Every rule's condition on one event: through the combined program when it gives booleans only;
    otherwise (a condition fails on this data) one by one, so each failure is reported for its rule."""
    if program is not None:
        try:
            values = program.execute(cel_context)
        except Exception:
            values = None
        if isinstance(values, list) and len(values) == len(rules) and all(isinstance(v, bool) for v in values):
            return [(v, "") for v in values]
    return [evaluate(rule, cel_context) for rule in rules]


def max_depth() -> int:
    return max(int(getattr(settings, "KOPECK_RULES_MAX_DEPTH", 5)), 1)


def evaluate(rule: CompiledRule, cel_context: Any) -> tuple[bool | None, str]:
    """(True/False, "") or (None, why the condition could not be evaluated)."""
    if rule.condition is None:
        return None, rule.condition_error
    try:
        return rule.condition.evaluate(cel_context), ""
    except ConditionError as exc:
        return None, str(exc)


def _run_actions(rule: CompiledRule, event: Event, ctx: Mapping[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    results, failed = [], False
    for index, action in enumerate(rule.actions):
        target = rule_actions.target_of(event, ctx, rule.id, index)
        try:
            with transaction.atomic(), caused_by(event):
                detail = rule_actions.run(action, target, rule.actor)
        except (rule_actions.ActionFailed, KopeckError, ValueError) as exc:
            failed = True
            message = exc.detail if isinstance(exc, KopeckError) else str(exc)
            if isinstance(exc, KopeckError) and exc.errors:
                message += " " + "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
            results.append({"type": action.get("type"), "status": "failed", "detail": message})
        else:
            results.append({"type": action.get("type"), "status": "done", "detail": detail})
    return results, failed


def run_rules(event: Event, rules: Sequence[CompiledRule], batch: BatchData,
              program: Any | None = None) -> dict[str, Any] | None:
    """Run ``rules`` (already those triggered by the event, in order) for ``event``; the execution's
    fields, or None when no rule is triggered."""
    if not rules:
        return None
    if event.depth >= max_depth():
        log.warning("event %s (%s) is %s rule actions deep: its rules do not run (loop protection)", event.pk,
                    event.type, event.depth)
        return {"status": ExecutionStatus.LOOP, "matched": "", "stopped_by": None, "results": [
            {"loop": f"The event was caused by {event.depth} rule actions in a row; the limit is {max_depth()}. "
                     f"Its rules ({', '.join(str(r.id) for r in rules)}) do not run."}]}
    ctx = batch.context(event)
    cel_context = context(ctx)
    results: list[dict[str, Any]] = []
    matched: list[int] = []
    stopped_by = None
    errors = False
    outcomes = evaluate_all(rules, program if program is not None else combined_program(rules), cel_context)
    for rule, (outcome, error) in zip(rules, outcomes, strict=True):
        if outcome is None:
            errors = True
            results.append({"rule": rule.id, "revision": rule.revision, "condition": None, "error": error})
            continue
        if not outcome:
            continue  # not logged one by one (``evaluated`` counts them): the log keeps what ran or failed
        matched.append(rule.id)
        done, failed = _run_actions(rule, event, ctx)
        errors = errors or failed
        results.append({"rule": rule.id, "revision": rule.revision, "condition": True, "actions": done})
        if rule.stop:
            stopped_by = rule.id
            break
    status = ExecutionStatus.ERRORS if errors else ExecutionStatus.MATCHED if matched else ExecutionStatus.NO_MATCH
    evaluated = next((n for n, r in enumerate(rules, 1) if r.id == stopped_by), len(rules))
    results.append({"evaluated": evaluated})
    return {"status": status, "matched": "".join(f",{i}" for i in matched) + ("," if matched else ""),
            "stopped_by": stopped_by, "results": results}


def process_events(events: Sequence[Event]) -> None:
    """The consumer registered with kopeck.events (see kopeck.rules.apps)."""
    rules = enabled_rules()
    if not rules:
        return
    by_type: dict[str, list[CompiledRule]] = {}
    triggered = []
    for event in events:
        if event.type not in by_type:
            by_type[event.type] = [r for r in rules if r.triggered_by(event.type)]
        if by_type[event.type]:
            triggered.append(event)
    if not triggered:
        return
    batch = load_batch(triggered)
    programs = {name: combined_program(found) for name, found in by_type.items() if found}
    now = clock.now()
    rows = []
    for event in triggered:
        execution = run_rules(event, by_type[event.type], batch, programs[event.type])
        if execution is not None:
            rows.append((event.pk, event.type, event.client_id, now, execution["status"].value
                         if hasattr(execution["status"], "value") else execution["status"], execution["matched"],
                         execution["stopped_by"], execution["results"]))
    insert_rows(RuleExecution, ("event_id", "event_type", "client_id", "at", "status", "matched", "stopped_by",
                                "results"), rows, ids=False)
