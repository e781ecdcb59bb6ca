"""Metadata filter specs, parsed once so every backend filters alike (pure)."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

RANGE_BOUNDS = ("gt", "gte", "lt", "lte")
I64_MIN, I64_MAX = -(2**63), 2**63 - 1
MAX_KEY_CHARS = 256
# RFC 3339 date-time, or a bare date (which Qdrant reads as midnight UTC). Python's
# fromisoformat accepts more (week dates, "20240101", "2024-01-01T12") that the engine refuses.
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:\d{2})?)?"
)
_FRACTION = re.compile(r"(\.\d{6})\d+")


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


def is_i64(value: int) -> bool:
    """Whether an integer fits the engines' signed 64-bit payload integers."""
    return I64_MIN <= value <= I64_MAX


def _is_scalar(value: Any) -> bool:
    if isinstance(value, bool) or isinstance(value, str):
        return True
    return isinstance(value, int) and is_i64(value)


def _is_segment(segment: str) -> bool:
    # Qdrant's JSON-path grammar: unquoted keys are letters, digits, '_' and '-', optionally
    # followed by '[]' (every element of an array).
    name = segment.removesuffix("[]")
    return bool(name) and all(c.isalnum() or c in "_-" for c in name) and name.isprintable()


def _finite(value: Any) -> float | None:
    """`value` as a finite float (what the engines' ranges take), or None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        return None
    return number if math.isfinite(number) else None


def check_metadata_path(key: str) -> None:
    """Raises ValueError unless `key` is a dotted metadata path the engines can parse."""
    if not key or len(key) > MAX_KEY_CHARS or not all(_is_segment(s) for s in key.split(".")):
        raise ValueError(
            f"filter key {key!r} is not a metadata path: use dot-separated names of letters, digits,"
            f" '_' and '-' (at most {MAX_KEY_CHARS} characters)"
        )


def normalize_date(value: Any) -> str | None:
    """`value` as a full RFC 3339 timestamp in UTC, or None when it is not an RFC 3339 date."""
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        return None
    try:  # Python keeps microseconds; nanoseconds are cut, not rounded
        parsed = dt.datetime.fromisoformat(_FRACTION.sub(r"\1", value.replace("z", "Z")))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC).isoformat()
    except (ValueError, OverflowError):  # day 31 of February, a year 0 after the offset
        return None


def parse_metadata_condition(key: str, spec: Any) -> MetadataCondition:
    """`{"in": [...]}`, `{"gte"/"gt"/"lte"/"lt": number or ISO date}` or a plain value (equality).

    Checked with the engines' own grammar (payload paths, 64-bit integers, RFC 3339 dates), so a
    bad filter is a 422 and never reaches an engine. Raises ValueError naming what is wrong.
    """
    check_metadata_path(key)
    if isinstance(spec, dict) and set(spec) == {"in"}:
        values = spec["in"]
        if not isinstance(values, list) or not values or not all(_is_scalar(v) for v in values):
            raise ValueError(
                f"filter {key!r}: 'in' takes a non-empty list of strings, 64-bit integers or booleans"
            )
        return AnyOf(key, tuple(values))
    if isinstance(spec, dict):
        unknown = set(spec) - set(RANGE_BOUNDS)
        if not spec or unknown:
            raise ValueError(f"filter {key!r}: use 'in' or range bounds {', '.join(RANGE_BOUNDS)}")
        dates = {bound: normalize_date(v) for bound, v in spec.items()}
        if all(dates.values()):
            return Between(key, dates, dates=True)
        numbers = {bound: _finite(v) for bound, v in spec.items()}
        if all(n is not None for n in numbers.values()):
            return Between(key, numbers, dates=False)
        raise ValueError(
            f"filter {key!r}: range bounds must be all numbers or all RFC 3339 dates"
            " (2024-01-31 or 2024-01-31T12:00:00Z)"
        )
    if not _is_scalar(spec):
        raise ValueError(f"filter {key!r}: equality takes a string, a 64-bit integer or a boolean")
    return Equals(key, spec)


def group_by_kind(values: tuple[Any, ...]) -> dict[type, list[Any]]:
    """Values split by type (bool, int, str): engines match any-of within one type only."""
    groups: dict[type, list[Any]] = {}
    for value in values:
        groups.setdefault(type(value), []).append(value)
    return groups
