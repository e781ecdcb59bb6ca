"""Keeping tool results small enough for an agent's context (pure)."""

from __future__ import annotations

from typing import Any

import orjson

ELLIPSIS = " …"


def clip(text: str, limit: int) -> tuple[str, bool]:
    """`text` cut at a word boundary to at most `limit` characters, and whether it was cut."""
    if len(text) <= limit:
        return text, False
    cut = text[: max(0, limit - len(ELLIPSIS))].rsplit(" ", 1)[0]
    return cut + ELLIPSIS, True


def size(value: Any) -> int:
    """Characters of `value` as the SDK puts it in the text content an agent reads (indented JSON)."""
    return len(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


def capped(result: dict[str, Any], list_key: str, limit: int) -> dict[str, Any]:
    """Drops items from the end of `result[list_key]` until the JSON fits `limit` characters;
    says how many were left out, so the agent can page or narrow instead."""
    items = list(result.get(list_key, []))
    kept = dict(result)
    while items and size({**kept, list_key: items}) > limit:
        items.pop()
    omitted = len(result.get(list_key, [])) - len(items)
    kept[list_key] = items
    if omitted:
        kept["omitted"] = omitted
        kept["note"] = f"{omitted} more left out to stay under {limit} characters; lower limit or page on"
    return kept
