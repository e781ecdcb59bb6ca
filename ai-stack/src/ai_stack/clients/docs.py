"""The async docs-search client: sources, searches and lookups as typed calls."""

from __future__ import annotations

from urllib.parse import quote

from ai_stack.clients.base import TypedClient
from ai_stack.docs_search.schemas import (
    DocsResults,
    DocsSearchIn,
    LookupIn,
    OptionDetail,
    OptionResults,
    PackageDetail,
    PackageResults,
    Removed,
    SourceIn,
    SourceList,
    SourceView,
    SyncAccepted,
)


def _source_params(source: str | None) -> dict[str, str] | None:
    return {"source": source} if source is not None else None


class DocsClient(TypedClient):
    """docs-search's API as typed calls: outages raise ServiceUnavailableError."""

    service = "docs"

    async def sources(self) -> SourceList:
        return await self._call("GET", "/sources", SourceList)

    async def source(self, name: str) -> SourceView:
        return await self._call("GET", f"/sources/{quote(name, safe='')}", SourceView)

    async def add_source(self, source: SourceIn) -> SourceView:
        return await self._call("POST", "/sources", SourceView, source, ok=(201,))

    async def remove_source(self, name: str) -> Removed:
        return await self._call("DELETE", f"/sources/{quote(name, safe='')}", Removed)

    async def sync(self, name: str) -> SyncAccepted:
        return await self._call("POST", f"/sources/{quote(name, safe='')}/sync", SyncAccepted, ok=(202,))

    async def search(self, query: DocsSearchIn) -> DocsResults:
        return await self._call("POST", "/search", DocsResults, query)

    async def search_options(self, query: LookupIn) -> OptionResults:
        return await self._call("POST", "/options/search", OptionResults, query)

    async def option(self, name: str, source: str | None = None) -> OptionDetail:
        path = f"/options/{quote(name, safe='')}"
        return await self._call("GET", path, OptionDetail, params=_source_params(source))

    async def search_packages(self, query: LookupIn) -> PackageResults:
        return await self._call("POST", "/packages/search", PackageResults, query)

    async def package(self, attr: str, source: str | None = None) -> PackageDetail:
        path = f"/packages/{quote(attr, safe='')}"
        return await self._call("GET", path, PackageDetail, params=_source_params(source))
