"""SQL for documents, chunks, collections and the outbox (asyncpg, no business rules)."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from ai_stack.aidb.keyword_df import apply_delta
from ai_stack.aidb.schemas import DocumentIn
from ai_stack.text.chunking import Chunk

DOCUMENT_COLUMNS = (
    "id, collection, project, path, title, content_type, content, metadata, status, sha256, version,"
    " indexed_version, created_at, updated_at, expires_at"
)


@dataclass(frozen=True)
class Existing:
    id: uuid.UUID
    sha256: str
    version: int
    attributes: tuple[Any, ...]


def attributes_of(doc: DocumentIn) -> tuple[Any, ...]:
    """What besides the content makes two upserts different."""
    return (doc.title, doc.content_type, doc.metadata, doc.status, doc.expires_at)


async def find_for_update(conn: asyncpg.Connection, doc: DocumentIn) -> Existing | None:
    row = await conn.fetchrow(
        "SELECT id, sha256, version, title, content_type, metadata, status, expires_at FROM documents"
        " WHERE collection = $1 AND project = $2 AND path = $3 FOR UPDATE",
        doc.collection,
        doc.project,
        doc.path,
    )
    if row is None:
        return None
    attributes = (row["title"], row["content_type"], row["metadata"], row["status"], row["expires_at"])
    return Existing(row["id"], row["sha256"], row["version"], attributes)


async def insert_document(conn: asyncpg.Connection, doc: DocumentIn, sha256: str) -> uuid.UUID | None:
    """Inserts version 1; None when a concurrent writer created the same path first."""
    document_id = uuid.uuid4()
    inserted = await conn.fetchval(
        "INSERT INTO documents (id, collection, project, path, title, content_type, content, metadata,"
        " status, sha256, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        " ON CONFLICT (collection, project, path) DO NOTHING RETURNING id",
        document_id,
        doc.collection,
        doc.project,
        doc.path,
        doc.title,
        doc.content_type,
        doc.content,
        doc.metadata,
        doc.status,
        sha256,
        doc.expires_at,
    )
    return inserted  # type: ignore[no-any-return]


async def update_document(
    conn: asyncpg.Connection, document_id: uuid.UUID, doc: DocumentIn, sha256: str, version: int
) -> None:
    await conn.execute(
        "UPDATE documents SET title = $2, content_type = $3, content = $4, metadata = $5, status = $6,"
        " sha256 = $7, version = $8, expires_at = $9, updated_at = now() WHERE id = $1",
        document_id,
        doc.title,
        doc.content_type,
        doc.content,
        doc.metadata,
        doc.status,
        sha256,
        version,
        doc.expires_at,
    )


async def insert_chunks(
    conn: asyncpg.Connection, document_id: uuid.UUID, version: int, chunks: list[Chunk]
) -> None:
    await conn.executemany(
        "INSERT INTO chunks (id, document_id, document_version, position, text, heading_path, token_count)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7)"
        " ON CONFLICT (document_id, document_version, position) DO NOTHING",
        [
            (uuid.uuid4(), document_id, version, c.position, c.text, list(c.heading_path), c.token_count)
            for c in chunks
        ],
    )
    await conn.execute(
        "UPDATE documents SET chunk_count = $3 WHERE id = $1 AND version = $2",
        document_id,
        version,
        len(chunks),
    )


async def enqueue(
    conn: asyncpg.Connection,
    document_id: uuid.UUID,
    collection: str,
    operation: str,
    version: int | None,
    key_id: str | None = None,
) -> None:
    await conn.execute(
        "INSERT INTO index_outbox (document_id, collection, operation, document_version, key_id)"
        " VALUES ($1, $2, $3, $4, $5)",
        document_id,
        collection,
        operation,
        version,
        key_id,
    )


async def key_backlog(conn: asyncpg.Connection, key_id: str, cap: int) -> int:
    """Indexing jobs a key has queued, counted up to `cap` (enough to decide, and bounded)."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM (SELECT 1 FROM index_outbox WHERE key_id = $1 LIMIT $2) AS queued",
        key_id,
        cap,
    )
    return count


async def get_document(conn: asyncpg.Connection, document_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(f"SELECT {DOCUMENT_COLUMNS} FROM documents WHERE id = $1", document_id)


async def metadata_of(conn: asyncpg.Connection, document_ids: list[uuid.UUID]) -> dict[str, Any]:
    """The metadata of these documents by id (a search page shows it; the index keeps less)."""
    rows = await conn.fetch("SELECT id, metadata FROM documents WHERE id = ANY($1::uuid[])", document_ids)
    return {str(r["id"]): r["metadata"] for r in rows}


async def chunks_of(conn: asyncpg.Connection, document_id: uuid.UUID, version: int) -> list[asyncpg.Record]:
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT id, position, text, heading_path, token_count FROM chunks"
        " WHERE document_id = $1 AND document_version = $2 ORDER BY position",
        document_id,
        version,
    )
    return rows


async def delete_documents(conn: asyncpg.Connection, where: str, args: list[Any]) -> list[asyncpg.Record]:
    """Deletes matching documents (chunks cascade), takes their terms out of the keyword
    statistics and queues their vectors' removal (in the caller's transaction)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"DELETE FROM documents WHERE {where} RETURNING id, collection, keyword_df_terms", *args
    )
    # Their terms leave the collections' BM25 statistics with them (same transaction).
    gone: dict[str, list[int]] = {}
    for row in rows:
        if row["keyword_df_terms"]:
            gone.setdefault(row["collection"], []).extend(row["keyword_df_terms"])
    for collection in sorted(gone):
        await apply_delta(conn, collection, None, gone[collection])
    await conn.executemany(
        "INSERT INTO index_outbox (document_id, collection, operation) VALUES ($1, $2, 'delete')",
        [(r["id"], r["collection"]) for r in rows],
    )
    return rows


async def list_documents(
    conn: asyncpg.Connection,
    where: str,
    args: list[Any],
    limit: int,
    after: tuple[dt.datetime, uuid.UUID] | None,
) -> list[asyncpg.Record]:
    """A page ordered by (updated_at DESC, id); `after` is the keyset cursor of the previous page."""
    params = list(args)
    if after is not None:
        params += [after[0], after[1]]
        where += f" AND (updated_at, id) < (${len(params) - 1}, ${len(params)})"
    params.append(limit)
    columns = DOCUMENT_COLUMNS.replace(" content,", "")
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {columns} FROM documents WHERE {where}"
        f" ORDER BY updated_at DESC, id DESC LIMIT ${len(params)}",
        *params,
    )
    return rows


async def collections(
    conn: asyncpg.Connection,
    projects: list[str] | None = None,
    shared: list[str] | None = None,
) -> list[asyncpg.Record]:
    """Every collection with its document and chunk counts; with `projects`, counting only the
    documents of those projects (and all of the `shared` collections')."""
    visible = ""
    args: list[Any] = []
    if projects is not None:
        visible = " AND (d.project = ANY($1::text[]) OR d.collection = ANY($2::text[]))"
        args = [projects, shared or []]
    rows: list[asyncpg.Record] = await conn.fetch(
        "SELECT c.name, c.description, c.created_at, count(d.id) AS documents,"
        " coalesce(sum(d.chunk_count), 0) AS chunks"
        f" FROM collections c LEFT JOIN documents d ON d.collection = c.name{visible}"
        " GROUP BY c.name ORDER BY c.name",
        *args,
    )
    return rows


async def create_collection(conn: asyncpg.Connection, name: str, description: str) -> bool:
    """False when it already exists."""
    created = await conn.fetchval(
        "INSERT INTO collections (name, description) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING name",
        name,
        description,
    )
    return created is not None


async def collection_exists(conn: asyncpg.Connection, name: str) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM collections WHERE name = $1)", name))


async def outbox_backlog(conn: asyncpg.Connection) -> asyncpg.Record:
    return await conn.fetchrow(
        "SELECT count(*) AS pending, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest_s,"
        " count(*) FILTER (WHERE attempts > 0) AS retrying FROM index_outbox"
    )
