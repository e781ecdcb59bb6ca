"""Metadata filter specs, parsed once so every backend filters alike (pure)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

RANGE_BOUNDS = ("gt", "gte", "lt", "lte")


@dataclass(frozen=True)
class Equals:
    """`metadata.key == value`."""

    key: str
    value: Any


@dataclass(frozen=True)
class AnyOf:
    """`metadata.key` is one of `values`."""

    key: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Between:
    """`metadata.key` within bounds; `dates` when the bounds are ISO-8601 strings."""

    key: str
    bounds: dict[str, Any]
    dates: bool


MetadataCondition = Equals | AnyOf | Between


def _is_scalar(value: Any) -> bool:
    return isinstance(value, str | int | bool) and not isinstance(value, float)


def _is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def parse_metadata_condition(key: str, spec: Any) -> MetadataCondition:
    """`{"in": [...]}`, `{"gte"/"gt"/"lte"/"lt": number or ISO date}` or a plain value (equality).

    Raises ValueError naming what is wrong, so a bad filter is a 422 and never reaches an engine.
    """
    if not key or key.startswith(".") or key.endswith(".") or ".." in key:
        raise ValueError(f"filter key {key!r} is not a metadata path")
    if isinstance(spec, dict) and set(spec) == {"in"}:
        values = spec["in"]
        if not isinstance(values, list) or not values or not all(_is_scalar(v) for v in values):
            raise ValueError(f"filter {key!r}: 'in' takes a non-empty list of strings, integers or booleans")
        return AnyOf(key, tuple(values))
    if isinstance(spec, dict):
        unknown = set(spec) - set(RANGE_BOUNDS)
        if not spec or unknown:
            raise ValueError(f"filter {key!r}: use 'in' or range bounds {', '.join(RANGE_BOUNDS)}")
        bounds = dict(spec)
        if all(_is_date(v) for v in bounds.values()):
            return Between(key, bounds, dates=True)
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in bounds.values()):
            return Between(key, bounds, dates=False)
        raise ValueError(f"filter {key!r}: range bounds must be all numbers or all ISO-8601 dates")
    if not _is_scalar(spec):
        raise ValueError(f"filter {key!r}: equality takes a string, integer or boolean")
    return Equals(key, spec)


def group_by_kind(values: tuple[Any, ...]) -> dict[type, list[Any]]:
    """Values split by type (bool, int, str): engines match any-of within one type only."""
    groups: dict[type, list[Any]] = {}
    for value in values:
        groups.setdefault(type(value), []).append(value)
    return groups
