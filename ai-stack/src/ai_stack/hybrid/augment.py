"""augment_query: the context an agent should see, retrieved through aidb, de-duplicated, packed
into a token budget with numbered citations, with advice on which model to use."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ai_stack.aidb.schemas import SearchIn, SearchResponse, SearchResult
from ai_stack.clients.aidb import AidbClient
from ai_stack.clients.errors import ClientError
from ai_stack.core.errors import ServiceUnavailableError
from ai_stack.hybrid import records
from ai_stack.hybrid.context import Candidate, Packed, PromptTemplate, mmr
from ai_stack.hybrid.packing import pack_by_parts
from ai_stack.hybrid.routing import RoutingThresholds, advise
from ai_stack.hybrid.schemas import Augmented, AugmentIn, ContextItem, Routing
from ai_stack.hybrid.scoring import best_keyword, relevance
from ai_stack.hybrid.usefulness import UsefulnessStore

MAX_AIDB_LIMIT = 100


@dataclass(frozen=True)
class AugmentPolicy:
    """Where and how much to retrieve (from the settings)."""

    memory_collection: str
    default_sources: tuple[str, ...]
    # Knowledge that belongs to no project of the caller's (docs-search's sections, whose project
    # is their source): searched whatever project a request names.
    shared_collections: tuple[str, ...]
    per_source_limit: int
    min_relevance: float
    default_budget: int
    thresholds: RoutingThresholds
    template: PromptTemplate = field(default_factory=PromptTemplate)


@dataclass
class Retrieved:
    candidates: list[Candidate]
    degraded_reasons: list[str]


@dataclass
class Augmenter:
    aidb: AidbClient
    count: Callable[[str], int]
    policy: AugmentPolicy
    usefulness: UsefulnessStore

    async def augment(
        self, request: AugmentIn, *, exclude: frozenset[str] = frozenset(), breadth: int = 1
    ) -> Augmented:
        """Never fails for want of context: no store or no aidb gives the bare prompt, degraded.

        `exclude` holds ids a session was already given; `breadth` multiplies the per-source limit.
        """
        retrieved = await self._retrieve(request, breadth)
        fresh = await self._weighted([c for c in retrieved.candidates if c.id not in exclude])
        chosen = mmr(fresh, limit=len(fresh))
        budget = request.token_budget or self.policy.default_budget
        packed = await asyncio.to_thread(
            pack_by_parts, request.query, chosen, budget, self.count, self.policy.template
        )
        routing = advise([c.score for c in packed.items], self.policy.thresholds)
        return _answer(packed, routing, retrieved.degraded_reasons)

    async def _weighted(self, candidates: list[Candidate]) -> list[Candidate]:
        """Relevance times each item's usefulness factor (outcomes.py), best first."""
        factors = await self.usefulness.factors([c.id for c in candidates])
        weighted = [replace(c, score=c.score * factors.get(c.id, 1.0)) for c in candidates]
        return sorted(weighted, key=lambda c: c.score, reverse=True)

    async def _retrieve(self, request: AugmentIn, breadth: int) -> Retrieved:
        sources = list(request.sources or self.policy.default_sources)
        memories = self.policy.memory_collection in sources
        knowledge = [s for s in sources if s != self.policy.memory_collection]
        searches = []
        if memories:  # only current memories; knowledge documents have no validity fields
            memory = [self.policy.memory_collection]
            searches.append(self._search(request, memory, {"current": True}, breadth, request.project))
        shared = [s for s in knowledge if s in self.policy.shared_collections]
        scoped = [s for s in knowledge if s not in shared]
        if request.project is None:  # one search covers every project
            scoped, shared = scoped + shared, []
        if scoped:
            searches.append(self._search(request, scoped, {}, breadth, request.project))
        if shared:
            searches.append(self._search(request, shared, {}, breadth, None))
        answers = await asyncio.gather(*searches)
        candidates: list[Candidate] = []
        reasons: list[str] = []
        for answer in answers:
            if isinstance(answer, str):
                reasons.append(answer)
                continue
            if answer.degraded and answer.reason:
                reasons.append(answer.reason)
            candidates += self._candidates(answer.results, breadth)
        candidates.sort(key=lambda c: c.score, reverse=True)
        return Retrieved(candidates, reasons)

    async def _search(
        self,
        request: AugmentIn,
        collections: list[str],
        filters: dict[str, Any],
        breadth: int,
        project: str | None,
    ) -> SearchResponse | str:
        """aidb's answer, or why there is none (aidb down: the prompt goes out without context).
        `project` None searches every project."""
        limit = min(MAX_AIDB_LIMIT, self.policy.per_source_limit * breadth * len(collections))
        query = SearchIn(
            query=request.query[:2000],
            collections=collections,
            project=project,
            filters=filters,
            limit=limit,
            explain=True,
            include_text=True,
            # The budget picks chunks: a document's several relevant sections may all earn a place.
            group_by="chunk",
        )
        try:
            return await self.aidb.search(query)
        except (ServiceUnavailableError, ClientError) as exc:
            return f"aidb unavailable ({exc}); no context retrieved"

    def _candidates(self, results: Sequence[SearchResult], breadth: int) -> list[Candidate]:
        best = best_keyword(results)
        per_source = self.policy.per_source_limit * breadth
        taken: dict[str, int] = {}
        candidates = []
        for result in results:
            score = relevance(result, best)
            if score < self.policy.min_relevance or taken.get(result.collection, 0) >= per_source:
                continue
            taken[result.collection] = taken.get(result.collection, 0) + 1
            candidates.append(self._candidate(result, score))
        return candidates

    def _candidate(self, result: SearchResult, score: float) -> Candidate:
        meta = result.metadata
        if result.collection == self.policy.memory_collection and records.is_memory(meta):
            # Cited by kind and origin: the memory's text follows, and its aidb path is a hash.
            source = (meta.get("sources") or [""])[-1]
            return Candidate(
                id=str(result.document_id),
                kind=meta["kind"],
                collection=result.collection,
                title=meta["kind"].replace("_", " "),
                path=source or "memory",
                source=source,
                text=result.text or result.snippet,
                score=score,
            )
        return Candidate(
            id=str(result.chunk_id),
            kind="knowledge",
            collection=result.collection,
            title=result.title,
            path=result.path,
            source=result.path,
            text=result.text or result.snippet,
            score=score,
        )


def _answer(packed: Packed, routing: Any, reasons: list[str]) -> Augmented:
    context = [
        ContextItem(
            id=c.id,
            kind=c.kind,
            collection=c.collection,
            title=c.title,
            path=c.path,
            source=c.source,
            snippet=c.text,
            score=round(c.score, 4),
        )
        for c in packed.items
    ]
    return Augmented(
        augmented_prompt=packed.prompt,
        context=context,
        context_ids=[c.id for c in packed.items],
        token_count=packed.token_count,
        routing=Routing(
            recommendation=routing.recommendation, confidence=routing.confidence, reason=routing.reason
        ),
        degraded=bool(reasons),
        reason="; ".join(reasons) or None,
    )
