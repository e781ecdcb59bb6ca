"""What docs-search keeps in Redis: sources added through the API, each source's sync status and
manifest (section key → digest), so that a sync sends aidb only what changed."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from ai_stack.core.redis import GuardedRedis
from ai_stack.docs_search.schemas import Source, SourceStatus

_SOURCES = "docs:sources"


async def redis_call(redis: GuardedRedis, command: Callable[[Any], Awaitable[Any]]) -> Any:
    """A command under Redis's breaker. redis-py's own annotations mix sync and async return
    types, so results are typed where they are read."""
    return await redis.run(command)


def call(method: str, *args: Any, **kwargs: Any) -> Callable[[Any], Awaitable[Any]]:
    """One client method with its arguments bound now (so a loop variable is not captured late)."""
    return lambda client: getattr(client, method)(*args, **kwargs)


_WRITE_CHUNK = 1000  # fields per HSET: keeps one command small while a big manifest is written
# A field no section key can be (keys never hold U+0000): its presence says the manifest exists.
_PRESENT = b"\x00present"


def _status_key(name: str) -> str:
    return f"docs:status:{name}"


def _manifest_key(name: str) -> str:
    return f"docs:manifest:{name}"


class DocsState:
    """Sources, statuses and manifests over a guarded Redis client."""

    def __init__(self, redis: GuardedRedis) -> None:
        self._redis = redis

    async def api_sources(self) -> list[Source]:
        raw: dict[bytes, bytes] = await redis_call(self._redis, lambda c: c.hgetall(_SOURCES))
        return sorted((Source.model_validate_json(v) for v in raw.values()), key=lambda s: s.name)

    async def api_source(self, name: str) -> Source | None:
        raw: bytes | None = await redis_call(self._redis, call("hget", _SOURCES, name))
        return None if raw is None else Source.model_validate_json(raw)

    async def add_source(self, source: Source) -> bool:
        """Stores it unless the name is taken (False)."""
        added: int = await redis_call(
            self._redis, lambda c: c.hsetnx(_SOURCES, source.name, source.model_dump_json())
        )
        return bool(added)

    async def drop_source(self, name: str) -> None:
        await redis_call(
            self._redis,
            lambda c: (
                c.pipeline(transaction=True)
                .hdel(_SOURCES, name)
                .delete(_status_key(name), _manifest_key(name))
                .execute()
            ),
        )

    async def status(self, name: str) -> SourceStatus:
        raw: bytes | None = await redis_call(self._redis, lambda c: c.get(_status_key(name)))
        return SourceStatus.model_validate_json(raw) if raw else SourceStatus()

    async def statuses(self, names: list[str]) -> dict[str, SourceStatus]:
        if not names:
            return {}
        raws: list[bytes | None] = await redis_call(
            self._redis, lambda c: c.mget([_status_key(n) for n in names])
        )
        return {
            name: SourceStatus.model_validate_json(raw) if raw else SourceStatus()
            for name, raw in zip(names, raws, strict=True)
        }

    async def set_status(self, name: str, status: SourceStatus) -> None:
        await redis_call(self._redis, lambda c: c.set(_status_key(name), status.model_dump_json()))

    async def manifest(self, name: str) -> dict[str, str] | None:
        """Section key → digest of what aidb holds; None when Redis has none (never synced, or lost)."""
        key = _manifest_key(name)
        raw: dict[bytes, bytes] = await redis_call(self._redis, lambda c: c.hgetall(key))
        if not raw:
            return None
        return {k.decode(): v.decode() for k, v in raw.items() if k != _PRESENT}

    async def keep_manifest(self, name: str) -> None:
        """Records that the manifest is complete, even when the source has no section (an empty
        hash does not exist in Redis, and would read as a lost manifest)."""
        await redis_call(self._redis, call("hset", _manifest_key(name), _PRESENT, b"1"))

    async def record(self, name: str, digests: Mapping[str, str]) -> None:
        """Marks sections as stored: called after each batch, so an interrupted sync resumes."""
        items = list(digests.items())
        for start in range(0, len(items), _WRITE_CHUNK):
            part: dict[str, Any] = dict(items[start : start + _WRITE_CHUNK])
            await redis_call(self._redis, call("hset", _manifest_key(name), mapping=part))

    async def forget(self, name: str, keys: Iterable[str]) -> None:
        listed = list(keys)
        for start in range(0, len(listed), _WRITE_CHUNK):
            part = listed[start : start + _WRITE_CHUNK]
            await redis_call(self._redis, call("hdel", _manifest_key(name), *part))
