"""Just enough GraphQL for the fake commerce servers: read a document (one operation,
aliases, arguments with variables, nested selections; no fragments), answer exactly the
fields asked for from plain Python objects, page connections, and price a query by
Shopify's documented rule (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits).

Objects are dicts (``"__typename"`` names their type in errors); a value may be a
callable taking the field's arguments, or a :class:`Conn` (a connection paged by
``first``/``after``). A field an object lacks is an ``undefinedField`` error, as an
unknown field is on a real server.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from typing import Any


class GraphQLError(Exception):
    def __init__(self, message: str, code: str, **extensions: Any) -> None:
        super().__init__(message)
        self.code = code
        self.extensions = extensions


@dataclass
class Var:
    name: str


@dataclass
class Field:
    name: str
    alias: str | None = None
    args: dict[str, Any] = field(default_factory=dict)
    selections: list[Field] | None = None

    @property
    def key(self) -> str:
        return self.alias or self.name


_TOKEN_RE = re.compile(r'(#[^\n]*)|(\.\.\.)|([{}()\[\]:!$=@])|("(?:[^"\\]|\\.)*")'
                       r"|(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|([_A-Za-z][_0-9A-Za-z]*)|([\s,]+)")


def _tokens(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if not match:
            raise GraphQLError(f"Parse error on {text[pos:pos + 10]!r}", "parseError")
        pos = match.end()
        comment, spread, punct, string, number, name, _space = match.groups()
        if spread:
            raise GraphQLError("fragments are not supported by the fake", "parseError")
        if punct:
            out.append(("p", punct))
        elif string:
            out.append(("s", json.loads(string)))
        elif number:
            out.append(("n", number))
        elif name:
            out.append(("name", name))
    out.append(("eof", ""))
    return out


class Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str]:
        return self.toks[self.i]

    def take(self, kind: str, value: str | None = None) -> str:
        tok = self.toks[self.i]
        if tok[0] != kind or (value is not None and tok[1] != value):
            raise GraphQLError(f"Parse error: expected {value or kind}, found {tok[1]!r}", "parseError")
        self.i += 1
        return tok[1]

    def document(self) -> tuple[str, str, list[Field]]:
        kind, name = "query", ""
        if self.peek() == ("p", "{"):
            selections = self.selection_set()
        else:
            kind = self.take("name")
            if kind not in ("query", "mutation"):
                raise GraphQLError(f"Parse error: unexpected {kind!r}", "parseError")
            if self.peek()[0] == "name":
                name = self.take("name")
            if self.peek() == ("p", "("):
                self.skip_parens()
            selections = self.selection_set()
        if self.peek()[0] != "eof":
            raise GraphQLError("only one operation per document is supported by the fake", "parseError")
        return kind, name, selections

    def skip_parens(self) -> None:
        depth = 0
        while True:
            kind, value = self.toks[self.i]
            self.i += 1
            if kind == "eof":
                raise GraphQLError("Parse error: unbalanced parentheses", "parseError")
            if (kind, value) == ("p", "("):
                depth += 1
            elif (kind, value) == ("p", ")"):
                depth -= 1
                if depth == 0:
                    return

    def selection_set(self) -> list[Field]:
        self.take("p", "{")
        fields = []
        while self.peek() != ("p", "}"):
            fields.append(self.field())
        self.take("p", "}")
        if not fields:
            raise GraphQLError("Parse error: empty selection", "parseError")
        return fields

    def field(self) -> Field:
        name = self.take("name")
        alias = None
        if self.peek() == ("p", ":"):
            self.take("p", ":")
            alias, name = name, self.take("name")
        args: dict[str, Any] = {}
        if self.peek() == ("p", "("):
            self.take("p", "(")
            while self.peek() != ("p", ")"):
                arg = self.take("name")
                self.take("p", ":")
                args[arg] = self.value()
            self.take("p", ")")
        selections = self.selection_set() if self.peek() == ("p", "{") else None
        return Field(name, alias, args, selections)

    def value(self) -> Any:
        kind, value = self.peek()
        if (kind, value) == ("p", "$"):
            self.take("p", "$")
            return Var(self.take("name"))
        if kind == "s":
            self.i += 1
            return value
        if kind == "n":
            self.i += 1
            return float(value) if any(c in value for c in ".eE") else int(value)
        if kind == "name":
            self.i += 1
            return {"true": True, "false": False, "null": None}.get(value, value)
        if (kind, value) == ("p", "["):
            self.take("p", "[")
            items = []
            while self.peek() != ("p", "]"):
                items.append(self.value())
            self.take("p", "]")
            return items
        if (kind, value) == ("p", "{"):
            self.take("p", "{")
            obj = {}
            while self.peek() != ("p", "}"):
                key = self.take("name")
                self.take("p", ":")
                obj[key] = self.value()
            self.take("p", "}")
            return obj
        raise GraphQLError(f"Parse error on {value!r}", "parseError")


def _bind(value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, Var):
        return variables.get(value.name)
    if isinstance(value, list):
        return [_bind(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: _bind(v, variables) for k, v in value.items()}
    return value


def bind_fields(fields: list[Field], variables: dict[str, Any]) -> None:
    for f in fields:
        f.args = {k: _bind(v, variables) for k, v in f.args.items()}
        if f.selections:
            bind_fields(f.selections, variables)


def requested_cost(fields: list[Field], *, mutation: bool = False) -> int:
    """Shopify's rule: scalar 0, object 1, connection (a field with ``first``) 2 + first
    x (1 + the node's cost), a list with ``first`` first x (1 + the item's cost), a
    mutation's root field 10."""
    total = 0
    for f in fields:
        if f.selections is None:
            continue
        inner = f.selections
        first = f.args.get("first")
        if mutation:
            total += 10 + requested_cost(inner)
        elif isinstance(first, int) and any(s.name in ("nodes", "edges") for s in inner):
            node_sel: list[Field] = []
            for s in inner:
                if s.name == "nodes" and s.selections:
                    node_sel = s.selections
                elif s.name == "edges" and s.selections:
                    node_sel = next((e.selections or [] for e in s.selections if e.name == "node"), [])
            others = [s for s in inner if s.name not in ("nodes", "edges")]
            total += 2 + first * (1 + requested_cost(node_sel)) + requested_cost(others)
        elif isinstance(first, int):
            total += first * (1 + requested_cost(inner))
        else:
            total += 1 + requested_cost(inner)
    return total


def _cursor(key: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps({"last_id": key}).encode()).decode()


def _uncursor(cursor: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(cursor.encode()))["last_id"]
    except (ValueError, KeyError, TypeError):
        raise GraphQLError("Invalid cursor for current pagination sort.", "BAD_REQUEST") from None


@dataclass
class Conn:
    """A connection over ``items`` (dicts with a unique ``"id"``), in their order."""

    items: list[dict[str, Any]]
    loop: bool = False

    def page(self, args: dict[str, Any]) -> dict[str, Any]:
        first = args.get("first")
        if first is None and args.get("last") is None:
            raise GraphQLError("you must provide one of first or last", "BAD_REQUEST")
        if not isinstance(first, int) or not 1 <= first <= 250:
            raise GraphQLError("The 'first' argument must be between 1 and 250", "BAD_REQUEST")
        start = 0
        after = args.get("after")
        if after and not self.loop:
            last_id = _uncursor(after)
            ids = [item["id"] for item in self.items]
            if last_id not in ids:
                raise GraphQLError("Invalid cursor for current pagination sort.", "BAD_REQUEST")
            start = ids.index(last_id) + 1
        chunk = self.items[start:start + first]
        more = start + first < len(self.items) or self.loop
        end = _cursor(chunk[-1]["id"]) if chunk else None
        if self.loop:
            end = _cursor("loop")
        return {"nodes": chunk, "edges": [{"cursor": _cursor(n["id"]), "node": n} for n in chunk],
                "pageInfo": {"hasNextPage": more, "hasPreviousPage": start > 0,
                             "startCursor": _cursor(chunk[0]["id"]) if chunk else None, "endCursor": end}}


def _resolve(value: Any, f: Field, type_name: str) -> Any:
    if callable(value):
        value = value(f.args)
    if isinstance(value, Conn):
        value = value.page(f.args)
    if f.selections is None:
        if isinstance(value, dict):
            raise GraphQLError(f"Field '{f.name}' of type '{type_name}' must have a selection of subfields",
                               "selectionMismatch")
        return value
    if value is None:
        return None
    if isinstance(value, list):
        first = f.args.get("first")
        items = value[:first] if isinstance(first, int) else value
        return [select(v, f.selections) for v in items]
    if not isinstance(value, dict):
        raise GraphQLError(f"Selections can't be made on scalars (field '{f.name}')", "selectionMismatch")
    return select(value, f.selections)


def select(obj: dict[str, Any], selections: list[Field]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    type_name = str(obj.get("__typename", "Object"))
    for f in selections:
        if f.name == "__typename":
            out[f.key] = type_name
            continue
        if f.name not in obj:
            raise GraphQLError(f"Field '{f.name}' doesn't exist on type '{type_name}'", "undefinedField",
                               typeName=type_name, fieldName=f.name)
        out[f.key] = _resolve(obj[f.name], f, type_name)
    return out


def count_objects(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + sum(count_objects(v) for k, v in value.items() if k not in ("pageInfo", "edges"))
    if isinstance(value, list):
        return sum(count_objects(v) for v in value)
    return 0
