"""Document writes: validation, chunking, versioning, and the outbox entry, in one transaction."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg

from ai_stack.aidb import repository as repo
from ai_stack.aidb.chunking import Chunk
from ai_stack.aidb.schemas import DocumentIn, UpsertResult
from ai_stack.aidb.validation import ContentRejected, check_content
from ai_stack.core.postgres import GuardedPool

Chunker = Callable[[str, str], list[Chunk]]


class DocumentTooLarge(ValueError):
    """The content is over the configured size."""


class UnknownCollection(LookupError):
    """The collection does not exist (create it first)."""


def content_hash(content: str) -> str:
    return hashlib.sha256(content.encode("utf-8")).hexdigest()


@dataclass
class DocumentStore:
    """Upserts documents; PostgreSQL commits before anything is acknowledged."""

    pool: GuardedPool
    chunker: Chunker
    max_document_bytes: int

    def validate(self, doc: DocumentIn) -> None:
        """Size, NUL bytes and secrets, before any expensive work."""
        size = len(doc.content.encode("utf-8"))
        if size > self.max_document_bytes:
            raise DocumentTooLarge(f"content is {size} bytes, at most {self.max_document_bytes} are allowed")
        check_content(doc.content, "content")
        check_content(doc.title, "title")
        check_content(doc.path, "path")

    async def upsert(self, doc: DocumentIn) -> UpsertResult:
        """Creates, versions or leaves unchanged.

        Raises DocumentTooLarge, ContentRejected or UnknownCollection for bad input.
        """
        self.validate(doc)
        sha256 = content_hash(doc.content)
        chunks = await asyncio.to_thread(self.chunker, doc.content, doc.content_type)

        async def work(conn: asyncpg.Connection) -> UpsertResult:
            async with conn.transaction():
                return await self._write(conn, doc, sha256, chunks)

        try:
            return await self.pool.run(work)
        except asyncpg.ForeignKeyViolationError:
            raise UnknownCollection(f"collection {doc.collection!r} does not exist") from None

    async def _write(
        self, conn: asyncpg.Connection, doc: DocumentIn, sha256: str, chunks: list[Chunk]
    ) -> UpsertResult:
        existing = await repo.find_for_update(conn, doc)
        if existing is None:
            document_id = await repo.insert_document(conn, doc, sha256)
            if document_id is None:  # a concurrent writer won the insert: now it is an update
                existing = await repo.find_for_update(conn, doc)
            else:
                return await self._finish(conn, document_id, doc, 1, chunks, "created")
        if existing is None:
            raise RuntimeError("document vanished during upsert")
        if existing.sha256 == sha256 and existing.attributes == repo.attributes_of(doc):
            return UpsertResult(
                id=existing.id, version=existing.version, outcome="unchanged", indexing="done"
            )
        version = existing.version + 1
        await repo.update_document(conn, existing.id, doc, sha256, version)
        return await self._finish(conn, existing.id, doc, version, chunks, "updated")

    @staticmethod
    async def _finish(
        conn: asyncpg.Connection,
        document_id: uuid.UUID,
        doc: DocumentIn,
        version: int,
        chunks: list[Chunk],
        outcome: str,
    ) -> UpsertResult:
        await repo.insert_chunks(conn, document_id, version, chunks)
        await repo.enqueue(conn, document_id, doc.collection, "index", version)
        return UpsertResult(
            id=document_id,
            version=version,
            outcome=outcome,  # type: ignore[arg-type]
            indexing="pending",
            chunks=len(chunks),
        )


__all__ = ["ContentRejected", "DocumentStore", "DocumentTooLarge", "UnknownCollection", "content_hash"]
