"""Route table of aidb."""

from __future__ import annotations

from aiohttp import web

from ai_stack.aidb import handlers
from ai_stack.aidb.schemas import BulkIn, CollectionIn, DeleteFilter, DocumentIn, SearchIn, UpsertResult
from ai_stack.core.openapi import Operation

OPERATIONS = (
    Operation(
        "POST", "/documents", "Upsert one document.", DocumentIn, UpsertResult, (400, 404, 413, 422, 503)
    ),
    Operation(
        "POST", "/documents/bulk", "Upsert many documents; per-item results.", BulkIn, None, (400, 413, 422)
    ),
    Operation(
        "GET",
        "/documents",
        "Paged listing (collection, project, status, path, limit, cursor).",
        errors=(400, 422),
    ),
    Operation("GET", "/documents/{id}", "One document with its content.", errors=(404,)),
    Operation("DELETE", "/documents/{id}", "Delete one document and its vectors.", errors=(404,)),
    Operation(
        "POST", "/documents/delete", "Delete by project, path or metadata.", DeleteFilter, None, (422,)
    ),
    Operation("GET", "/collections", "Collections with document counts."),
    Operation("POST", "/collections", "Create a collection.", CollectionIn, None, (409, 422)),
    Operation("GET", "/index/status", "Outbox backlog and per-collection counts."),
    Operation("POST", "/search", "Hybrid, vector or keyword search.", SearchIn, None, (400, 413, 422, 503)),
    Operation("POST", "/reindex", "Rebuild the vector index from PostgreSQL."),
)


def add_routes(app: web.Application) -> None:
    """Registers aidb's routes."""
    app.router.add_post("/documents", handlers.upsert_document)
    app.router.add_post("/documents/bulk", handlers.bulk_upsert)
    app.router.add_post("/documents/delete", handlers.delete_documents)
    app.router.add_get("/documents", handlers.list_documents)
    app.router.add_get("/documents/{id}", handlers.get_document)
    app.router.add_delete("/documents/{id}", handlers.delete_document)
    app.router.add_get("/collections", handlers.list_collections)
    app.router.add_post("/collections", handlers.create_collection)
    app.router.add_get("/index/status", handlers.index_status)
    app.router.add_post("/search", handlers.search)
    app.router.add_post("/reindex", handlers.reindex)
