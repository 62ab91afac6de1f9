"""Filter and order_by parsing of back-quoted names and text literals."""

from __future__ import annotations

import pytest

from mloop.errors import InvalidInput
from mloop.store.filters import Comparison, parse_filter, parse_order_by

NAMES = ["avg model score", "a.b", "it's", 'say "hi"', "größe", "延迟 p99", "with`tick", "``"]


def quoted(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("group", ["metrics", "params", "tags"])
def test_back_quoted_names_parse_in_filters_and_order_by(group: str, name: str) -> None:
    value = "0.5" if group == "metrics" else "'x'"
    parsed = parse_filter(f"{group}.{quoted(name)} = {value}")
    assert isinstance(parsed, Comparison)
    assert (parsed.entity, parsed.key) == (group, name)
    assert parse_order_by(f"{group}.{quoted(name)} DESC") == (group, name, True)
    assert parse_order_by(f"{group}.{quoted(name)}") == (group, name, False)


@pytest.mark.parametrize("clause", ["`status`", "attributes.`start_time`", "run.`name`"])
def test_back_quoted_attributes(clause: str) -> None:
    entity, key, descending = parse_order_by(f"{clause} desc")
    assert entity == "attributes"
    assert key in {"status", "start_time", "name"}
    assert descending


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("'München'", "München"),
        ("'東京 😀'", "東京 😀"),
        ("'it\\'s'", "it's"),
        ('"say \\"hi\\""', 'say "hi"'),
        ("'back\\\\slash'", "back\\slash"),
        ("'C:\\new\\table'", "C:\\new\\table"),
        ("'50\\u00e9'", "50\\u00e9"),
    ],
)
def test_literals_are_text_with_only_quote_and_backslash_escapes(
    literal: str, expected: str
) -> None:
    parsed = parse_filter(f"params.x = {literal}")
    assert isinstance(parsed, Comparison)
    assert parsed.value == expected
    listed = parse_filter(f"params.x IN ({literal}, 'b')")
    assert isinstance(listed, Comparison)
    assert listed.value == (expected, "b")


@pytest.mark.parametrize(
    "text",
    ["metrics.`unclosed > 1", "metrics.`` > 1", "colours.`a` = 'x'", "attributes.`nope` = 'x'"],
)
def test_bad_quoted_names_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput, match="filter"):
        parse_filter(text)


@pytest.mark.parametrize("clause", ["metrics.`a b` sideways", "metrics.`a` DESC extra", ""])
def test_bad_order_by_is_refused(clause: str) -> None:
    with pytest.raises(InvalidInput, match=r"order_by|filter"):
        parse_order_by(clause)
