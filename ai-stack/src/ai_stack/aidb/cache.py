"""Redis cache of search result pages, with per-collection invalidation.

Query vectors are not cached here: the embeddings service already keeps every vector it
computes in Redis and answers a repeated text from there before it reaches the model.

Invalidation uses generation counters instead of deleting keys: a result key embeds the
current generation of every collection it covers (or of "any" when unscoped) and of a global
epoch. Indexing into collection C bumps C's generation and "any"; reindex bumps the epoch.
Old entries are never read again and leave by TTL. The counters live in Redis, so every
replica sees a bump at once.

The cache is an accelerator: any Redis failure is a miss, never a failed search.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from typing import Any

import orjson
import structlog
from prometheus_client import CollectorRegistry, Counter

from ai_stack.core.redis import GuardedRedis

log = structlog.get_logger(__name__)

PREFIX = "aidb:"
EPOCH = f"{PREFIX}gen:epoch"
ANY = f"{PREFIX}gen:any"


def generation_key(collection: str) -> str:
    return f"{PREFIX}gen:c:{collection}"


def generation_keys(collections: Iterable[str]) -> list[str]:
    """The counters a result over `collections` depends on (all of them when unscoped)."""
    scoped = sorted(set(collections))
    return [EPOCH, *(generation_key(c) for c in scoped)] if scoped else [EPOCH, ANY]


def _digest(*parts: bytes) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


class CacheMetrics:
    """Result-page hits and misses."""

    def __init__(self, prefix: str, registry: CollectorRegistry) -> None:
        self.hits = Counter(
            f"{prefix}_results_cache_hits", "Result pages served from Redis.", registry=registry
        )
        self.misses = Counter(
            f"{prefix}_results_cache_misses", "Searches that found no cached page.", registry=registry
        )


class SearchCache:
    """Result pages, keyed by the model, the request and the generations it depends on."""

    def __init__(
        self,
        redis: GuardedRedis | None,
        model: str,
        *,
        results_ttl_s: int,
        metrics: CacheMetrics | None = None,
    ) -> None:
        self._redis = redis
        self._model = model.encode()
        self._results_ttl_s = results_ttl_s
        self._metrics = metrics

    def _count(self, hit: bool) -> None:
        if self._metrics is not None:
            (self._metrics.hits if hit else self._metrics.misses).inc()

    async def _safely(self, what: str, command: Any) -> Any:
        if self._redis is None:
            return None
        try:
            return await self._redis.run(command)
        except Exception as exc:  # Redis down or slow: behave as if nothing were cached
            log.debug("search_cache_unavailable", operation=what, error=str(exc))
            return None

    async def _results_key(self, request: dict[str, Any], collections: Iterable[str]) -> str | None:
        names = generation_keys(collections)
        generations = await self._safely("generations", lambda c: c.mget(names))
        if generations is None:
            return None
        stamp = orjson.dumps([names, [g.decode() if g else "0" for g in generations]])
        return (
            f"{PREFIX}res:{_digest(self._model, stamp, orjson.dumps(request, option=orjson.OPT_SORT_KEYS))}"
        )

    async def results(
        self, request: dict[str, Any], collections: Iterable[str]
    ) -> tuple[str | None, dict[str, Any] | None]:
        """(key to store under, cached body or None)."""
        if self._results_ttl_s <= 0:
            return None, None
        key = await self._results_key(request, collections)
        if key is None:
            return None, None
        raw = await self._safely("get_results", lambda c: c.get(key))
        entry = orjson.loads(raw) if raw else None
        if entry is not None and entry["valid_until"] <= time.time():
            entry = None  # a result in it has expired since: expired documents leave search at once
        self._count(entry is not None)
        return key, (entry["body"] if entry else None)

    async def put_results(self, key: str | None, body: dict[str, Any], expiries: Iterable[float]) -> None:
        """Stores a page until the TTL or the first expiry of a document in it, whichever is sooner."""
        if key is None:
            return
        valid_until = min([time.time() + self._results_ttl_s, *expiries])
        ttl = max(1, int(valid_until - time.time()))
        entry = orjson.dumps({"valid_until": valid_until, "body": body})
        await self._safely("put_results", lambda c: c.set(key, entry, ex=ttl))

    async def invalidate(self, collections: Iterable[str]) -> None:
        """Results over these collections (and unscoped ones) are stale from now on."""
        names = [generation_key(c) for c in set(collections)]
        if not names:
            return

        async def bump(client: Any) -> None:
            pipe = client.pipeline(transaction=False)
            for name in [*names, ANY]:
                pipe.incr(name)
            await pipe.execute()

        await self._safely("invalidate", bump)

    async def invalidate_all(self) -> None:
        await self._safely("invalidate_all", lambda c: c.incr(EPOCH))
