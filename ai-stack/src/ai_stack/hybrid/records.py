"""How a memory is stored as an aidb document (pure).

One aidb collection holds every memory (`memories` by default); the kind is a metadata field,
so one search covers all kinds and a filter narrows it. The document's path is
`<kind>/<fingerprint of the normalized text>`: aidb's unique (collection, project, path) makes
an exact or normalized duplicate the same document, whoever writes it first. Metadata:

kind, tags, sources (up to MAX_SOURCES), count, first_seen, last_seen, valid_from, valid_to
(FAR_FUTURE while current, so "current at t" is one range filter), current, supersedes,
superseded_by.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from ai_stack.aidb.schemas import DocumentIn
from ai_stack.hybrid.normalize import fingerprint
from ai_stack.hybrid.schemas import Memory

FAR_FUTURE = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
MAX_SOURCES = 20
MAX_VARIANTS = 5
VARIANT_CHARS = 1000
TITLE_CHARS = 80
Metadata = dict[str, Any]


def memory_path(kind: str, content: str) -> str:
    return f"{kind}/{fingerprint(content)}"


def title_of(content: str) -> str:
    """The first line, cut at a word boundary."""
    line = content.strip().splitlines()[0] if content.strip() else ""
    return line if len(line) <= TITLE_CHARS else line[:TITLE_CHARS].rsplit(" ", 1)[0] + " …"


def _stamp(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat()


def new_metadata(
    kind: str, tags: list[str], source: str, now: dt.datetime, supersedes: uuid.UUID | None = None
) -> Metadata:
    return {
        "kind": kind,
        "tags": sorted(set(tags)),
        "sources": [source] if source else [],
        "count": 1,
        "first_seen": _stamp(now),
        "last_seen": _stamp(now),
        "valid_from": _stamp(now),
        "valid_to": _stamp(FAR_FUTURE),
        "current": True,
        "supersedes": str(supersedes) if supersedes else None,
        "superseded_by": None,
    }


def with_variant(meta: Metadata, wording: str) -> Metadata:
    """Keeps another wording of the memory (the last MAX_VARIANTS), so a merge loses no text."""
    variants = [v for v in meta.get("variants", []) if v != wording]
    return {**meta, "variants": [*variants, wording[:VARIANT_CHARS]][-MAX_VARIANTS:]}


def seen_again(meta: Metadata, source: str, tags: list[str], now: dt.datetime) -> Metadata:
    """A duplicate or a merged near-duplicate: counted, both sources and all tags kept."""
    sources = list(meta.get("sources", []))
    if source and source not in sources:
        sources = [*sources, source][-MAX_SOURCES:]
    merged_tags = sorted(set(meta.get("tags", [])) | set(tags))
    return {
        **meta,
        "count": int(meta.get("count", 1)) + 1,
        "last_seen": _stamp(now),
        "sources": sources,
        "tags": merged_tags,
    }


def closed(meta: Metadata, successor: uuid.UUID, now: dt.datetime) -> Metadata:
    """No longer current: its validity window ends now."""
    return {**meta, "current": False, "valid_to": _stamp(now), "superseded_by": str(successor)}


def reopened(meta: Metadata, now: dt.datetime) -> Metadata:
    """A historical memory written again is current again, from now."""
    return {
        **meta,
        "current": True,
        "valid_from": _stamp(now),
        "valid_to": _stamp(FAR_FUTURE),
        "superseded_by": None,
    }


def document(
    collection: str, project: str, content: str, meta: Metadata, path: str | None = None
) -> DocumentIn:
    """The aidb document of a memory; `path` keeps an existing memory's identity when its
    wording changes (a merge adopting the newest statement)."""
    return DocumentIn(
        collection=collection,
        project=project,
        path=path or memory_path(meta["kind"], content),
        title=title_of(content),
        content_type="text/plain",
        content=content,
        metadata=meta,
    )


def to_memory(
    document_id: uuid.UUID, project: str, content: str, meta: Metadata, score: float | None = None
) -> Memory:
    valid_to = dt.datetime.fromisoformat(meta["valid_to"])
    return Memory(
        id=document_id,
        kind=meta["kind"],
        project=project,
        content=content,
        tags=meta.get("tags", []),
        sources=meta.get("sources", []),
        variants=meta.get("variants", []),
        count=meta.get("count", 1),
        first_seen=meta["first_seen"],
        last_seen=meta["last_seen"],
        valid_from=meta["valid_from"],
        valid_to=None if valid_to >= FAR_FUTURE else valid_to,
        current=meta.get("current", True),
        supersedes=meta.get("supersedes"),
        superseded_by=meta.get("superseded_by"),
        score=score,
    )


def is_memory(meta: Metadata) -> bool:
    """Whether an aidb document's metadata has the memory layout (another writer may share the collection)."""
    return all(key in meta for key in ("kind", "first_seen", "last_seen", "valid_from", "valid_to"))
