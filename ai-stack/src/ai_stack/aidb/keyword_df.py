"""BM25's IDF per aidb collection, kept in PostgreSQL (`keyword_df`) beside the documents.

The embedded engine holds every collection in one shard, so its IDF mixes them (a term common in
one collection looks rare in another), and it counts deleted points until the shard reloads. Here
each collection's document frequencies follow its documents exactly: the indexer adds a
version's terms and subtracts the previous version's in the transaction that marks it indexed,
and deleting documents subtracts theirs. A query weighs each term with the IDF of the collections
it searches, in Qdrant's formula, so the engine's scores keep their meaning.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

import asyncpg

from ai_stack.aidb.keyword_stats import KeywordStats
from ai_stack.core.postgres import GuardedPool


def bm25_idf(chunks: int, df: int) -> float:
    """Qdrant's (and Lucene's) BM25 IDF: ln(1 + (N - df + 0.5) / (df + 0.5)); never negative."""
    df = min(max(df, 0), chunks)
    return math.log(1 + (chunks - df + 0.5) / (df + 0.5))


def chunk_terms(term_ids_per_chunk: Iterable[Iterable[int]]) -> list[int]:
    """A document's contribution to the frequencies: each chunk's distinct term ids, in turn."""
    return [term for ids in term_ids_per_chunk for term in sorted(set(ids))]


def df_delta(added: Sequence[int] | None, removed: Sequence[int] | None) -> tuple[list[int], list[int]]:
    """(term ids, change) for the terms whose frequency changes, ordered by term id (so that
    concurrent writers lock the rows in one order and never deadlock)."""
    delta = Counter(added or ())
    delta.subtract(Counter(removed or ()))
    terms = sorted(t for t, n in delta.items() if n)
    return terms, [delta[t] for t in terms]


async def apply_delta(
    conn: asyncpg.Connection, collection: str, added: Sequence[int] | None, removed: Sequence[int] | None
) -> None:
    """Adds `added` and subtracts `removed` from the collection's frequencies (in the caller's
    transaction); terms that no chunk holds any more are dropped."""
    terms, changes = df_delta(added, removed)
    if not terms:
        return
    await conn.execute(
        "INSERT INTO keyword_df (collection, term_id, df)"
        " SELECT $1, t, n FROM unnest($2::int4[], $3::int4[]) AS d(t, n) ORDER BY t"
        " ON CONFLICT (collection, term_id) DO UPDATE SET df = keyword_df.df + EXCLUDED.df",
        collection,
        terms,
        changes,
    )
    await conn.execute(
        "DELETE FROM keyword_df WHERE collection = $1 AND term_id = ANY($2::int4[]) AND df <= 0",
        collection,
        terms,
    )


async def document_frequencies(
    conn: asyncpg.Connection, collections: Sequence[str], term_ids: Sequence[int]
) -> dict[int, int]:
    """Each term's frequency summed over `collections` (all of them when empty)."""
    rows = await conn.fetch(
        "SELECT term_id, sum(df)::int8 AS df FROM keyword_df"
        " WHERE (cardinality($1::text[]) = 0 OR collection = ANY($1::text[])) AND term_id = ANY($2::int4[])"
        " GROUP BY term_id",
        list(collections),
        list(term_ids),
    )
    return {r["term_id"]: int(r["df"]) for r in rows}


# Cached frequencies across all collection sets, beyond which the cache starts over.
MAX_CACHED_TERMS = 200_000


class KeywordIdf:
    """Query-term weights from the frequencies of the searched collections.

    Chunk counts come from `stats` (shared with the indexer); each term's frequency is cached for
    as long (`stats.refresh_s`): reading it per query cost every keyword or hybrid search a
    PostgreSQL round trip, about a fifth of aidb's throughput under 16 clients. Queries repeat
    their words, so after a warm-up most searches read nothing. IDF therefore trails writes and
    deletes by at most `refresh_s`."""

    def __init__(
        self, pool: GuardedPool, stats: KeywordStats, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._pool = pool
        self._stats = stats
        self._clock = clock
        self._frequencies: dict[tuple[tuple[str, ...], int], int] = {}
        self._cleared_at: float | None = None
        self._generation = 0  # counts the emptyings: a read older than the last one is not kept

    async def weights(self, collections: Sequence[str], term_ids: Sequence[int]) -> list[float]:
        """One IDF per term of `term_ids`, in order."""
        now = self._clock()
        if self._cleared_at is None or now - self._cleared_at >= self._stats.refresh_s:
            self._frequencies.clear()
            self._generation += 1
            self._cleared_at = now
        scope = tuple(sorted(set(collections)))
        # Taken out of the cache before the read: another query may empty it meanwhile.
        known = {t: df for t in term_ids if (df := self._frequencies.get((scope, t))) is not None}
        missing = [t for t in term_ids if t not in known]
        if missing:
            generation = self._generation
            read = await self._pool.run(lambda c: document_frequencies(c, scope, missing))
            known |= {t: read.get(t, 0) for t in missing}
            # Cached only if no refresh emptied the cache meanwhile: a read begun before it
            # would otherwise live on for another whole refresh period.
            if generation == self._generation:
                if len(self._frequencies) + len(missing) > MAX_CACHED_TERMS:
                    self._frequencies.clear()
                    self._generation += 1
                self._frequencies.update({(scope, t): known[t] for t in missing})
        frequencies = [known[t] for t in term_ids]
        chunks = await self._stats.counted_chunks(scope)
        # A collection younger than the last count may hold more chunks than counted: never less
        # than the largest frequency, so that IDF stays positive and ordered.
        chunks = max(chunks, max(frequencies, default=0))
        return [bm25_idf(chunks, df) for df in frequencies]
