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
    if size(result) <= limit:
        return dict(result)

    def noted(kept: list[Any]) -> dict[str, Any]:
        omitted = len(result[list_key]) - len(kept)
        note = f"{omitted} more left out to stay under {limit} characters; lower limit or page on"
        return {**result, list_key: kept, "omitted": omitted, "note": note}

    while items and size(noted(items)) > limit:
        items.pop()
    return noted(items)


def fit_text(result: dict[str, Any], key: str, limit: int) -> tuple[dict[str, Any], bool]:
    """Cuts `result[key]` until the whole result fits `limit` characters as the agent reads it
    (escapes make the JSON longer than the text, so each cut is scaled by the measured ratio)."""
    text, cut = result[key], False
    rest = size({**result, key: ""})
    while text and (total := size({**result, key: text})) > limit:
        share = max(0, limit - rest) / max(1, total - rest)
        text, _ = clip(text, min(len(text) - 1, int(len(text) * share)))
        cut = True
    return {**result, key: text}, cut
