"""Each collection's average chunk length in keyword terms, for BM25's length normalization.

The average comes from PostgreSQL (the terms of every document's indexed version, kept by the
indexer), refreshed at most every `refresh_s`; it follows documents as they come and go. A vector
keeps the average of the moment it was indexed: `reindex` brings old ones to today's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import asyncpg

from ai_stack.core.postgres import GuardedPool

# Below this many indexed chunks a collection's average says little: the caller uses its own.
MIN_CHUNKS = 20


async def collection_statistics(conn: asyncpg.Connection) -> dict[str, tuple[float, int, int]]:
    """Per collection: indexed keyword terms, indexed chunks, and the chunks whose terms are in
    the collection's document frequencies (`keyword_df`: indexed since migration 0005)."""
    rows = await conn.fetch(
        "SELECT collection, sum(keyword_terms)::float8 AS terms, sum(keyword_chunks)::int8 AS chunks,"
        " coalesce(sum(keyword_chunks) FILTER (WHERE keyword_df_terms IS NOT NULL), 0)::int8 AS counted"
        " FROM documents WHERE keyword_chunks > 0 GROUP BY collection"
    )
    return {r["collection"]: (float(r["terms"]), int(r["chunks"]), int(r["counted"])) for r in rows}


class KeywordStats:
    """Each collection's statistics, read at most every `refresh_s` (one sum over the documents,
    shared by the indexer's length normalization and the queries' IDF)."""

    def __init__(
        self, pool: GuardedPool, refresh_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pool = pool
        self.refresh_s = refresh_s
        self._clock = clock
        self._statistics: dict[str, tuple[float, int, int]] = {}
        self._read_at: float | None = None

    async def _current(self) -> dict[str, tuple[float, int, int]]:
        now = self._clock()
        if self._read_at is None or now - self._read_at >= self.refresh_s:
            self._statistics = await self._pool.run(collection_statistics)
            self._read_at = now
        return self._statistics

    async def average_length(self, collection: str) -> float | None:
        """Average chunk length in terms; None while the collection has too few chunks to say."""
        terms, chunks, _ = (await self._current()).get(collection, (0.0, 0, 0))
        return terms / chunks if chunks >= MIN_CHUNKS else None

    async def counted_chunks(self, collections: Sequence[str]) -> int:
        """Chunks of `collections` (every collection when empty) that `keyword_df` counts."""
        statistics = await self._current()
        return sum(
            counted for c, (_, _, counted) in statistics.items() if not collections or c in collections
        )
