"""The learning loop: a successful, high-value interaction becomes a memory, deduplicated and
merged like any other; counters of what happened for /learning/stats."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import structlog

from ai_stack.aidb.schemas import Document
from ai_stack.core.errors import ServiceUnavailableError
from ai_stack.core.redis import GuardedRedis
from ai_stack.hybrid.chat import ChatClient, ChatFailed
from ai_stack.hybrid.extraction import Extracted, chat_messages, deterministic, parse_chat_answer
from ai_stack.hybrid.memories import MemoryStore
from ai_stack.hybrid.schemas import MemoryIn, MemoryWritten

log = structlog.get_logger(__name__)
STATS_KEY = "hybrid:learning:stats"
RETRY_AFTER_S = 5
LEARNED_TAG = "learned"


def split_interaction(content: str) -> tuple[str, str]:
    """(query, response) from an interaction document's text."""
    head, _, answer = content.partition("\n\nAnswer: ")
    return head.removeprefix("Question: "), answer


@dataclass
class Learner:
    memories: MemoryStore
    chat: ChatClient | None
    value_threshold: float
    chat_attempts: int
    max_memory_chars: int

    def worth_learning(self, outcome: str | None, value: float | None) -> bool:
        """A success whose value reaches the threshold."""
        return outcome == "success" and value is not None and value >= self.value_threshold

    async def learn(self, interaction: Document) -> tuple[MemoryWritten, str]:
        """The memory learned from the interaction, and the extraction method used."""
        query, response = split_interaction(interaction.content)
        extracted = await self._extract(query, response)
        memory = MemoryIn(
            content=extracted.content,
            kind=extracted.kind,
            project=interaction.project,
            tags=[LEARNED_TAG],
            source=f"interaction:{interaction.id}",
        )
        return await self.memories.remember(memory), extracted.method

    async def _extract(self, query: str, response: str) -> Extracted:
        """The chat endpoint's memory in at most `chat_attempts` calls, else the deterministic one."""
        for _ in range(self.chat_attempts if self.chat is not None else 0):
            try:
                text = await self.chat.complete(chat_messages(query, response))  # type: ignore[union-attr]
            except ChatFailed as exc:
                log.info("learning_chat_unavailable", error=str(exc))
                break
            if (extracted := parse_chat_answer(text, self.max_memory_chars)) is not None:
                return extracted
            log.info("learning_chat_malformed", answer=text[:200])
        return deterministic(query, response)


@dataclass
class LearningStats:
    """Counters in Redis (a rebuildable summary: the interactions in aidb are the record)."""

    redis: GuardedRedis | None

    async def count(self, **increments: int) -> None:
        """Adds to the counters; a missing Redis only loses the summary."""
        if self.redis is None or not increments:
            return

        async def run(client: Any) -> None:
            pipe = client.pipeline(transaction=False)
            for name, amount in increments.items():
                pipe.hincrby(STATS_KEY, name, amount)
            await pipe.execute()

        try:
            await self.redis.run(run)
        except Exception as exc:
            log.warning("learning_stats_not_counted", error=f"{type(exc).__name__}: {exc}")

    async def read(self) -> dict[str, int]:
        if self.redis is None:
            raise ServiceUnavailableError("learning stats need Redis, which is not configured")
        try:
            raw = await self.redis.run(lambda c: c.hgetall(STATS_KEY))
        except ServiceUnavailableError:
            raise
        except Exception as exc:
            raise ServiceUnavailableError(
                f"learning stats need Redis, which is unavailable ({type(exc).__name__})",
                retry_after=RETRY_AFTER_S,
            ) from exc
        return {k.decode() if isinstance(k, bytes) else k: int(v) for k, v in raw.items()}
