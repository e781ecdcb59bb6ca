"""Per-item usefulness counters in Redis, derived from the interactions' outcomes.

`hybrid:use:<item>` is a hash: one field per interaction holding its contribution, plus the
running sums `_s` (contributions) and `_n` (outcomes). One Lua script replaces an interaction's
contribution and corrects the sums atomically, so recording an outcome again (a retry, or a
changed verdict) never counts twice. The interactions in aidb are the durable record; these
counters only weigh the ranking, and a lost Redis leaves every item neutral.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ai_stack.core.errors import ServiceUnavailableError
from ai_stack.core.redis import GuardedRedis
from ai_stack.hybrid.outcomes import ranking_factor

PREFIX = "hybrid:use:"
RETRY_AFTER_S = 5
_RECORD = """
local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if old then
  redis.call('HINCRBYFLOAT', KEYS[1], '_s', tonumber(ARGV[2]) - tonumber(old))
else
  redis.call('HINCRBYFLOAT', KEYS[1], '_s', ARGV[2])
  redis.call('HINCRBY', KEYS[1], '_n', 1)
end
return 1
"""


@dataclass
class UsefulnessStore:
    redis: GuardedRedis | None

    async def record(self, interaction_id: str, items: Sequence[str], value: float) -> None:
        """Sets this interaction's contribution to each item (idempotent); 503 without Redis."""
        if not items:
            return

        async def run(client: Any) -> None:
            script = client.register_script(_RECORD)
            pipe = client.pipeline(transaction=False)
            for item in items:
                await script(keys=[PREFIX + item], args=[interaction_id, repr(value)], client=pipe)
            await pipe.execute()

        await self._run(run)

    async def factors(self, items: Sequence[str]) -> dict[str, float]:
        """Ranking factor of each item (1.0 for an item without outcomes, or without Redis)."""
        if not items or self.redis is None:
            return {}

        async def run(client: Any) -> list[Any]:
            pipe = client.pipeline(transaction=False)
            for item in items:
                pipe.hmget(PREFIX + item, "_s", "_n")
            return list(await pipe.execute())

        try:
            sums = await self.redis.run(run)
        except Exception:  # no weighting is still a correct ranking
            return {}
        return {
            item: ranking_factor(float(s or 0), float(n or 0))
            for item, (s, n) in zip(items, sums, strict=True)
        }

    async def _run(self, command: Any) -> Any:
        if self.redis is None:
            raise ServiceUnavailableError(
                "outcomes need Redis, which is not configured", retry_after=RETRY_AFTER_S
            )
        try:
            return await self.redis.run(command)
        except ServiceUnavailableError:
            raise
        except Exception as exc:
            raise ServiceUnavailableError(
                f"outcomes need Redis, which is unavailable ({type(exc).__name__})", retry_after=RETRY_AFTER_S
            ) from exc
