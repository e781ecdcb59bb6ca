"""Metadata filter specs: which kind each is, and a clear error for each malformed shape."""

from __future__ import annotations

from typing import Any

import pytest
from ai_stack.aidb.vectors.conditions import AnyOf, Between, Equals, group_by_kind, parse_metadata_condition


def test_kinds() -> None:
    assert parse_metadata_condition("lang", "en") == Equals("lang", "en")
    assert parse_metadata_condition("ok", True) == Equals("ok", True)
    assert parse_metadata_condition("lang", {"in": ["en", "de"]}) == AnyOf("lang", ("en", "de"))
    assert parse_metadata_condition("y", {"gte": 1, "lt": 2.5}) == Between("y", {"gte": 1, "lt": 2.5}, False)
    day = parse_metadata_condition("d", {"gte": "2024-01-01T00:00:00Z"})
    assert isinstance(day, Between) and day.dates


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"in": 5}, "non-empty list"),
        ({"in": []}, "non-empty list"),
        ({"in": [1.5]}, "non-empty list"),
        ({"near": 1}, "range bounds"),
        ({}, "range bounds"),
        ({"gte": 1, "lt": "2024-01-01"}, "all numbers or all ISO-8601"),
        ({"gte": "soon"}, "all numbers or all ISO-8601"),
        ({"gte": True}, "all numbers or all ISO-8601"),
        ([1, 2], "equality"),
        (1.5, "equality"),
        (None, "equality"),
    ],
)
def test_malformed_specs_are_refused(spec: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_metadata_condition("k", spec)


@pytest.mark.parametrize("key", ["", ".a", "a.", "a..b"])
def test_bad_keys(key: str) -> None:
    with pytest.raises(ValueError, match="metadata path"):
        parse_metadata_condition(key, 1)


def test_group_by_kind_keeps_bools_apart_from_ints() -> None:
    assert group_by_kind((1, True, "a", 2, False)) == {int: [1, 2], bool: [True, False], str: ["a"]}
