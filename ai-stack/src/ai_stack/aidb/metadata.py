"""Document metadata: what may be stored, and the part the vector index keeps (pure).

Metadata lives in PostgreSQL (jsonb) with its document. The vector index needs only what a
filter can match: scalars (strings up to FILTERABLE_STRING_CHARS, 64-bit integers, finite
numbers, booleans) and lists of them, at any nesting the document has. Copying all of it into
every chunk's payload would multiply one large value by the chunk count in the engine's memory.
"""

from __future__ import annotations

from typing import Any

from ai_stack.aidb.vectors.conditions import is_i64

FILTERABLE_STRING_CHARS = 256
# Beyond any configured limit, and below orjson's own (it refuses to encode past 254 levels).
HARD_MAX_DEPTH = 64


def json_problem(value: Any) -> str | None:
    """What PostgreSQL or the engines would refuse in a JSON value (NUL, integers beyond 64
    bits, nesting past HARD_MAX_DEPTH), or None. The settings' tighter bounds apply later."""
    stack: list[tuple[str, Any, int]] = [("metadata", value, 0)]
    while stack:
        where, item, level = stack.pop()
        if level > HARD_MAX_DEPTH:
            return f"metadata is nested more than {HARD_MAX_DEPTH} levels deep"
        if isinstance(item, str) and "\x00" in item:
            return f"{where} contains a NUL character (U+0000)"
        if isinstance(item, int) and not isinstance(item, bool) and not is_i64(item):
            return f"{where} is an integer beyond 64 bits"
        if isinstance(item, dict):
            for key, child in item.items():
                if "\x00" in key:
                    return f"{where} has a key containing a NUL character (U+0000)"
                stack.append((f"{where}.{key}", child, level + 1))
        elif isinstance(item, list):
            stack.extend((f"{where}[{i}]", child, level + 1) for i, child in enumerate(item))
    return None


def depth(value: Any) -> int:
    """Nesting depth: a scalar is 0, `{}` and `[]` are 1."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level + 1)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _filterable_scalar(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= FILTERABLE_STRING_CHARS
    return isinstance(value, bool | int | float)


def filterable(value: Any) -> Any:
    """The part of a metadata value a filter can match (same shape); None when nothing is."""
    if isinstance(value, dict):
        kept = {k: v for k, child in value.items() if (v := filterable(child)) is not None}
        return kept or None
    if isinstance(value, list):
        items = [item for item in value if _filterable_scalar(item)]
        return items or None
    return value if _filterable_scalar(value) else None
