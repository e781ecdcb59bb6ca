"""HTTP handlers of aidb: parse, call the store or the repository, serialise."""

from __future__ import annotations

import dataclasses
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
    WRITE_QUOTA_KEY,
)
from ai_stack.aidb.listing import BadListingCursor, decode_cursor, encode_cursor
from ai_stack.aidb.schemas import (
    BulkIn,
    BulkItem,
    BulkResult,
    Collection,
    CollectionIn,
    CollectionIndexStatus,
    CollectionInfo,
    Collections,
    Deleted,
    DeleteFilter,
    DocumentIn,
    DocumentPage,
    EngineStatus,
    IndexStatus,
    ItemError,
    ListQuery,
    OutboxStatus,
    ReindexQuery,
    ReindexResult,
    SearchIn,
    SearchResponse,
)
from ai_stack.aidb.scoping import ReadScope, check_read_project, check_write_project, read_scope
from ai_stack.aidb.search import BadCursor
from ai_stack.aidb.serialize import document, document_summary
from ai_stack.aidb.store import DocumentTooLarge, UnknownCollection
from ai_stack.aidb.validation import ContentRejected
from ai_stack.aidb.vectors.base import VectorInputRejected
from ai_stack.core.access import charge_quota, principal_of, rate_limited
from ai_stack.core.errors import (
    ApiError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PayloadTooLargeError,
    RateLimitedError,
    ValidationFailedError,
)
from ai_stack.core.requests import model_response, read_model, read_query


def _shared(request: web.Request) -> tuple[str, ...]:
    return tuple(request.app[AIDB_SETTINGS_KEY].shared_collections)


def _charge_write(request: web.Request, doc: DocumentIn) -> None:
    """A key's document bytes count against its write quota (429 once it is used up)."""
    size = len(doc.content.encode()) + len(doc.title.encode()) + len(orjson.dumps(doc.metadata))
    charge_quota(request, request.app[WRITE_QUOTA_KEY], size, "bytes written")


async def _check_backlog(request: web.Request, adding: int) -> None:
    """429 while the key already has its quota of documents waiting for the indexer: a bulk
    load from one key must not push everyone's new documents hours back."""
    key_id = principal_of(request).key_id
    if key_id is None:
        return
    quota = request.app[AIDB_SETTINGS_KEY].key_outbox_backlog
    queued = await request.app[POOL_KEY].run(lambda c: repo.key_backlog(c, key_id, quota))
    if queued + adding > quota:
        raise rate_limited(
            30, f"this key has {queued} documents waiting to be indexed (quota {quota}); wait for the indexer"
        )


def _read_scope(request: web.Request) -> ReadScope:
    return read_scope(principal_of(request), _shared(request))


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
    principal = principal_of(request)
    check_write_project(principal, doc.project)
    await _check_backlog(request, 1)  # before the charge: a refused write costs no quota
    _charge_write(request, doc)
    try:
        result = await request.app[STORE_KEY].upsert(doc, principal.key_id)
    except (DocumentTooLarge, ContentRejected, UnknownCollection) as exc:
        raise _translate(exc) from None
    return model_response(result, status=202 if result.indexing == "pending" else 200)


async def bulk_upsert(request: web.Request) -> web.Response:
    """Many documents; each item answers for itself."""
    bulk = await read_model(request, BulkIn)
    limit = request.app[AIDB_SETTINGS_KEY].max_bulk_items
    if len(bulk.documents) > limit:
        raise PayloadTooLargeError(f"{len(bulk.documents)} documents sent, at most {limit} per request")
    store = request.app[STORE_KEY]
    principal = principal_of(request)
    await _check_backlog(request, len(bulk.documents))
    items: list[BulkItem] = []
    for index, doc in enumerate(bulk.documents):
        try:
            check_write_project(principal, doc.project)
            _charge_write(request, doc)
            result = await store.upsert(doc, principal.key_id)
            status = 202 if result.indexing == "pending" else 200
            items.append(BulkItem(index=index, status=status, **result.model_dump()))
        except (
            DocumentTooLarge,
            ContentRejected,
            UnknownCollection,
            ValidationFailedError,
            ForbiddenError,
            RateLimitedError,
            PayloadTooLargeError,
        ) as exc:
            error = exc if isinstance(exc, ApiError) else _translate(exc)
            failure = ItemError(code=error.code, message=error.message)
            items.append(BulkItem(index=index, status=error.status, error=failure))
    failed = sum(1 for item in items if item.error is not None)
    return model_response(BulkResult(items=items, failed=failed, succeeded=len(items) - failed))


async def get_document(request: web.Request) -> web.Response:
    document_id = _document_id(request)
    row = await request.app[POOL_KEY].run(lambda c: repo.get_document(c, document_id))
    if row is None or not _read_scope(request).sees(row["project"], row["collection"]):
        raise NotFoundError(f"no document {document_id}")
    return model_response(document(row))


async def delete_document(request: web.Request) -> web.Response:
    document_id = _document_id(request)
    projects = principal_of(request).projects
    if projects is None:
        rows = await _delete(request, "id = $1", [document_id])
    else:  # another project's document is absent for this key: 404, as for a read
        rows = await _delete(
            request, "id = $1 AND project = ANY($2::text[])", [document_id, sorted(projects)]
        )
    if not rows:
        raise NotFoundError(f"no document {document_id}")
    return model_response(Deleted(deleted=1))


async def delete_documents(request: web.Request) -> web.Response:
    """Delete by path, project or metadata containment within one collection."""
    spec = await read_model(request, DeleteFilter)
    principal = principal_of(request)
    if spec.project is not None:
        check_write_project(principal, spec.project)
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
    if principal.projects is not None:
        args.append(sorted(principal.projects))
        where.append(f"project = ANY(${len(args)}::text[])")
    rows = await _delete(request, " AND ".join(where), args)
    return model_response(Deleted(deleted=len(rows)))


async def _delete(request: web.Request, where: str, args: list[Any]) -> list[asyncpg.Record]:
    async def work(conn: asyncpg.Connection) -> list[asyncpg.Record]:
        async with conn.transaction():
            return await repo.delete_documents(conn, where, args)

    return await request.app[POOL_KEY].run(work)


async def list_documents(request: web.Request) -> web.Response:
    """Paged listing, newest first, with a keyset cursor that stays stable under inserts."""
    query = read_query(request, ListQuery)
    try:
        after = decode_cursor(query.cursor) if query.cursor else None
    except BadListingCursor as exc:
        raise BadRequestError(str(exc), code="bad_cursor") from None
    scope = _read_scope(request)
    if query.project is not None:
        collections = (query.collection,) if query.collection is not None else ()
        check_read_project(principal_of(request), query.project, collections, scope.shared_collections)
    where: list[str] = ["true"]
    args: list[Any] = []
    for column in ("collection", "project", "status", "path"):
        value = getattr(query, column)
        if value is not None:
            args.append(value)
            where.append(f"{column} = ${len(args)}")
    if scope.projects is not None and query.project is None:
        args += [list(scope.projects), list(scope.shared_collections)]
        where.append(f"(project = ANY(${len(args) - 1}::text[]) OR collection = ANY(${len(args)}::text[]))")
    rows = await request.app[POOL_KEY].run(
        lambda c: repo.list_documents(c, " AND ".join(where), args, query.limit + 1, after)
    )
    page, more = rows[: query.limit], len(rows) > query.limit
    next_cursor = encode_cursor(page[-1]["updated_at"], page[-1]["id"]) if more else None
    return model_response(
        DocumentPage(documents=[document_summary(r) for r in page], next_cursor=next_cursor)
    )


async def list_collections(request: web.Request) -> web.Response:
    """Every collection; a project-limited key's counts cover only what it may read."""
    scope = _read_scope(request)
    projects = list(scope.projects) if scope.projects is not None else None
    shared = list(scope.shared_collections)
    rows = await request.app[POOL_KEY].run(lambda c: repo.collections(c, projects, shared))
    infos = [
        CollectionInfo(name=r["name"], description=r["description"], documents=r["documents"]) for r in rows
    ]
    return model_response(Collections(collections=infos))


async def create_collection(request: web.Request) -> web.Response:
    body = await read_model(request, CollectionIn)
    created = await request.app[POOL_KEY].run(
        lambda c: repo.create_collection(c, body.name, body.description)
    )
    if not created:
        raise ConflictError(f"collection {body.name!r} already exists")
    return model_response(Collection(name=body.name, description=body.description), status=201)


async def search(request: web.Request) -> web.Response:
    """Hybrid, vector or keyword search with filters, paging and explain."""
    body = await read_model(request, SearchIn)
    limit = request.app[AIDB_SETTINGS_KEY].max_query_chars
    if len(body.query) > limit:
        raise PayloadTooLargeError(f"query has {len(body.query)} characters, at most {limit} are allowed")
    if body.rerank and request.app[SEARCH_KEY].reranker is None:
        raise ValidationFailedError(
            "no reranker is configured (AI_STACK_AIDB_RERANK_MODEL_PATH)", code="rerank_unavailable"
        )
    scope = _read_scope(request)
    if body.project is not None:
        check_read_project(
            principal_of(request), body.project, tuple(body.collections), scope.shared_collections
        )
    try:
        answer = await request.app[SEARCH_KEY].search(body, scope)
        return model_response(SearchResponse.model_validate(answer))
    except BadCursor as exc:
        raise BadRequestError(str(exc), code="bad_cursor") from None
    except VectorInputRejected as exc:
        raise ValidationFailedError(str(exc), code="filter_rejected") from None


async def reindex(request: web.Request) -> web.Response:
    """Queues every document to be encoded again. In place by default: each document's points are
    replaced as the indexer reaches it (same ids), so search answers throughout, from old vectors
    until new ones land; `rebuild` drops the index first (a corrupt or foreign index)."""
    query = read_query(request, ReindexQuery)
    settings = request.app[AIDB_SETTINGS_KEY]
    vectors = request.app[VECTORS_KEY]
    if query.rebuild:
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
    return model_response(ReindexResult(queued=queued, indexing="pending", rebuild=query.rebuild), status=202)


async def index_status(request: web.Request) -> web.Response:
    """Outbox backlog (size, age, retrying), per-collection document and indexed-chunk counts."""

    async def work(conn: asyncpg.Connection) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
        return await repo.outbox_backlog(conn), await repo.collections(conn)

    backlog, counts = await request.app[POOL_KEY].run(work)
    status = IndexStatus(
        outbox=OutboxStatus(
            pending=backlog["pending"], oldest_s=float(backlog["oldest_s"]), retrying=backlog["retrying"]
        ),
        collections={
            r["name"]: CollectionIndexStatus(documents=r["documents"], chunks=r["chunks"]) for r in counts
        },
    )
    vectors = request.app[VECTORS_KEY]
    engine = vectors.engine_state()
    if engine is not None:
        status.engine = EngineStatus.model_validate(dataclasses.asdict(engine))
    try:
        for name, entry in status.collections.items():
            count = functools.partial(vectors.count, name)
            entry.chunks_indexed = await request.app[VECTORS_BREAKER_KEY].call(count)
    except Exception:  # the counts are informative; the backlog above still answers
        status.vector_index = "unavailable"
    return model_response(status)
