"""Metadata: what may be stored, and the filterable part the vector index keeps."""

from __future__ import annotations

from typing import Any

import pytest
from ai_stack.aidb.metadata import FILTERABLE_STRING_CHARS, depth, filterable, json_problem


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"a": "x\x00"}, "metadata.a contains a NUL"),
        ({"a\x00": 1}, "key containing a NUL"),
        ({"a": [1, {"b": 2**63}]}, "metadata.a[1].b is an integer beyond 64 bits"),
        ({"a": -(2**63) - 1}, "beyond 64 bits"),
    ],
)
def test_values_the_database_or_engines_refuse_are_named(value: Any, problem: str) -> None:
    assert problem in (json_problem(value) or "")


def test_storable_values_pass() -> None:
    assert json_problem({"a": [1, 2.5, True, None, "ü"], "b": {"c": 2**63 - 1}}) is None


def test_hard_depth_cap_needs_no_recursion() -> None:
    value: dict[str, Any] = {}
    for _ in range(5000):
        value = {"a": value}
    assert "nested more than" in (json_problem(value) or "")
    assert depth(value) == 5001


def test_depth() -> None:
    assert (depth({}), depth({"a": 1}), depth({"a": [1]}), depth({"a": {"b": []}})) == (1, 1, 2, 3)


def test_filterable_keeps_what_filters_match_and_drops_the_rest() -> None:
    metadata = {
        "lang": "en",
        "year": 2024,
        "ok": True,
        "tags": ["a", "b", {"x": 1}],
        "long": "s" * (FILTERABLE_STRING_CHARS + 1),
        "nested": {"keep": 1, "drop": "s" * 1000},
        "empty": {"drop": "s" * 1000},
    }
    assert filterable(metadata) == {
        "lang": "en",
        "year": 2024,
        "ok": True,
        "tags": ["a", "b"],
        "nested": {"keep": 1},
    }
