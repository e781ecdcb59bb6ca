"""Sections as aidb documents, and the diff that decides what a sync sends (pure)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ai_stack.aidb.schemas import PATH_MAX_BYTES, DocumentIn
from ai_stack.docs_search.schemas import Source
from ai_stack.docs_search.sections import Section

TITLE_MAX_CHARS = 1000


def stored_digest(section: Section, version: str | None) -> str:
    """What the manifest records: the section's digest and the version its metadata carries."""
    return hashlib.sha256(f"{section.digest()}|{version or ''}".encode()).hexdigest()


@dataclass
class SyncPlan:
    """What a sync does with one source's parse: store `changed`, delete `removed`."""

    changed: list[tuple[Section, str]] = field(default_factory=list)  # (section, stored digest)
    unchanged: int = 0
    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    keys: set[str] = field(default_factory=set)


def plan_sync(sections: Iterable[Section], manifest: Mapping[str, str], version: str | None) -> SyncPlan:
    """Sections whose digest differs from the manifest's, and keys no longer in the source.

    A key that cannot be an aidb path, or a second section with a key already seen (a parser
    emitting two anchors alike), is reported and skipped rather than stored twice.
    """
    plan = SyncPlan()
    for section in sections:
        if section.key in plan.keys:
            plan.problems.append(f"{section.key}: two sections share this key; the first is kept")
            continue
        if not _usable_key(section.key):
            plan.problems.append(
                f"{section.key[:80]!r}: not a usable section key (a file name not in UTF-8?)"
            )
            continue
        plan.keys.add(section.key)
        digest = stored_digest(section, version)
        if manifest.get(section.key) == digest:
            plan.unchanged += 1
        else:
            plan.changed.append((section, digest))
    plan.removed = sorted(set(manifest) - plan.keys)
    return plan


def _usable_key(key: str) -> bool:
    """An aidb path: non-empty, no NUL, and encodable (a file name that is not UTF-8 arrives with
    surrogate escapes, which no database takes)."""
    try:
        size = len(key.encode("utf-8"))
    except UnicodeEncodeError:
        return False
    return 0 < size <= PATH_MAX_BYTES and "\x00" not in key


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
VERSION_MAX_CHARS = 100


def clean_version(version: str | None) -> str | None:
    """A version the material told, made safe to store and print: no control characters (a NUL
    would fail every write; an escape sequence would reach a terminal), at most 100 characters."""
    if version is None:
        return None
    cleaned = _CONTROL.sub("", version).strip()[:VERSION_MAX_CHARS]
    try:
        cleaned.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return cleaned or None


def _clean(text: str) -> str:
    return text.replace("\x00", "")


def _without_nul(value: Any) -> Any:
    """`value` with U+0000 taken out of every string, keys included (PostgreSQL refuses it)."""
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, dict):
        return {_clean(str(k)): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_nul(v) for v in value]
    return value


def section_document(
    source: Source,
    version: str | None,
    section: Section,
    digest: str,
    *,
    collection: str,
    max_chars: int,
) -> DocumentIn:
    """The aidb document of a section: project = source, path = key; the heading path is written
    above the text (a contextual header: a chunk then matches on the page and section it is in)."""
    header = " > ".join(section.heading_path) or section.title
    body = _clean(section.text)
    if len(body) > max_chars:
        body = body[:max_chars]
    content = f"{_clean(header)}\n\n{body}".strip() or section.key
    metadata = {
        "source": source.name,
        "kind": source.kind,
        "key": section.key,
        "url": _clean(section.url),
        "heading_path": [_clean(h) for h in section.heading_path],
        "digest": digest,
        "version": version,
        "section": _without_nul(section.metadata),
    }
    return DocumentIn(
        collection=collection,
        project=source.name,
        path=section.key,
        title=_clean(section.title)[:TITLE_MAX_CHARS],
        content_type="text/markdown",
        content=content,
        metadata=metadata,
    )


def batches(documents: Sequence[DocumentIn], max_items: int, max_bytes: int) -> Iterator[list[int]]:
    """Indexes of `documents` in groups of at most `max_items` and (but for a lone big one) `max_bytes`."""
    group: list[int] = []
    size = 0
    for index, document in enumerate(documents):
        weight = len(document.content.encode()) + 512
        if group and (len(group) >= max_items or size + weight > max_bytes):
            yield group
            group, size = [], 0
        group.append(index)
        size += weight
    if group:
        yield group
