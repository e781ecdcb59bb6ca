"""An asyncpg pool behind its circuit breaker, migrated at start, closed with the app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import asyncpg
import asyncpg.exceptions as pg_errors
import orjson
from aiohttp import web

from ai_stack.core.breaker import CircuitBreaker, CircuitOpenError, is_outage
from ai_stack.core.errors import ServiceUnavailableError, ValidationFailedError
from ai_stack.core.health import DependencyCheck
from ai_stack.core.keys import HEALTH_KEY, SETTINGS_KEY
from ai_stack.core.migrations import discover, migrate

T = TypeVar("T")

# SQLSTATE classes that say the server is unwell or unreachable, not that a statement was bad:
# 08 connection, 28 authorisation, 3D no such database, 53 resources, 57 operator intervention
# (shutdown, cancelled by timeout), 58 system, XX internal.
_OUTAGES = (
    pg_errors.PostgresConnectionError,
    pg_errors.InvalidAuthorizationSpecificationError,
    pg_errors.InvalidCatalogNameError,
    pg_errors.InsufficientResourcesError,
    pg_errors.OperatorInterventionError,
    pg_errors.PostgresSystemError,
    pg_errors.InternalServerError,
)
# Refusals of a value the request carried (22 data exception, 54 program limit such as an
# index row too big): the request's fault, a 422, and never a breaker failure.
_BAD_VALUES = (pg_errors.DataError, pg_errors.ProgramLimitExceededError)
RETRY_AFTER_S = 2


def is_postgres_outage(exc: BaseException) -> bool:
    """Whether `exc` says PostgreSQL is unwell (counts against its breaker)."""
    return isinstance(exc, _OUTAGES) or is_outage(exc)


class GuardedPool:
    """Runs units of work on a pooled connection under the PostgreSQL breaker."""

    def __init__(self, pool: asyncpg.Pool, breaker: CircuitBreaker) -> None:
        self.pool = pool
        self.breaker = breaker

    async def run(self, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """`work(connection)` under the breaker; wrap writes in `connection.transaction()`.

        An outage becomes a 503 with Retry-After, a value PostgreSQL refuses a 422; other
        errors (domain errors raised by `work`, constraint violations) pass through unchanged.
        """

        async def call() -> T:
            async with self.pool.acquire() as connection:
                return await work(connection)

        try:
            return await self.breaker.call(call)
        except CircuitOpenError:
            raise
        except _BAD_VALUES as exc:
            raise ValidationFailedError(
                f"the database refused a value: {exc}", code="invalid_value"
            ) from None
        except Exception as exc:
            if is_postgres_outage(exc):
                raise ServiceUnavailableError(
                    f"postgres is unavailable ({type(exc).__name__})", retry_after=RETRY_AFTER_S
                ) from exc
            raise

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


async def _keep_session(connection: asyncpg.Connection) -> None:
    """Releases a connection to the pool as it is.

    asyncpg's default reset (`SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET
    ALL`) is one more round trip on every release: 40% of aidb's socket sends to PostgreSQL in
    a profile of searches. These services change no session state (no SET, LISTEN or cursor
    outside a transaction; the migrations' advisory lock is released by the code that takes
    it), so there is nothing to reset. asyncpg still rolls back a transaction left open before
    it calls this."""


async def create_pool(dsn: str) -> asyncpg.Pool:
    """A service's pool: jsonb columns as Python objects, connections released without a reset."""
    pool: asyncpg.Pool = await asyncpg.create_pool(
        dsn, min_size=1, max_size=10, init=_init_connection, reset=_keep_session, command_timeout=30
    )
    return pool


def postgres_context(
    key: web.AppKey[GuardedPool], dsn: Callable[[], str], migrations_package: str
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx: pool, migrations, breaker and readiness check."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS_KEY]
        pool = await create_pool(dsn())
        async with pool.acquire() as connection:
            await migrate(connection, discover(migrations_package))
        breaker = CircuitBreaker(
            "postgres",
            failure_threshold=settings.breaker_failure_threshold,
            reset_timeout_s=settings.breaker_reset_s,
            call_timeout_s=max(settings.dependency_timeout_s, 5.0),
            counts_as_failure=is_postgres_outage,
        )
        guarded = GuardedPool(pool, breaker)
        app[key] = guarded
        app[HEALTH_KEY].add(DependencyCheck("postgres", guarded.ping, required=True, breaker=breaker))
        yield
        await pool.close()

    return context
