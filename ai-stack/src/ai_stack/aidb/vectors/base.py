"""What aidb needs from a vector engine: upsert, delete, per-signal query, count, recreate."""

from __future__ import annotations

import abc
import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ai_stack.aidb.sparse import SparseVector

DENSE = "dense"
SPARSE = "bm25"
# Payload fields every query or delete filters on: engines that can index payload index these.
KEYWORD_FIELDS = ("collection", "project", "status", "document_id")
# What ranking reads of a candidate (grouping, collapsing identical texts, cache expiry): a query
# returns only these for its hundreds of candidates, and the page's own results read the rest.
RANKING_FIELDS = ("document_id", "collection", "project", "expires_at", "text_sha256")


class VectorInputRejected(ValueError):
    """The engine refused a value the request carried: the caller's error, not an outage."""


def is_vector_outage(exc: BaseException) -> bool:
    """Everything but a refused input says the engine is unwell (it is in-process or a server
    we call with input checked beforehand, so a refusal is the only error a request can cause)."""
    return not isinstance(exc, VectorInputRejected)


@dataclass(frozen=True)
class ChunkPoint:
    """One chunk as the index stores it."""

    chunk_id: uuid.UUID
    dense: list[float] | None  # None: keyword-only until the embeddings service answers
    sparse: SparseVector
    payload: dict[str, Any]


@dataclass(frozen=True)
class SearchFilter:
    """Which chunks a query may return."""

    collections: tuple[str, ...] = ()
    project: str | None = None
    statuses: tuple[str, ...] = ("approved",)
    metadata: dict[str, Any] = field(default_factory=dict)
    # A project-limited key: only these projects, plus every chunk of `shared_collections`.
    visible_projects: tuple[str, ...] | None = None
    shared_collections: tuple[str, ...] = ()
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


@dataclass(frozen=True)
class Hit:
    """A chunk and its score for one signal."""

    chunk_id: str
    score: float
    payload: dict[str, Any]


@dataclass(frozen=True)
class ReplicaState:
    """One engine replica as an operator sees it."""

    replica: int
    alive: bool
    building_index: bool
    serving: bool  # current and answering reads
    pid: int | None = None  # the worker process (metrics read its memory); not shown by the API


@dataclass(frozen=True)
class EngineState:
    """Replica workers of the embedded engine and their index builds (None for other engines)."""

    replicas: list[ReplicaState]
    index_builds: int  # passes completed since aidb started (each replica built in turn)
    last_build_s: float | None
    points_since_build: int


class VectorStore(abc.ABC):
    """A vector engine; implementations live beside this file and are built by factory.py."""

    # True for an index created before aidb kept IDF per collection (its sparse vectors use the
    # engine's IDF modifier, and queries must weigh terms 1); known once `ensure` has run. New
    # indexes leave IDF to the query's weights. `reindex --rebuild` turns an old one into a new.
    idf_in_engine: bool = False

    @abc.abstractmethod
    async def ensure(self, dimension: int) -> None:
        """Creates the index if it does not exist."""

    @abc.abstractmethod
    async def recreate(self, dimension: int) -> None:
        """Drops and creates the index (reindex starts here)."""

    @abc.abstractmethod
    async def upsert(self, points: list[ChunkPoint]) -> None:
        """Adds or replaces chunks."""

    @abc.abstractmethod
    async def delete_document(self, document_id: uuid.UUID, keep_version: int | None = None) -> None:
        """Removes a document's chunks, except those of `keep_version` when given."""

    @abc.abstractmethod
    async def delete_chunks(self, chunk_ids: list[uuid.UUID]) -> None:
        """Removes exactly these chunks."""

    @abc.abstractmethod
    async def query(
        self,
        dense: list[float] | None,
        sparse: SparseVector | None,
        where: SearchFilter,
        limit: int,
        fields: Sequence[str] | None = None,
    ) -> tuple[list[Hit], list[Hit]]:
        """Top `limit` hits per signal (dense, keyword); a signal not asked for yields []. Each
        hit carries only the payload `fields` named (None: all of it)."""

    @abc.abstractmethod
    async def payloads(self, chunk_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The whole payload of each of these chunks that exists, by chunk id."""

    async def query_page(
        self,
        dense: list[float] | None,
        sparse: SparseVector | None,
        where: SearchFilter,
        limit: int,
        fields: Sequence[str],
        whole_top: int,
    ) -> tuple[list[Hit], list[Hit]]:
        """`query` with only `fields` per candidate, but whole payloads for the first `whole_top`
        of each signal: the page a search will most likely show. Engines that can do both in one
        round trip override this."""
        hits = await self.query(dense, sparse, where, limit, fields)
        return with_whole_payloads(hits, await self.payloads(top_ids(hits, whole_top)))

    def engine_state(self) -> EngineState | None:
        """The replica workers' state, for engines that run them."""
        return None

    @abc.abstractmethod
    async def count(self, collection: str | None = None) -> int:
        """Chunks in the index (in one collection)."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Releases files and connections."""


def top_ids(hits: tuple[list[Hit], list[Hit]], count: int) -> list[str]:
    """The first `count` chunk ids of each signal, each once."""
    return list(dict.fromkeys(h.chunk_id for signal in hits for h in signal[:count]))


def with_whole_payloads(
    hits: tuple[list[Hit], list[Hit]], whole: dict[str, dict[str, Any]]
) -> tuple[list[Hit], list[Hit]]:
    """The hits, those in `whole` carrying their whole payloads."""
    dense, keyword = (
        [Hit(h.chunk_id, h.score, whole[h.chunk_id]) if h.chunk_id in whole else h for h in signal]
        for signal in hits
    )
    return dense, keyword
