"""Rule conditions compiled to Python functions: the fast path of the rules engine.

The CEL interpreter costs ~1 µs per condition and converts every value it is given; 100 rules made it
most of an event's cost. For each list of conditions (one event type's rules) this module builds
**one** Python function that evaluates them all on plain Python values, with CEL's semantics
(:mod:`kopeck.rules.cel_runtime`):

* the text is parsed by :mod:`kopeck.rules.cel_parse` (only text the interpreter already compiled);
* ``event.type`` is a constant for one event type, so ``event.type == "balance.low" && …`` folds to
  ``false`` for the other types, as do ``false && x``, ``x || true``…;
* a subexpression that several conditions share (``client.tags``, ``double(event.data.balance)``)
  is computed once per event, when first needed;
* ``&&`` and ``||`` absorb an error as the interpreter does (``error && false`` is ``false``); other
  errors, anything outside the supported part of CEL and any value it does not reproduce exactly give
  ``None`` for that condition: the engine then asks the interpreter, which gives the value or the
  error message — so the fast path never decides differently from the interpreter, it only decides
  sooner (a differential test with random expressions and data checks it).

**Safety.** No text of a condition ever reaches Python's compiler: the generated source is made of
this module's own templates only — names, operators and literals of the condition are numbered
(``K[3]`` is the fourth constant, ``t5`` a temporary), which :func:`_check_source` verifies before
compiling — and it runs with no built-ins, seeing only the operations of ``cel_runtime``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Final

from kopeck.rules.cel_parse import Node, Unsupported, parse
from kopeck.rules.cel_runtime import NAMES

PARAMS: Final = {"event": "p_event", "client": "p_client", "subscription": "p_subscription", "vars": "p_vars",
                 "now": "p_now"}
METHODS: Final = {"contains": "contains", "startsWith": "starts_with", "endsWith": "ends_with"}
CONVERSIONS: Final = {"int": "to_int", "double": "to_double", "string": "to_string", "dyn": "dyn"}
COMPARISONS: Final = {"<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
ARITHMETIC: Final = {"+": "add", "-": "sub", "*": "mul", "/": "div", "%": "mod"}
COMPOUND: Final = frozenset({"and", "or", "cond", "macro"})
FAST_INT: Final = 2**62
MAX_DEPTH: Final = 24  # deeper expressions (rare) are left to the interpreter: Python limits nesting
_SAFE_SOURCE: Final = re.compile(r"""(?:[ \n]|[A-Za-z_][A-Za-z_0-9]*|[0-9]+|[\[\](){}:,.=<>!&|*/%+\-])*""")

PlanFunction = Callable[[Any, Any, Any, Any, Any], list[Any]]


class _Unset:
    __slots__ = ()


UNSET: Final = _Unset()


def fold(node: Node, event_type: str | None, shadowed: frozenset[str] = frozenset()) -> Node:
    """``node`` with ``event.type`` replaced by ``event_type`` (when given) and the constant parts
    evaluated: ``"a" == "b"``, ``false && x`` (false whatever x is, as in the interpreter), ``x || true``,
    ``!true``, ``true ? a : b``."""
    kind = node[0]
    if kind == "sel":
        if event_type is not None and node[1] == ("id", "event") and node[2] == "type" and "event" not in shadowed:
            return ("lit", event_type)
        return ("sel", fold(node[1], event_type, shadowed), node[2])
    if kind == "macro":
        return ("macro", node[1], fold(node[2], event_type, shadowed), node[3],
                fold(node[4], event_type, shadowed | {node[3]}))
    if kind in ("lit", "id"):
        return node
    if kind == "call":
        target = fold(node[2], event_type, shadowed) if node[2] is not None else None
        return ("call", node[1], target, tuple(fold(a, event_type, shadowed) for a in node[3]))
    if kind == "list":
        return ("list", tuple(fold(a, event_type, shadowed) for a in node[1]))
    if kind == "map":
        return ("map", tuple((fold(k, event_type, shadowed), fold(v, event_type, shadowed)) for k, v in node[1]))
    if kind in ("has", "idx"):
        return (kind, fold(node[1], event_type, shadowed), *node[2:]) if kind == "has" else (
            "idx", fold(node[1], event_type, shadowed), fold(node[2], event_type, shadowed))
    if kind == "op":
        a, b = fold(node[2], event_type, shadowed), fold(node[3], event_type, shadowed)
        if node[1] in ("==", "!=") and _is_str(a) and _is_str(b):
            return ("lit", (a[1] == b[1]) == (node[1] == "=="))
        return ("op", node[1], a, b)
    if kind in ("and", "or"):
        a, b = fold(node[1], event_type, shadowed), fold(node[2], event_type, shadowed)
        absorbing, neutral = ("lit", kind == "or"), ("lit", kind == "and")
        if _same(a, absorbing) or _same(b, absorbing):
            return absorbing
        if _same(a, neutral):  # true && x is x when x is a boolean, an error otherwise
            return ("isbool", b)
        return (kind, a, b)
    if kind == "not":
        a = fold(node[1], event_type, shadowed)
        return ("lit", not a[1]) if a[0] == "lit" and type(a[1]) is bool else ("not", a)
    if kind in ("neg", "isbool"):
        return (kind, fold(node[1], event_type, shadowed))
    if kind == "cond":
        c = fold(node[1], event_type, shadowed)
        a, b = fold(node[2], event_type, shadowed), fold(node[3], event_type, shadowed)
        if c[0] == "lit" and type(c[1]) is bool:
            return a if c[1] else b
        return ("cond", c, a, b)
    raise Unsupported(kind)


def _is_str(node: Node) -> bool:
    return node[0] == "lit" and type(node[1]) is str


def _same(node: Node, literal: Node) -> bool:
    return node[0] == "lit" and type(node[1]) is type(literal[1]) and node[1] == literal[1]


def _simple(node: Node) -> bool:
    """No ``&&``, ``||``, ``?:`` or macro inside: one Python expression, computed unconditionally."""
    if node[0] in COMPOUND:
        return False
    return all(_simple(child) for child in _children(node))


def _children(node: Node) -> list[Node]:
    kind = node[0]
    if kind in ("lit", "id"):
        return []
    if kind in ("sel", "has", "not", "neg", "isbool"):
        return [node[1]]
    if kind == "idx":
        return [node[1], node[2]]
    if kind == "op":
        return [node[2], node[3]]
    if kind in ("and", "or"):
        return [node[1], node[2]]
    if kind == "cond":
        return [node[1], node[2], node[3]]
    if kind == "call":
        return ([node[2]] if node[2] is not None else []) + list(node[3])
    if kind == "list":
        return list(node[1])
    if kind == "map":
        return [part for pair in node[1] for part in pair]
    return [node[2]]  # a macro: its target (its body sees its own variable)


def _depth(node: Node) -> int:
    return 1 + max((_depth(child) for child in _children(node)), default=0) + (
        _depth(node[4]) if node[0] == "macro" else 0)


def _shared(nodes: Sequence[Node]) -> set[str]:
    """The subexpressions (outside macro bodies) that appear more than once: computed once."""
    counts: Counter[str] = Counter()

    def walk(node: Node) -> None:
        if node[0] not in ("lit", "id") and _simple(node):
            counts[repr(node)] += 1
        for child in _children(node):
            walk(child)

    for node in nodes:
        walk(node)
    return {key for key, count in counts.items() if count > 1}


class _Generator:
    def __init__(self, shared: set[str]) -> None:
        self.lines: list[str] = []
        self.level = 1
        self.consts: list[Any] = []
        self._const_ids: dict[str, int] = {}
        self.count = 0
        self.scopes: list[tuple[str, str]] = []
        self.shared = shared
        self.memo: dict[str, str] = {}

    def emit(self, line: str) -> None:
        self.lines.append("    " * self.level + line)

    def temp(self, prefix: str = "t") -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def const(self, value: Any) -> str:
        if value is None or type(value) is bool:
            return repr(value)
        key = f"{type(value).__name__}:{value!r}"
        if key not in self._const_ids:
            self._const_ids[key] = len(self.consts)
            self.consts.append(value)
        return f"K[{self._const_ids[key]}]"

    def ex(self, node: Node) -> str:
        """A Python expression for ``node`` (statements it needs are emitted first)."""
        if self.shared and not self.scopes and node[0] not in ("lit", "id"):
            key = repr(node)
            if key in self.shared:
                slot = self.memo.get(key)
                if slot is None:
                    slot = self.memo[key] = self.temp("m")
                return f"({slot} if {slot} is not U else ({slot} := {self._ex(node)}))"
        return self._ex(node)

    def _ex(self, node: Node) -> str:
        kind = node[0]
        if kind == "lit":
            return self.const(node[1])
        if kind == "id":
            for name, local in reversed(self.scopes):
                if name == node[1]:
                    return local
            if node[1] not in PARAMS:
                raise Unsupported("name")
            return PARAMS[node[1]]
        if kind == "sel":
            t, key = self.temp(), self.const(node[2])
            return f"({t}[{key}] if ({t} := {self.ex(node[1])}).__class__ is dict and {key} in {t} else select({t}, {key}))"
        if kind == "has":
            t, key = self.temp(), self.const(node[2])
            return f"({key} in {t} if ({t} := {self.ex(node[1])}).__class__ is dict else has({t}, {key}))"
        if kind == "idx":
            return f"index({self.ex(node[1])}, {self.ex(node[2])})"
        if kind == "not":
            return f"not_({self.ex(node[1])})"
        if kind == "neg":
            return f"neg({self.ex(node[1])})"
        if kind == "isbool":
            t = self.temp()
            return f"({t} if ({t} := {self.ex(node[1])}).__class__ is bool else fail())"
        if kind == "op":
            return self.op(node[1], node[2], node[3])
        if kind == "call":
            return self.call(node[1], node[2], node[3])
        if kind == "list":
            return "[" + "".join(f"{self.ex(item)}, " for item in node[1]) + "]"
        if kind == "map":
            keys = [k[1] if _is_str(k) else None for k, _v in node[1]]
            if None in keys or len(set(keys)) != len(keys):
                raise Unsupported("map keys")
            return "{" + "".join(f"{self.const(k)}: {self.ex(v)}, " for k, (_k, v) in zip(keys, node[1],
                                                                                          strict=True)) + "}"
        return self.compound(node)

    def op(self, op: str, left: Node, right: Node) -> str:
        if op in ("==", "!="):
            if _is_str(left) or _is_str(right):  # a string equals only an equal string
                return f"({self.ex(left)} {op} {self.ex(right)})"
            return f"{'eq' if op == '==' else 'ne'}({self.ex(left)}, {self.ex(right)})"
        if op in COMPARISONS:
            for lit, other, flipped in ((right, left, False), (left, right, True)):
                if lit[0] == "lit" and type(lit[1]) in (int, float, str) and not (
                        type(lit[1]) is int and abs(lit[1]) >= FAST_INT):
                    t, k = self.temp(), self.const(lit[1])
                    a, b = (k, t) if flipped else (t, k)
                    value = self.ex(other)
                    return (f"({a} {op} {b} if ({t} := {value}).__class__ is {type(lit[1]).__name__} "
                            f"else {COMPARISONS[op]}({a}, {b}))")
            return f"{COMPARISONS[op]}({self.ex(left)}, {self.ex(right)})"
        if op == "in":
            if _is_str(left):
                t, k = self.temp(), self.const(left[1])
                return f"({k} in {t} if ({t} := {self.ex(right)}).__class__ is list else contained({k}, {t}))"
            return f"contained({self.ex(left)}, {self.ex(right)})"
        return f"{ARITHMETIC[op]}({self.ex(left)}, {self.ex(right)})"

    def call(self, name: str, target: Node | None, args: tuple[Node, ...]) -> str:
        if name == "size" and ((target is None and len(args) == 1) or (target is not None and not args)):
            return f"size({self.ex(target if target is not None else args[0])})"
        if name in METHODS and target is not None and len(args) == 1:
            t, u = self.temp(), self.temp()
            value, arg = self.ex(target), self.ex(args[0])
            method = {"contains": "__contains__", "startsWith": "startswith", "endsWith": "endswith"}[name]
            if _is_str(args[0]):
                return f"({t}.{method}({arg}) if ({t} := {value}).__class__ is str else {METHODS[name]}({t}, {arg}))"
            return (f"({t}.{method}({u}) if (({t} := {value}).__class__ is str) & (({u} := {arg}).__class__ is str) "
                    f"else {METHODS[name]}({t}, {u}))")
        if name in CONVERSIONS and target is None and len(args) == 1:
            return f"{CONVERSIONS[name]}({self.ex(args[0])})"
        raise Unsupported(f"function {name}")

    def compound(self, node: Node) -> str:
        kind, result = node[0], self.temp()
        if kind in ("and", "or"):
            left, right = self.temp(), self.temp()
            decisive = "False" if kind == "and" else "True"
            self.emit("try:")
            self.level += 1
            self.emit(f"{left} = {self.ex(node[1])}")
            self.level -= 1
            self.emit("except CelError as error_:")
            self.emit(f"    {left} = error_")
            self.emit(f"if {left} is {decisive}:")
            self.emit(f"    {result} = {decisive}")
            self.emit("else:")
            self.level += 1
            self.emit(f"{right} = {self.ex(node[2])}")
            self.emit(f"if {right}.__class__ is not bool:")
            self.emit("    raise CelError")
            self.emit(f"if {left} is {'True' if kind == 'and' else 'False'} or {right} is {decisive}:")
            self.emit(f"    {result} = {right}")
            self.emit("else:")
            self.emit("    raise CelError")
            self.level -= 1
            return result
        if kind == "cond":
            test = self.temp()
            self.emit(f"{test} = {self.ex(node[1])}")
            self.emit(f"if {test} is True:")
            self.level += 1
            self.emit(f"{result} = {self.ex(node[2])}")
            self.level -= 1
            self.emit(f"elif {test} is False:")
            self.level += 1
            self.emit(f"{result} = {self.ex(node[3])}")
            self.level -= 1
            self.emit("else:")
            self.emit("    raise CelError")
            return result
        return self.macro(node, result)

    def macro(self, node: Node, result: str) -> str:
        _kind, name, target, var, body = node
        if name == "exists" and body[0] == "op" and body[1] == "==":  # list.exists(x, x == "a") is "a" in list
            for a, b in ((body[2], body[3]), (body[3], body[2])):
                if a == ("id", var) and _is_str(b):
                    t, k = self.temp(), self.const(b[1])
                    return f"({k} in {t} if ({t} := {self.ex(target)}).__class__ is list else contained({k}, {t}))"
        source, items, is_map, element, value = self.temp(), self.temp(), self.temp(), self.temp("v"), self.temp()
        self.emit(f"{source} = {self.ex(target)}")
        self.emit(f"{items} = iterable({source})")
        self.emit(f"{is_map} = {source}.__class__ is dict")
        if name in ("map", "filter"):
            self.emit(f"if {is_map}:")
            self.emit("    raise Unsupported")  # the order of a map's keys may differ from the interpreter's
        self.emit(f"{result} = {'[]' if name in ('map', 'filter') else name == 'all'}")
        self.emit(f"for {element} in {items}:")
        self.level += 1
        self.emit("try:")
        self.level += 1
        self.scopes.append((var, element))
        self.emit(f"{value} = {self.ex(body)}")
        self.scopes.pop()
        self.level -= 1
        self.emit("except CelError:")
        self.emit("    raise Unsupported from None")  # the interpreter stops at the first error
        if name == "map":
            self.emit(f"{result}.append({value})")
        else:
            self.emit(f"if {value}.__class__ is not bool:")
            self.emit("    raise Unsupported")
            if name == "filter":
                self.emit(f"if {value}:")
                self.emit(f"    {result}.append({element})")
            else:
                decisive = "True" if name == "exists" else "False"
                self.emit(f"if {value} is {decisive}:")
                self.emit(f"    {result} = {decisive}")
                self.emit(f"    if not {is_map}:")
                self.emit("        break")
        self.level -= 1
        return result


def _check_source(source: str) -> None:
    """The generated source holds only names, numbers and operators of the templates (no string,
    no text of the condition); refused otherwise."""
    if not _SAFE_SOURCE.fullmatch(source):  # pragma: no cover - the templates never produce it
        raise Unsupported("generated source")


def _build(header: str, body: list[str], gen: _Generator) -> Any:
    lines = [header, *[f"    {slot} = U" for slot in gen.memo.values()], *body]
    source = "\n".join(lines) + "\n"
    _check_source(source)
    namespace: dict[str, Any] = {"__builtins__": {}, **NAMES, "K": tuple(gen.consts), "U": UNSET, "dict": dict,
                                 "list": list, "str": str, "int": int, "float": float, "bool": bool,
                                 "Exception": Exception}
    exec(compile(source, "<kopeck.rules.cel_fast>", "exec"), namespace)  # noqa: S102 - see the module's docstring
    return namespace["f"]


SIGNATURE: Final = "def f(p_event, p_client, p_subscription, p_vars, p_now):"


def compile_plan(sources: Sequence[str], event_type: str | None = None) -> tuple[PlanFunction, frozenset[int]]:
    """One function giving the value of each condition of ``sources`` (``""``: true) on the context
    ``(event, client, subscription, vars, now)`` — True or False, or None where the interpreter must
    decide (it fails, it is not a boolean, or it is outside what this module does); and the
    indexes of the conditions it never evaluates (outside the supported part of CEL)."""
    trees: dict[int, Node] = {}
    for index, source in enumerate(sources):
        if not source:
            trees[index] = ("lit", True)
            continue
        try:
            tree = fold(parse(source), event_type)
        except (Unsupported, RecursionError):
            continue
        if _depth(tree) <= MAX_DEPTH:
            trees[index] = tree
    gen = _Generator(_shared(list(trees.values())))
    body = [f"    r = [None] * {len(sources)}"]
    for index, tree in list(trees.items()):
        if tree[0] == "lit" and type(tree[1]) is bool:
            body.append(f"    r[{index}] = {tree[1]!r}")
            continue
        gen.lines, gen.level = [], 2
        try:
            value = gen.ex(tree)
        except (Unsupported, RecursionError):
            del trees[index]
            continue
        body += ["    try:", *gen.lines, f"        t0 = {value}", f"        r[{index}] = t0 if t0.__class__ is bool else None",
                 "    except Exception:", "        pass"]
    body.append("    return r")
    try:
        function = _build(SIGNATURE, body, gen)
    except (SyntaxError, RecursionError, MemoryError, Unsupported):  # pragma: no cover - the depth limit prevents it
        return (lambda *_context: [None] * len(sources)), frozenset(range(len(sources)))
    return function, frozenset(set(range(len(sources))) - trees.keys())


def compile_expression(source: str, event_type: str | None = None) -> Callable[..., Any]:
    """The function of one expression, giving its value or raising ``CelError`` (it fails) or
    ``Unsupported`` (the interpreter decides) — for tests and one-off use."""
    tree = fold(parse(source), event_type)
    if _depth(tree) > MAX_DEPTH:
        raise Unsupported("depth")
    gen = _Generator(set())
    value = gen.ex(tree)
    return _build(SIGNATURE, [*gen.lines, f"    return result({value})"], gen)  # type: ignore[no-any-return]
