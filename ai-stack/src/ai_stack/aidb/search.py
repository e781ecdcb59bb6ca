"""Search: query vectors, per-signal retrieval, fusion, paging, graceful degradation."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import orjson

from ai_stack.aidb.cache import SearchCache
from ai_stack.aidb.duplicates import collapse_identical
from ai_stack.aidb.embedder import EmbeddingsUnavailable, RemoteEmbedder
from ai_stack.aidb.fusion import Ranked, rrf, single
from ai_stack.aidb.grouping import Group, group_by_document, groups_by_default
from ai_stack.aidb.keyword_df import KeywordIdf
from ai_stack.aidb.rerank import Reranker, reranked
from ai_stack.aidb.schemas import SearchIn
from ai_stack.aidb.scoping import ReadScope
from ai_stack.aidb.sparse import Bm25Encoder, SparseVector
from ai_stack.aidb.vectors.base import RANKING_FIELDS, Hit, SearchFilter, VectorInputRejected, VectorStore
from ai_stack.core.breaker import CircuitBreaker
from ai_stack.core.errors import ServiceUnavailableError

T = TypeVar("T")
EVERYTHING = ReadScope(projects=None, shared_collections=())

SNIPPET_CHARS = 320
MAX_CANDIDATES = 1000


class BadCursor(ValueError):
    """A cursor this service did not issue."""


def encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"o": offset})).decode()


def decode_cursor(cursor: str) -> int:
    try:
        offset = orjson.loads(base64.urlsafe_b64decode(cursor.encode()))["o"]
    except (ValueError, TypeError, KeyError):
        raise BadCursor("cursor is not one this service issued") from None
    if not isinstance(offset, int) or offset < 0:
        raise BadCursor("cursor is not one this service issued")
    return offset


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    """The start of a chunk, cut at a word boundary."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut + " …"


def duplicate_json(copy: Ranked) -> dict[str, Any]:
    """Where another copy of a result's text is."""
    p = copy.payload
    return {
        "document_id": p.get("document_id"),
        "chunk_id": copy.chunk_id,
        "path": p.get("path"),
        "title": p.get("title"),
        "score": copy.score,
    }


def result_json(
    item: Ranked,
    explain: bool,
    metadata: dict[str, Any] | None = None,
    *,
    text: bool = False,
    duplicates: Sequence[Ranked] = (),
) -> dict[str, Any]:
    """One result; `metadata` is the document's own (the payload holds only its filterable part)."""
    p = item.payload
    body: dict[str, Any] = {
        "document_id": p.get("document_id"),
        "chunk_id": item.chunk_id,
        "collection": p.get("collection"),
        "project": p.get("project"),
        "path": p.get("path"),
        "title": p.get("title"),
        "heading_path": p.get("heading_path", []),
        "snippet": snippet(p.get("text", "")),
        "score": item.score,
        "metadata": metadata if metadata is not None else p.get("metadata", {}),
        "duplicates": [duplicate_json(d) for d in duplicates],
    }
    if text:
        body["text"] = p.get("text", "")
    if explain:
        body["explain"] = {
            "dense": item.dense,
            "keyword": item.keyword,
            "fused": item.score,
            "dense_rank": item.dense_rank,
            "keyword_rank": item.keyword_rank,
            "rerank": item.rerank,
        }
    return body


def group_json(
    group: Group,
    explain: bool,
    metadata: dict[str, Any] | None,
    *,
    text: bool,
    duplicates: Sequence[Ranked] = (),
) -> dict[str, Any]:
    """A grouped result: the best chunk's result, with the document's other matching chunks."""
    body = result_json(group.best, explain, metadata, text=text, duplicates=duplicates)
    body["sections"] = [
        {
            "chunk_id": other.chunk_id,
            "heading_path": other.payload.get("heading_path", []),
            "snippet": snippet(other.payload.get("text", "")),
            "score": other.score,
        }
        for other in group.others
    ]
    return body


MetadataLookup = Callable[[list[uuid.UUID]], Awaitable[dict[str, Any]]]


def _rank(request: SearchIn, mode: str, dense_hits: list[Hit], keyword_hits: list[Hit]) -> list[Ranked]:
    """One ranking: fused for hybrid, else the signal asked for; `min_score` applied."""
    if mode == "hybrid":
        ranked = rrf(
            dense_hits,
            keyword_hits,
            k=request.rrf_k,
            dense_weight=request.dense_weight,
            keyword_weight=request.keyword_weight,
        )
    else:
        ranked = single(dense_hits, "dense") if mode == "vector" else single(keyword_hits, "keyword")
    if request.min_score is not None:
        ranked = [r for r in ranked if r.score >= request.min_score]
    return ranked


@dataclass
class SearchService:
    store: VectorStore
    store_breaker: CircuitBreaker
    embedder: RemoteEmbedder
    sparse: Bm25Encoder
    cache: SearchCache
    metadata_of: MetadataLookup
    grouped_collections: tuple[str, ...] = ("docs",)
    reranker: Reranker | None = None
    rerank_depth: int = 30
    keyword_idf: KeywordIdf | None = None

    async def search(self, request: SearchIn, scope: ReadScope = EVERYTHING) -> dict[str, Any]:
        """`scope`: what the caller's key may see (a project-limited key sees fewer chunks)."""
        offset = decode_cursor(request.cursor) if request.cursor else request.offset
        cache_request = {**request.model_dump(), "visible": scope.cache_tag()}
        cache_key, cached = await self.cache.results(cache_request, request.collections)
        if cached is not None:
            return cached
        body, ranked = await self._search(request, offset, scope)
        if not body["degraded"]:  # a degraded answer must not outlive the outage
            # Every candidate counts: one that expires changes the fused ranks of the others.
            expiries = [r.payload["expires_at"] for r in ranked if r.payload.get("expires_at") is not None]
            await self.cache.put_results(cache_key, body, expiries)
        return body

    async def _search(
        self, request: SearchIn, offset: int, scope: ReadScope
    ) -> tuple[dict[str, Any], list[Ranked]]:
        mode, degraded_reason = request.mode, None
        dense = None
        if mode in ("vector", "hybrid"):
            try:
                dense = (await self.embedder.embed([request.query]))[0]
            except EmbeddingsUnavailable as exc:
                mode, degraded_reason = "keyword", f"embeddings unavailable ({exc}); keyword results only"
        sparse = None
        if mode in ("keyword", "hybrid"):
            sparse, idf_problem = await self._keyword_query(request)
            degraded_reason = degraded_reason or idf_problem
        where = SearchFilter(
            collections=tuple(request.collections),
            project=request.project,
            metadata=request.filters,
            visible_projects=scope.projects,
            shared_collections=scope.shared_collections,
            statuses=("pending", "approved", "rejected") if request.include_unapproved else ("approved",),
        )
        grouped = request.group_by == "document" or (
            request.group_by is None and groups_by_default(request.collections, self.grouped_collections)
        )
        # Grouping folds a document's chunks into one result: fetch more to fill the page.
        wanted = (6 if grouped else 3) * (offset + request.limit)
        candidates = min(MAX_CANDIDATES, max(50, wanted))
        dense_hits, keyword_hits = await self._query(dense, sparse, where, candidates, offset + request.limit)
        ranked = _rank(request, mode, dense_hits, keyword_hits)
        if self.reranker is not None and request.rerank is not False:
            depth = max(self.rerank_depth, offset + request.limit)
            try:
                ranked = await self._with_payloads(ranked[:depth]) + ranked[depth:]
                ranked = await reranked(self.reranker, request.query, ranked, depth)
            except Exception as exc:  # the fused order still answers
                degraded_reason = f"reranker failed ({type(exc).__name__}); fused order"
        shown_ranking, duplicates = (
            collapse_identical(ranked) if request.collapse_duplicates else (ranked, {})
        )
        entries: list[Group] = (
            group_by_document(shown_ranking) if grouped else [Group(r) for r in shown_ranking]
        )
        page = entries[offset : offset + request.limit]
        more = len(entries) > offset + request.limit
        page, duplicates = await self._load_page(page, duplicates)
        metadata, metadata_problem = await self._metadata([g.best for g in page])
        degraded_reason = degraded_reason or metadata_problem

        def shown(group: Group) -> dict[str, Any]:
            document_metadata = metadata.get(group.best.payload["document_id"])
            copies = duplicates.get(group.best.chunk_id, ())
            if grouped:
                return group_json(
                    group, request.explain, document_metadata, text=request.include_text, duplicates=copies
                )
            return result_json(
                group.best, request.explain, document_metadata, text=request.include_text, duplicates=copies
            )

        body: dict[str, Any] = {
            "mode": mode,
            "results": [shown(g) for g in page],
            "next_cursor": encode_cursor(offset + request.limit) if more else None,
            "degraded": degraded_reason is not None,
        }
        if degraded_reason:
            body["reason"] = degraded_reason
        return body, ranked

    async def _with_payloads(self, items: list[Ranked]) -> list[Ranked]:
        """`items` with their whole payloads (queries return only RANKING_FIELDS); a chunk deleted
        since the query is left out."""
        ids = [r.chunk_id for r in items if "text" not in r.payload]
        if not ids:
            return items
        found = await self._call_store(lambda: self.store.payloads(ids))
        loaded = []
        for item in items:
            if "text" not in item.payload:
                whole = found.get(item.chunk_id)
                if whole is None:
                    continue
                item.payload.update(whole)
            loaded.append(item)
        return loaded

    async def _load_page(
        self, page: list[Group], duplicates: dict[str, list[Ranked]]
    ) -> tuple[list[Group], dict[str, list[Ranked]]]:
        """The page's results, sections and copies with their whole payloads, in one engine call."""
        everything = [r for g in page for r in (g.best, *g.others, *duplicates.get(g.best.chunk_id, ()))]
        present = {r.chunk_id for r in await self._with_payloads(everything)}
        groups = []
        for group in page:
            if group.best.chunk_id not in present:
                continue
            groups.append(Group(group.best, [o for o in group.others if o.chunk_id in present]))
        copies = {
            chunk_id: [d for d in listed if d.chunk_id in present] for chunk_id, listed in duplicates.items()
        }
        return groups, copies

    async def _keyword_query(self, request: SearchIn) -> tuple[SparseVector, str | None]:
        """The query's keyword vector, its terms weighed by their IDF in the searched collections
        (1 each where the engine applies IDF itself); (vector, why) when the statistics are out
        of reach and every term weighs 1."""
        if self.keyword_idf is None or self.store.idf_in_engine:
            return self.sparse.query(request.query), None
        terms = self.sparse.query_terms(request.query)
        try:
            weights = await self.keyword_idf.weights(request.collections, terms)
        except ServiceUnavailableError as exc:
            return self.sparse.query(request.query), f"{exc.message}; keyword terms unweighted"
        return self.sparse.query(request.query, weights), None

    async def _metadata(self, page: list[Ranked]) -> tuple[dict[str, Any], str | None]:
        """The page's documents' metadata by id, or ({}, why) when PostgreSQL cannot say."""
        if not page:
            return {}, None
        try:
            return await self.metadata_of(list({uuid.UUID(r.payload["document_id"]) for r in page})), None
        except ServiceUnavailableError as exc:
            return {}, f"{exc.message}; metadata shows only its filterable part"

    async def _query(
        self,
        dense: list[float] | None,
        sparse: SparseVector | None,
        where: SearchFilter,
        limit: int,
        page_end: int,
    ) -> tuple[list[Hit], list[Hit]]:
        """Candidates with their ranking fields; the first `page_end` of each signal (where the page
        usually comes from) with whole payloads, so most pages need no second engine call."""
        return await self._call_store(
            lambda: self.store.query_page(dense, sparse, where, limit, RANKING_FIELDS, page_end)
        )

    async def _call_store(self, call: Callable[[], Awaitable[T]]) -> T:
        try:
            return await self.store_breaker.call(call)
        except (VectorInputRejected, ServiceUnavailableError):
            raise
        except Exception as exc:  # counted by the breaker; the caller sees a 503, not a 500
            raise ServiceUnavailableError(f"the vector index is unavailable ({type(exc).__name__})") from exc
