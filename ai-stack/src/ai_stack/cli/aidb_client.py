"""The CLI's aidb client: the synchronous twin of `ai_stack.clients.aidb`, through the TLS
gateway with an API key. Same request and response models, same typed errors."""

from __future__ import annotations

from ai_stack.aidb.schemas import (
    BulkResult,
    Collection,
    CollectionIn,
    Collections,
    ReindexResult,
    SearchIn,
    SearchResponse,
)
from ai_stack.cli.gateway_client import GatewayClient


class AidbGatewayClient(GatewayClient):
    """aidb under `<base_url>/aidb`."""

    service = "aidb"

    def bulk_upsert(self, body: bytes) -> BulkResult:
        """Sends an encoded `{"documents": [...]}` body (as `BulkIn`; the CLI sizes batches by
        their bytes); the per-item results, in request order."""
        headers = {"Content-Type": "application/json"}
        return self._call("POST", "/documents/bulk", BulkResult, retry=True, content=body, headers=headers)

    def search(self, query: SearchIn) -> SearchResponse:
        body = query.model_dump(mode="json", exclude_unset=True)
        return self._call("POST", "/search", SearchResponse, retry=True, json=body)

    def reindex(self, *, rebuild: bool = False) -> ReindexResult:
        params = {"rebuild": "true"} if rebuild else {}
        return self._call("POST", "/reindex", ReindexResult, retry=False, ok=(202,), params=params)

    def collections(self) -> Collections:
        return self._call("GET", "/collections", Collections, retry=True)

    def create_collection(self, collection: CollectionIn) -> Collection:
        body = collection.model_dump(mode="json")
        return self._call("POST", "/collections", Collection, retry=False, ok=(201,), json=body)
