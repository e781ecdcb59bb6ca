"""Redis cache of vectors keyed by model, normalisation and text hash."""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import structlog

from ai_stack.core.redis import GuardedRedis
from ai_stack.embeddings.model import Vectors

log = structlog.get_logger(__name__)
KEY_VERSION = "v1"


def cache_key(model: str, normalize: bool, text: str) -> str:
    """`emb:v1:<model>:<n|r>:<sha256>`; the text itself never reaches Redis."""
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return f"emb:{KEY_VERSION}:{model}:{'n' if normalize else 'r'}:{digest}"


class VectorCache:
    """Best effort: any Redis failure (or an open breaker) reads as a miss."""

    def __init__(self, redis: GuardedRedis, model: str, dimension: int, ttl_s: int) -> None:
        self._redis = redis
        self._model = model
        self._dimension = dimension
        self._ttl_s = ttl_s

    async def get_many(self, texts: list[str], normalize: bool) -> list[np.ndarray | None]:
        """One vector or None per text."""
        keys = [cache_key(self._model, normalize, t) for t in texts]
        try:
            raw: list[Any] = await self._redis.run(lambda c: c.mget(keys))
        except Exception as exc:
            log.debug("vector_cache_unavailable", error=type(exc).__name__)
            return [None] * len(texts)
        return [self._decode(value) for value in raw]

    async def put_many(self, texts: list[str], normalize: bool, vectors: Vectors) -> None:
        """Stores vectors with the TTL; failures are logged and ignored."""

        async def write(client: Any) -> None:
            async with client.pipeline(transaction=False) as pipe:
                for text, vector in zip(texts, vectors, strict=True):
                    key = cache_key(self._model, normalize, text)
                    pipe.set(key, np.asarray(vector, dtype="<f4").tobytes(), ex=self._ttl_s)
                await pipe.execute()

        try:
            await self._redis.run(write)
        except Exception as exc:
            log.debug("vector_cache_write_failed", error=type(exc).__name__)

    def _decode(self, value: bytes | None) -> np.ndarray | None:
        if value is None or len(value) != 4 * self._dimension:
            return None
        return np.frombuffer(value, dtype="<f4")
