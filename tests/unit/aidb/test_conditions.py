"""Metadata filter specs: which kind each is, and a clear error for each malformed shape."""

from __future__ import annotations

from typing import Any

import pytest
from ai_stack.aidb.vectors.conditions import (
    AnyOf,
    Between,
    Equals,
    group_by_kind,
    normalize_date,
    parse_metadata_condition,
)


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
        ({"gte": 1, "lt": "2024-01-01"}, "all numbers or all RFC 3339"),
        ({"gte": "soon"}, "all numbers or all RFC 3339"),
        ({"gte": True}, "all numbers or all RFC 3339"),
        ([1, 2], "equality"),
        (1.5, "equality"),
        (None, "equality"),
    ],
)
def test_malformed_specs_are_refused(spec: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_metadata_condition("k", spec)


@pytest.mark.parametrize(
    "key", ["", ".a", "a.", "a..b", "a b", "a$", "a:b", 'a"b', "a*", "a\\b", "a\tb", "a😀", "[]", "x" * 257]
)
def test_keys_outside_the_engines_path_grammar_are_refused(key: str) -> None:
    with pytest.raises(ValueError, match="metadata path"):
        parse_metadata_condition(key, 1)


@pytest.mark.parametrize("key", ["lang", "größe", "a-b_c", "a.b.c", "tags[]", "a[].b"])
def test_keys_in_the_grammar_pass(key: str) -> None:
    assert parse_metadata_condition(key, 1) == Equals(key, 1)


@pytest.mark.parametrize("spec", [2**63, -(2**63) - 1, {"in": [1, 2**63]}])
def test_integers_beyond_64_bits_are_refused(spec: Any) -> None:
    with pytest.raises(ValueError, match="64-bit"):
        parse_metadata_condition("n", spec)


@pytest.mark.parametrize(
    ("value", "normalized"),
    [
        ("2024-01-31", "2024-01-31T00:00:00+00:00"),
        ("2024-01-31T12:00", "2024-01-31T12:00:00+00:00"),
        ("2024-01-31 12:00:00+02:00", "2024-01-31T10:00:00+00:00"),
        ("2024-01-31T12:00:00.123456789Z", "2024-01-31T12:00:00.123456+00:00"),
        ("2024-W01-1", None),
        ("20240101", None),
        ("2024-01-01T12", None),
        ("2024-02-30", None),
        ("0001-01-01T00:00:00+01:00", None),
    ],
)
def test_dates_are_rfc3339_and_normalized_to_utc(value: str, normalized: str | None) -> None:
    assert normalize_date(value) == normalized


def test_range_numbers_must_be_finite_floats() -> None:
    with pytest.raises(ValueError, match="RFC 3339"):
        parse_metadata_condition("n", {"lt": 10**400})


def test_group_by_kind_keeps_bools_apart_from_ints() -> None:
    assert group_by_kind((1, True, "a", 2, False)) == {int: [1, 2], bool: [True, False], str: ["a"]}
