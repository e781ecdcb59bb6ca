"""Contextual chunk headers: a chunk is embedded and indexed with its document's title and heading
path, so that a section that never names its subject ("Set it to on to …") is still found by it (pure).

The stored chunk text, and what search results show, stay as written; only the text given to the
model and to BM25 carries the header. The model reads at most its window, so a header is cut to
the room the chunk leaves (the most specific heading and the title are kept longest).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

SEPARATOR = " > "


def header_parts(title: str, heading_path: Sequence[str]) -> list[str]:
    """The title, then the headings, without blanks or repeats (a page's first heading is often its title)."""
    parts: list[str] = []
    for part in (title, *heading_path):
        part = " ".join(part.split())
        if part and part.casefold() not in {p.casefold() for p in parts}:
            parts.append(part)
    return parts


def contextual_text(
    text: str,
    title: str,
    heading_path: Sequence[str],
    *,
    room_tokens: int | None = None,
    count: Callable[[str], int] | None = None,
) -> str:
    """`text` led by its header line; with `room_tokens` and `count`, the longest header that fits
    (all parts; title and last heading; last heading; title; none)."""
    parts = header_parts(title, heading_path)
    if not parts:
        return text
    candidates = [parts]
    if len(parts) > 2:
        candidates.append([parts[0], parts[-1]])
    if len(parts) > 1:
        candidates += [[parts[-1]], [parts[0]]]
    for candidate in candidates:
        header = SEPARATOR.join(candidate)
        if text.startswith(header):
            return text
        if room_tokens is None or count is None or count(header + "\n\n") <= room_tokens:
            return f"{header}\n\n{text}"
    return text
