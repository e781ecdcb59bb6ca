"""Query-term IDF from PostgreSQL's per-collection frequencies, cached: concurrent queries never
find the cache emptied under them."""

from __future__ import annotations

import asyncio

from ai_stack.aidb.keyword_df import KeywordIdf, bm25_idf
from ai_stack.aidb.keyword_stats import KeywordStats
from ai_stack.core.breaker import CircuitBreaker
from ai_stack.core.migrations import discover, migrate
from ai_stack.core.postgres import GuardedPool, create_pool, is_postgres_outage

from tests.harness.databases import fresh_database_dsn
from tests.harness.processes import PostgresServer

FREQUENCIES = {1: 5, 2: 40, 3: 1, 4: 12}


async def _guarded_pool(server: PostgresServer) -> GuardedPool:
    pool = await create_pool(await fresh_database_dsn(server))
    async with pool.acquire() as connection:
        await migrate(connection, discover("ai_stack.aidb.migrations"))
        await connection.executemany(
            "INSERT INTO keyword_df (collection, term_id, df) VALUES ('docs', $1, $2)", FREQUENCIES.items()
        )
    return GuardedPool(pool, CircuitBreaker("postgres", counts_as_failure=is_postgres_outage))


def test_a_cache_emptied_during_a_read_does_not_fail_the_query_reading(
    postgres_server: PostgresServer,
) -> None:
    async def scenario() -> tuple[list[float], list[float]]:
        guarded = await _guarded_pool(postgres_server)
        now = [0.0]
        stats = KeywordStats(guarded, refresh_s=30.0, clock=lambda: now[0])
        idf = KeywordIdf(guarded, stats, clock=lambda: now[0])
        try:
            await idf.weights(["docs"], [1, 2])  # cached

            async def later_query() -> list[float]:
                now[0] = 100.0  # past the refresh: this query empties the cache
                return await idf.weights(["docs"], [4])

            # The first reads term 3 from PostgreSQL, holding 1 and 2 from the cache; the second
            # empties the cache while that read is out.
            first, second = await asyncio.gather(idf.weights(["docs"], [1, 2, 3]), later_query())
            # The first query's read began before the cache was emptied: it is not kept, so a
            # change since is seen at once rather than a whole refresh period later.
            await guarded.pool.execute("UPDATE keyword_df SET df = 30 WHERE term_id = 3")
            assert await idf.weights(["docs"], [3]) == [bm25_idf(30, 30)]
            return first, second
        finally:
            await guarded.pool.close()

    first, second = asyncio.run(scenario())
    # No chunk counted yet: the count is the largest frequency (see KeywordIdf.weights).
    assert first == [bm25_idf(40, FREQUENCIES[t]) for t in (1, 2, 3)]
    assert second == [bm25_idf(12, 12)]
