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
from dataclasses import dataclass, field
from typing import Any, Final

from django.conf import settings
from django.db import transaction
from django.utils import translation

from kopeck.common import clock
from kopeck.common.actor import Actor, ActorKind
from kopeck.common.bulk import insert_rows
from kopeck.common.errors import KopeckError
from kopeck.events.models import Event
from kopeck.events.services import caused_by
from kopeck.rules import actions as rule_actions
from kopeck.rules.cel_fast import compile_plan
from kopeck.rules.conditions import (
    VARIABLES,
    Condition,
    ConditionError,
    Reads,
    compile_condition,
    merge_reads,
    project,
)
from kopeck.rules.context import BatchData, event_view, load_batch, subscription_id_of
from kopeck.rules.models import ExecutionStatus, Rule, RuleExecution
from kopeck.rules.said import Said, said_of

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


RULE_FIELDS: Final = ("id", "revision", "name", "triggers", "condition", "actions", "stop_processing")
_enabled: tuple[tuple[Any, ...], list[CompiledRule]] | None = None


def enabled_rules() -> list[CompiledRule]:
    """The enabled rules in the order they run, compiled (once per revision). One query of plain
    values per batch; the compiled list is kept while the rows read are the same."""
    global _enabled
    rows = tuple(Rule.objects.filter(is_enabled=True).order_by("priority", "id").values_list(*RULE_FIELDS))
    if _enabled is not None and _enabled[0] == rows:
        return _enabled[1]
    rules = [build_rule(Rule(pk=pk, revision=revision, name=name, triggers=triggers, condition=condition,
                             actions=actions, stop_processing=stop))
             for pk, revision, name, triggers, condition, actions, stop in rows]
    _enabled = (rows, rules)
    return rules


@dataclass(frozen=True)
class Plan:
    """What runs for one event type: its rules in order, the one CEL program giving all their
    conditions (None: one by one), the parts of the context the conditions read, and the
    conditions compiled to Python (:mod:`kopeck.rules.cel_fast`), per event type."""

    rules: tuple[CompiledRule, ...]
    program: Any | None
    reads: Reads
    fast: dict[str, FastPlan] = field(default_factory=dict, compare=False)

    def fast_for(self, event_type: str) -> FastPlan:
        """The conditions as one Python function for ``event_type`` (``event.type`` is a constant
        there), built once; the conditions it leaves to the interpreter have their own CEL program."""
        found = self.fast.get(event_type)
        if found is None:
            sources = [r.condition.source if r.condition is not None else "\0" for r in self.rules]
            function, static = compile_plan(sources, event_type)
            rest = sorted(static)
            program = None
            if len(rest) > 1 and all(self.rules[i].condition is not None for i in rest):
                import cel

                program = cel.compile("[" + ", ".join(f"({sources[i]})" for i in rest) + "]")
            found = self.fast[event_type] = FastPlan(function, tuple(rest), program)
        return found


@dataclass(frozen=True)
class FastPlan:
    function: Any
    interpreted: tuple[int, ...]  # the indexes of the conditions always left to the interpreter
    program: Any | None  # their combined CEL program (None: one by one)


_plans: dict[tuple[tuple[int, int, str], ...], Plan] = {}


def plan_for(rules: Sequence[CompiledRule]) -> Plan:
    """The :class:`Plan` of ``rules`` — built once per list of rule revisions (a process-wide cache):
    the combined program ``[c1, c2, …]`` (an empty condition is ``true``) gives every condition in
    one call instead of one per rule; it is None when a condition does not compile (each is then
    evaluated alone, and the broken one reports its error)."""
    key = tuple((r.id, r.revision, r.condition.source if r.condition is not None else "\0") for r in rules)
    found = _plans.get(key)
    if found is None:
        needed: Reads | bool = {}
        for rule in rules:
            if rule.condition is not None:
                needed = merge_reads(needed, rule.condition.reads)
        program = None
        if len(rules) > 1 and all(r.condition is not None for r in rules):
            import cel

            sources = [r.condition.source if r.condition is not None else "" for r in rules]
            program = cel.compile("[" + ", ".join(f"({s})" if s else "true" for s in sources) + "]")
        found = Plan(tuple(rules), program, needed if isinstance(needed, dict) else dict.fromkeys(VARIABLES, True))
        if len(_plans) >= 1000:
            _plans.clear()
        _plans[key] = found
    return found


def combined_program(rules: Sequence[CompiledRule]) -> Any | None:
    """The one CEL program giving the list of all ``rules``' conditions (see :func:`plan_for`)."""
    return plan_for(rules).program


def evaluate_all(rules: Sequence[CompiledRule], program: Any | None,
                 cel_context: Any) -> tuple[list[bool | None], dict[int, str]]:
    """Every rule's condition on one event — True, False, or None when it cannot be evaluated (the
    reason under the rule's index) — through the combined program when it gives booleans only;
    otherwise (a condition fails on this data) one by one, so each failure is reported for its rule."""
    if program is not None:
        try:
            values = program.execute(cel_context)
        except Exception:
            values = None
        if isinstance(values, list) and len(values) == len(rules) and set(map(type, values)) <= {bool}:
            return values, {}
    outcomes: list[bool | None] = []
    failures: dict[int, str] = {}
    for index, rule in enumerate(rules):
        outcome, error = evaluate(rule, cel_context)
        outcomes.append(outcome)
        if outcome is None:
            failures[index] = error
    return outcomes, failures


def fast_conditions() -> bool:
    return bool(getattr(settings, "KOPECK_RULES_FAST_CONDITIONS", True))


class Evaluator:
    """The conditions of one plan over a batch. First the Python function of the plan
    (:mod:`kopeck.rules.cel_fast`) on the plain values; the conditions it leaves undecided (outside
    its part of CEL, or failing on this event: the interpreter gives the reason) go to the
    interpreter, whose context holds ``vars`` and ``now`` converted once, then for each event only
    the parts of the event, the client and the subscription that the conditions read."""

    def __init__(self, plan: Plan, batch: BatchData) -> None:
        self.plan = plan
        self.batch = batch
        self.fast = fast_conditions()
        self.depth_limit = max_depth()
        self._cel_context: Any = None
        self._client: object = ()
        reads = plan.reads
        # what the conditions read, and only that, is built for each event (or loaded for the batch)
        self.reads_client, self.reads_subscription = "client" in reads, "subscription" in reads
        self.reads_vars, self.reads_now = "vars" in reads, "now" in reads
        event_reads = reads.get("event")
        self.event_keys: tuple[str, ...] | None = (
            () if event_reads is None else tuple(event_reads) if isinstance(event_reads, dict) else None)

    def _context(self, event: Event, view: Mapping[str, Any] | None) -> Any:
        """The interpreter's context for ``event`` (the projected parts)."""
        reads, batch = self.plan.reads, self.batch
        if self._cel_context is None:
            import cel

            self._cel_context = cel.Context()
            for name in ("vars", "now"):
                if name in reads:
                    value = batch.variables if name == "vars" else batch.now
                    self._cel_context.add_variable(name, project(value, reads[name]))
        cel_context = self._cel_context
        if "event" in reads:
            cel_context.add_variable("event", project(view if view is not None else self.view(event), reads["event"]))
        if "client" in reads and event.client_id != self._client:
            client = batch.clients.get(event.client_id) if event.client_id is not None else None
            cel_context.add_variable("client", project(client, reads["client"]))
            self._client = event.client_id
        if "subscription" in reads:
            sub_id = subscription_id_of(event)
            sub = batch.subscriptions.get(sub_id) if sub_id is not None else None
            cel_context.add_variable("subscription", project(sub, reads["subscription"]))
        return cel_context

    def view(self, event: Event) -> dict[str, Any] | None:
        """The part of the event the conditions read (None: they read none of it)."""
        keys = self.event_keys
        if keys is None:
            return event_view(event)
        return event_view(event, keys) if keys else None

    def outcomes(self, event: Event) -> tuple[list[bool | None], dict[int, str]]:
        rules = self.plan.rules
        if not self.fast:
            return evaluate_all(rules, self.plan.program, self._context(event, None))
        fast = self.plan.fast_for(event.type)
        batch = self.batch
        view = self.view(event)
        client = batch.clients.get(event.client_id) if self.reads_client and event.client_id is not None else None
        sub = None
        if self.reads_subscription:
            sub_id = subscription_id_of(event)
            sub = batch.subscriptions.get(sub_id) if sub_id is not None else None
        values: list[Any] = fast.function(view, client, sub, batch.variables if self.reads_vars else None,
                                          batch.now if self.reads_now else None)
        if values.count(False) == len(values):  # the usual case, found in C: no condition holds
            return values, {}
        undecided = [i for i, value in enumerate(values) if value.__class__ is not bool]
        if not undecided:
            return values, {}
        cel_context = self._context(event, view)
        failures: dict[int, str] = {}
        if fast.interpreted:
            found, errors = evaluate_all([rules[i] for i in fast.interpreted], fast.program, cel_context)
            for i, value in zip(fast.interpreted, found, strict=True):
                values[i] = value
            failures.update({fast.interpreted[k]: error for k, error in errors.items()})
        for i in undecided:
            if fast.interpreted and i in fast.interpreted:
                continue
            values[i], error = evaluate(rules[i], cel_context)
            if values[i] is None:
                failures[i] = error
        return values, failures


def max_depth() -> int:
    return max(int(getattr(settings, "KOPECK_RULES_MAX_DEPTH", 5)), 1)


def evaluate(rule: CompiledRule, cel_context: Any) -> tuple[bool | None, str]:
    """(True/False, "") or (None, why the condition could not be evaluated)."""
    if rule.condition is None:
        return None, rule.condition_error
    try:
        return rule.condition.evaluate(cel_context), ""
    except ConditionError as exc:
        return None, exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)


def _run_actions(rule: CompiledRule, event: Event, ctx: Mapping[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    """Run the rule's actions in order, each in its savepoint. They run in English: a service's refusal
    is translated in the active language, and the log keeps it as English text (what the API shows)
    with that text as the msgid the back office translates — whatever language the dispatcher runs in
    (a worker's is the installation's, KOPECK_LANGUAGE)."""
    with translation.override("en"):
        return _run_actions_in_english(rule, event, ctx)


def _run_actions_in_english(rule: CompiledRule, event: Event,
                            ctx: Mapping[str, Any]) -> tuple[list[dict[str, Any]], bool]:
    results, failed = [], False
    for index, action in enumerate(rule.actions):
        target = rule_actions.target_of(event, ctx, rule.id, index)
        try:
            with transaction.atomic(), caused_by(event):
                detail = rule_actions.run(action, target, rule.actor)
        except (rule_actions.ActionFailed, KopeckError, ValueError) as exc:
            failed = True
            message = exc.detail if isinstance(exc, KopeckError) else str(exc)
            said: dict[str, Any] | None = said_of(exc.args[0] if exc.args else None)
            if isinstance(exc, KopeckError):
                said = {"text": exc.detail, "params": {}, "errors": dict(exc.errors)}
                if exc.errors:
                    message += " " + "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.errors.items())
            results.append({"type": action.get("type"), "status": "failed", "detail": message, "said": said})
        else:
            results.append({"type": action.get("type"), "status": "done", "detail": str(detail),
                            "said": said_of(detail)})
    return results, failed


def run_rules(event: Event, rules: Sequence[CompiledRule], batch: BatchData,
              evaluator: Evaluator | None = None) -> dict[str, Any] | None:
    """Run ``rules`` (already those triggered by the event, in order) for ``event``; the execution's
    fields, or None when no rule is triggered."""
    if not rules:
        return None
    if evaluator is None:
        evaluator = Evaluator(plan_for(rules), batch)
    if event.depth >= evaluator.depth_limit:
        log.warning("event %s (%s) is %s rule actions deep: its rules do not run (loop protection)", event.pk,
                    event.type, event.depth)
        loop = Said("The event was caused by %(depth)s rule actions in a row; the limit is %(limit)s. Its rules "
                    "(%(rules)s) do not run.", depth=event.depth, limit=evaluator.depth_limit,
                    rules=", ".join(f"#{r.id}" for r in rules))
        return {"status": ExecutionStatus.LOOP, "matched": "", "stopped_by": None, "results": [
            {"loop": str(loop), "said": loop.as_json()}]}
    values, failures = evaluator.outcomes(event)
    if not failures and values.count(False) == len(rules):  # no condition holds: nothing runs
        return {"status": ExecutionStatus.NO_MATCH, "matched": "", "stopped_by": None,
                "results": [{"evaluated": len(rules)}]}
    results: list[dict[str, Any]] = []
    matched: list[int] = []
    stopped_by = None
    errors = False
    ctx: dict[str, Any] | None = None  # what the actions see: built when a rule matches
    # false conditions are not logged one by one (``evaluated`` counts them): the log keeps what ran or failed
    for index in [i for i, value in enumerate(values) if value is not False]:
        rule = rules[index]
        if values[index] is None:
            errors = True
            error = failures.get(index, "")
            results.append({"rule": rule.id, "revision": rule.revision, "condition": None, "error": str(error),
                            "said": said_of(error)})
            continue
        matched.append(rule.id)
        if ctx is None:
            ctx = batch.context(event)
        done, failed = _run_actions(rule, event, ctx)
        errors = errors or failed
        results.append({"rule": rule.id, "revision": rule.revision, "condition": True, "actions": done})
        if rule.stop:
            stopped_by = rule.id
            break
    status = ExecutionStatus.ERRORS if errors else ExecutionStatus.MATCHED if matched else ExecutionStatus.NO_MATCH
    evaluated = len(rules) if stopped_by is None else next(n for n, r in enumerate(rules, 1) if r.id == stopped_by)
    results.append({"evaluated": evaluated})
    return {"status": status, "matched": "".join(f",{i}" for i in matched) + ("," if matched else ""),
            "stopped_by": stopped_by, "results": results}


def process_events(events: Sequence[Event]) -> None:
    """The consumer registered with kopeck.events (see kopeck.rules.apps): the enabled rules are
    read once per batch, each event type's plan is built once, the batch's clients, subscriptions and
    variables are loaded in a few queries, and the execution log is written in one statement."""
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
    evaluators = {name: Evaluator(plan_for(found), batch) for name, found in by_type.items() if found}
    now = clock.now()
    rows = []
    for event in triggered:
        execution = run_rules(event, by_type[event.type], batch, evaluators[event.type])
        if execution is not None:
            rows.append((event.pk, event.type, event.client_id, now, str(execution["status"]), execution["matched"],
                         execution["stopped_by"], execution["results"]))
    insert_rows(RuleExecution, ("event_id", "event_type", "client_id", "at", "status", "matched", "stopped_by",
                                "results"), rows, ids=False)
