"""The run filter language: operators, and/or precedence, parentheses, IN lists, quoting, errors."""

from __future__ import annotations

import pytest

from mloop.errors import InvalidInput
from mloop.store.filters import BoolOp, Comparison, parse_filter, parse_order_by


@pytest.mark.parametrize(
    ("text", "op"),
    [
        ("metrics.f1 = 0.5", "="),
        ("metrics.f1 == 0.5", "="),
        ("metrics.f1 != 0.5", "!="),
        ("metrics.f1 <> 0.5", "!="),
        ("metrics.f1 < 0.5", "<"),
        ("metrics.f1 <= 0.5", "<="),
        ("metrics.f1 > 0.5", ">"),
        ("metrics.f1 >= 0.5", ">="),
    ],
)
def test_comparators_on_metrics(text: str, op: str) -> None:
    assert parse_filter(text) == Comparison("metrics", "f1", op, 0.5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("params.model LIKE 'rf%'", Comparison("params", "model", "LIKE", "rf%")),
        ("tags.team ilike 'RISK'", Comparison("tags", "team", "ILIKE", "RISK")),
        ("params.model IN ('rf', 'gb')", Comparison("params", "model", "IN", ("rf", "gb"))),
        ("params.depth not in (3, 4.5)", Comparison("params", "depth", "NOT IN", ("3", "4.5"))),
        ("metrics.f1 IN (1, 0.5)", Comparison("metrics", "f1", "IN", (1.0, 0.5))),
        ("status = 'FINISHED'", Comparison("attributes", "status", "=", "FINISHED")),
        ("attr.start_time > 1e9", Comparison("attributes", "start_time", ">", 1e9)),
        ("metric.loss < -.5", Comparison("metrics", "loss", "<", -0.5)),
        ("param.C = 1", Comparison("params", "C", "=", "1")),
    ],
)
def test_text_operators_lists_and_field_groups(text: str, expected: Comparison) -> None:
    assert parse_filter(text) == expected


def test_and_binds_tighter_than_or() -> None:
    a = Comparison("metrics", "a", ">", 1.0)
    b = Comparison("metrics", "b", ">", 2.0)
    c = Comparison("metrics", "c", ">", 3.0)
    parsed = parse_filter("metrics.a > 1 or metrics.b > 2 AND metrics.c > 3")
    assert parsed == BoolOp("or", (a, BoolOp("and", (b, c))))
    parsed = parse_filter("metrics.a > 1 and metrics.b > 2 or metrics.c > 3")
    assert parsed == BoolOp("or", (BoolOp("and", (a, b)), c))


def test_parentheses_group_first() -> None:
    a = Comparison("metrics", "a", ">", 1.0)
    b = Comparison("metrics", "b", ">", 2.0)
    c = Comparison("metrics", "c", ">", 3.0)
    parsed = parse_filter("metrics.a > 1 and (metrics.b > 2 or metrics.c > 3)")
    assert parsed == BoolOp("and", (a, BoolOp("or", (b, c))))
    assert parse_filter("((metrics.a > 1))") == a


def test_chains_of_one_operator_are_flat() -> None:
    parsed = parse_filter("metrics.a > 1 and metrics.b > 2 and metrics.c > 3")
    assert isinstance(parsed, BoolOp)
    assert (parsed.op, len(parsed.items)) == ("and", 3)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("params.model = 'rf'", "rf"),
        ('params.model = "rf"', "rf"),
        ("params.note = 'it\\'s'", "it's"),
        ('params.note = "say \\"hi\\""', 'say "hi"'),
        ("params.note = 'a and b or (c)'", "a and b or (c)"),
        ("params.note = ''", ""),
    ],
)
def test_quoted_strings(text: str, value: str) -> None:
    assert parse_filter(text) == Comparison("params", text.split()[0].split(".")[1], "=", value)


@pytest.mark.parametrize("text", [None, "", "   "])
def test_no_filter(text: str | None) -> None:
    assert parse_filter(text) is None


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("metrics.f1 >", 12, "expected a value"),
        ("metrics.f1 > 0.5 and", 20, "expected a field"),
        ("metrics.f1 > 0.5 params.x = 'a'", 17, "expected 'and', 'or'"),
        ("(metrics.f1 > 0.5", 17, "expected ')'"),
        ("metrics.f1 ~ 3", 11, "unexpected character"),
        ("metrics.f1 > 'high'", 0, "compares with numbers"),
        ("params.model > 'a'", 0, "are text"),
        ("metrics.f1 LIKE 'x'", 0, "needs a text field"),
        ("foo.bar = 1", 0, "unknown field group"),
        ("attributes.colour = 'red'", 0, "unknown attribute"),
        ("f1 > 0.5", 0, "is not a field"),
        ("params.model IN 'rf'", 16, "expected '('"),
        ("params.model IN ('rf' 'gb')", 22, "expected ',' or ')'"),
        ("params.model = rf", 15, "expected a number or a quoted string"),
        ("params.model 'rf'", 13, "expected an operator"),
        ("params.model = 'open", 15, "unexpected character"),
        ("= 3", 0, "expected a field"),
    ],
)
def test_malformed_filter_names_the_position(text: str, position: int, words: str) -> None:
    with pytest.raises(InvalidInput, match="malformed filter") as caught:
        parse_filter(text)
    message = str(caught.value)
    assert f"at position {position} " in message
    assert words in message


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("metrics.f1", ("metrics", "f1", False)),
        ("metrics.f1 DESC", ("metrics", "f1", True)),
        ("params.model asc", ("params", "model", False)),
        ("start_time desc", ("attributes", "start_time", True)),
    ],
)
def test_order_by(clause: str, expected: tuple[str, str, bool]) -> None:
    assert parse_order_by(clause) == expected


@pytest.mark.parametrize(
    ("clause", "words"),
    [("", "expected"), ("metrics.f1 DESC extra", "expected"), ("metrics.f1 UP", "ASC or DESC")],
)
def test_malformed_order_by(clause: str, words: str) -> None:
    with pytest.raises(InvalidInput, match=words):
        parse_order_by(clause)
