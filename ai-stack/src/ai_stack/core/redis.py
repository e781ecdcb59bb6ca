"""A Redis client behind its circuit breaker, opened and closed with the app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import redis.asyncio as aioredis
import redis.exceptions as redis_errors
from aiohttp import web

from ai_stack.core.breaker import CircuitBreaker, is_outage
from ai_stack.core.health import DependencyCheck
from ai_stack.core.keys import HEALTH_KEY, SETTINGS_KEY

T = TypeVar("T")


def is_redis_outage(exc: BaseException) -> bool:
    """Connection loss, timeouts and a server still loading count; a refused command does not."""
    outages = (redis_errors.ConnectionError, redis_errors.TimeoutError, redis_errors.BusyLoadingError)
    return isinstance(exc, outages) or is_outage(exc)


class GuardedRedis:
    """Every Redis command goes through the breaker (and so through its timeout)."""

    def __init__(self, client: aioredis.Redis, breaker: CircuitBreaker) -> None:
        self.client = client
        self.breaker = breaker

    async def run(self, command: Callable[[aioredis.Redis], Awaitable[T]]) -> T:
        """Runs `command(client)` under the breaker."""
        return await self.breaker.call(lambda: command(self.client))

    async def ping(self) -> None:
        """Readiness probe; as a breaker call it also closes the breaker once Redis is back."""
        await self.run(lambda c: c.ping())  # type: ignore[arg-type,return-value]


def redis_context(
    key: web.AppKey[GuardedRedis], *, required: bool = False
) -> Callable[[web.Application], AsyncIterator[None]]:
    """A cleanup_ctx that opens a guarded Redis client and registers its health check."""

    async def context(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS_KEY]
        timeout = settings.dependency_timeout_s
        client: Any = aioredis.Redis.from_url(
            settings.redis_url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry_on_timeout=False,
            health_check_interval=30,
        )
        breaker = CircuitBreaker(
            "redis",
            failure_threshold=settings.breaker_failure_threshold,
            reset_timeout_s=settings.breaker_reset_s,
            call_timeout_s=timeout,
            counts_as_failure=is_redis_outage,
        )
        guarded = GuardedRedis(client, breaker)
        app[key] = guarded
        app[HEALTH_KEY].add(DependencyCheck("redis", guarded.ping, required=required, breaker=breaker))
        yield
        await client.aclose()

    return context
