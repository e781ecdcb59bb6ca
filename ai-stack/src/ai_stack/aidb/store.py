"""Document writes: validation, chunking, versioning, and the outbox entry, in one transaction."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import asyncpg
import orjson

from ai_stack.aidb import repository as repo
from ai_stack.aidb.metadata import depth
from ai_stack.aidb.schemas import DocumentIn, UpsertResult
from ai_stack.aidb.validation import ContentRejected, check_content
from ai_stack.core.postgres import GuardedPool
from ai_stack.text.chunking import Chunk

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
    max_metadata_bytes: int = 16_384
    max_metadata_depth: int = 8

    def validate(self, doc: DocumentIn) -> None:
        """Sizes, nesting and secrets, before any expensive work (NUL and the engines' grammar
        were checked by the schema)."""
        size = len(doc.content.encode("utf-8"))
        if size > self.max_document_bytes:
            raise DocumentTooLarge(f"content is {size} bytes, at most {self.max_document_bytes} are allowed")
        nesting = depth(doc.metadata)
        if nesting > self.max_metadata_depth:
            raise ContentRejected(
                f"metadata is nested {nesting} levels deep, at most {self.max_metadata_depth} are allowed"
            )
        metadata_size = len(orjson.dumps(doc.metadata))
        if metadata_size > self.max_metadata_bytes:
            raise DocumentTooLarge(
                f"metadata is {metadata_size} bytes as JSON, at most {self.max_metadata_bytes} are allowed"
            )
        check_content(doc.content, "content")
        check_content(doc.title, "title")
        check_content(doc.path, "path")

    async def upsert(self, doc: DocumentIn, key_id: str | None = None) -> UpsertResult:
        """Creates, versions or leaves unchanged; `key_id` is the API key it is written for (its
        indexing job counts against that key's backlog quota).

        Raises DocumentTooLarge, ContentRejected or UnknownCollection for bad input.
        """
        self.validate(doc)
        sha256 = content_hash(doc.content)
        chunks = await asyncio.to_thread(self.chunker, doc.content, doc.content_type)

        async def work(conn: asyncpg.Connection) -> UpsertResult:
            # Translated inside the unit of work: the database answered, so it is no outage.
            try:
                async with conn.transaction():
                    return await self._write(conn, doc, sha256, chunks, key_id)
            except asyncpg.ForeignKeyViolationError:
                raise UnknownCollection(f"collection {doc.collection!r} does not exist") from None

        return await self.pool.run(work)

    async def _write(
        self, conn: asyncpg.Connection, doc: DocumentIn, sha256: str, chunks: list[Chunk], key_id: str | None
    ) -> UpsertResult:
        existing = await repo.find_for_update(conn, doc)
        if existing is None:
            document_id = await repo.insert_document(conn, doc, sha256)
            if document_id is None:  # a concurrent writer won the insert: now it is an update
                existing = await repo.find_for_update(conn, doc)
            else:
                return await self._finish(conn, document_id, doc, 1, chunks, "created", key_id)
        if existing is None:
            raise RuntimeError("document vanished during upsert")
        if existing.sha256 == sha256 and existing.attributes == repo.attributes_of(doc):
            return UpsertResult(
                id=existing.id, version=existing.version, outcome="unchanged", indexing="done"
            )
        version = existing.version + 1
        await repo.update_document(conn, existing.id, doc, sha256, version)
        return await self._finish(conn, existing.id, doc, version, chunks, "updated", key_id)

    @staticmethod
    async def _finish(
        conn: asyncpg.Connection,
        document_id: uuid.UUID,
        doc: DocumentIn,
        version: int,
        chunks: list[Chunk],
        outcome: str,
        key_id: str | None,
    ) -> UpsertResult:
        await repo.insert_chunks(conn, document_id, version, chunks)
        await repo.enqueue(conn, document_id, doc.collection, "index", version, key_id)
        return UpsertResult(
            id=document_id,
            version=version,
            outcome=outcome,  # type: ignore[arg-type]
            indexing="pending",
            chunks=len(chunks),
        )


__all__ = ["ContentRejected", "DocumentStore", "DocumentTooLarge", "UnknownCollection", "content_hash"]
