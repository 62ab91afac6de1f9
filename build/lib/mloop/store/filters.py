"""The run filter language: parse ``metrics.f1 > 0.5 and params.model = 'rf'`` into a tree."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mloop.errors import InvalidInput

ENTITY_ALIASES = {
    "metrics": "metrics",
    "metric": "metrics",
    "params": "params",
    "param": "params",
    "tags": "tags",
    "tag": "tags",
    "attributes": "attributes",
    "attribute": "attributes",
    "attr": "attributes",
    "run": "attributes",
}
ATTRIBUTES = {"status", "name", "user", "run_id", "start_time", "end_time", "parent_run_id"}
NUMERIC_ATTRIBUTES = {"start_time", "end_time"}
COMPARATORS = {"=", "==", "!=", "<>", "<", "<=", ">", ">="}
TEXT_OPERATORS = {"LIKE", "ILIKE", "IN", "NOT IN"}

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
    | (?P<op><=|>=|!=|<>|==|=|<|>)
    | (?P<punct>[(),])
    | (?P<ident>[A-Za-z_]\w*\s*\.\s*`(?:[^`]|``)*`|[A-Za-z_][\w.\-/]*|`(?:[^`]|``)*`)
    )""",
    re.VERBOSE,
)
_FIELD = re.compile(r"(?:(?P<head>[A-Za-z_]\w*)\s*\.\s*)?`(?P<quoted>(?:[^`]|``)*)`\Z")
_ESCAPE = re.compile(r"""\\(['"\\])""")


@dataclass(frozen=True)
class Comparison:
    """One test of a run field against a value, e.g. ``metrics.f1 > 0.5``."""

    entity: str
    key: str
    op: str
    value: float | str | tuple[float | str, ...]


@dataclass(frozen=True)
class BoolOp:
    """Comparisons joined by ``and`` or ``or``."""

    op: str
    items: tuple[Comparison | BoolOp, ...]


Condition = Comparison | BoolOp


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            start = len(text) - len(text[pos:].lstrip())
            raise _error(text, start, f"unexpected character {text[start]!r}")
        kind = match.lastgroup or ""
        tokens.append(_Token(kind, match.group(kind), match.start(kind)))
        pos = match.end()
    return tokens


def _error(text: str, pos: int, message: str) -> InvalidInput:
    near = text[pos : pos + 20] or "end of filter"
    return InvalidInput(f"malformed filter at position {pos} (near {near!r}): {message}")


def _split_field(name: str) -> tuple[str, str]:
    quoted = _FIELD.match(name)
    if quoted is None:
        head, _, key = name.partition(".")
        return head, key
    return quoted.group("head") or "", quoted.group("quoted").replace("``", "`")


def field_of(name: str, *, text: str = "", pos: int = 0) -> tuple[str, str]:
    """Split ``metrics.f1``, ``metrics.`avg score``` or a bare attribute into entity and key.

    A back-quoted key may hold any character; a back-quote inside it is written twice.
    Raises InvalidInput for an unknown group or attribute, or an empty key.
    """
    head, key = _split_field(name)
    if not head:
        if key in ATTRIBUTES:
            return "attributes", key
        raise _error(text, pos, f"{name!r} is not a field: use metrics.X, params.X or tags.X")
    if not key:
        if head in ATTRIBUTES:
            return "attributes", head
        raise _error(text, pos, f"{name!r} is not a field: use metrics.X, params.X or tags.X")
    entity = ENTITY_ALIASES.get(head.lower())
    if entity is None:
        raise _error(text, pos, f"unknown field group {head!r}: use metrics, params or tags")
    if entity == "attributes" and key not in ATTRIBUTES:
        raise _error(text, pos, f"unknown attribute {key!r}: one of {sorted(ATTRIBUTES)}")
    return entity, key


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.index = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self, expected: str) -> _Token:
        token = self.peek()
        if token is None:
            raise _error(self.text, len(self.text), f"expected {expected}")
        self.index += 1
        return token

    def word(self, *words: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "ident" and token.text.upper() in words:
            self.index += 1
            return True
        return False

    def parse(self) -> Condition:
        condition = self.disjunction()
        leftover = self.peek()
        if leftover is not None:
            raise _error(self.text, leftover.pos, "expected 'and', 'or' or the end")
        return condition

    def disjunction(self) -> Condition:
        items = [self.conjunction()]
        while self.word("OR"):
            items.append(self.conjunction())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def conjunction(self) -> Condition:
        items = [self.atom()]
        while self.word("AND"):
            items.append(self.atom())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def atom(self) -> Condition:
        token = self.take("a field such as metrics.f1")
        if token.text == "(":
            inner = self.disjunction()
            closing = self.take("')'")
            if closing.text != ")":
                raise _error(self.text, closing.pos, "expected ')'")
            return inner
        if token.kind != "ident":
            raise _error(self.text, token.pos, "expected a field such as metrics.f1")
        entity, key = field_of(token.text, text=self.text, pos=token.pos)
        op = self.operator()
        value = self.values() if op.endswith("IN") else self.value(op)
        return _checked(Comparison(entity, key, op, value), self.text, token.pos)

    def operator(self) -> str:
        token = self.take("an operator such as '>' or '='")
        if token.kind == "op":
            return {"==": "=", "<>": "!="}.get(token.text, token.text)
        upper = token.text.upper()
        if upper == "NOT" and self.word("IN"):
            return "NOT IN"
        if token.kind == "ident" and upper in TEXT_OPERATORS:
            return upper
        raise _error(self.text, token.pos, f"expected an operator, got {token.text!r}")

    def value(self, op: str) -> float | str:
        token = self.take(f"a value after {op!r}")
        if token.kind == "number":
            return float(token.text)
        if token.kind == "string":
            return _ESCAPE.sub(r"\1", token.text[1:-1])
        raise _error(self.text, token.pos, f"expected a number or a quoted string after {op!r}")

    def values(self) -> tuple[float | str, ...]:
        opening = self.take("'('")
        if opening.text != "(":
            raise _error(self.text, opening.pos, "expected '(' after IN")
        items = [self.value("IN")]
        while (token := self.take("',' or ')'")).text == ",":
            items.append(self.value("IN"))
        if token.text != ")":
            raise _error(self.text, token.pos, "expected ',' or ')'")
        return tuple(items)


def _checked(comparison: Comparison, text: str, pos: int) -> Comparison:
    numeric = comparison.entity == "metrics" or comparison.key in NUMERIC_ATTRIBUTES
    values = comparison.value if isinstance(comparison.value, tuple) else (comparison.value,)
    if numeric and comparison.op in {"LIKE", "ILIKE"}:
        raise _error(text, pos, f"{comparison.op} needs a text field, not {comparison.key!r}")
    if numeric and any(isinstance(v, str) for v in values):
        raise _error(text, pos, f"{comparison.entity}.{comparison.key} compares with numbers")
    if not numeric and comparison.op in {"<", "<=", ">", ">="}:
        raise _error(text, pos, f"{comparison.entity} are text: use =, !=, LIKE, ILIKE or IN")
    if not numeric:
        texts = tuple(_as_text(v) for v in values)
        value = texts if isinstance(comparison.value, tuple) else texts[0]
        return Comparison(comparison.entity, comparison.key, comparison.op, value)
    return comparison


def _as_text(value: float | str) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_filter(text: str | None) -> Condition | None:
    """Parse a filter string; None or blank means no filter."""
    if text is None or not text.strip():
        return None
    return _Parser(text).parse()


def parse_order_by(clause: str) -> tuple[str, str, bool]:
    """Parse ``metrics.f1 DESC`` or ``metrics.`avg score` ASC`` into (entity, key, descending).

    Raises InvalidInput for an unknown field or a direction other than ASC or DESC.
    """
    tokens = _tokenize(clause) if isinstance(clause, str) else []
    if not tokens or len(tokens) > 2 or any(token.kind != "ident" for token in tokens):
        raise InvalidInput(f"order_by {clause!r}: expected 'field [ASC|DESC]'")
    direction = tokens[1].text.upper() if len(tokens) == 2 else "ASC"
    if direction not in {"ASC", "DESC"}:
        raise InvalidInput(f"order_by {clause!r}: direction must be ASC or DESC")
    entity, key = field_of(tokens[0].text, text=clause, pos=tokens[0].pos)
    return entity, key, direction == "DESC"
