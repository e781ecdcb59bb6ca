"""Agent memories stored through aidb: dedup on write, supersede with history, search, listing."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ai_stack.aidb.schemas import Document, ListQuery, SearchIn, SearchResult
from ai_stack.clients.aidb import AidbClient
from ai_stack.clients.errors import InvalidRequest, NotFound
from ai_stack.hybrid import records
from ai_stack.hybrid.aidb_writes import upsert_creating
from ai_stack.hybrid.conflicts import different_facts
from ai_stack.hybrid.normalize import normalized
from ai_stack.hybrid.schemas import (
    Deleted,
    Memory,
    MemoryIn,
    MemoryListQuery,
    MemoryPage,
    MemoryReplacement,
    MemoryResults,
    MemorySearchIn,
    MemoryWritten,
)
from ai_stack.hybrid.scoring import best_keyword, relevance

# aidb refuses longer queries; the embedding model reads far fewer tokens than this anyway.
NEAR_DUPLICATE_QUERY_CHARS = 2000
NEAR_DUPLICATE_CANDIDATES = 3
SNIPPET_ELLIPSIS = " …"
LIST_PAGES_PER_REQUEST = 10


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Similar:
    """An existing memory close to a new one, and whether they state different facts."""

    document_id: uuid.UUID
    similarity: float
    different: bool


@dataclass(frozen=True)
class DedupPolicy:
    """When a new memory merges into an existing one, and when it replaces one."""

    merge_similarity: float
    supersede_similarity: float
    supersede_kinds: frozenset[str]

    def merge_target(self, similar: list[Similar]) -> Similar | None:
        return next((s for s in similar if s.similarity >= self.merge_similarity and not s.different), None)

    def supersede_target(self, similar: list[Similar], kind: str) -> Similar | None:
        if kind not in self.supersede_kinds:
            return None
        return next((s for s in similar if s.similarity >= self.supersede_similarity and s.different), None)


@dataclass
class MemoryStore:
    """Memories as documents of one aidb collection (layout in records.py)."""

    aidb: AidbClient
    collection: str
    dedup: DedupPolicy
    clock: Callable[[], dt.datetime] = field(default=_now)

    async def remember(self, memory: MemoryIn) -> MemoryWritten:
        """Creates, or counts a duplicate, or merges a near-duplicate, or supersedes."""
        if memory.supersedes is not None:
            return await self._supersede(memory.supersedes, memory)
        existing = await self._find(memory.project, memory.kind, memory.content)
        if existing is not None:
            return await self._seen_again(existing, memory, "duplicate")
        similar, degraded = await self._similar(memory)
        if (target := self.dedup.merge_target(similar)) is not None:
            document = await self._memory_document(target.document_id)
            written = await self._seen_again(document, memory, "merged")
            return written.model_copy(update={"similarity": target.similarity})
        if (target := self.dedup.supersede_target(similar, memory.kind)) is not None:
            written = await self._supersede(target.document_id, memory)
            return written.model_copy(update={"similarity": target.similarity})
        meta = records.new_metadata(memory.kind, memory.tags, memory.source, self.clock())
        created = await self._put(memory.project, memory.content, meta)
        reason = "near-duplicates not checked: aidb answered without vectors" if degraded else None
        return MemoryWritten(id=created, outcome="created", degraded=degraded, reason=reason)

    async def replace(self, memory_id: uuid.UUID, replacement: MemoryReplacement) -> MemoryWritten:
        """`PUT`: a new version of `memory_id` with the same kind and project."""
        old = await self._memory_document(memory_id)
        memory = MemoryIn(
            content=replacement.content,
            kind=old.metadata["kind"],
            project=old.project,
            tags=replacement.tags if replacement.tags is not None else old.metadata.get("tags", []),
            source=replacement.source,
            supersedes=memory_id,
        )
        return await self._supersede(memory_id, memory, old)

    async def get(self, memory_id: uuid.UUID) -> Memory:
        document = await self._memory_document(memory_id)
        return records.to_memory(document.id, document.project, document.content, document.metadata)

    async def delete(self, memory_id: uuid.UUID) -> Deleted:
        await self._memory_document(memory_id)
        return await self._deleted(memory_id)

    async def _deleted(self, memory_id: uuid.UUID) -> Deleted:
        answer = await self.aidb.delete(memory_id)
        return Deleted(deleted=answer.deleted)

    async def search(self, request: MemorySearchIn) -> MemoryResults:
        """Hybrid search through aidb over current memories (or those current `as_of`)."""
        filters: dict[str, Any] = {}
        if request.kinds:
            filters["kind"] = {"in": list(request.kinds)}
        if request.tags:
            filters["tags"] = {"in": list(request.tags)}
        if request.as_of is not None:
            moment = request.as_of if request.as_of.tzinfo else request.as_of.replace(tzinfo=dt.UTC)
            stamp = moment.astimezone(dt.UTC).isoformat()
            filters |= {"valid_from": {"lte": stamp}, "valid_to": {"gt": stamp}}
        elif not request.include_history:
            filters["current"] = True
        found = await self.aidb.search(
            SearchIn(
                query=request.query[:NEAR_DUPLICATE_QUERY_CHARS],
                collections=[self.collection],
                project=request.project,
                filters=filters,
                limit=request.limit,
                explain=True,
                # Each memory is a record of its own (kind, tags, validity), even with the same words.
                collapse_duplicates=False,
            )
        )
        best = best_keyword(found.results)
        memories = [
            await self._from_result(r, relevance(r, best))
            for r in found.results
            if records.is_memory(r.metadata)
        ]
        return MemoryResults(memories=memories, degraded=found.degraded, reason=found.reason)

    async def listing(self, query: MemoryListQuery) -> MemoryPage:
        """Newest first; kind, tag and history are filtered here, so a page may hold fewer than
        `limit` memories while `next_cursor` says there are more."""
        memories: list[Memory] = []
        cursor = query.cursor
        for _ in range(LIST_PAGES_PER_REQUEST):
            # Never more than still wanted, so the cursor resumes exactly after what was returned.
            wanted = query.limit - len(memories)
            page = await self.aidb.list(
                ListQuery(collection=self.collection, project=query.project, limit=wanted, cursor=cursor)
            )
            cursor = page.next_cursor
            kept = [s.id for s in page.documents if _listed(s.metadata, query)]
            documents = await asyncio.gather(*(self.aidb.get(document_id) for document_id in kept))
            memories += [records.to_memory(d.id, d.project, d.content, d.metadata) for d in documents]
            if len(memories) >= query.limit or cursor is None:
                break
        return MemoryPage(memories=memories, next_cursor=cursor)

    async def _supersede(
        self, old_id: uuid.UUID, memory: MemoryIn, old: Document | None = None
    ) -> MemoryWritten:
        old = old or await self._memory_document(old_id)
        if old.project != memory.project:
            raise InvalidRequest(
                f"memory {old_id} is in project {old.project!r}; a new version stays in its project",
                status=422,
                code="validation_error",
            )
        now = self.clock()
        existing = await self._find(memory.project, memory.kind, memory.content)
        if existing is not None and existing.id == old.id:
            return await self._seen_again(existing, memory, "duplicate")
        meta = records.new_metadata(memory.kind, memory.tags, memory.source, now, supersedes=old.id)
        new_id = await self._put(memory.project, memory.content, meta)
        await self._put(old.project, old.content, records.closed(old.metadata, new_id, now), path=old.path)
        return MemoryWritten(id=new_id, outcome="superseded", superseded_id=old.id)

    async def _seen_again(self, document: Document, memory: MemoryIn, outcome: str) -> MemoryWritten:
        """Counts the memory again. A merged near-duplicate's wording is kept as a variant; for the
        kinds that hold one current value the newest wording becomes the memory's text (what was
        said last is what holds now), the earlier one a variant: no text is lost either way."""
        now = self.clock()
        meta = document.metadata
        if not meta.get("current", True):
            await self._put(
                document.project, document.content, records.reopened(meta, now), path=document.path
            )
            return MemoryWritten(id=document.id, outcome="created")
        meta = records.seen_again(meta, memory.source, memory.tags, now)
        content = document.content
        if outcome == "merged" and normalized(memory.content) != normalized(content):
            newest = meta["kind"] in self.dedup.supersede_kinds
            meta = records.with_variant(meta, content if newest else memory.content)
            content = memory.content if newest else content
        await self._put(document.project, content, meta, path=document.path)
        return MemoryWritten(id=document.id, outcome=outcome)  # type: ignore[arg-type]

    async def _find(self, project: str, kind: str, content: str) -> Document | None:
        path = records.memory_path(kind, content)
        page = await self.aidb.list(
            ListQuery(collection=self.collection, project=project, path=path, limit=1)
        )
        return await self.aidb.get(page.documents[0].id) if page.documents else None

    async def _similar(self, memory: MemoryIn) -> tuple[list[Similar], bool]:
        """Current memories of the same kind and project, most similar first (dense cosine), and
        whether aidb answered without vectors (embeddings down: nothing can be compared)."""
        found = await self.aidb.search(
            SearchIn(
                query=memory.content[:NEAR_DUPLICATE_QUERY_CHARS],
                mode="vector",
                collections=[self.collection],
                project=memory.project,
                filters={"current": True, "kind": memory.kind},
                limit=NEAR_DUPLICATE_CANDIDATES,
                explain=True,
                collapse_duplicates=False,  # every candidate to merge with, copies included
            )
        )
        similar = []
        for result in found.results:
            similarity = result.explain.dense if result.explain is not None else None
            if similarity is None or similarity < min(
                self.dedup.merge_similarity, self.dedup.supersede_similarity
            ):
                continue
            different = different_facts(memory.content, await self._content(result))
            similar.append(Similar(result.document_id, similarity, different))
        return similar, found.degraded

    async def _content(self, result: SearchResult) -> str:
        if result.snippet.endswith(SNIPPET_ELLIPSIS):  # aidb cut it: the whole memory is in the document
            return (await self.aidb.get(result.document_id)).content
        return result.snippet

    async def _from_result(self, result: SearchResult, score: float) -> Memory:
        content = await self._content(result)
        return records.to_memory(result.document_id, result.project, content, result.metadata, score)

    async def _memory_document(self, memory_id: uuid.UUID) -> Document:
        document = await self.aidb.get(memory_id)
        if document.collection != self.collection or not records.is_memory(document.metadata):
            raise NotFound(f"no memory {memory_id}", status=404, code="not_found")
        return document

    async def _put(
        self, project: str, content: str, meta: records.Metadata, path: str | None = None
    ) -> uuid.UUID:
        document = records.document(self.collection, project, content, meta, path)
        return await upsert_creating(self.aidb, document, "Agent memories")


def _listed(meta: records.Metadata, query: MemoryListQuery) -> bool:
    if not records.is_memory(meta):
        return False
    if not query.include_history and not meta.get("current", True):
        return False
    if query.kind is not None and meta.get("kind") != query.kind:
        return False
    if query.tag is not None and query.tag not in meta.get("tags", []):
        return False
    return _within(dt.datetime.fromisoformat(meta["last_seen"]), query.seen_since, query.seen_before)


def _within(moment: dt.datetime, since: dt.datetime | None, before: dt.datetime | None) -> bool:
    """Whether `moment` is in [since, before); naive bounds are read as UTC."""
    since, before = (b if b is None or b.tzinfo else b.replace(tzinfo=dt.UTC) for b in (since, before))
    return (since is None or moment >= since) and (before is None or moment < before)
