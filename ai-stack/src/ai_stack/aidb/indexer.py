"""Works off the durable outbox: embeds new chunk versions into the index, removes old ones."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import structlog

from ai_stack.aidb import repository as repo
from ai_stack.aidb.duplicates import FINGERPRINT_FIELD, text_fingerprint
from ai_stack.aidb.embedder import EmbeddingsUnavailable
from ai_stack.aidb.keyword_df import apply_delta, chunk_terms
from ai_stack.aidb.keyword_stats import KeywordStats
from ai_stack.aidb.metadata import filterable
from ai_stack.aidb.sparse import Bm25Encoder
from ai_stack.aidb.vectors.base import ChunkPoint, VectorStore
from ai_stack.core.postgres import GuardedPool
from ai_stack.text.context import contextual_text

log = structlog.get_logger(__name__)
Embed = Callable[[list[str]], Awaitable[list[list[float]]]]
LEASE_S = 120


@dataclass(frozen=True)
class OutboxItem:
    id: int
    document_id: uuid.UUID
    collection: str
    operation: str
    version: int | None
    attempts: int


def by_document(items: list[OutboxItem]) -> list[list[OutboxItem]]:
    """Items grouped per document, groups and items in outbox order."""
    groups: dict[uuid.UUID, list[OutboxItem]] = {}
    for item in items:
        groups.setdefault(item.document_id, []).append(item)
    return list(groups.values())


def retry_delay(attempts: int, max_s: float) -> float:
    """1, 2, 4, … seconds after each failed attempt, capped."""
    return float(min(max_s, 2 ** max(0, attempts - 1)))


def chunk_payload(document: asyncpg.Record, chunk: asyncpg.Record) -> dict[str, Any]:
    """What a point carries: what filters match on, and what a result shows but its metadata
    (results read that from PostgreSQL, so the index keeps only its filterable part)."""
    expires = document["expires_at"]
    return {
        "document_id": str(document["id"]),
        "chunk_id": str(chunk["id"]),
        "collection": document["collection"],
        "project": document["project"],
        "path": document["path"],
        "title": document["title"],
        "status": document["status"],
        "version": document["version"],
        "metadata": filterable(document["metadata"]) or {},
        "expires_at": expires.timestamp() if expires else None,
        "position": chunk["position"],
        "heading_path": list(chunk["heading_path"]),
        "text": chunk["text"],
        FINGERPRINT_FIELD: text_fingerprint(chunk["text"]),
    }


@dataclass(frozen=True)
class IndexedText:
    """What the model and BM25 read for a chunk: its text led by its document's title and heading
    path (text.context). BM25 has no window, so its text always carries the whole header; the
    model's gets the header cut to the room the chunk leaves in its window (a header that pushed
    the chunk's own tail out of the window measured worse). `count` None: the chunk's text alone."""

    count: Callable[[str], int] | None = None
    window_tokens: int = 256

    def __call__(self, document: asyncpg.Record, chunk: asyncpg.Record) -> tuple[str, str]:
        """(the text embedded, the text indexed for keywords)."""
        text = str(chunk["text"])
        if self.count is None:
            return text, text
        title, headings = document["title"] or "", chunk["heading_path"]
        room = self.window_tokens - (chunk["token_count"] or self.window_tokens)
        embedded = contextual_text(text, title, headings, room_tokens=room, count=self.count)
        return embedded, contextual_text(text, title, headings)


class Indexer:
    """One background loop per replica; replicas share the outbox through leases."""

    def __init__(
        self,
        pool: GuardedPool,
        store: VectorStore,
        embed: Embed,
        sparse: Bm25Encoder,
        *,
        batch: int,
        idle_s: float,
        max_backoff_s: float,
        on_indexed: Callable[[set[str]], Awaitable[None]] | None = None,
        concurrency: int = 1,
        indexed_text: IndexedText | None = None,
        keyword_stats: KeywordStats | None = None,
    ) -> None:
        self._pool = pool
        self._store = store
        self._embed = embed
        self._sparse = sparse
        self._batch = batch
        self._idle_s = idle_s
        self._max_backoff_s = max_backoff_s
        self._on_indexed = on_indexed
        self._concurrency = concurrency
        self._indexed_text = indexed_text or IndexedText()
        self._keyword_stats = keyword_stats

    async def run(self) -> None:
        """Drains forever; failures are retried per item, a broken database is waited out."""
        while True:
            try:
                done = await self.drain_once()
            except Exception as exc:  # PostgreSQL down: the breaker fails fast, try again later
                log.warning("indexer_cycle_failed", error=f"{type(exc).__name__}: {exc}")
                done = 0
            if done == 0:
                await asyncio.sleep(self._idle_s)

    async def drain_once(self) -> int:
        """Claims due items, processes them; returns how many were claimed."""
        items = await self._pool.run(self._claim)
        changed: set[str] = set()
        slots = asyncio.Semaphore(self._concurrency)

        async def work_off(document_items: list[OutboxItem]) -> None:
            async with slots:
                for item in document_items:  # one document's items in outbox order
                    changed.add(item.collection)  # a failure half-way may have changed the index too
                    try:
                        await self._process(item)
                    except Exception as exc:
                        await self._pool.run(functools.partial(self._retry_later, item=item, exc=exc))
                    else:
                        await self._pool.run(functools.partial(self._done, item_id=item.id))

        try:
            # Documents in parallel: one document's embedding request keeps one model worker busy,
            # so working them off one at a time would leave the others idle.
            await asyncio.gather(*(work_off(group) for group in by_document(items)))
        finally:
            # Even when the loop stops half-way, what reached the index must not hide behind a cache.
            if changed and self._on_indexed is not None:
                await self._on_indexed(changed)
        return len(items)

    async def _claim(self, conn: asyncpg.Connection) -> list[OutboxItem]:
        # A lease instead of a long transaction: SKIP LOCKED keeps replicas apart while claiming,
        # and an item whose worker died becomes due again when the lease runs out.
        rows = await conn.fetch(
            "UPDATE index_outbox SET next_attempt_at = now() + make_interval(secs => $2)"
            " WHERE id IN (SELECT id FROM index_outbox WHERE next_attempt_at <= now()"
            "  ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)"
            " RETURNING id, document_id, collection, operation, document_version, attempts",
            self._batch,
            LEASE_S,
        )
        items = [
            OutboxItem(
                r["id"],
                r["document_id"],
                r["collection"],
                r["operation"],
                r["document_version"],
                r["attempts"],
            )
            for r in rows
        ]
        return sorted(items, key=lambda i: i.id)

    @staticmethod
    async def _done(conn: asyncpg.Connection, item_id: int) -> None:
        await conn.execute("DELETE FROM index_outbox WHERE id = $1", item_id)

    async def _retry_later(self, conn: asyncpg.Connection, item: OutboxItem, exc: Exception) -> None:
        delay = retry_delay(item.attempts + 1, self._max_backoff_s)
        log.warning(
            "indexing_failed",
            document_id=str(item.document_id),
            attempts=item.attempts + 1,
            retry_in_s=delay,
            error=f"{type(exc).__name__}: {exc}"[:300],
        )
        await conn.execute(
            "UPDATE index_outbox SET attempts = attempts + 1, last_error = $2,"
            " next_attempt_at = now() + make_interval(secs => $3) WHERE id = $1",
            item.id,
            f"{type(exc).__name__}: {exc}"[:1000],
            delay,
        )

    async def _process(self, item: OutboxItem) -> None:
        if item.operation == "delete":
            await self._store.delete_document(item.document_id)
            return
        document = await self._pool.run(lambda c: repo.get_document(c, item.document_id))
        if document is None:
            await self._store.delete_document(item.document_id)
            return
        if document["version"] != item.version:
            return  # a newer version has its own outbox item
        chunks = await self._pool.run(lambda c: repo.chunks_of(c, item.document_id, document["version"]))
        pairs = [self._indexed_text(document, chunk) for chunk in chunks]
        embedded, texts = [e for e, _ in pairs], [k for _, k in pairs]
        try:
            vectors: list[list[float] | None] = list(await self._embed(embedded))
        except EmbeddingsUnavailable:
            # Keyword search must not wait for the model: index the keyword side now, replacing
            # the old version, and retry the item for its dense vectors (same point ids).
            if await self._index(document, chunks, texts, [None] * len(chunks)) is not None:
                raise
            return
        indexed = await self._index(document, chunks, texts, vectors)
        if indexed is not None:
            terms, df_terms = indexed
            await self._pool.run(lambda c: self._mark_indexed(c, document, terms, len(chunks), df_terms))

    async def _index(
        self,
        document: asyncpg.Record,
        chunks: list[asyncpg.Record],
        texts: list[str],
        vectors: list[list[float] | None],
    ) -> tuple[int, list[int]] | None:
        """Upserts a version's points, then removes the other versions' (never a gap between);
        the keyword terms indexed and each chunk's distinct term ids (the version's part of the
        collection's document frequencies), or None when a newer version appeared meanwhile (its
        own outbox item indexes it)."""
        analysed = [self._sparse.terms(text) for text in texts]
        total = sum(len(terms) for terms in analysed)
        average = await self._average_length(document["collection"])
        if average is None and chunks:
            average = max(1.0, total / len(chunks))  # a young collection: the document's own
        points = [
            ChunkPoint(
                chunk["id"],
                vector,
                self._sparse.document_of_terms(terms, average),
                chunk_payload(document, chunk),
            )
            for chunk, vector, terms in zip(chunks, vectors, analysed, strict=True)
        ]
        await self._store.upsert(points)
        current = await self._pool.run(
            lambda c: c.fetchval("SELECT version FROM documents WHERE id = $1", document["id"])
        )
        if current != document["version"]:
            # Another replica may already have indexed the newer version: take back only ours.
            await self._store.delete_chunks([p.chunk_id for p in points])
            return None
        await self._store.delete_document(document["id"], keep_version=document["version"])
        return total, chunk_terms([self._sparse.term_id(t) for t in terms] for terms in analysed)

    async def _average_length(self, collection: str) -> float | None:
        if self._keyword_stats is None:
            return None
        try:
            return await self._keyword_stats.average_length(collection)
        except Exception as exc:  # PostgreSQL busy or down: the document's own average will do
            log.warning("keyword_stats_unavailable", error=f"{type(exc).__name__}: {exc}")
            return None

    @staticmethod
    async def _mark_indexed(
        conn: asyncpg.Connection, document: asyncpg.Record, terms: int, chunks: int, df_terms: list[int]
    ) -> None:
        document_id, version = document["id"], document["version"]
        async with conn.transaction():
            await conn.execute(
                "DELETE FROM chunks WHERE document_id = $1 AND document_version < $2", document_id, version
            )
            # Locks the row: a concurrent delete or newer version waits, so the frequencies
            # subtract exactly what was added before.
            previous = await conn.fetchrow(
                "SELECT version, keyword_df_terms FROM documents WHERE id = $1 FOR UPDATE", document_id
            )
            if previous is None or previous["version"] != version:
                return
            await apply_delta(conn, document["collection"], df_terms, previous["keyword_df_terms"])
            await conn.execute(
                "UPDATE documents SET indexed_version = $2, keyword_terms = $3, keyword_chunks = $4,"
                " keyword_df_terms = $5 WHERE id = $1",
                document_id,
                version,
                terms,
                chunks,
                df_terms,
            )


async def purge_expired(pool: GuardedPool) -> int:
    """Deletes expired documents (search already hides them) and queues their vectors' removal."""

    async def work(conn: asyncpg.Connection) -> int:
        async with conn.transaction():
            return len(await repo.delete_documents(conn, "expires_at <= now()", []))

    return await pool.run(work)
