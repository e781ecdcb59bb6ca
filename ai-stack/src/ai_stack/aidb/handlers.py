"""HTTP handlers of aidb: parse, call the store or the repository, serialise."""

from __future__ import annotations

import base64
import datetime as dt
import functools
import uuid
from typing import Any

import asyncpg
import orjson
from aiohttp import web

from ai_stack.aidb import repository as repo
from ai_stack.aidb.keys import (
    AIDB_SETTINGS_KEY,
    CACHE_KEY,
    POOL_KEY,
    SEARCH_KEY,
    STORE_KEY,
    VECTORS_BREAKER_KEY,
    VECTORS_KEY,
)
from ai_stack.aidb.schemas import BulkIn, CollectionIn, DeleteFilter, DocumentIn, SearchIn
from ai_stack.aidb.search import BadCursor
from ai_stack.aidb.serialize import document_json
from ai_stack.aidb.store import DocumentTooLarge, UnknownCollection
from ai_stack.aidb.validation import ContentRejected
from ai_stack.core.errors import (
    ApiError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PayloadTooLargeError,
    ValidationFailedError,
)
from ai_stack.core.requests import json_response, read_model


def _translate(exc: Exception) -> ApiError:
    if isinstance(exc, DocumentTooLarge):
        return PayloadTooLargeError(str(exc))
    if isinstance(exc, ContentRejected):
        return ValidationFailedError(str(exc), code="content_rejected")
    if isinstance(exc, UnknownCollection):
        return NotFoundError(str(exc), code="unknown_collection")
    raise exc


def _document_id(request: web.Request) -> uuid.UUID:
    try:
        return uuid.UUID(request.match_info["id"])
    except ValueError:
        raise NotFoundError(f"no document {request.match_info['id']!r}") from None


async def upsert_document(request: web.Request) -> web.Response:
    """Upsert by (collection, project, path): 202 while indexing is pending, 200 when unchanged."""
    doc = await read_model(request, DocumentIn)
    try:
        result = await request.app[STORE_KEY].upsert(doc)
    except (DocumentTooLarge, ContentRejected, UnknownCollection) as exc:
        raise _translate(exc) from None
    return json_response(result.model_dump(mode="json"), status=202 if result.indexing == "pending" else 200)


async def bulk_upsert(request: web.Request) -> web.Response:
    """Many documents; each item answers for itself."""
    bulk = await read_model(request, BulkIn)
    limit = request.app[AIDB_SETTINGS_KEY].max_bulk_items
    if len(bulk.documents) > limit:
        raise PayloadTooLargeError(f"{len(bulk.documents)} documents sent, at most {limit} per request")
    store = request.app[STORE_KEY]
    items: list[dict[str, Any]] = []
    for index, doc in enumerate(bulk.documents):
        try:
            result = await store.upsert(doc)
            status = 202 if result.indexing == "pending" else 200
            items.append({"index": index, "status": status, **result.model_dump(mode="json")})
        except (DocumentTooLarge, ContentRejected, UnknownCollection) as exc:
            error = _translate(exc)
            items.append(
                {
                    "index": index,
                    "status": error.status,
                    "error": {"code": error.code, "message": error.message},
                }
            )
    failed = sum(1 for item in items if "error" in item)
    return json_response({"items": items, "failed": failed, "succeeded": len(items) - failed})


async def get_document(request: web.Request) -> web.Response:
    document_id = _document_id(request)
    row = await request.app[POOL_KEY].run(lambda c: repo.get_document(c, document_id))
    if row is None:
        raise NotFoundError(f"no document {document_id}")
    return json_response(document_json(row))


async def delete_document(request: web.Request) -> web.Response:
    document_id = _document_id(request)
    rows = await _delete(request, "id = $1", [document_id])
    if not rows:
        raise NotFoundError(f"no document {document_id}")
    return json_response({"deleted": 1})


async def delete_documents(request: web.Request) -> web.Response:
    """Delete by path, project or metadata containment within one collection."""
    spec = await read_model(request, DeleteFilter)
    where: list[str] = ["collection = $1"]
    args: list[Any] = [spec.collection]
    for column, value in (("project", spec.project), ("path", spec.path)):
        if value is not None:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    if spec.metadata is not None:
        args.append(spec.metadata)
        where.append(f"metadata @> ${len(args)}")
    if len(where) == 1:
        raise ValidationFailedError(
            "give at least one of project, path or metadata (refusing to empty a collection)"
        )
    rows = await _delete(request, " AND ".join(where), args)
    return json_response({"deleted": len(rows)})


async def _delete(request: web.Request, where: str, args: list[Any]) -> list[asyncpg.Record]:
    async def work(conn: asyncpg.Connection) -> list[asyncpg.Record]:
        async with conn.transaction():
            return await repo.delete_documents(conn, where, args)

    return await request.app[POOL_KEY].run(work)


def _cursor(raw: str | None) -> tuple[dt.datetime, uuid.UUID] | None:
    if not raw:
        return None
    try:
        stamp, document_id = orjson.loads(base64.urlsafe_b64decode(raw.encode()))
        return dt.datetime.fromisoformat(stamp), uuid.UUID(document_id)
    except (ValueError, TypeError):
        raise BadRequestError("cursor is not one this service issued", code="bad_cursor") from None


def _limit(raw: str | None, default: int = 50, maximum: int = 500) -> int:
    try:
        value = int(raw) if raw is not None else default
    except ValueError:
        raise ValidationFailedError("limit must be an integer") from None
    if not 1 <= value <= maximum:
        raise ValidationFailedError(f"limit must be between 1 and {maximum}")
    return value


async def list_documents(request: web.Request) -> web.Response:
    """Paged listing, newest first, with a keyset cursor that stays stable under inserts."""
    query = request.query
    limit = _limit(query.get("limit"))
    where: list[str] = ["true"]
    args: list[Any] = []
    for column in ("collection", "project", "status", "path"):
        if column in query:
            args.append(query[column])
            where.append(f"{column} = ${len(args)}")
    rows = await request.app[POOL_KEY].run(
        lambda c: repo.list_documents(c, " AND ".join(where), args, limit + 1, _cursor(query.get("cursor")))
    )
    page, more = rows[:limit], len(rows) > limit
    next_cursor = None
    if more:
        last = page[-1]
        raw = orjson.dumps([last["updated_at"].isoformat(), str(last["id"])])
        next_cursor = base64.urlsafe_b64encode(raw).decode()
    return json_response(
        {"documents": [document_json(r, with_content=False) for r in page], "next_cursor": next_cursor}
    )


async def list_collections(request: web.Request) -> web.Response:
    rows = await request.app[POOL_KEY].run(repo.collections)
    return json_response(
        {
            "collections": [
                {"name": r["name"], "description": r["description"], "documents": r["documents"]}
                for r in rows
            ]
        }
    )


async def create_collection(request: web.Request) -> web.Response:
    body = await read_model(request, CollectionIn)
    created = await request.app[POOL_KEY].run(
        lambda c: repo.create_collection(c, body.name, body.description)
    )
    if not created:
        raise ConflictError(f"collection {body.name!r} already exists")
    return json_response({"name": body.name, "description": body.description}, status=201)


async def search(request: web.Request) -> web.Response:
    """Hybrid, vector or keyword search with filters, paging and explain."""
    body = await read_model(request, SearchIn)
    limit = request.app[AIDB_SETTINGS_KEY].max_query_chars
    if len(body.query) > limit:
        raise PayloadTooLargeError(f"query has {len(body.query)} characters, at most {limit} are allowed")
    if "\x00" in body.query:
        raise ValidationFailedError("query contains a NUL byte")
    try:
        return json_response(await request.app[SEARCH_KEY].search(body))
    except BadCursor as exc:
        raise BadRequestError(str(exc), code="bad_cursor") from None


async def reindex(request: web.Request) -> web.Response:
    """Rebuilds the vector index from PostgreSQL: drops it, queues every document."""
    settings = request.app[AIDB_SETTINGS_KEY]
    vectors = request.app[VECTORS_KEY]
    await request.app[VECTORS_BREAKER_KEY].call(lambda: vectors.recreate(settings.embedding_dimension))
    await request.app[CACHE_KEY].invalidate_all()

    async def work(conn: asyncpg.Connection) -> int:
        async with conn.transaction():
            await conn.execute("DELETE FROM index_outbox WHERE operation = 'index'")
            await conn.execute("UPDATE documents SET indexed_version = NULL")
            result = await conn.execute(
                "INSERT INTO index_outbox (document_id, collection, operation, document_version)"
                " SELECT id, collection, 'index', version FROM documents"
            )
            return int(result.split()[-1])

    queued = await request.app[POOL_KEY].run(work)
    return json_response({"queued": queued, "indexing": "pending"}, status=202)


async def index_status(request: web.Request) -> web.Response:
    """Outbox backlog (size, age, retrying), per-collection document and indexed-chunk counts."""

    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        backlog = await repo.outbox_backlog(conn)
        counts = await repo.collections(conn)
        return {
            "outbox": {
                "pending": backlog["pending"],
                "oldest_s": float(backlog["oldest_s"]),
                "retrying": backlog["retrying"],
            },
            "collections": {r["name"]: {"documents": r["documents"], "chunks": r["chunks"]} for r in counts},
        }

    status = await request.app[POOL_KEY].run(work)
    vectors = request.app[VECTORS_KEY]
    try:
        for name, entry in status["collections"].items():
            count = functools.partial(vectors.count, name)
            entry["chunks_indexed"] = await request.app[VECTORS_BREAKER_KEY].call(count)
    except Exception:  # the counts are informative; the backlog above still answers
        status["vector_index"] = "unavailable"
    return json_response(status)
