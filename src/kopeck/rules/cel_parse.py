"""A parser for the part of CEL that rule conditions use, producing a small AST for
:mod:`kopeck.rules.cel_fast`. It is only ever given text that the CEL interpreter has already
compiled (so the text is valid CEL); anything it does not know how to read exactly — bytes, uint,
triple-quoted strings, rare escapes, messages, optional fields, ``exists_one``, three-argument
``map`` — raises :class:`Unsupported`, and the condition is left to the interpreter.

AST nodes are tuples: ``("lit", value)``, ``("id", name)``, ``("sel", operand, field)``,
``("has", operand, field)``, ``("idx", operand, index)``, ``("call", name, target | None, args)``,
``("list", items)``, ``("map", pairs)``, ``("and", a, b)``, ``("or", a, b)``, ``("not", a)``,
``("neg", a)``, ``("cond", c, a, b)``, ``("op", operator, a, b)`` and
``("macro", name, target, variable, body)``.
"""

from __future__ import annotations

import re
from typing import Any, Final

Node = tuple[Any, ...]

INT_MAX: Final = 2**63 - 1
MACROS: Final = frozenset({"all", "exists", "map", "filter"})
RELATIONS: Final = frozenset({"<", "<=", ">", ">=", "==", "!=", "in"})
KEYWORDS: Final = {"true": True, "false": False, "null": None}
ESCAPES: Final = {"\\": "\\", '"': '"', "'": "'", "n": "\n", "r": "\r", "t": "\t"}


class Unsupported(Exception):
    """This text (or, at run time, this value) is outside what the fast path does exactly: the
    interpreter decides."""


_TOKEN = re.compile(r"""
    (?P<space>[ \t\n\r\f]+|//[^\n]*)
  | (?P<double>(?:[0-9]+\.[0-9]+|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+)
  | (?P<int>0[xX][0-9a-fA-F]+|[0-9]+)
  | (?P<raw>[rR](?:"[^"\n]*"|'[^'\n]*'))
  | (?P<string>"(?:\\.|[^"\\\n])*"|'(?:\\.|[^'\\\n])*')
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>&&|\|\||==|!=|<=|>=|[<>!+\-*/%?:.,()\[\]{}])
""", re.VERBOSE)


def _string(text: str) -> str:
    quote, body = text[0], text[1:-1]
    if body.startswith(quote * 2) or (len(text) >= 6 and text.startswith(quote * 3)):
        raise Unsupported("triple-quoted string")
    out, i = [], 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1]
        if nxt in ESCAPES:
            out.append(ESCAPES[nxt])
            i += 2
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", body[i + 2:i + 6]):
            code = int(body[i + 2:i + 6], 16)
            if 0xD800 <= code <= 0xDFFF:
                raise Unsupported("surrogate escape")
            out.append(chr(code))
            i += 6
        else:
            raise Unsupported("escape")
    return "".join(out)


def tokens(text: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise Unsupported(f"character {text[pos]!r}")
        kind, value = match.lastgroup or "", match.group(0)
        pos = match.end()
        if kind == "space":
            continue
        if kind in ("int", "double") and pos < len(text) and (text[pos].isalnum() or text[pos] in "_.\"'"):
            raise Unsupported("number suffix")  # 1u, 1.e5, 0x1p…: read by the interpreter
        if kind == "int":
            number = int(value, 16) if value[:2] in ("0x", "0X") else int(value)
            out.append(("lit", number))
        elif kind == "double":
            out.append(("lit", float(value)))
        elif kind == "raw":
            out.append(("lit", value[2:-1]))
        elif kind == "string":
            if out and out[-1][0] == "name" and out[-1][1] in ("b", "B", "r", "R", "br", "rb", "bR", "Rb"):
                raise Unsupported("prefixed string")
            out.append(("lit", _string(value)))
        elif kind == "name":
            if value in KEYWORDS:
                out.append(("lit", KEYWORDS[value]))
            elif value == "in":
                out.append(("punct", "in"))
            else:
                out.append(("name", value))
        else:
            out.append(("punct", value))
    out.append(("end", None))
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = tokens(text)
        self.pos = 0

    def peek(self) -> tuple[str, Any]:
        return self.toks[self.pos]

    def take(self) -> tuple[str, Any]:
        tok = self.toks[self.pos]
        self.pos += 1
        return tok

    def at(self, value: str) -> bool:
        return self.toks[self.pos] == ("punct", value)

    def expect(self, value: str) -> None:
        if self.take() != ("punct", value):
            raise Unsupported(f"expected {value!r}")

    def expr(self) -> Node:
        cond = self.or_()
        if self.at("?"):
            self.take()
            then = self.or_()
            self.expect(":")
            return ("cond", cond, then, self.expr())
        return cond

    def or_(self) -> Node:
        node = self.and_()
        while self.at("||"):
            self.take()
            node = ("or", node, self.and_())
        return node

    def and_(self) -> Node:
        node = self.relation()
        while self.at("&&"):
            self.take()
            node = ("and", node, self.relation())
        return node

    def relation(self) -> Node:
        node = self.addition()
        while self.peek()[0] == "punct" and self.peek()[1] in RELATIONS:
            op = self.take()[1]
            node = ("op", op, node, self.addition())
        return node

    def addition(self) -> Node:
        node = self.multiplication()
        while self.at("+") or self.at("-"):
            op = self.take()[1]
            node = ("op", op, node, self.multiplication())
        return node

    def multiplication(self) -> Node:
        node = self.unary()
        while self.at("*") or self.at("/") or self.at("%"):
            op = self.take()[1]
            node = ("op", op, node, self.unary())
        return node

    def unary(self) -> Node:
        """``!`` or ``-`` repeated: an even run cancels out (``--x`` is ``x``, as in the interpreter)."""
        for op, kind in (("!", "not"), ("-", "neg")):
            if self.at(op):
                count = 0
                while self.at(op):
                    self.take()
                    count += 1
                if count % 2 == 0:
                    return self.member()
                if op == "-" and self.peek()[0] == "lit" and type(self.peek()[1]) in (int, float):
                    value = self.take()[1]
                    if type(value) is int and value > INT_MAX + 1:
                        raise Unsupported("integer literal out of range")
                    return self.member_rest(("lit", -value))
                return (kind, self.member())
        return self.member()

    def member(self) -> Node:
        return self.member_rest(self.primary())

    def member_rest(self, node: Node) -> Node:
        while True:
            if self.at("."):
                self.take()
                kind, name = self.take()
                if kind != "name":
                    raise Unsupported("field name")
                if self.at("("):
                    self.take()
                    if name in MACROS:
                        node = self.macro(name, node)
                    else:
                        node = ("call", name, node, tuple(self.args(")")))
                else:
                    node = ("sel", node, name)
            elif self.at("["):
                self.take()
                if self.at("?"):
                    raise Unsupported("optional index")
                index = self.expr()
                self.expect("]")
                node = ("idx", node, index)
            else:
                return node

    def macro(self, name: str, target: Node) -> Node:
        kind, var = self.take()
        if kind != "name":
            raise Unsupported("macro variable")
        self.expect(",")
        body = self.expr()
        self.expect(")")
        return ("macro", name, target, var, body)

    def args(self, close: str) -> list[Node]:
        items: list[Node] = []
        while not self.at(close):
            items.append(self.expr())
            if not self.at(close):
                self.expect(",")
        self.take()
        return items

    def primary(self) -> Node:
        kind, value = self.take()
        if kind == "lit":
            if type(value) is int and value > INT_MAX:
                raise Unsupported("integer literal out of range")
            return ("lit", value)
        if kind == "name":
            if self.at("("):
                self.take()
                args = tuple(self.args(")"))
                if value == "has":
                    if len(args) != 1 or args[0][0] != "sel":
                        raise Unsupported("has() of something other than a field")
                    return ("has", args[0][1], args[0][2])
                return ("call", value, None, args)
            if self.at("{"):
                raise Unsupported("message")
            return ("id", value)
        if (kind, value) == ("punct", "("):
            node = self.expr()
            self.expect(")")
            return node
        if (kind, value) == ("punct", "["):
            return ("list", tuple(self.args("]")))
        if (kind, value) == ("punct", "{"):
            pairs = []
            while not self.at("}"):
                key = self.expr()
                self.expect(":")
                pairs.append((key, self.expr()))
                if not self.at("}"):
                    self.expect(",")
            self.take()
            return ("map", tuple(pairs))
        raise Unsupported(f"token {value!r}")


def parse(text: str) -> Node:
    """The AST of ``text`` (already accepted by the interpreter), or :class:`Unsupported`."""
    parser = _Parser(text)
    node = parser.expr()
    if parser.peek()[0] != "end":
        raise Unsupported("trailing text")
    return node
