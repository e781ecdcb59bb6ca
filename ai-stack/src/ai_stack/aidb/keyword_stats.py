"""Each collection's average chunk length in keyword terms, for BM25's length normalization.

The average comes from PostgreSQL (the terms of every document's indexed version, kept by the
indexer), refreshed at most every `refresh_s`; it follows documents as they come and go. A vector
keeps the average of the moment it was indexed: `reindex` brings old ones to today's.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import asyncpg

from ai_stack.core.postgres import GuardedPool

# Below this many indexed chunks a collection's average says little: the caller uses its own.
MIN_CHUNKS = 20


async def collection_averages(conn: asyncpg.Connection) -> dict[str, float]:
    rows = await conn.fetch(
        "SELECT collection, sum(keyword_terms)::float8 / sum(keyword_chunks) AS average FROM documents"
        " WHERE keyword_chunks > 0 GROUP BY collection HAVING sum(keyword_chunks) >= $1",
        MIN_CHUNKS,
    )
    return {r["collection"]: float(r["average"]) for r in rows}


class KeywordStats:
    """Cached per-collection averages (None: too few chunks yet)."""

    def __init__(
        self, pool: GuardedPool, refresh_s: float = 30.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pool = pool
        self._refresh_s = refresh_s
        self._clock = clock
        self._averages: dict[str, float] = {}
        self._read_at: float | None = None

    async def average_length(self, collection: str) -> float | None:
        now = self._clock()
        if self._read_at is None or now - self._read_at >= self._refresh_s:
            self._averages = await self._pool.run(collection_averages)
            self._read_at = now
        return self._averages.get(collection)
