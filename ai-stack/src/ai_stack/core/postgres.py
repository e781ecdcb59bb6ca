"""An asyncpg pool behind its circuit breaker, migrated at start, closed with the app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import orjson
from aiohttp import web

from ai_stack.core.breaker import CircuitBreaker
from ai_stack.core.health import DependencyCheck
from ai_stack.core.keys import HEALTH_KEY, SETTINGS_KEY
from ai_stack.core.migrations import discover, migrate

T = TypeVar("T")


class GuardedPool:
    """Runs units of work on a pooled connection under the PostgreSQL breaker."""

    def __init__(self, pool: asyncpg.Pool, breaker: CircuitBreaker) -> None:
        self.pool = pool
        self.breaker = breaker

    async def run(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """`work(connection)` under the breaker; wrap writes in `connection.transaction()`."""

        async def call() -> T:
            async with self.pool.acquire() as connection:
                return await work(connection)

        return await self.breaker.call(call)

    async def ping(self) -> None:
        """Readiness probe."""
        await self.run(lambda c: c.fetchval("SELECT 1"))


async def _init_connection(connection: asyncpg.Connection) -> None:
    # jsonb columns come back as Python objects and go in from them, via orjson.
    await connection.set_type_codec(
        "jsonb",
        encoder=lambda v: orjson.dumps(v).decode(),
        decoder=orjson.loads,
        schema="pg_catalog",
    )


def postgres_context(
    key: web.AppKey[GuardedPool], dsn: Callable[[], str], migrations_package: str
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx: pool, migrations, breaker and readiness check."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS_KEY]
        pool: Any = await asyncpg.create_pool(
            dsn(), min_size=1, max_size=10, init=_init_connection, command_timeout=30
        )
        async with pool.acquire() as connection:
            await migrate(connection, discover(migrations_package))
        breaker = CircuitBreaker(
            "postgres",
            failure_threshold=settings.breaker_failure_threshold,
            reset_timeout_s=settings.breaker_reset_s,
            call_timeout_s=max(settings.dependency_timeout_s, 5.0),
        )
        guarded = GuardedPool(pool, breaker)
        app[key] = guarded
        app[HEALTH_KEY].add(DependencyCheck("postgres", guarded.ping, required=True, breaker=breaker))
        yield
        await pool.close()

    return context
