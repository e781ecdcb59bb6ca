"""Identical chunks: a search shows a text once per project, listing the other places it appears (pure).

A project often holds the same text many times: a licence header atop every file, a page footer,
a paragraph copied between pages, one document stored under two paths. Each copy stays indexed as
a point of its own, so a filter on a document's own fields (path, metadata, status, expiry) still
finds it there; but a search that matched several copies shows the text once, at the rank of its
best copy, and names the others, instead of filling the page with one text.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from ai_stack.aidb.fusion import Ranked

# How many other copies of a text a result names.
MAX_DUPLICATES = 20
FINGERPRINT_FIELD = "text_sha256"


def text_fingerprint(text: str) -> str:
    """What makes two chunks' texts identical: the same words in the same order (runs of
    whitespace, which HTML extraction and re-wrapping vary, count as one space)."""
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


def _identity(item: Ranked) -> tuple[object, ...]:
    payload = item.payload
    fingerprint = payload.get(FINGERPRINT_FIELD)
    if fingerprint is None:  # indexed before fingerprints: only itself
        return ("chunk", item.chunk_id)
    return ("text", payload.get("collection"), payload.get("project"), fingerprint)


def collapse_identical(
    ranked: Sequence[Ranked], max_duplicates: int = MAX_DUPLICATES
) -> tuple[list[Ranked], dict[str, list[Ranked]]]:
    """The ranking with each text's best copy only (same collection and project), and per kept
    chunk id the other copies that matched, best first, at most `max_duplicates`."""
    kept: list[Ranked] = []
    first: dict[tuple[object, ...], Ranked] = {}
    duplicates: dict[str, list[Ranked]] = {}
    for item in ranked:
        identity = _identity(item)
        best = first.get(identity)
        if best is None:
            first[identity] = item
            kept.append(item)
            continue
        others = duplicates.setdefault(best.chunk_id, [])
        if len(others) < max_duplicates:
            others.append(item)
    return kept, duplicates
