"""The async aidb client: aidb's own request and response models over a pooled, traced,
breaker-wrapped ServiceClient. Outages raise core's ServiceUnavailableError (a 503 for whoever
serves the caller); refusals raise the typed errors of `clients.errors`."""

from __future__ import annotations

import uuid

from ai_stack.aidb.schemas import (
    BulkIn,
    BulkResult,
    Collection,
    CollectionIn,
    Collections,
    Deleted,
    DeleteFilter,
    Document,
    DocumentIn,
    DocumentPage,
    IndexStatus,
    ListQuery,
    ReindexResult,
    SearchIn,
    SearchResponse,
    UpsertResult,
)
from ai_stack.clients.base import TypedClient


class AidbClient(TypedClient):
    """aidb's API as typed calls."""

    service = "aidb"

    async def upsert(self, document: DocumentIn) -> UpsertResult:
        """Creates, versions or leaves a document unchanged (by collection, project, path)."""
        return await self._call("POST", "/documents", UpsertResult, document, ok=(200, 202))

    async def bulk_upsert(self, documents: BulkIn, *, timeout_s: float | None = None) -> BulkResult:
        """Per-document results in request order; `timeout_s` for batches known to take long."""
        return await self._call("POST", "/documents/bulk", BulkResult, documents, timeout_s=timeout_s)

    async def get(self, document_id: uuid.UUID) -> Document:
        return await self._call("GET", f"/documents/{document_id}", Document)

    async def list(self, query: ListQuery) -> DocumentPage:
        params = {k: str(v) for k, v in query.model_dump(mode="json", exclude_none=True).items()}
        return await self._call("GET", "/documents", DocumentPage, params=params)

    async def delete(self, document_id: uuid.UUID) -> Deleted:
        return await self._call("DELETE", f"/documents/{document_id}", Deleted)

    async def delete_where(self, spec: DeleteFilter) -> Deleted:
        return await self._call("POST", "/documents/delete", Deleted, spec)

    async def collections(self) -> Collections:
        return await self._call("GET", "/collections", Collections)

    async def create_collection(self, collection: CollectionIn) -> Collection:
        return await self._call("POST", "/collections", Collection, collection, ok=(201,))

    async def search(self, query: SearchIn) -> SearchResponse:
        return await self._call("POST", "/search", SearchResponse, query)

    async def index_status(self) -> IndexStatus:
        return await self._call("GET", "/index/status", IndexStatus)

    async def reindex(self, *, rebuild: bool = False) -> ReindexResult:
        params = {"rebuild": "true"} if rebuild else None
        return await self._call("POST", "/reindex", ReindexResult, ok=(202,), params=params)
