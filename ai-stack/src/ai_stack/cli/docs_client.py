"""The CLI's docs-search client: the synchronous twin of `ai_stack.clients.docs` through the gateway."""

from __future__ import annotations

from urllib.parse import quote

from ai_stack.cli.gateway_client import GatewayClient
from ai_stack.docs_search.schemas import (
    DocsResults,
    DocsSearchIn,
    Removed,
    SourceIn,
    SourceList,
    SourceView,
    SyncAccepted,
)


class DocsGatewayClient(GatewayClient):
    """docs-search under `<base_url>/docs`."""

    service = "docs"

    def sources(self) -> SourceList:
        return self._call("GET", "/sources", SourceList, retry=True)

    def source(self, name: str) -> SourceView:
        return self._call("GET", f"/sources/{quote(name, safe='')}", SourceView, retry=True)

    def add_source(self, source: SourceIn) -> SourceView:
        body = source.model_dump(mode="json", exclude_unset=True)
        return self._call("POST", "/sources", SourceView, retry=False, ok=(201,), json=body)

    def remove_source(self, name: str) -> Removed:
        return self._call("DELETE", f"/sources/{quote(name, safe='')}", Removed, retry=True)

    def sync(self, name: str) -> SyncAccepted:
        path = f"/sources/{quote(name, safe='')}/sync"
        return self._call("POST", path, SyncAccepted, retry=True, ok=(202,))

    def search(self, query: DocsSearchIn) -> DocsResults:
        body = query.model_dump(mode="json", exclude_unset=True)
        return self._call("POST", "/search", DocsResults, retry=True, json=body)
