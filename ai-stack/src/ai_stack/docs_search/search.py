"""Ranked documentation sections through aidb's hybrid search, one hit per section."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ai_stack.aidb.schemas import SearchIn, SearchResponse, SearchResult
from ai_stack.clients.aidb import AidbClient
from ai_stack.clients.errors import NotFound
from ai_stack.docs_search.schemas import DocsHit, DocsResults, DocsSearchIn

# aidb returns chunks; a long section can hold several of the best ones. Asking for more than the
# limit leaves room to keep one hit per section.
OVERFETCH = 3
AIDB_MAX_LIMIT = 100


def section_filters(sources: Sequence[str], kinds: Sequence[str]) -> dict[str, Any]:
    filters: dict[str, Any] = {}
    if sources:
        filters["source"] = {"in": list(sources)}
    if kinds:
        filters["kind"] = {"in": list(kinds)}
    return filters


def to_hit(result: SearchResult) -> DocsHit:
    meta = result.metadata
    heading_path = meta.get("heading_path")
    version = meta.get("version")
    return DocsHit(
        source=str(meta.get("source", result.project)),
        kind=str(meta.get("kind", "")),
        version=version if isinstance(version, str) else None,
        title=result.title,
        heading_path=[str(h) for h in heading_path] if isinstance(heading_path, list) else [],
        url=str(meta.get("url", "")),
        snippet=result.snippet,
        score=result.score,
        key=result.path,
    )


def one_per_section(results: list[SearchResult], limit: int) -> list[SearchResult]:
    seen: set[Any] = set()
    kept = []
    for result in results:
        if result.document_id in seen:
            continue
        seen.add(result.document_id)
        kept.append(result)
        if len(kept) == limit:
            break
    return kept


class DocsSearcher:
    """Searches the sections collection in aidb."""

    def __init__(self, aidb: AidbClient, collection: str) -> None:
        self._aidb = aidb
        self._collection = collection

    async def search_raw(
        self, query: str, filters: dict[str, Any], limit: int, mode: str = "hybrid"
    ) -> SearchResponse:
        request = SearchIn.model_validate(
            {
                "query": query,
                "mode": mode,
                "collections": [self._collection],
                "filters": filters,
                "limit": min(AIDB_MAX_LIMIT, limit * OVERFETCH),
            }
        )
        try:
            answer = await self._aidb.search(request)
        except NotFound:  # nothing synced yet: the collection does not exist
            return SearchResponse(mode=request.mode, results=[], next_cursor=None, degraded=False)
        answer.results = one_per_section(answer.results, limit)
        return answer

    async def search(self, request: DocsSearchIn) -> DocsResults:
        answer = await self.search_raw(
            request.query, section_filters(request.sources, request.kinds), request.limit, request.mode
        )
        return DocsResults(
            results=[to_hit(r) for r in answer.results], degraded=answer.degraded, reason=answer.reason
        )
